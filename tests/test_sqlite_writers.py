"""SQLite's one writer at a time: a writer of another process (another connection) is waited for
in short steps and gets in as soon as the lock is free; past the timeout it gets SQLite's error;
threads of one process take turns on their own lock."""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import exc, text

from engine import db as db_module
from engine.db import Database


@pytest.fixture
def database(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with database.write_connection() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield database, tmp_path / "w.sqlite"
    database.dispose()


def _hold_write_lock(path: Path, seconds: float, held: threading.Event) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    held.set()
    time.sleep(seconds)
    other.execute("COMMIT")
    other.close()


def test_a_writer_gets_in_as_soon_as_another_process_lets_go(database):
    database, path = database
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 0.3, held))
    holder.start()
    held.wait(5)
    begin = time.monotonic()
    with database.write_connection() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        waited = time.monotonic() - begin
        busy = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    holder.join()
    assert 0.25 <= waited < 0.45, waited  # in at most a few ms after the release (SQLite: up to 100 ms)
    assert busy == db_module.BUSY_TIMEOUT_MS  # restored once the lock is taken


def test_past_the_timeout_the_writer_gets_sqlites_error_and_nothing_is_written(database, monkeypatch):
    database, path = database
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 200)
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 1.0, held))
    holder.start()
    held.wait(5)
    begin = time.monotonic()
    with pytest.raises(exc.OperationalError, match="locked"), database.write_connection() as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
    assert 0.2 <= time.monotonic() - begin < 0.9
    holder.join()
    with database.reading() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_threads_of_one_process_take_turns_and_every_write_lands(database):
    database, _path = database
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(25):
                with database.transaction() as session:
                    session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n * 100 + i})
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with database.reading() as session:
        assert session.execute(text("SELECT count(DISTINCT n) FROM t")).scalar() == 200
