"""The child-protection pathway end to end, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.assembly import assemble_engine
from engine.clock import ManualClock
from engine.db import Database
from engine.models import Case, CaseTimer, CaseWorkflow, OpenTask
from engine.runtime import Engine
from tests.conftest import SHARED_DEFINITIONS
from tests.helpers import ANSWERS, CAPE, UPE, completed_steps, do, events, open_steps, outbox, report


def _walk_to_reintegration(engine: Engine, case_id: str, accompaniments: list[str]) -> None:
    do(engine, case_id, "reception_listening", **ANSWERS["reception_listening"])
    do(engine, case_id, "diagnosis_medical", **ANSWERS["diagnosis_medical"])
    do(engine, case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": accompaniments})
    for kind in accompaniments:
        do(engine, case_id, f"accompaniment_{kind}", **ANSWERS[f"accompaniment_{kind}"])


def _case(engine: Engine, case_id: str) -> Case:
    with engine.db.reading() as session:
        return session.get_one(Case, case_id)


def test_a_violence_and_immediate_danger_runs_the_judicial_branch_to_closure(engine: Engine, clock: ManualClock):
    started = engine.start_case(report(engine, categories=["victim_violence"], danger=True), UPE)
    case_id = started.case_id
    assert started.risk_level == "high"
    assert started.case_reference.startswith("TNG-2026-")
    assert sorted(t.step for t in started.open_tasks) == ["immediate_assistance", "judicial_decision"]

    [message] = outbox(engine, case_id)
    assert message.topic == "prosecutor_notification"
    assert message.recipient == {"province": "tanger-assilah", "role": "partner", "sector": "justice"}
    assert message.payload["case_reference"] == started.case_reference
    assert "Amina" not in str(message.payload), "no personal data in messages"
    assert [e.step for e in events(engine, case_id, "service_task_run")] == ["notify_prosecutor"]

    immediate = next(t for t in started.open_tasks if t.step == "immediate_assistance")
    assert immediate.due_at == clock.now() + timedelta(hours=4)
    judicial = next(t for t in started.open_tasks if t.step == "judicial_decision")
    assert (judicial.role, judicial.sector) == ("partner", "justice")
    assert judicial.due_at == clock.now() + timedelta(days=3)

    do(engine, case_id, "immediate_assistance", **ANSWERS["immediate_assistance"])
    assert open_steps(engine, case_id) == ["judicial_decision", "reception_listening"]
    do(engine, case_id, "judicial_decision", **ANSWERS["judicial_decision"])
    _walk_to_reintegration(engine, case_id, ["legal"])
    do(engine, case_id, "reintegration", **ANSWERS["reintegration"])
    assert open_steps(engine, case_id) == []
    clock.advance(timedelta(days=31, hours=1))  # high risk: monthly follow-up
    assert engine.fire_due_timers() == 1
    do(engine, case_id, "follow_up", **ANSWERS["follow_up"])
    do(engine, case_id, "closure_approval", **ANSWERS["closure_approval"])

    case = _case(engine, case_id)
    assert case.status == "closed" and case.closed_at == clock.now()
    assert completed_steps(engine, case_id) == [
        "immediate_assistance", "judicial_decision", "reception_listening", "diagnosis_medical",
        "diagnosis_social", "orientation", "accompaniment_legal", "reintegration", "follow_up", "closure_approval"]
    assert open_steps(engine, case_id) == []
    assert [e.kind for e in events(engine, case_id)][-1] == "case_closed"
    with engine.db.reading() as session:
        assert session.scalars(select(CaseTimer).where(CaseTimer.case_id == case_id)).all() == []


def test_b_out_of_school_low_risk_has_no_judicial_branch(engine: Engine):
    started = engine.start_case(report(engine, categories=["out_of_school"]), UPE)
    assert started.risk_level == "low"
    assert [t.step for t in started.open_tasks] == ["reception_listening"]
    assert started.open_tasks[0].due_at == engine.now() + timedelta(days=7)
    assert outbox(engine, started.case_id) == []
    do(engine, started.case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"]})
    assert open_steps(engine, started.case_id) == ["diagnosis_social"]
    do(engine, started.case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    assert open_steps(engine, started.case_id) == ["orientation"]
    assert "judicial_decision" not in completed_steps(engine, started.case_id)


def test_c_closure_sent_back_to_orientation(engine: Engine, clock: ManualClock):
    case_id = engine.start_case(report(engine, categories=["child_labour"]), UPE).case_id
    _walk_to_reintegration(engine, case_id, ["social"])
    do(engine, case_id, "reintegration", **ANSWERS["reintegration"])
    clock.advance(timedelta(days=62))  # medium risk: every two months
    engine.fire_due_timers()
    do(engine, case_id, "follow_up", **ANSWERS["follow_up"])
    do(engine, case_id, "closure_approval", closure_decision="return_to_orientation",
       closure_comments="Le plan doit être revu.")
    assert open_steps(engine, case_id) == ["orientation"]
    assert _case(engine, case_id).status == "open"
    do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": []})
    assert open_steps(engine, case_id) == ["reintegration"]  # no accompaniment chosen: straight on
    do(engine, case_id, "reintegration", **ANSWERS["reintegration"])
    clock.advance(timedelta(days=62))
    engine.fire_due_timers()
    do(engine, case_id, "follow_up", **ANSWERS["follow_up"])
    do(engine, case_id, "closure_approval", **ANSWERS["closure_approval"])
    assert _case(engine, case_id).status == "closed"
    assert completed_steps(engine, case_id).count("orientation") == 2


def test_d_follow_up_visits_fire_on_timers_at_the_risk_interval(engine: Engine, clock: ManualClock):
    case_id = engine.start_case(report(engine, categories=["out_of_school"]), UPE).case_id  # low: quarterly
    _walk_to_reintegration(engine, case_id, [])
    do(engine, case_id, "reintegration", **ANSWERS["reintegration"])
    for _visit in range(3):
        with engine.db.reading() as session:
            timer = session.scalars(select(CaseTimer).where(CaseTimer.case_id == case_id)).one()
        assert timer.step == "wait_follow_up"
        assert timedelta(days=89) <= timer.due_at - clock.now() <= timedelta(days=92)
        clock.set(timer.due_at - timedelta(minutes=1))
        assert engine.fire_due_timers() == 0, "a timer never fires early"
        assert open_steps(engine, case_id) == []
        clock.set(timer.due_at + timedelta(minutes=1))
        assert engine.fire_due_timers() == 1
        assert open_steps(engine, case_id) == ["follow_up"]
        with engine.db.reading() as session:
            task = session.scalars(select(OpenTask).where(OpenTask.case_id == case_id)).one()
        assert task.due_at == clock.now() + timedelta(days=14)
        do(engine, case_id, "follow_up", **{**ANSWERS["follow_up"], "situation_stable": False})
    assert [e.step for e in events(engine, case_id, "timer_fired")] == ["wait_follow_up"] * 3
    assert completed_steps(engine, case_id).count("follow_up") == 3


def test_e_only_the_chosen_accompaniments_open(engine: Engine):
    case_id = engine.start_case(report(engine, categories=["street"]), UPE).case_id
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["psychological"]})
    do(engine, case_id, "diagnosis_psychological", **ANSWERS["diagnosis_psychological"])
    do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": ["medical", "social"]})
    assert open_steps(engine, case_id) == ["accompaniment_medical", "accompaniment_social"]
    with engine.db.reading() as session:
        rows = {r.step: r for r in session.scalars(select(OpenTask).where(OpenTask.case_id == case_id))}
    # Accompaniments are the case worker's (PROTOCOL.md: who accompanies); partners act on referrals.
    assert (rows["accompaniment_medical"].role, rows["accompaniment_medical"].sector) == ("case_worker", None)
    assert rows["accompaniment_social"].role == "case_worker"
    do(engine, case_id, "accompaniment_social", **ANSWERS["accompaniment_social"])
    assert open_steps(engine, case_id) == ["accompaniment_medical"], "the join waits for the other branch"
    do(engine, case_id, "accompaniment_medical", **ANSWERS["accompaniment_medical"])
    assert open_steps(engine, case_id) == ["reintegration"]


def test_placement_reintegration_requires_a_judicial_order(engine: Engine):
    case_id = engine.start_case(report(engine, categories=["deprived_of_family"]), UPE).case_id
    _walk_to_reintegration(engine, case_id, [])
    do(engine, case_id, "reintegration", **{**ANSWERS["reintegration"], "reintegration_type": "placement"})
    assert open_steps(engine, case_id) == ["placement_order"]


def test_f_a_case_reloaded_after_a_restart_continues_identically(database: Database, clock: ManualClock):
    """Two engines, one after the other, as two processes would be: nothing lives in memory."""
    from engine.definitions.cache import DefinitionCache

    first = assemble_engine(database, clock=clock, definitions=SHARED_DEFINITIONS)
    if database.engine.dialect.name == "postgresql":
        first.deploy_folder(__import__("api.setup", fromlist=["BPMN_FOLDER"]).BPMN_FOLDER)
    twin_clock = ManualClock(clock.now())
    payload = report(first, categories=["victim_sexual_abuse"], medical=True)
    case_a = first.start_case(payload, UPE).case_id
    case_b = first.start_case(payload, UPE).case_id
    do(first, case_a, "immediate_assistance", **ANSWERS["immediate_assistance"])
    do(first, case_b, "immediate_assistance", **ANSWERS["immediate_assistance"])
    del first  # "restart": a fresh engine with an empty definition cache reads everything back

    second = assemble_engine(database, clock=twin_clock, definitions=DefinitionCache())
    script = [("judicial_decision", ANSWERS["judicial_decision"]),
              ("reception_listening", ANSWERS["reception_listening"]),
              ("diagnosis_medical", ANSWERS["diagnosis_medical"]),
              ("diagnosis_social", ANSWERS["diagnosis_social"]),
              ("orientation", ANSWERS["orientation"])]
    for step, data in script:
        do(second, case_a, step, **data)
    third = assemble_engine(database, clock=twin_clock, definitions=DefinitionCache())
    for step, data in script:
        do(third, case_b, step, **data)
        third = assemble_engine(database, clock=twin_clock, definitions=DefinitionCache())  # restart at every step
    assert open_steps(second, case_a) == open_steps(third, case_b) == [
        "accompaniment_legal", "accompaniment_psychological"]
    assert completed_steps(second, case_a) == completed_steps(third, case_b)
    with database.reading() as session:
        states = {w.case_id: w.task_count for w in session.scalars(select(CaseWorkflow))}
    assert states[case_a] == states[case_b]


def test_workflow_state_stays_small_over_many_follow_up_visits(engine: Engine, clock: ManualClock):
    case_id = engine.start_case(report(engine, categories=["out_of_school"]), UPE).case_id
    _walk_to_reintegration(engine, case_id, [])
    do(engine, case_id, "reintegration", **ANSWERS["reintegration"])
    sizes = []
    for _ in range(12):
        clock.advance(timedelta(days=95))
        engine.fire_due_timers()
        do(engine, case_id, "follow_up", **{**ANSWERS["follow_up"], "situation_stable": False})
        with engine.db.reading() as session:
            stored = session.get_one(CaseWorkflow, case_id)
            sizes.append((stored.task_count, len(stored.state)))
    assert sizes[-1][0] == sizes[2][0], f"task count grows with visits: {sizes}"
    assert sizes[-1][1] <= sizes[2][1] * 1.1, f"state grows with visits: {sizes}"


def test_history_records_each_step_with_who_and_what(engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    do(engine, case_id, "reception_listening", **ANSWERS["reception_listening"])
    kinds = [(e.kind, e.step, e.actor) for e in events(engine, case_id)]
    assert kinds[0] == ("case_opened", None, "upe.tanger")
    assert ("step_started", "reception_listening", "upe.tanger") in kinds
    assert ("step_completed", "reception_listening", "upe.tanger") in kinds
    completed = events(engine, case_id, "step_completed")[0]  # what was answered, not the answers
    assert "listening_summary" in completed.detail["fields"] and "Écoute faite." not in str(completed.detail)


def test_risk_change_recomputes_due_dates_and_follow_up_interval(engine: Engine, clock: ManualClock):
    started = engine.start_case(report(engine, categories=["out_of_school"]), UPE)
    assert started.open_tasks[0].due_at == clock.now() + timedelta(days=7)
    changed = engine.set_risk_level(started.case_id, "high", "Violence révélée à l'écoute", CAPE)
    assert changed.risk_level == "high"
    assert changed.open_tasks[0].due_at == started.open_tasks[0].created_at + timedelta(hours=24)
    [event] = events(engine, started.case_id, "risk_changed")
    assert event.detail == {"from": "low", "to": "high", "reason": "Violence révélée à l'écoute"}
    _walk_to_reintegration(engine, started.case_id, [])
    do(engine, started.case_id, "reintegration", **ANSWERS["reintegration"])
    with engine.db.reading() as session:
        timer = session.scalars(select(CaseTimer).where(CaseTimer.case_id == started.case_id)).one()
    assert timer.due_at - clock.now() <= timedelta(days=31), "high risk: monthly visits"


@pytest.mark.parametrize("level, reason", [("extreme", "x"), ("high", " ")])
def test_bad_risk_change_is_refused(engine: Engine, level: str, reason: str):
    from engine.errors import ValidationFailed

    case_id = engine.start_case(report(engine), UPE).case_id
    with pytest.raises(ValidationFailed):
        engine.set_risk_level(case_id, level, reason, CAPE)
    assert _case(engine, case_id).risk_level == "low"
