"""BPMN timers: what a deploy accepts, and cycles whose times were missed firing once.

A probe deployed a cycle ``R/PT1S`` on a step: every missed cycle was replayed at each scheduler
run (98 prosecutor notifications in two minutes from one case). Deploys now refuse cycles
without a count and timers shorter than ``HIMAYA_TIMER_MINIMUM`` (one hour by default), and a
cycle that fires skips the times already past, whatever version it runs on.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from api.setup import BPMN_FOLDER
from engine.assembly import assemble_engine
from engine.clock import ManualClock, skip_missed_cycles
from engine.definitions import storage
from engine.definitions.storage import read_forms_folder
from engine.errors import DefinitionInvalid
from engine.models import CaseTimer, OutboxMessage, PathwayVersion
from engine.runtime import Engine
from engine.settings import Settings
from tests.conftest import SHARED_DEFINITIONS
from tests.helpers import ANSWERS, UPE, do, events, report

XML = (BPMN_FOLDER / "child_protection.bpmn").read_text(encoding="utf-8")
FORMS = read_forms_folder(BPMN_FOLDER / "forms")
FOLLOW_UP_TIMER = '{"high": "P1M", "medium": "P2M", "low": "P3M"}[risk_level]'


def _with_reminder(timer: str, kind: str = "timeCycle") -> str:
    """The pathway with a timer on the first step that reminds the prosecutor's office each time it fires."""
    attached = 'attachedToRef="reception_listening" cancelActivity="false"'
    reminder = f'''    <bpmn:boundaryEvent id="listening_reminder" {attached}>
      <bpmn:outgoing>flow_reminder_to_notify</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerEventDefinition_listening_reminder">
        <bpmn:{kind} xsi:type="bpmn:tFormalExpression">{timer.replace("&", "&amp;").replace("<", "&lt;")}</bpmn:{kind}>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:serviceTask id="remind_prosecutor" name="Rappel au parquet">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="himaya.refer_to_partner" resultVariable="reminder_result">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="sector" type="str" value="&quot;justice&quot;" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_reminder_to_notify</bpmn:incoming>
      <bpmn:outgoing>flow_reminded</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="reminder_sent">
      <bpmn:incoming>flow_reminded</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_reminder_to_notify" sourceRef="listening_reminder" targetRef="remind_prosecutor" />
    <bpmn:sequenceFlow id="flow_reminded" sourceRef="remind_prosecutor" targetRef="reminder_sent" />
'''
    anchor = '    <bpmn:sequenceFlow id="flow_report_to_fork"'
    assert anchor in XML, "fixture drift: the first flow was renamed"
    return XML.replace(anchor, reminder + anchor, 1)


def _versions(engine: Engine) -> int:
    with engine.db.reading() as session:
        return session.execute(select(func.count()).select_from(PathwayVersion)
                               .where(PathwayVersion.key == "child_protection")).scalar_one()


def _refused(engine: Engine, xml: str) -> list[dict]:
    before = _versions(engine)
    with pytest.raises(DefinitionInvalid) as caught:
        engine.deploy(xml, FORMS)
    assert _versions(engine) == before, "nothing may be deployed"
    return caught.value.errors


