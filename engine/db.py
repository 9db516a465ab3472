"""Database connection, sessions and migrations.

SQLite (WAL) is the default, one file in the instance folder; PostgreSQL comes through
``HIMAYA_DATABASE_URL`` (both: :attr:`engine.settings.Settings.database`). A write transaction
on SQLite starts with ``BEGIN IMMEDIATE`` so that two writers queue for the lock instead of
failing half-way; on PostgreSQL the case row is locked with ``SELECT … FOR UPDATE`` by the runtime.

SQLite lets one writer in at a time. The threads of one process queue for it on a lock of their
own (woken as soon as it is free); a writer of another process that finds the file locked tries
again every fraction of a millisecond (:func:`_begin_immediate`) instead of SQLite's own waits,
which grow to 100 ms and made a busy server's latency.

On PostgreSQL a pooled connection is checked ("pinged") before use only when it sat idle in the
pool for :data:`PING_AFTER_IDLE_S` or more (:func:`_ping_when_idle`): a dead one (a restarted
server, a dropped link) is replaced then, as ``pool_pre_ping`` would, without the round trip
that ``pool_pre_ping`` added to every checkout of a busy server (about a quarter of a request's
CPU, measured by ``bench/profile_request_path.py``). A connection that died while in busy use
fails its statement: the pool is then emptied, the request answers 503 and the next one
reconnects.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from . import crypto
from .private_files import private_file, sqlite_files

if TYPE_CHECKING:
    import sqlite3

    from alembic.config import Config
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

_WRITE_OPTION = "himaya_write"
BUSY_TIMEOUT_MS = 30000  # how long a statement waits for a lock held by another process
_FIRST_PAUSE, _LONGEST_PAUSE = 0.0002, 0.002  # seconds between two tries at the write lock
_pause = time.sleep  # between two tries (a name of its own, so that a test can count the pauses)
PING_AFTER_IDLE_S = 5.0  # a PostgreSQL connection idle this long in the pool is checked before use


def _begin_immediate(connection: Connection) -> None:
    """``BEGIN IMMEDIATE``, tried again after short pauses while another process holds the write
    lock, for :data:`BUSY_TIMEOUT_MS` at most; the last try goes through SQLAlchemy, so that a
    lock never freed (or any other failure) raises its usual ``OperationalError``."""
    import sqlite3

    raw = connection.connection.driver_connection
    assert raw is not None, "a connection in use is attached"
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = _FIRST_PAUSE
    raw.execute("PRAGMA busy_timeout=0")
    try:
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    break
            _pause(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_WRITE_OPTION):
            _begin_immediate(connection)
        else:
            connection.exec_driver_sql("BEGIN")


def _private_sqlite_file(url: str) -> None:
    """A SQLite database file made ``0600`` before SQLite opens it (SQLite gives its ``-wal``
    and ``-shm`` files the database file's mode), and those found too open tightened."""
    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    database, *companions = sqlite_files(Path(name))
    if database.parent.is_dir():
        private_file(database)
        for companion in companions:
            if companion.exists():
                private_file(companion)


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use when it sat idle for :data:`PING_AFTER_IDLE_S`: a
    dead one is replaced (the pool tries another) instead of failing the request's first statement."""
    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _alive(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return  # just opened, or back from a request a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception:  # the driver's own error for a dead link, whatever it is
            alive = False
        if not alive:
            raise DisconnectionError("the pooled connection is gone")


class Database:
    """One database: an engine and the two kinds of session the engine uses."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10,
                 master_key: crypto.MasterKey | None = None) -> None:
        self.url = url
        options: dict[str, object] = {"echo": echo, "future": True}
        if self.url.startswith("sqlite"):
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
            _private_sqlite_file(self.url)
        else:
            options.update(pool_size=pool_size, max_overflow=pool_size)
        self.engine = create_engine(self.url, **options)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        else:
            _ping_when_idle(self.engine)
        # The children's data is sealed with this database's data keys (engine.crypto), opened
        # with the master key kept outside it (HIMAYA_DATA_KEY or the key file).
        self.keys = crypto.Keyring(master_key or crypto.master_key_from(), self._load_keys)
        crypto.attach(self.engine.dialect, self.keys)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        # Commands flush once, explicitly, before they read what they wrote.
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False, autoflush=False)
        # SQLite: this process's writers queue here, one at a time, as SQLite would let them in.
        self._write_turn: threading.RLock | None = threading.RLock() if self.is_sqlite else None

    def _turn(self) -> threading.RLock | nullcontext[None]:
        return self._write_turn if self._write_turn is not None else nullcontext()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any error."""
        with self._turn(), self._writer() as session, session.begin():
            yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A Core connection in one write transaction (the engine's command path)."""
        with self._turn(), self._write_engine.begin() as connection:
            yield connection

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A Core connection for one short read (no ORM session: lighter for a single query)."""
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._reader() as session:
            yield session

    def _load_keys(self) -> crypto.Opened:
        if self.keys.master is None:
            raise crypto.KeyProblem(crypto.NO_MASTER_KEY)
        with self.engine.connect() as connection:
            return crypto.load(connection, self.keys.master)

    def _has_data_keys(self) -> bool:
        from sqlalchemy import inspect, text

        with self.engine.connect() as connection:
            if not inspect(connection).has_table(crypto.DATA_KEYS):
                return False
            return connection.execute(text(f"SELECT COUNT(*) FROM {crypto.DATA_KEYS}")).scalar_one() > 0

    def check_keys(self) -> None:
        """Open the data keys now (at start-up): a missing or wrong master key is a clear
        :class:`engine.crypto.KeyProblem` before any request."""
        self.keys.reload()

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (Alembic); a new database gets its master key
        file (when no HIMAYA_DATA_KEY is set) and its first data key."""
        from alembic import command

        if self.keys.master is None:
            if self._has_data_keys():  # its key file is lost, or not given to this node: never a new one
                raise crypto.KeyProblem(crypto.NO_MASTER_KEY)
            self.keys.master = crypto.master_key_from(create=True)

        with self.engine.connect() as connection:
            driver = connection.connection.dbapi_connection
            assert driver is not None, "a connection just checked out of the pool is attached"
            if self.is_sqlite:
                # SQLite alters a table by rebuilding it (copy, drop, rename): foreign keys
                # must be off meanwhile (it cannot change inside a transaction), and are all
                # checked before the commit instead.
                driver.execute("PRAGMA foreign_keys=OFF")
            try:
                with connection.begin():
                    config = alembic_config()
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
                    if self.is_sqlite:
                        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise RuntimeError(f"the migration broke {len(broken)} foreign key(s)")
            finally:
                if self.is_sqlite:
                    driver.execute("PRAGMA foreign_keys=ON")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config() -> Config:
    from alembic.config import Config

    here = Path(__file__).parent
    config = Config()
    config.set_main_option("script_location", str(here / "migrations"))
    return config
