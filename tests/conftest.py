"""Shared fixtures: every engine test runs on SQLite and on a real PostgreSQL server.

`make test` starts a throwaway PostgreSQL server and sets HIMAYA_TEST_PG_URL (and
HIMAYA_TEST_REQUIRE_PG=1, so that a missing server fails instead of skipping).
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.test import TestResponse

from api import auth
from api.setup import BPMN_FOLDER, prepare
from engine import categories
from engine.assembly import assemble_engine
from engine.clock import ManualClock
from engine.db import Database
from engine.definitions.cache import DefinitionCache
from engine.models import Base
from engine.runtime import Engine

# The tests log the demo users in thousands of times: their passwords are hashed with a cheap
# argon2id (same algorithm; a hash carries its own cost, so checking one costs what it was made
# with), a login ~1 ms instead of ~0.1-0.2 s. The service keeps argon2's defaults (a hash made by
# the command line is checked in tests/test_service.py), and the dummy hash an unknown name is
# checked against keeps them too (tests/test_login_hardening.py floods it).
auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
SHARED_DEFINITIONS = DefinitionCache()
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
KEEP_TABLES = {"provinces", "units", "users", "alembic_version", "data_keys", "audit_chain_head"}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "himaya.sqlite"
    database = Database(f"sqlite:///{path}")
    prepare(assemble_engine(database, definitions=SHARED_DEFINITIONS))
    _reference_data(database)
    database.dispose()
    return path


def _reference_data(database: Database) -> None:
    """Units and users of the two demo provinces (the tests' territory)."""
    from api.demo import create_demo_users

    with database.transaction() as session:
        create_demo_users(session, START)


@pytest.fixture(scope="session")
def pg_url() -> str:
    url = os.environ.get("HIMAYA_TEST_PG_URL")
    if not url:
        if os.environ.get("HIMAYA_TEST_REQUIRE_PG"):
            pytest.fail("HIMAYA_TEST_REQUIRE_PG is set but HIMAYA_TEST_PG_URL is not")
        pytest.skip("no PostgreSQL server (run `make test`, which starts one)")
    name = f"himaya_test_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    test_url = url.rsplit("/", 1)[0] + "/" + name
    database = Database(test_url)
    prepare(assemble_engine(database, definitions=SHARED_DEFINITIONS))
    _reference_data(database)
    database.dispose()
    return test_url


def _reset_postgres(database: Database) -> None:
    """Empty what tests write; users stay (hashing their passwords is slow) but are reset."""
    from api.demo import demo_users

    tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name not in KEEP_TABLES)
    names = [u["username"] for u in demo_users()]
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(text("DELETE FROM users WHERE NOT (username = ANY(:names))"), {"names": names})
        connection.execute(text("UPDATE users SET active = true, language = 'fr', phone = NULL, away_from = NULL, "
                                "away_until = NULL, "
                                "email = username || '@himaya.example'"))
        connection.execute(text("UPDATE audit_chain_head SET case_low = 0, case_seen = 0, admin_low = 0, "
                                "admin_seen = 0"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the PostgreSQL variant of a test marked ``sqlite_only``: a matrix of inputs refused
    before any write (the same validation on either database) runs once, on SQLite."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        params = getattr(item, "callspec", None)
        on_postgres = params is not None and params.params.get("database") == "postgresql"
        (dropped if on_postgres and item.get_closest_marker("sqlite_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "himaya.sqlite"
        shutil.copy(template, path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("pg_url"))
        _reset_postgres(database)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def engine(database: Database, clock: ManualClock) -> Engine:
    engine = assemble_engine(database, clock=clock, definitions=SHARED_DEFINITIONS)
    if database.engine.dialect.name == "postgresql":
        engine.deploy_folder(BPMN_FOLDER)
        with database.transaction() as session:  # the case categories (reference data), emptied by the reset
            categories.load_defaults(session, START)
    return engine


class ApiClient:
    """A Flask test client that logs demo users in (password ``demo-<username>``)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self._tokens:
            response = self.client.post("/api/v1/auth/token",
                                        json={"username": username, "password": f"demo-{username}"})
            assert response.status_code == 200, response.get_json()
            self._tokens[username] = response.get_json()["access_token"]
        return self._tokens[username]

    def forget_tokens(self) -> None:
        """Log in again on next use (tokens live one hour of the test clock)."""
        self._tokens.clear()

    def headers(self, username: str | None, **extra: str) -> dict[str, str]:
        headers = dict(extra)
        if username:
            headers["Authorization"] = f"Bearer {self.token(username)}"
        return headers

    def get(self, path: str, user: str | None = None, **kwargs: Any) -> TestResponse:
        return self.client.get(path, headers=self.headers(user, **kwargs.pop("headers", {})), **kwargs)

    def post(self, path: str, user: str | None = None, **kwargs: Any) -> TestResponse:
        return self.client.post(path, headers=self.headers(user, **kwargs.pop("headers", {})), **kwargs)


@pytest.fixture
def api(engine: Engine) -> ApiClient:
    from api.app import create_app

    return ApiClient(create_app({"TESTING": True, "SECRET_KEY": "test-secret"}, engine=engine))


@pytest.fixture
def web(engine: Engine) -> FlaskClient:
    """Flask's test client on the pages (log in with :func:`tests.helpers.page_login`)."""
    from api.app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "web-secret"}, engine=engine)
    return app.test_client()


# --- a real ClamAV daemon (documents' virus scanning) -----------------------------------------

CLAMD = Path("/usr/sbin/clamd")
# The tests' own signature (no signature download is possible here): a file holding these bytes is "infected".
TEST_SIGNATURE = b"HIMAYA-TEST-SIGNATURE"


@pytest.fixture(scope="session")
def clamd() -> Iterator[str]:
    """The unix socket of a clamd started for the test session with a signature database of one
    line (``db/test.ndb``: ``TEST_SIGNATURE``); stopped at the end. Skips when Debian's
    ``clamav-daemon`` is not installed, unless HIMAYA_TEST_REQUIRE_CLAMAV is set (`make test`)."""
    import subprocess
    import tempfile
    import time

    from engine.documents import ClamdScanner

    if not CLAMD.exists():
        if os.environ.get("HIMAYA_TEST_REQUIRE_CLAMAV"):
            pytest.fail("HIMAYA_TEST_REQUIRE_CLAMAV is set but clamd is not installed (apt-get install clamav-daemon)")
        pytest.skip("no clamd (run `make test`, which installs clamav-daemon)")
    folder = Path(tempfile.mkdtemp(prefix="himaya-clamd-"))  # short: a unix socket path has 107 bytes at most
    (folder / "db").mkdir()
    (folder / "db" / "test.ndb").write_text(f"Himaya.Test.Sig:0:*:{TEST_SIGNATURE.hex()}\n", encoding="ascii")
    socket_path = folder / "clamd.sock"
    lines = [f"DatabaseDirectory {folder / 'db'}", f"LocalSocket {socket_path}", "Foreground yes",
             f"PidFile {folder / 'clamd.pid'}", f"LogFile {folder / 'clamd.log'}", "StreamMaxLength 64M"]
    if os.geteuid() == 0:
        lines.append("User root")  # clamd would otherwise switch to the clamav user, who cannot read the folder
    (folder / "clamd.conf").write_text("\n".join(lines) + "\n", encoding="ascii")
    process = subprocess.Popen([str(CLAMD), "-c", str(folder / "clamd.conf")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    scanner = ClamdScanner(str(socket_path), 5)
    deadline = time.monotonic() + 60
    while not scanner.ping(0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log = (folder / "clamd.log").read_text(errors="replace") if (folder / "clamd.log").exists() else ""
            pytest.fail(f"clamd did not start: {log[-2000:]}")
        time.sleep(0.1)
    try:
        yield str(socket_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)