@pytest.mark.parametrize("timer, kind, message", [
    ('"R/PT1S"', "timeCycle", "timer 'R/PT1S': repeats without end: give the number of repetitions"),
    ('"R/P1D"', "timeCycle", "timer 'R/P1D': repeats without end"),
    ('"R-1/P1D"', "timeCycle", "timer 'R-1/P1D': repeats without end"),
    ('"R0/P1D"', "timeCycle", "timer 'R0/P1D': the number of repetitions must be a whole number from 1"),
    ('"R5/PT1S"', "timeCycle", "timer 'R5/PT1S': shorter than the minimum timer of PT1H (HIMAYA_TIMER_MINIMUM)"),
    ('"R5/2026-11-20T08:00:00Z/PT59M"', "timeCycle", "timer 'R5/2026-11-20T08:00:00Z/PT59M': shorter than"),
    ('"R5/2026-11-20T08:00:00Z"', "timeCycle", "needs one duration"),
    ('"every day"', "timeCycle", "not an ISO 8601 repeating interval"),
    ('"PT30M"', "timeDuration", "timer 'PT30M': shorter than the minimum timer of PT1H"),
    ('"PT0.5S"', "timeDuration", "timer 'PT0.5S': shorter than the minimum"),
    ('"P0D"', "timeDuration", "timer 'P0D': shorter than the minimum"),
    ('"soon"', "timeDuration", "timer 'soon': not an ISO 8601 duration"),
    ('"PT1H" if immediate_danger else "PT1S"', "timeDuration", "timer 'PT1S': shorter than the minimum"),
    ('{"high": "PT10M", "medium": "P2M", "low": "P3M"}[risk_level]', "timeDuration", "timer 'PT10M': shorter"),
    ('"PT" + "1S"', "timeDuration", "must choose among ISO 8601 values written in it"),
    ("reminder_delay", "timeDuration", "must choose among ISO 8601 values written in it"),
    ("risk_level", "timeDuration", "timer 'high': not an ISO 8601 duration"),
])
def test_a_timer_without_end_or_shorter_than_the_minimum_is_refused(engine: Engine, timer: str, kind: str,
                                                                     message: str):
    errors = _refused(engine, _with_reminder(timer, kind))
    assert errors[0]["element"] == "listening_reminder" and isinstance(errors[0]["line"], int)
    assert message in errors[0]["message"], errors


def test_the_follow_up_timer_is_read_through_its_choices_and_held_to_the_minimum(engine: Engine):
    assert FOLLOW_UP_TIMER in XML, "fixture drift: the follow-up timer changed"
    errors = _refused(engine, XML.replace(FOLLOW_UP_TIMER, FOLLOW_UP_TIMER.replace('"P2M"', '"PT5M"')))
    assert errors[0]["element"] == "wait_follow_up" and "timer 'PT5M': shorter than" in errors[0]["message"]


@pytest.mark.parametrize("timer, kind", [('"R12/P1M"', "timeCycle"), ('"R4/2026-12-01T09:00:00Z/P1W"', "timeCycle"),
                                         ('"PT1H"', "timeDuration"), ('"P1D" if immediate_danger else "P7D"',
                                                                         "timeDuration")])
def test_bounded_cycles_and_timers_of_at_least_the_minimum_deploy(engine: Engine, timer: str, kind: str):
    assert engine.deploy(_with_reminder(timer, kind), FORMS).created


def test_the_minimum_is_a_setting(engine: Engine):
    settings = Settings.from_environment({"HIMAYA_TIMER_MINIMUM": "PT1S"})
    assert settings.timer_minimum == timedelta(seconds=1)
    lenient = assemble_engine(engine.db, clock=engine.clock, definitions=SHARED_DEFINITIONS, settings=settings)
    assert lenient.deploy(_with_reminder('"R5/PT1S"'), FORMS).created
    _refused(lenient, _with_reminder('"R/PT1S"'))  # still no end: refused whatever the minimum


def _prosecutor_messages(engine: Engine, case_id: str) -> int:
    """The reminders sent to the prosecutor's office (a referral to justice each time the timer fires)."""
    with engine.db.reading() as session:
        return session.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.case_id == case_id, OutboxMessage.topic == "partner_referral")).scalar_one()


def _timers(engine: Engine, case_id: str) -> list[datetime]:
    with engine.db.reading() as session:
        return list(session.scalars(select(CaseTimer.due_at).where(CaseTimer.case_id == case_id)))


