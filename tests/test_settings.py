"""Settings are read once at start-up from the environment, and each of them works.

Before ``engine.settings``, the documented ``HIMAYA_ESCALATION_*`` and ``HIMAYA_STALLED_DAYS``
variables were parsed by a function nothing called: these tests start the application from the
environment, as ``himaya serve`` does, and watch each variable change what the engine does.
"""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from api.app import create_app
from api.jobs import Jobs
from engine.db import Database
from engine.escalation import EscalationPolicy, escalate_overdue, flag_stalled
from engine.models import CaseWorkflow, OpenTask
from engine.settings import Settings, SettingsError
from tests.conftest import ApiClient
from tests.helpers import KEY_ENV, UPE, report

ROOT = Path(__file__).resolve().parent.parent
LADDER = {"HIMAYA_ESCALATION_COORDINATOR_FRACTION": "1.0", "HIMAYA_ESCALATION_COORDINATOR_MIN_HOURS": "0",
          "HIMAYA_ESCALATION_SUPERVISOR_FRACTION": "2.0", "HIMAYA_STALLED_DAYS": "3"}


@pytest.fixture
def started(engine, monkeypatch: pytest.MonkeyPatch):
    """The application started from an environment that sets every ladder variable (on the
    database the ``engine`` fixture prepared, pathways deployed)."""
    monkeypatch.setenv("HIMAYA_DATABASE_URL", engine.db.url)
    monkeypatch.setenv("HIMAYA_SECRET_KEY", "settings-test")
    for name, value in LADDER.items():
        monkeypatch.setenv(name, value)
    return create_app({"TESTING": True})


def test_the_application_takes_the_ladder_and_stalled_delay_from_the_environment(started) -> None:
    engine, jobs = started.extensions["himaya"], started.extensions["himaya_jobs"]
    expected = EscalationPolicy(coordinator_fraction=1.0, coordinator_minimum=timedelta(0), supervisor_fraction=2.0,
                                stalled_after=timedelta(days=3))
    assert engine.escalation == expected and jobs.policy == expected


def test_each_ladder_variable_moves_its_rung(started) -> None:
    engine = started.extensions["himaya"]
    case = engine.start_case(report(engine), UPE)
    with engine.db.reading() as session:
        task = session.scalar(select(OpenTask).where(OpenTask.case_id == case.case_id))
    step_time = task.due_at - task.created_at
    assert task.next_escalation_at == task.due_at  # rung 1: the due date
    policy = started.extensions["himaya_jobs"].policy

    def next_rung_after(moment):
        assert escalate_overdue(engine.db, moment, policy) == 1
        with engine.db.reading() as session:
            return session.scalar(select(OpenTask.next_escalation_at).where(OpenTask.id == task.id))

    coordinator_at = next_rung_after(task.due_at)
    # FRACTION=1.0 and MIN_HOURS=0: a whole step's time after the due date (the default is a quarter, at least 4 h)
    assert coordinator_at == task.due_at + step_time
    supervisor_at = next_rung_after(coordinator_at)
    assert supervisor_at == coordinator_at + 2 * step_time  # SUPERVISOR_FRACTION=2.0 (the default is a half)


def test_the_stalled_delay_flags_cases_and_is_the_api_default(started) -> None:
    engine = started.extensions["himaya"]
    case = engine.start_case(report(engine), UPE)
    with engine.db.reading() as session:
        progress = session.scalar(select(CaseWorkflow.last_progress_at).where(CaseWorkflow.case_id == case.case_id))
    policy = started.extensions["himaya_jobs"].policy
    assert flag_stalled(engine.db, progress + timedelta(days=2, hours=23), policy) == 0
    assert flag_stalled(engine.db, progress + timedelta(days=3, hours=1), policy) == 1  # 3 days, not 14
    assert ApiClient(started).get("/api/v1/supervision/stalled", "cape.tanger").get_json()["days"] == 3


