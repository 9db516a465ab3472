"""The service shell: health check, command line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from api.app import create_app
from engine.assembly import assemble_engine
from engine.db import Database
from engine.runtime import Engine
from tests.helpers import KEY_ENV

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_answers_ok_when_the_database_answers(engine: Engine):
    client = create_app({"TESTING": True}, engine=engine).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "scheduler": "off", "scanner": "off",
                                   "documents": "scanning off"}


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path: Path):
    database = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    client = create_app({"TESTING": True}, engine=assemble_engine(database)).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def _himaya(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"HIMAYA_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}", "PATH": "/usr/bin:/bin", **KEY_ENV}
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def test_demo_then_scheduler_run_once_with_an_advanced_clock(tmp_path: Path):
    done = _himaya(tmp_path, "demo")
    assert done.returncode == 0, done.stderr
    assert "12 case(s) created" in done.stdout
    again = _himaya(tmp_path, "demo")
    assert "0 case(s) created" in again.stdout, "demo data is loaded once"
    done = _himaya(tmp_path, "scheduler", "run-once", "--now", "2030-01-01T00:00:00+01:00")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("timers: ")


def test_scheduler_refuses_a_bad_now(tmp_path: Path):
    for bad in ("tomorrow", "2026-12-01T10:00:00"):
        done = _himaya(tmp_path, "scheduler", "run-once", "--now", bad)
        assert done.returncode == 2
        assert "--now" in done.stderr


def test_deploy_of_a_missing_file_exits_non_zero(tmp_path: Path):
    done = _himaya(tmp_path, "deploy", str(tmp_path / "nope.bpmn"))
    assert done.returncode == 2 and "no such file" in done.stderr


def test_user_add_disable_and_set_password(tmp_path: Path):
    def run(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {"HIMAYA_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}", "PATH": "/usr/bin:/bin", **KEY_ENV}
        return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=120, input=password)

    assert run("migrate").returncode == 0
    bad = run("user", "add", "x", "--role", "case_worker", "--province", "atlantis", "--password-stdin",
              password="short\n")
    assert bad.returncode == 1
    assert "username" in bad.stderr and "province" in bad.stderr and "unit" in bad.stderr and "password" in bad.stderr
    ok = run("user", "add", "coord.fes", "--role", "coordinator", "--province", "fes", "--password-stdin",
             password="a-long-password\n")
    assert ok.returncode == 0, ok.stderr
    again = run("user", "add", "coord.fes", "--role", "coordinator", "--province", "fes", "--password-stdin",
                password="a-long-password\n")
    assert again.returncode == 1 and "already taken" in again.stderr
    assert run("user", "set-password", "coord.fes", "--password-stdin", password="another-password\n").returncode == 0
    assert run("user", "disable", "coord.fes").returncode == 0
    assert run("user", "disable", "nobody").returncode == 1

    from sqlalchemy import select

    from api.auth import verify_password
    from engine.db import Database
    from engine.models import User

    database = Database(f"sqlite:///{tmp_path / 'cli.sqlite'}")
    with database.reading() as session:
        user = session.execute(select(User).where(User.username == "coord.fes")).scalar_one()
        assert not user.active and verify_password(user.password_hash, "another-password")
        assert user.password_hash.startswith("$argon2id$")
    database.dispose()


def test_reports_open_a_past_quarter_once_and_refuse_bad_quarters(tmp_path: Path):
    assert _himaya(tmp_path, "migrate").returncode == 0
    assert _himaya(tmp_path, "demo").returncode == 0  # units; also opens the last quarter's reports
    done = _himaya(tmp_path, "reports", "open", "--quarter", "2025-T2")
    assert done.returncode == 0 and "2025-T2: 2 report(s) opened" in done.stdout, done.stderr
    again = _himaya(tmp_path, "reports", "open", "--quarter", "2025-T2")
    assert again.returncode == 0 and "0 report(s) opened" in again.stdout
    for bad in ("2025-T5", "T2", "2999-T1"):
        refused = _himaya(tmp_path, "reports", "open", "--quarter", bad)
        assert refused.returncode == 2 and "--quarter" in refused.stderr, bad
