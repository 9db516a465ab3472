"""PostgreSQL's pooled connections: checked before use only after sitting idle (engine.db).

A connection idle for ``PING_AFTER_IDLE_S`` whose server process died meanwhile is replaced
without the caller noticing; one that died while the pool was busy fails its statement once
(the pool is emptied: the API answers 503 for it) and the next use reconnects. Against the
real test server: the server processes are ended with ``pg_terminate_backend``.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from engine import db as db_module
from engine.db import Database


@pytest.fixture
def pool(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url, pool_size=2)
    yield database
    database.dispose()


def _backend_pid(database: Database) -> int:
    with database.reading() as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pg_url: str, pid: int) -> None:
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    finally:
        admin.dispose()


def test_an_idle_connection_that_died_is_replaced_before_use(pool: Database, pg_url: str, monkeypatch):
    first = _backend_pid(pool)
    _terminate(pg_url, first)
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 0.0)  # every connection counts as idle
    second = _backend_pid(pool)  # no error: the dead one was found before use and replaced
    assert second != first


def test_a_busy_connection_is_not_pinged_and_a_dead_one_fails_once(pool: Database, pg_url: str, monkeypatch):
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 3600.0)  # a busy server: nothing is idle
    pings: list[object] = []
    original = pool.engine.dialect.do_ping

    def counted(connection: object) -> bool:
        pings.append(connection)
        return bool(original(connection))  # type: ignore[arg-type]

    monkeypatch.setattr(pool.engine.dialect, "do_ping", counted)
    first = _backend_pid(pool)
    assert _backend_pid(pool) == first and pings == [], "a connection back a moment ago is used as it is"
    _terminate(pg_url, first)
    with pytest.raises(OperationalError):  # the request on it fails (the API answers 503)
        _backend_pid(pool)
    assert _backend_pid(pool) != first, "the next use reconnects"