def test_jobs_take_the_outbox_lease_and_interval_from_the_settings(engine) -> None:
    settings = Settings.from_environment({"HIMAYA_OUTBOX_LEASE_SECONDS": "4", "HIMAYA_JOB_INTERVAL_SECONDS": "0.5"})
    jobs = Jobs.from_settings(engine, settings)
    assert jobs.deliverer.lease == timedelta(seconds=4)
    assert {job.trigger.interval for job in jobs.scheduler().get_jobs()} == {timedelta(seconds=0.5)}


@pytest.mark.parametrize("name, value", [
    ("HIMAYA_STALLED_DAYS", "two"), ("HIMAYA_STALLED_DAYS", "0"), ("HIMAYA_ESCALATION_COORDINATOR_FRACTION", "nan"),
    ("HIMAYA_ESCALATION_COORDINATOR_MIN_HOURS", "-1"), ("HIMAYA_ESCALATION_SUPERVISOR_FRACTION", "half"),
    ("HIMAYA_PORT", "70000"), ("HIMAYA_THREADS", "many"), ("HIMAYA_SCHEDULER", "yes"), ("HIMAYA_HTTPS", "true"),
    ("HIMAYA_JOB_INTERVAL_SECONDS", "0"), ("HIMAYA_OUTBOX_LEASE_SECONDS", "inf"), ("HIMAYA_TIMEZONE", "Mars/Olympus"),
    ("HIMAYA_TIMER_MINIMUM", "60"), ("HIMAYA_TIMER_MINIMUM", "PT0S"), ("HIMAYA_TIMER_MINIMUM", "P1M"),
])
def test_a_bad_value_is_refused_with_the_variable_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_environment({name: value})
    assert refused.value.variable == name and str(refused.value).startswith(f"{name}: expected ")


def test_a_bad_value_stops_the_command_line_before_anything_starts(tmp_path: Path) -> None:
    database = tmp_path / "never.sqlite"
    done = subprocess.run([sys.executable, "-m", "api.cli", "migrate"], cwd=ROOT, capture_output=True, text=True,
                          env={"HIMAYA_DATABASE_URL": f"sqlite:///{database}", "HIMAYA_STALLED_DAYS": "two",
                               "PATH": "/usr/bin:/bin", **KEY_ENV}, timeout=120)
    assert done.returncode == 2
    assert "HIMAYA_STALLED_DAYS: expected a whole number of days" in done.stderr and "Traceback" not in done.stderr
    assert not database.exists()


def test_a_bad_value_stops_the_web_application(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIMAYA_ESCALATION_SUPERVISOR_FRACTION", "half")
    with pytest.raises(SettingsError, match="HIMAYA_ESCALATION_SUPERVISOR_FRACTION"):
        create_app({"TESTING": True})


def test_unset_and_empty_variables_keep_the_defaults() -> None:
    assert Settings.from_environment({}) == Settings.from_environment({"HIMAYA_STALLED_DAYS": " ", "HIMAYA_PORT": ""})
    assert Settings.from_environment({}).escalation == EscalationPolicy()


@pytest.mark.parametrize("value, minimum", [("PT30M", timedelta(minutes=30)), ("P1D", timedelta(days=1)),
                                            ("P1W", timedelta(weeks=1)), ("PT90S", timedelta(seconds=90))])
def test_the_timer_minimum_is_an_iso_duration(value: str, minimum: timedelta) -> None:
    assert Settings.from_environment({"HIMAYA_TIMER_MINIMUM": value}).timer_minimum == minimum
    assert Settings.from_environment({}).timer_minimum == timedelta(hours=1)


def test_the_application_takes_the_timer_minimum_from_the_environment(database: Database,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIMAYA_DATABASE_URL", database.url)
    monkeypatch.setenv("HIMAYA_SECRET_KEY", "settings-test")
    monkeypatch.setenv("HIMAYA_TIMER_MINIMUM", "PT5M")
    assert create_app({"TESTING": True}).extensions["himaya"].timer_minimum == timedelta(minutes=5)
