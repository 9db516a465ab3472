"""Shared fixtures: every engine test runs on SQLite and on a real PostgreSQL server.

`make test` starts a throwaway PostgreSQL server and sets HIMAYA_TEST_PG_URL (and
HIMAYA_TEST_REQUIRE_PG=1, so that a missing server fails instead of skipping).
"""
from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from api.setup import BPMN_FOLDER, prepare
from engine.clock import ManualClock
from engine.db import Database
from engine.definitions import DefinitionCache
from engine.models import Base
from engine.runtime import Engine

SHARED_DEFINITIONS = DefinitionCache()
START = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
KEEP_TABLES = {"provinces", "alembic_version"}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "himaya.sqlite"
    database = Database(f"sqlite:///{path}")
    prepare(Engine(database, definitions=SHARED_DEFINITIONS))
    database.dispose()
    return path


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
    prepare(Engine(database, definitions=SHARED_DEFINITIONS))
    database.dispose()
    return test_url


def _reset_postgres(database: Database) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name not in KEEP_TABLES)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path):
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
    engine = Engine(database, clock=clock, definitions=SHARED_DEFINITIONS)
    if database.engine.dialect.name == "postgresql":
        engine.deploy_folder(BPMN_FOLDER)
    return engine
