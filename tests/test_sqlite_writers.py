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


def _hold_write_lock(path: Path, held: threading.Event, release: threading.Event) -> None:
    """Another process's writer: holds the write lock from ``held`` until ``release``."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    held.set()
    release.wait(30)
    other.execute("COMMIT")
    other.close()


def _holder(path: Path) -> tuple[threading.Thread, threading.Event]:
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, held, release))
    holder.start()
    assert held.wait(5)
    return holder, release


def test_a_writer_gets_in_as_soon_as_another_process_lets_go(database, monkeypatch):
    database, path = database
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(db_module, "_pause", pause)
    holder, release = _holder(path)
    threading.Timer(0.3, release.set).start()
    begin = time.monotonic()
    with database.write_connection() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        waited = time.monotonic() - begin
        busy = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    holder.join()
    assert waited >= 0.29 and release.is_set(), "in only once the other writer let go"
    # tried again every few milliseconds at most (SQLite's own wait sleeps up to 100 ms between tries)
    assert pauses and max(pauses) <= 0.005, pauses[-3:]
    assert busy == db_module.BUSY_TIMEOUT_MS  # restored once the lock is taken
    with database.reading() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 1


def test_past_the_timeout_the_writer_gets_sqlites_error_and_nothing_is_written(database, monkeypatch):
    database, path = database
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 200)
    holder, release = _holder(path)  # held until the writer has given up
    begin = time.monotonic()
    try:
        with pytest.raises(exc.OperationalError, match="locked"), database.write_connection() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
        gave_up_after = time.monotonic() - begin
    finally:
        release.set()
        holder.join()
    assert 0.2 <= gave_up_after < 5, gave_up_after  # the timeout applied (30 s by default)
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
