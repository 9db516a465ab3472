"""The judicial branch runs alongside care (PROTOCOL.md): the prosecutor learns of every violence,
exploitation or danger, at the report or at any later step, once per fact; care never waits on it."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api.setup import BPMN_FOLDER
from engine.clock import ManualClock
from engine.definitions.storage import read_forms_folder
from engine.errors import ValidationFailed
from engine.models import CaseWorkflow, OpenTask, TaskRecord
from engine.runtime import Engine
from tests.helpers import ANSWERS, UPE, do, events, open_steps, outbox, report


def _prosecutor_messages(engine: Engine, case_id: str) -> list[dict[str, Any]]:
    return [m.payload for m in outbox(engine, case_id) if m.topic == "prosecutor_notification"]


def _walk_to_follow_up(engine: Engine, clock: ManualClock, case_id: str) -> None:
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"]})
    do(engine, case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": []})
    do(engine, case_id, "reintegration", **ANSWERS["reintegration"])
    clock.advance(timedelta(days=95))
    assert engine.fire_due_timers() == 1
    assert "follow_up" in open_steps(engine, case_id)


VIOLENCE_FOUND = {"concerns_found": ["violence"], "concerns_detail": "Traces de coups ; l'enfant désigne son oncle."}


def test_violence_found_at_the_listening_informs_the_prosecutor_once_and_care_goes_on(engine: Engine):
    case_id = engine.start_case(report(engine, categories=["out_of_school"]), UPE).case_id
    assert _prosecutor_messages(engine, case_id) == [], "nothing at the report: no violence known yet"
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], **VIOLENCE_FOUND})
    [message] = _prosecutor_messages(engine, case_id)
    assert message["recorded_at"] == "reception_listening" and message["concerns"] == ["violence"]
    assert "Traces" not in str(message) and "Amina" not in str(message), "facts and identity stay in the file"
    # the prosecutor's decision is asked for, alongside the diagnoses
    assert open_steps(engine, case_id) == ["diagnosis_medical", "diagnosis_social", "judicial_decision"]
    # the same fact confirmed by the medical examination is not sent again
    do(engine, case_id, "diagnosis_medical", **{**ANSWERS["diagnosis_medical"], **VIOLENCE_FOUND})
    assert len(_prosecutor_messages(engine, case_id)) == 1
    assert open_steps(engine, case_id) == ["diagnosis_social", "judicial_decision"]


def test_signs_of_abuse_at_the_medicolegal_examination_inform_the_prosecutor_once(engine: Engine):
    case_id = engine.start_case(report(engine, categories=["street"]), UPE).case_id
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"],
                                                 "diagnoses": ["medicolegal", "psychological"]})
    assert _prosecutor_messages(engine, case_id) == []
    do(engine, case_id, "diagnosis_medicolegal", **{
        **ANSWERS["diagnosis_medicolegal"], "concerns_found": ["sexual_abuse"],
        "concerns_detail": "Lésions compatibles avec un abus sexuel."})
    [message] = _prosecutor_messages(engine, case_id)
    assert (message["recorded_at"], message["concerns"]) == ("diagnosis_medicolegal", ["sexual_abuse"])
    # the psychologist notes the same abuse and a new fact: only the new fact reaches the prosecutor
    do(engine, case_id, "diagnosis_psychological", **{
        **ANSWERS["diagnosis_psychological"], "concerns_found": ["sexual_abuse", "neglect"],
        "concerns_detail": "Récit d'abus ; enfant laissé seul des jours."})
    assert [m["concerns"] for m in _prosecutor_messages(engine, case_id)] == [["sexual_abuse"], ["neglect"]]
    decisions = [s for s in open_steps(engine, case_id) if s == "judicial_decision"]
    assert len(decisions) == 2, "each notification asks the prosecutor's office for its decision"
    assert "orientation" in open_steps(engine, case_id), "the diagnoses are done: orientation does not wait"


def test_a_new_fact_at_a_follow_up_visit_informs_the_prosecutor_each_time(engine: Engine, clock: ManualClock):
    case_id = engine.start_case(report(engine, categories=["victim_violence"]), UPE).case_id
    assert [m["concerns"] for m in _prosecutor_messages(engine, case_id)] == [["violence"]]
    do(engine, case_id, "judicial_decision", **ANSWERS["judicial_decision"])
    _walk_to_follow_up(engine, clock, case_id)
    do(engine, case_id, "follow_up", **{**ANSWERS["follow_up"], "situation_stable": False, **VIOLENCE_FOUND})
    messages = _prosecutor_messages(engine, case_id)
    assert len(messages) == 2, "a follow-up visit's new incident is a new fact, even of a known kind"
    assert messages[-1]["recorded_at"] == "follow_up" and messages[-1]["new_incident"] is True
    assert "judicial_decision" in open_steps(engine, case_id)
    clock.advance(timedelta(days=31))  # high risk (violence at the report): a visit a month
    engine.fire_due_timers()
    do(engine, case_id, "follow_up", **{**ANSWERS["follow_up"], "situation_stable": False})
    assert len(_prosecutor_messages(engine, case_id)) == 2, "a visit with nothing new informs nobody"


def test_begging_at_the_report_informs_the_prosecutor(engine: Engine):
    case_id = engine.start_case(report(engine, categories=["begging"]), UPE).case_id
    [message] = _prosecutor_messages(engine, case_id)
    assert message["concerns"] == ["begging"] and message["recorded_at"] == "report"
    assert open_steps(engine, case_id) == ["judicial_decision", "reception_listening"]


def test_orientation_and_accompaniment_open_while_the_judicial_decision_is_pending(engine: Engine):
    case_id = engine.start_case(report(engine, categories=["victim_violence"]), UPE).case_id
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"]})
    do(engine, case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    assert open_steps(engine, case_id) == ["judicial_decision", "orientation"]
    do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": ["legal"]})
    assert open_steps(engine, case_id) == ["accompaniment_legal", "judicial_decision"]
    do(engine, case_id, "accompaniment_legal", **ANSWERS["accompaniment_legal"])
    assert open_steps(engine, case_id) == ["judicial_decision", "reintegration"]


def test_a_placement_ordered_by_the_prosecutor_is_not_asked_for_twice(engine: Engine):
    case_id = engine.start_case(report(engine, categories=["victim_violence"]), UPE).case_id
    do(engine, case_id, "judicial_decision", judicial_measure="protective_placement", decision_date="2026-11-21",
       court_reference="PR-2026-77")
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"]})
    do(engine, case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": []})
    do(engine, case_id, "reintegration", **{**ANSWERS["reintegration"], "reintegration_type": "placement"})
    assert open_steps(engine, case_id) == [], "straight to the follow-up wait: the prosecutor already ordered it"


def test_recording_violence_without_the_facts_is_refused_and_changes_nothing(engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    with engine.db.reading() as session:
        before = session.get_one(CaseWorkflow, case_id).version
    with pytest.raises(ValidationFailed) as refused:
        do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "concerns_found": ["danger"]})
    assert refused.value.errors == {"concerns_detail": ["Required with your answer above."]}
    with pytest.raises(ValidationFailed) as refused:
        do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"],
                                                     "concerns_found": ["torture"], "concerns_detail": "x"})
    assert "concerns_found" in refused.value.errors
    with engine.db.reading() as session:
        assert session.get_one(CaseWorkflow, case_id).version == before
    assert open_steps(engine, case_id) == ["reception_listening"] and outbox(engine, case_id) == []


def test_a_follow_up_visit_can_reopen_the_diagnosis_and_the_orientation(engine: Engine, clock: ManualClock):
    case_id = engine.start_case(report(engine, categories=["out_of_school"]), UPE).case_id
    _walk_to_follow_up(engine, clock, case_id)
    do(engine, case_id, "follow_up", **{**ANSWERS["follow_up"], "situation_stable": False,
                                        "reopen_diagnosis": True, "diagnoses": ["psychological"]})
    assert open_steps(engine, case_id) == ["diagnosis_psychological"]
    do(engine, case_id, "diagnosis_psychological", **ANSWERS["diagnosis_psychological"])
    assert open_steps(engine, case_id) == ["orientation"]


def test_closure_records_a_reason_and_an_outcome(engine: Engine, clock: ManualClock):
    case_id = engine.start_case(report(engine), UPE).case_id
    _walk_to_follow_up(engine, clock, case_id)
    do(engine, case_id, "follow_up", **ANSWERS["follow_up"])
    with pytest.raises(ValidationFailed) as refused:
        do(engine, case_id, "closure_approval", closure_decision="approve", closure_comments="Stable.")
    assert set(refused.value.errors) == {"closure_reason", "closure_outcome"}
    do(engine, case_id, "closure_approval", closure_decision="return_to_orientation", closure_comments="À revoir.")
    assert open_steps(engine, case_id) == ["orientation"], "sending back needs no reason for closing"


def test_referrals_are_partner_tasks_that_never_hold_care_back(engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"]})
    do(engine, case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    with pytest.raises(ValidationFailed) as refused:
        do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": [],
                                              "referrals": ["health"]})
    assert refused.value.errors == {"referral_notes": ["Required with your answer above."]}
    do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": ["social"],
                                          "referrals": ["health", "education"],
                                          "referral_notes": "Bilan dentaire ; réinscription au collège."})
    with engine.db.reading() as session:
        tasks = session.scalars(select(OpenTask).where(OpenTask.case_id == case_id))
        rows = {r.step: (r.role, r.sector) for r in tasks}
    assert rows == {"accompaniment_social": ("case_worker", None), "referral_health": ("partner", "health"),
                    "referral_education": ("partner", "education")}
    do(engine, case_id, "accompaniment_social", **ANSWERS["accompaniment_social"])
    assert open_steps(engine, case_id) == ["referral_education", "referral_health", "reintegration"]
    do(engine, case_id, "referral_health", referral_outcome="provided", service_date="2026-12-03",
       referral_report="Soins dentaires faits.")
    with engine.db.reading() as session:
        done = session.scalars(select(TaskRecord).where(TaskRecord.case_id == case_id,
                                                        TaskRecord.step == "referral_health")).one()
    assert done.data["referral_report"] == "Soins dentaires faits."


def test_closing_a_case_ends_the_judicial_branch_and_open_referrals(engine: Engine, clock: ManualClock):
    case_id = engine.start_case(report(engine, categories=["victim_violence"]), UPE).case_id
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"]})
    do(engine, case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": [], "referrals": ["education"],
                                          "referral_notes": "Réinscription."})
    do(engine, case_id, "reintegration", **ANSWERS["reintegration"])
    clock.advance(timedelta(days=32))
    engine.fire_due_timers()
    do(engine, case_id, "follow_up", **ANSWERS["follow_up"])
    do(engine, case_id, "closure_approval", **ANSWERS["closure_approval"])
    assert open_steps(engine, case_id) == []
    cancelled = sorted(e.step or "" for e in events(engine, case_id, "step_cancelled"))
    assert cancelled == ["judicial_decision", "referral_education"]
    assert events(engine, case_id)[-1].kind == "case_closed"


def test_the_judicial_branch_does_not_grow_the_stored_state(engine: Engine, clock: ManualClock):
    case_id = engine.start_case(report(engine, categories=["victim_violence"]), UPE).case_id
    do(engine, case_id, "judicial_decision", **ANSWERS["judicial_decision"])
    _walk_to_follow_up(engine, clock, case_id)
    sizes = []
    for visit in range(10):
        found = {"concerns_found": ["neglect"], "concerns_detail": f"Visite {visit}."} if visit % 2 else {}
        do(engine, case_id, "follow_up", **{**ANSWERS["follow_up"], "situation_stable": False, **found})
        if visit % 2:
            do(engine, case_id, "judicial_decision", **ANSWERS["judicial_decision"])
        clock.advance(timedelta(days=32))
        engine.fire_due_timers()
        with engine.db.reading() as session:
            sizes.append(session.get_one(CaseWorkflow, case_id).task_count)
    assert len(_prosecutor_messages(engine, case_id)) == 6
    assert max(sizes[4:]) <= sizes[3] + 2, f"task count grows with visits: {sizes}"


# --- the deploy check guards the judicial branch ----------------------------------------------
def _pathway() -> tuple[str, dict[str, Any]]:
    return (BPMN_FOLDER / "child_protection.bpmn").read_text(encoding="utf-8"), read_forms_folder(BPMN_FOLDER / "forms")


def _without(xml: str, element_id: str) -> str:
    """The diagram without an element, the flows leaving it, and its shape."""
    from lxml import etree
    root = etree.fromstring(xml.encode())
    for element in root.xpath(f"//*[@id='{element_id}' or @sourceRef='{element_id}' or @bpmnElement='{element_id}']"):
        element.getparent().remove(element)
    for reference in root.xpath("//*[local-name()='incoming' or local-name()='outgoing']"):
        if not root.xpath(f"//*[@id='{reference.text}']"):
            reference.getparent().remove(reference)
    return etree.tostring(root, encoding="unicode")


def test_the_check_warns_when_a_step_recording_violence_informs_no_prosecutor():
    from engine.definitions.checking import check_definition
    xml, forms = _pathway()
    assert check_definition(xml, forms).warnings == []
    cut = xml.replace('sourceRef="diagnosis_medicolegal" targetRef="signal_diagnosis_medicolegal"',
                      'sourceRef="diagnosis_medicolegal" targetRef="join_diagnosis"')
    assert cut != xml
    cut = _without(cut, "signal_diagnosis_medicolegal")  # the notification left unconnected goes too
    [warning] = check_definition(cut, forms).warnings
    assert warning.element == "diagnosis_medicolegal" and "informs the prosecutor" in warning.message


def test_the_check_refuses_a_signal_nobody_catches_and_an_unsafe_payload():
    from engine.definitions.checking import check_definition
    from engine.errors import DefinitionInvalid
    xml, forms = _pathway()
    uncaught = xml.replace('<bpmn:signal id="signal_concern" name="protection_concern">',
                           '<bpmn:signal id="signal_concern" name="something_else">')
    with pytest.raises(DefinitionInvalid) as refused:
        check_definition(uncaught, forms)
    assert any("no event of the process catches it" in e["message"] and e["element"] == "signal_listening"
               for e in refused.value.errors)
    unsafe = xml.replace('{"step": "reception_listening"', '{"x": ().__class__, "step": "reception_listening"', 1)
    assert unsafe != xml
    with pytest.raises(DefinitionInvalid) as refused:
        check_definition(unsafe, forms)
    assert any(e["element"] == "signal_concern_reception_listening" and "refused" in e["message"]
               for e in refused.value.errors)


# --- open cases of the version before move with a dry run first ---------------------------------
BEFORE = Path(__file__).parent / "fixtures" / "child_protection_before_judicial_branch.bpmn"


def test_open_cases_of_the_version_with_the_join_migrate_after_a_dry_run(engine: Engine, clock: ManualClock):
    from engine.migration import migrate
    from engine.runtime import SYSTEM
    _xml, forms = _pathway()
    old = engine.deploy(BEFORE.read_text(encoding="utf-8"), forms)
    at_decision = engine.start_case(report(engine, categories=["victim_violence"]), UPE).case_id
    at_orientation = engine.start_case(report(engine), UPE).case_id
    do(engine, at_orientation, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"]})
    do(engine, at_orientation, "diagnosis_social", **ANSWERS["diagnosis_social"])
    at_join = engine.start_case(report(engine, categories=["victim_violence"]), UPE).case_id
    do(engine, at_join, "judicial_decision", judicial_measure="protective_placement", decision_date="2026-11-21",
       court_reference="PR-2026-9")  # its thread waits at the join for care
    assert open_steps(engine, at_orientation) == ["orientation"]
    new = engine.deploy(_xml, forms)
    old_version, new_version = old.pathway.version, new.pathway.version  # the current one is stored already

    dry = {c.case_id: c for c in migrate(engine, "child_protection", old_version, new_version, actor=SYSTEM).cases}
    assert dry[at_decision].can_migrate and dry[at_decision].started == ["wait_concern"]
    assert dry[at_orientation].can_migrate and dry[at_orientation].open_steps == ["orientation"]
    assert dry[at_orientation].started == ["wait_concern"]
    # the decision is recorded and its thread waits at the join the new version removed: it ends there
    assert dry[at_join].can_migrate and dry[at_join].ended == ["join_assessment"]
    assert dry[at_join].open_steps == ["join_assessment", "reception_listening"]
    assert not any(c.migrated for c in dry.values())

    applied = migrate(engine, "child_protection", old_version, new_version, actor=SYSTEM, dry_run=False)
    assert (applied.migrated, applied.left) == (3, 0)
    do(engine, at_join, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"]})
    do(engine, at_join, "diagnosis_social", **ANSWERS["diagnosis_social"])
    assert open_steps(engine, at_join) == ["orientation"]
    do(engine, at_join, "orientation", **{**ANSWERS["orientation"], "accompaniments": []})
    do(engine, at_join, "reintegration", **{**ANSWERS["reintegration"], "reintegration_type": "placement"})
    assert open_steps(engine, at_join) == [], "the placement the prosecutor ordered before the move is known"
    # after the move, violence found at a later step reaches the prosecutor
    do(engine, at_orientation, "orientation", **{**ANSWERS["orientation"], "accompaniments": []})
    do(engine, at_orientation, "reintegration", **ANSWERS["reintegration"])
    clock.advance(timedelta(days=95))
    engine.fire_due_timers()
    do(engine, at_orientation, "follow_up", **{**ANSWERS["follow_up"], "situation_stable": False, **VIOLENCE_FOUND})
    assert [m["recorded_at"] for m in _prosecutor_messages(engine, at_orientation)] == ["follow_up"]
    assert "judicial_decision" in open_steps(engine, at_orientation)
    # the case moved at its judicial decision completes it on the new version and care goes on
    do(engine, at_decision, "judicial_decision", **ANSWERS["judicial_decision"])
    assert open_steps(engine, at_decision) == ["reception_listening"]
    do(engine, at_decision, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"]})
    do(engine, at_decision, "diagnosis_social", **ANSWERS["diagnosis_social"])
    assert open_steps(engine, at_decision) == ["orientation"], "no join waits for the decision any more"
    [moved] = events(engine, at_decision, "case_migrated")
    assert moved.detail["started"] == ["wait_concern"]


def test_a_reopened_diagnosis_waits_for_each_new_assessment(engine: Engine, clock: ManualClock):
    case_id = engine.start_case(report(engine), UPE).case_id
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["medical", "social"]})
    do(engine, case_id, "diagnosis_medical", **ANSWERS["diagnosis_medical"])
    do(engine, case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": []})
    do(engine, case_id, "reintegration", **ANSWERS["reintegration"])
    clock.advance(timedelta(days=95))
    engine.fire_due_timers()
    do(engine, case_id, "follow_up", **{**ANSWERS["follow_up"], "situation_stable": False,
                                        "reopen_diagnosis": True, "diagnoses": ["medical", "social"]})
    assert open_steps(engine, case_id) == ["diagnosis_medical", "diagnosis_social"]
    do(engine, case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    assert open_steps(engine, case_id) == ["diagnosis_medical"], "the first round's assessments count no more"
    do(engine, case_id, "diagnosis_medical", **ANSWERS["diagnosis_medical"])
    assert open_steps(engine, case_id) == ["orientation"]


# --- the coordinator reads the judicial branch on the case and at the orientation ---------------
def test_the_coordinator_sees_what_the_prosecutor_was_told_and_decided(api, engine: Engine):
    case_id = engine.start_case(report(engine, categories=["victim_violence"]), UPE).case_id
    response = api.get(f"/api/v1/cases/{case_id}", "cape.tanger")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()["judicial"]
    assert body["pending"] == 1 and body["decisions"] == []
    [sent] = body["notifications"]
    assert sent["recorded_at"] == "report" and sent["concerns"] == ["Violence physique ou psychologique"]
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["medical"]})
    assert api.get(f"/api/v1/cases/{case_id}", "sante.tanger").get_json()["judicial"] is None, \
        "a health partner reads what its tasks need, not the judicial branch"
    do(engine, case_id, "judicial_decision", judicial_measure="protective_placement", decision_date="2026-11-21",
       court_reference="PR-2026-77")
    body = api.get(f"/api/v1/cases/{case_id}", "parquet.tanger").get_json()["judicial"]
    assert body["pending"] == 0 and body["decisions"][0]["court_reference"] == "PR-2026-77"


def test_the_orientation_page_shows_the_prosecutors_decision(web, engine: Engine):
    from tests.helpers import page_login, task_id
    case_id = engine.start_case(report(engine, categories=["victim_violence"]), UPE).case_id
    do(engine, case_id, "judicial_decision", judicial_measure="protective_placement", decision_date="2026-11-21",
       court_reference="PR-2026-77")
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"]})
    do(engine, case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    page_login(web, "cape.tanger")
    page = web.get(f"/tasks/{task_id(engine, case_id, 'orientation')}").get_data(as_text=True)
    assert 'id="judicial"' in page and "PR-2026-77" in page
    assert "Placement de protection" in page, "the measure in words, from the decision's form"
    web.get("/language/ar")
    page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "الحماية القضائية" in page and "PR-2026-77" in page


def test_the_move_cases_command_reports_a_dry_run_and_refuses_a_bad_version(tmp_path, capsys, monkeypatch):
    from api.cli import main
    monkeypatch.setenv("HIMAYA_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["move-cases", "child_protection", "--from", "1", "--to", "1"]) == 1
    assert "Nothing to migrate" in capsys.readouterr().err
    assert main(["move-cases", "child_protection", "--from", "1", "--to", "7"]) == 1
    assert "No such pathway version" in capsys.readouterr().err
    assert main(["deploy", str(BEFORE), "--forms", str(BPMN_FOLDER / "forms")]) == 0
    capsys.readouterr()
    assert main(["move-cases", "child_protection", "--from", "2", "--to", "1"]) == 0
    assert "dry run: 0 open case(s)" in capsys.readouterr().out