def test_missed_cycles_coalesce_into_one_firing(engine: Engine, clock: ManualClock):
    engine.deploy(_with_reminder('"R5/PT1H"'), FORMS)
    case_id = engine.start_case(report(engine), UPE).case_id
    assert _timers(engine, case_id) == [clock.now() + timedelta(hours=1)]
    clock.advance(timedelta(hours=10))  # the scheduler was stopped: every one of the 5 times passed
    assert engine.fire_due_timers() == 1
    assert _prosecutor_messages(engine, case_id) == 1, "one firing, not one per missed time"
    assert engine.fire_due_timers() == 0
    clock.advance(timedelta(hours=2))
    assert engine.fire_due_timers() == 0, "the missed times count as spent: the cycle is over"
    assert _prosecutor_messages(engine, case_id) == 1 and _timers(engine, case_id) == []
    assert len(events(engine, case_id, "timer_fired")) == 1


def test_a_cycle_still_running_fires_once_per_interval_after_a_gap(engine: Engine, clock: ManualClock):
    engine.deploy(_with_reminder('"R20/PT1H"'), FORMS)
    case_id = engine.start_case(report(engine), UPE).case_id
    start = clock.now()
    clock.advance(timedelta(hours=5, minutes=30))
    assert engine.fire_due_timers() == 1 and engine.fire_due_timers() == 0
    assert _timers(engine, case_id) == [start + timedelta(hours=6)], "the next time after now, not the next missed"
    clock.advance(timedelta(hours=1))
    assert engine.fire_due_timers() == 1
    assert _prosecutor_messages(engine, case_id) == 2


def test_a_version_stored_before_the_rules_fires_at_most_once_per_run(engine: Engine, clock: ManualClock):
    with engine.db.transaction() as session:  # as the probe's R/PT1S was stored before deploys refused it
        storage.deploy(session, _with_reminder('"R/PT1S"'), FORMS, actor="admin", now=clock.now(), timer_minimum=None)
    case_id = engine.start_case(report(engine), UPE).case_id
    for _run in range(3):  # two minutes, a scheduler run a minute
        clock.advance(timedelta(minutes=1))
        assert engine.fire_due_timers() == 1
    assert _prosecutor_messages(engine, case_id) == 3
    do(engine, case_id, "reception_listening", **ANSWERS["reception_listening"])
    assert _prosecutor_messages(engine, case_id) == 3, "another command on the case replays nothing"


def test_skip_missed_cycles_moves_past_now_and_spends_what_it_skips():
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    due = {"cycles": 4, "next": datetime(2026, 11, 20, 9, 30, tzinfo=UTC).isoformat(), "duration": 3600.0}
    moved = skip_missed_cycles(due, now)  # 9:30, 10:30 and 11:30 have passed
    assert moved == {"cycles": 1, "next": datetime(2026, 11, 20, 12, 30, tzinfo=UTC).isoformat(), "duration": 3600.0}
    assert skip_missed_cycles(moved, now) == moved, "a time still to come is kept"
    endless = {**due, "cycles": -1}
    assert skip_missed_cycles(endless, now)["cycles"] == -1
    assert skip_missed_cycles({**due, "cycles": 2}, now)["cycles"] == 0
    assert skip_missed_cycles({**due, "duration": 0.0}, now)["cycles"] == 0, "a cycle of no length is over"


def test_the_modelers_check_holds_timers_to_the_same_minimum_as_a_deploy(engine: Engine) -> None:
    from api.app import create_app
    from tests.helpers import page_csrf, page_login

    lenient = assemble_engine(engine.db, clock=engine.clock, definitions=SHARED_DEFINITIONS,
                              settings=Settings.from_environment({"HIMAYA_TIMER_MINIMUM": "PT1S"}))
    web = create_app({"TESTING": True, "SECRET_KEY": "check"}, engine=lenient).test_client()
    page_login(web, "admin")
    checked = web.post("/admin/pathways/check", data=_with_reminder('"R5/PT1M"'), content_type="application/xml",
                       headers={"X-CSRF-Token": page_csrf(web, "/admin/pathways")})
    assert checked.status_code == 200 and checked.get_json()["ok"], checked.get_json()  # a deploy would accept it
