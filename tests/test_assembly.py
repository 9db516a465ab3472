"""The engine is assembled with the hooks of its subjects: nothing registers them by being imported."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import action_plans, statistical_reports
from engine.clock import ManualClock
from engine.errors import PathwayFailure
from engine.models import StatisticalReport, Unit
from engine.runtime import SYSTEM, Actor, Engine
from engine.statistical_reports import Quarter, open_report
from tests.conftest import SHARED_DEFINITIONS
from tests.helpers import task_id

ROOT = Path(__file__).resolve().parents[1]
UPE = Actor("upe.tanger", "case_worker")
PREPARED = {"activities": "Séances d'écoute, visites à domicile.", "figures_checked": True}


def _report_status(engine: Engine, case_id: str) -> str:
    with engine.db.reading() as session:
        return session.scalars(select(StatisticalReport.status).where(StatisticalReport.case_id == case_id)).one()


def _unit(engine: Engine, code: str) -> Unit:
    with engine.db.reading() as session:
        unit = session.get(Unit, code)
    assert unit is not None
    return unit


def test_the_runtime_imports_no_subject_module() -> None:
    code = ("import sys, engine.runtime; print(engine.runtime.__file__); "
            "print(sorted(m for m in ('engine.action_plans', 'engine.statistical_reports') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    ran = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    where, loaded = ran.stdout.split()
    assert Path(where).resolve() == ROOT / "engine" / "runtime.py"
    assert loaded == "[]"


def test_the_assembled_engine_holds_the_hook_of_each_subject(engine: Engine) -> None:
    assert dict(engine.subject_hooks) == {statistical_reports.KIND: statistical_reports.follow_pathway,
                                          action_plans.KIND: action_plans.follow_pathway}


def test_an_assembled_engine_follows_a_report_into_its_table(engine: Engine, clock: ManualClock) -> None:
    clock.set(datetime(2027, 1, 2, 8, 0, tzinfo=UTC))
    case_id = open_report(engine, _unit(engine, "upe-tanger-assilah"), Quarter(2026, 4), SYSTEM)
    assert case_id is not None and _report_status(engine, case_id) == "preparing"
    engine.complete(task_id(engine, case_id, "prepare_report"), PREPARED, UPE)
    assert _report_status(engine, case_id) == "submitted"


def test_an_engine_without_the_hook_of_a_subject_moves_none_of_its_cases(engine: Engine, clock: ManualClock) -> None:
    clock.set(datetime(2027, 1, 2, 8, 0, tzinfo=UTC))
    case_id = open_report(engine, _unit(engine, "upe-tanger-assilah"), Quarter(2026, 4), SYSTEM)
    assert case_id is not None
    bare = Engine(engine.db, subject_hooks={}, clock=clock, definitions=SHARED_DEFINITIONS)
    with pytest.raises(PathwayFailure, match="statistical_report"):
        bare.complete(task_id(engine, case_id, "prepare_report"), PREPARED, UPE)
    assert _report_status(engine, case_id) == "preparing"
    task_id(engine, case_id, "prepare_report")  # still open: the command was rolled back
    with pytest.raises(PathwayFailure, match="statistical_report"):
        open_report(bare, _unit(engine, "upe-casablanca"), Quarter(2026, 4), SYSTEM)
    with engine.db.reading() as session:
        assert list(session.scalars(select(StatisticalReport.unit))) == ["upe-tanger-assilah"]
