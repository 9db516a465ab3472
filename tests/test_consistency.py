"""``himaya check``: stored workflows agree with their projections, and differences are named."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, update

from engine.consistency import check
from engine.models import CaseTimer, OpenTask
from engine.runtime import Engine
from tests.helpers import ANSWERS, KEY_ENV, UPE, do, report

ROOT = Path(__file__).resolve().parent.parent


def _walk_to_follow_up_timer(engine: Engine) -> str:
    case_id = engine.start_case(report(engine), UPE).case_id
    for step in ("reception_listening", "diagnosis_medical", "diagnosis_social"):
        do(engine, case_id, step, **ANSWERS[step])
    do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": []})
    do(engine, case_id, "reintegration", **ANSWERS["reintegration"])
    return case_id


def test_a_consistent_database_has_no_difference(engine: Engine):
    engine.start_case(report(engine, categories=["victim_violence"], danger=True), UPE)
    _walk_to_follow_up_timer(engine)
    assert list(check(engine)) == []


def test_each_kind_of_difference_is_reported(engine: Engine):
    first = engine.start_case(report(engine), UPE).case_id
    second = _walk_to_follow_up_timer(engine)
    third = engine.start_case(report(engine), UPE).case_id
    with engine.db.transaction() as session:
        session.execute(delete(OpenTask).where(OpenTask.case_id == first))
        session.execute(update(CaseTimer).where(CaseTimer.case_id == second)
                        .values(due_at=engine.now() + timedelta(days=1)))
        session.execute(update(OpenTask).where(OpenTask.case_id == third).values(step="orientation"))
    problems = [str(d) for d in check(engine)]
    assert any("reception_listening" in p and "no open-task row" in p for p in problems)
    assert any("in its row" in p for p in problems)
    assert any("says orientation, the workflow says reception_listening" in p for p in problems)


def test_cli_check_exit_codes(tmp_path: Path):
    env = {"HIMAYA_DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite'}", "PATH": "/usr/bin:/bin", **KEY_ENV}
    run = lambda *a: subprocess.run([sys.executable, "-m", "api.cli", *a], cwd=ROOT, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    assert run("demo").returncode == 0
    done = run("check")
    assert done.returncode == 0 and "0 difference(s)" in done.stdout
    import sqlite3
    with sqlite3.connect(tmp_path / "c.sqlite") as connection:
        connection.execute("DELETE FROM open_tasks WHERE rowid IN (SELECT rowid FROM open_tasks LIMIT 1)")
    done = run("check")
    assert done.returncode == 1 and "difference:" in done.stdout
