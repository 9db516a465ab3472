"""Files and secrets (issue 20, item 2): the instance folder and what Himaya writes in it are
owner-only, token ids are stored as hashes, and neither the key nor a token reaches the log."""
from __future__ import annotations

import logging
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from api import auth
from engine.backup import backup
from engine.models import AuthToken, User
from engine.runtime import Engine
from tests.conftest import ApiClient
from tests.helpers import UPE, report


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _modes_kept(folder: Path) -> bool:
    """Whether this file system keeps permission bits (some mounts ignore them)."""
    probe = folder / ".mode-probe"
    probe.write_text("x")
    os.chmod(probe, 0o640)
    kept = _mode(probe) == 0o640
    probe.unlink()
    return kept


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if not _modes_kept(tmp_path):
        pytest.skip("this file system ignores permission bits")
    folder = tmp_path / "deploy" / "instance"
    monkeypatch.setenv("HIMAYA_INSTANCE_PATH", str(folder))
    monkeypatch.delenv("HIMAYA_DATABASE_URL", raising=False)
    monkeypatch.delenv("HIMAYA_SECRET_KEY", raising=False)
    return folder


def _start(instance: Path) -> tuple[object, Path]:
    from api.app import create_app
    from api.cli import main

    assert main(["demo"]) == 0
    app = create_app()
    database = instance / "himaya.sqlite"
    return app, database


def test_the_instance_folder_and_its_files_are_created_owner_only(instance: Path, capsys) -> None:
    app, database = _start(instance)
    capsys.readouterr()
    client = app.test_client()  # type: ignore[attr-defined]
    answer = client.post("/api/v1/auth/token", json={"username": "admin", "password": "demo-admin"})
    assert answer.status_code == 200  # a write: the WAL files exist
    assert _mode(instance) == 0o700
    for path in (instance / "secret_key", *(database.with_name(database.name + suffix)
                                           for suffix in ("", "-wal", "-shm"))):
        assert path.exists() and _mode(path) == 0o600, path.name


def test_files_found_too_open_are_tightened_at_start_up_and_said_once(instance: Path, caplog) -> None:
    from api.app import create_app

    _start(instance)
    key = (instance / "secret_key").read_text(encoding="utf-8")
    os.chmod(instance, 0o755)
    for name in ("secret_key", "himaya.sqlite"):
        os.chmod(instance / name, 0o644)
    with caplog.at_level(logging.INFO):
        app = create_app()
    assert app.config["SECRET_KEY"] == key.strip()
    assert _mode(instance) == 0o700
    assert _mode(instance / "secret_key") == _mode(instance / "himaya.sqlite") == 0o600
    said = [record.getMessage() for record in caplog.records if "owner-only" in record.getMessage()]
    assert len(said) == 1 and "3 file(s)" in said[0]
    assert all(key.strip() not in record.getMessage() for record in caplog.records)
    with caplog.at_level(logging.INFO):
        create_app()
    assert len([r for r in caplog.records if "owner-only" in r.getMessage()]) == 1  # nothing more to say


def test_a_backup_is_owner_only(engine: Engine, tmp_path: Path) -> None:
    if not _modes_kept(tmp_path):
        pytest.skip("this file system ignores permission bits")
    engine.start_case(report(engine), UPE)
    target = backup(engine.db.url, tmp_path / "backups" / "nightly" / "himaya.backup")
    assert target.stat().st_size > 0
    assert _mode(target) == 0o600
    assert _mode(tmp_path / "backups") == _mode(tmp_path / "backups" / "nightly") == 0o700


# --- token ids ------------------------------------------------------------------------------


def _stored_ids(engine: Engine) -> list[str]:
    with engine.db.reading() as session:
        return list(session.scalars(select(AuthToken.id)))


def test_a_copy_of_the_token_table_and_the_key_forges_no_token(api: ApiClient, engine: Engine) -> None:
    secret = api.app.config["SECRET_KEY"]
    token = api.token("admin")
    assert api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    identifier = auth.token_id(secret, token)
    stored = _stored_ids(engine)
    assert stored and identifier not in stored and token not in stored
    assert auth.stored_id(identifier or "") in stored
    for row in stored:  # what a thief holding the table and the key would sign
        forged = URLSafeSerializer(secret, salt=auth.KINDS[auth.API]).dumps(row)
        assert api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
        page = URLSafeSerializer(secret, salt=auth.KINDS[auth.WEB]).dumps(row)
        assert auth.authenticate_page(engine.db, secret, page, now=engine.now()) is None


def test_logout_revokes_by_the_hash(api: ApiClient, engine: Engine) -> None:
    token = api.token("admin")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.post("/api/v1/auth/revoke", headers=headers).status_code == 204
    assert api.client.get("/api/v1/auth/me", headers=headers).status_code == 401


def _migrate(engine: Engine, target: str) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    from engine.db import alembic_config

    with engine.db.engine.connect() as connection:
        if engine.db.is_sqlite:
            driver = connection.connection.dbapi_connection
            assert driver is not None
            driver.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, as Database.upgrade does
        with connection.begin():
            config = alembic_config()
            config.attributes["connection"] = connection
            if target == "head":
                command.upgrade(config, "head")
            else:
                command.downgrade(config, str(ScriptDirectory.from_config(config).get_revision(target).down_revision))


OLD_ID = "an-id-issued-before-the-upgrade-0123456789a"  # 43 characters, as token_urlsafe(32)


def test_tokens_issued_before_the_upgrade_still_work_after_it(api: ApiClient, engine: Engine) -> None:
    secret = api.app.config["SECRET_KEY"]
    recent = api.token("admin")
    _migrate(engine, "0022")  # back to clear ids: every token revoked, as documented
    assert _stored_ids(engine) == []
    now = engine.now()
    with engine.db.transaction() as session:  # what the release before issued: the id in clear
        user = session.scalars(select(User).where(User.username == "cape.tanger")).one()
        session.add(AuthToken(id=OLD_ID, user_id=user.id, kind=auth.API,
                              issued_at=now, expires_at=now + timedelta(hours=1), revoked_at=None))
    old = URLSafeSerializer(secret, salt=auth.KINDS[auth.API]).dumps(OLD_ID)
    _migrate(engine, "head")
    assert _stored_ids(engine) == [auth.stored_id(OLD_ID)]
    me = api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old}"})
    assert me.status_code == 200 and me.get_json()["username"] == "cape.tanger"
    assert api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {recent}"}).status_code == 401


def test_no_token_or_key_in_the_log(api: ApiClient, caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        token = api.token("admin")
        api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        api.client.get("/api/v1/auth/me", headers={"Authorization": "Bearer forged.value"})
    secret = api.app.config["SECRET_KEY"]
    identifier = auth.token_id(secret, token) or ""
    for record in caplog.records:
        text = record.getMessage()
        assert secret not in text and token not in text and identifier not in text
