"""A case that moves and a case that ends early (on SQLite and PostgreSQL): a transfer from Tanger
to Casablanca accepted — the case, its tasks and its history move and Tanger reads it no more —
another declined, one left unanswered climbing the ladder, two coordinators answering at once;
a case closed early with a reason, and reopened with a new reception."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import transfers
from engine.clock import ManualClock
from engine.errors import Conflict
from engine.escalation import escalate_overdue
from engine.models import Case, CaseTimer, CaseTransfer, ChildNameKey, OpenTask, OutboxMessage, TaskRecord
from engine.runtime import Actor, Engine
from tests.conftest import ApiClient
from tests.helpers import ANSWERS, UPE, do, events, open_steps, report, task_id
from tests.test_case_diagram import waiting_for_follow_up

TO_CASA = {"province": "casablanca", "unit": "upe-casablanca", "reason": "La famille s'installe à Casablanca"}
CASA = Actor("cape.casa", "coordinator")


def _transfer(api: ApiClient, case_id: str, body: dict | None = None, user: str = "cape.tanger"):
    return api.post(f"/api/v1/cases/{case_id}/transfer", user, json=body or TO_CASA)


def _outbox(engine: Engine, topic: str) -> list[OutboxMessage]:
    with engine.db.reading() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic)))


def _transfer_row(engine: Engine, transfer_id: str) -> CaseTransfer:
    with engine.db.reading() as session:
        return session.get_one(CaseTransfer, transfer_id)


def test_a_transfer_from_tanger_to_casablanca_accepted_moves_the_case_its_tasks_and_history(
        api: ApiClient, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    do(engine, case_id, "reception_listening", **ANSWERS["reception_listening"])
    held = task_id(engine, case_id, "diagnosis_social")
    engine.claim(held, UPE)
    asked = _transfer(api, case_id)
    assert asked.status_code == 202, asked.get_json()
    transfer = asked.get_json()
    assert (transfer["state"], transfer["to_unit"], transfer["from_unit"]) == (
        "pending", "upe-casablanca", "upe-tanger-assilah")
    assert transfer["respond_by"] and not transfer["overdue"]

    # While pending: Tanger's team keeps working the case; Casablanca sees the request, not the file.
    do(engine, case_id, "diagnosis_medical", **ANSWERS["diagnosis_medical"])
    assert api.get(f"/api/v1/cases/{case_id}", "upe.casa").status_code == 404
    listed = api.get("/api/v1/transfers?state=pending", "cape.casa").get_json()
    assert [t["id"] for t in listed["items"]] == [transfer["id"]] and listed["total"] == 1
    assert "child" not in listed["items"][0] and listed["items"][0]["case_reference"]
    assert api.get("/api/v1/transfers", "cape.tanger").get_json()["total"] == 0  # addressed to Casablanca
    assert api.get("/api/v1/transfers?side=sent", "cape.tanger").get_json()["total"] == 1
    [told] = _outbox(engine, "transfer_requested")
    assert (told.recipient["role"], told.recipient["province"]) == ("coordinator", "casablanca")

    accepted = api.post(f"/api/v1/transfers/{transfer['id']}/accept", "cape.casa", json={})
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["state"] == "accepted" and accepted.get_json()["decided_by"] == "cape.casa"

    for tanger in ("upe.tanger", "cape.tanger", "cppe.tanger"):
        assert api.get(f"/api/v1/cases/{case_id}", tanger).status_code == 404, tanger
        assert api.get(f"/api/v1/cases/{case_id}/history", tanger).status_code == 404, tanger
    file = api.get(f"/api/v1/cases/{case_id}", "upe.casa")
    assert file.status_code == 200
    assert (file.get_json()["province"], file.get_json()["unit"]) == ("casablanca", "upe-casablanca")
    with engine.db.reading() as session:
        tasks = session.scalars(select(OpenTask).where(OpenTask.case_id == case_id)).all()
        keys = set(session.scalars(select(ChildNameKey.province).where(ChildNameKey.case_id == case_id)))
    assert tasks and {(t.province, t.unit) for t in tasks} == {("casablanca", "upe-casablanca")}
    assert all((t.state, t.assignee) == ("ready", None) for t in tasks)  # Tanger's worker held one
    assert keys == {"casablanca"}
    mine = api.get("/api/v1/tasks", "upe.casa").get_json()["items"]
    assert held in {t["id"] for t in mine}
    history = api.get(f"/api/v1/cases/{case_id}/history?view=timeline", "cape.casa").get_json()["events"]
    kinds = [e["kind"] for e in history]
    assert {"case_opened", "step_completed", "transfer_requested", "transfer_accepted"} <= set(kinds)
    found = api.get(f"/api/v1/cases?q={file.get_json()['child']['last_name']}", "upe.casa").get_json()
    assert case_id in {c["id"] for c in found["items"]}  # the child is found in Casablanca now
    assert {m.recipient.get("province") for m in _outbox(engine, "transfer_accepted")} == {"tanger-assilah"}
    assert {m.recipient.get("unit") for m in _outbox(engine, "case_transferred_in")} == {"upe-casablanca"}
    # Casablanca's team works it on.
    engine.complete(held, ANSWERS["diagnosis_social"], Actor("upe.casa", "case_worker"))
    assert "orientation" in open_steps(engine, case_id)
    again = api.post(f"/api/v1/transfers/{transfer['id']}/accept", "cape.casa", json={})
    assert again.status_code == 409


def test_a_declined_transfer_leaves_the_case_where_it_was(api: ApiClient, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    transfer = _transfer(api, case_id).get_json()
    url = f"/api/v1/transfers/{transfer['id']}/decline"
    assert api.post(url, "cape.casa", json={}).status_code == 400
    assert api.post(url, "cape.casa", json={"reason": "  "}).status_code == 400
    assert api.post(url, "cape.tanger", json={"reason": "x"}).status_code == 404  # not addressed to Tanger
    assert api.post(url, "upe.casa", json={"reason": "x"}).status_code == 403
    assert _transfer_row(engine, transfer["id"]).state == "pending"  # nothing changed
    declined = api.post(url, "cape.casa", json={"reason": "Aucune place à l'UPE pour l'instant"})
    assert declined.status_code == 200, declined.get_json()
    assert declined.get_json()["state"] == "declined"
    assert declined.get_json()["decision_reason"] == "Aucune place à l'UPE pour l'instant"
    assert api.get(f"/api/v1/cases/{case_id}", "upe.tanger").status_code == 200
    assert api.get(f"/api/v1/cases/{case_id}", "upe.casa").status_code == 404
    [told] = _outbox(engine, "transfer_declined")
    assert told.recipient["province"] == "tanger-assilah"
    [event] = events(engine, case_id, "transfer_declined")
    assert event.actor == "cape.casa" and event.detail["reason"].startswith("Aucune place")
    assert _transfer(api, case_id).status_code == 202  # asked again, once declined


def test_bad_transfers_are_refused_and_change_nothing(api: ApiClient, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    for body, field in (({**TO_CASA, "unit": "upe-tanger-assilah", "province": "tanger-assilah"}, "unit"),
                        ({**TO_CASA, "unit": "upe-nowhere"}, "unit"),
                        ({**TO_CASA, "unit": "upe-tanger-assilah"}, "unit"),  # not a unit of Casablanca
                        ({**TO_CASA, "province": "tanger-assilah", "unit": "sas-tanger-assilah"}, "unit"),
                        ({**TO_CASA, "reason": ""}, "reason"),
                        ({"unit": "upe-casablanca", "reason": "x"}, "province")):
        refused = _transfer(api, case_id, body)
        assert refused.status_code == 400, (body, refused.get_json())
        assert field in refused.get_json()["errors"]["json"], (body, refused.get_json())
    assert _transfer(api, case_id, user="upe.tanger").status_code == 403
    assert _transfer(api, case_id, user="cape.casa").status_code == 404
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(CaseTransfer)) == 0
    assert _transfer(api, case_id).status_code == 202
    twice = _transfer(api, case_id, {**TO_CASA, "unit": "cape-casablanca"})
    assert twice.status_code == 409, twice.get_json()
    assert api.post(f"/api/v1/cases/{case_id}/close", "cape.tanger", json={"reason": "moved"}).status_code == 200
    [pending] = api.get("/api/v1/transfers?side=sent&state=all", "cape.tanger").get_json()["items"]
    assert pending["state"] == "cancelled"  # withdrawn with the case
    closed = _transfer(api, case_id)
    assert closed.status_code == 409, closed.get_json()


def test_two_coordinators_accepting_at_once_one_wins_the_other_gets_409(api: ApiClient, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    transfer = _transfer(api, case_id).get_json()
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def accept() -> None:
        start.wait()
        try:
            engine.answer_transfer(transfer["id"], True, CASA, province="casablanca")
            outcomes.append("accepted")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["accepted", "conflict"]
    assert len(events(engine, case_id, "transfer_accepted")) == 1
    with engine.db.reading() as session:
        assert session.get_one(Case, case_id).province == "casablanca"


def test_an_unanswered_transfer_climbs_the_ladder_once_per_rung(api: ApiClient, engine: Engine, clock: ManualClock):
    case_id = engine.start_case(report(engine), UPE).case_id  # low risk: five days to answer
    transfer = _transfer(api, case_id).get_json()
    assert transfers.escalate_overdue(engine.db, engine.now()) == 0
    with engine.db.reading() as session:
        assert session.get_one(CaseTransfer, transfer["id"]).respond_by == engine.now() + timedelta(days=5)
    clock.advance(timedelta(days=5, minutes=1))
    api.forget_tokens()
    assert api.get("/api/v1/transfers", "cape.casa").get_json()["items"][0]["overdue"] is True
    for _ in range(2):  # a second sweep at the same time climbs nothing
        transfers.escalate_overdue(engine.db, engine.now())
    clock.advance(timedelta(days=10))
    for _ in range(3):
        transfers.escalate_overdue(engine.db, engine.now())
    rungs = [e.detail["level"] for e in events(engine, case_id, "transfer_escalated")]
    assert rungs == [1, 2, 3]
    told = sorted((m.payload["level"], m.recipient["role"], m.recipient["province"])
                  for m in _outbox(engine, "transfer_overdue"))
    assert told == [(1, "coordinator", "casablanca"), (2, "supervisor", "casablanca"),
                    (3, "coordinator", "tanger-assilah")]
    assert _transfer_row(engine, transfer["id"]).escalation_level == 3
    api.forget_tokens()
    cancelled = api.post(f"/api/v1/transfers/{transfer['id']}/cancel", "cape.tanger", json={"reason": "Sans réponse"})
    assert cancelled.status_code == 200, cancelled.get_json()
    assert _transfer_row(engine, transfer["id"]).state == "cancelled"
    escalate_overdue(engine.db, engine.now())  # the steps' own ladder is unchanged by transfers


def test_the_sending_coordinators_withdraw_a_pending_transfer(api: ApiClient, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    transfer = _transfer(api, case_id).get_json()
    url = f"/api/v1/transfers/{transfer['id']}/cancel"
    assert api.post(url, "cape.tanger", json={}).status_code == 400
    assert api.post(url, "cape.casa", json={"reason": "x"}).status_code == 404  # Casablanca answers, not withdraws
    cancelled = api.post(url, "cape.tanger", json={"reason": "La famille reste à Tanger"})
    assert cancelled.status_code == 200 and cancelled.get_json()["state"] == "cancelled"
    assert api.post(f"/api/v1/transfers/{transfer['id']}/accept", "cape.casa", json={}).status_code == 409
    assert api.get(f"/api/v1/cases/{case_id}/transfers", "cape.tanger").get_json()["items"][0]["state"] == "cancelled"


def test_a_case_closed_early_cancels_its_tasks_and_timers_and_is_reopened_with_a_new_reception(
        api: ApiClient, engine: Engine):
    case_id = waiting_for_follow_up(engine)
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(CaseTimer).where(CaseTimer.case_id == case_id)) == 1
    url = f"/api/v1/cases/{case_id}/close"
    for body, field in (({"reason": "lost"}, "reason"), ({"reason": "other"}, "note"), ({}, "reason"),
                        ({"reason": "moved", "note": "x" * 2001}, "note")):
        refused = api.post(url, "cape.tanger", json=body)
        assert refused.status_code == 400 and field in refused.get_json()["errors"]["json"], (body, refused.get_json())
    assert api.post(url, "upe.tanger", json={"reason": "moved"}).status_code == 403
    assert api.post(url, "cape.casa", json={"reason": "moved"}).status_code == 404
    assert api.get(f"/api/v1/cases/{case_id}", "cape.tanger").get_json()["status"] == "open"  # nothing changed

    closed = api.post(url, "cape.tanger", json={"reason": "moved", "note": "La famille est partie à l'étranger"})
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["status"] == "closed" and closed.get_json()["open_tasks"] == []
    with engine.db.reading() as session:
        case = session.get_one(Case, case_id)
        timers = session.scalar(select(func.count()).select_from(CaseTimer).where(CaseTimer.case_id == case_id))
    assert (case.status, case.closed_reason, timers) == ("closed", "moved", 0)
    [event] = events(engine, case_id, "case_closed")
    assert (event.detail["reason"], event.detail["note"]) == ("moved", "La famille est partie à l'étranger")
    assert api.post(url, "cape.tanger", json={"reason": "moved"}).status_code == 409  # twice
    assert engine.fire_due_timers() == 0

    reopen = f"/api/v1/cases/{case_id}/reopen"
    assert api.post(reopen, "cape.tanger", json={}).status_code == 400
    assert api.post(reopen, "upe.tanger", json={"reason": "x"}).status_code == 403
    reopened = api.post(reopen, "cape.tanger", json={"reason": "L'enfant est de retour à Tanger"})
    assert reopened.status_code == 200, reopened.get_json()
    assert reopened.get_json()["status"] == "open"
    assert [t["name"] for t in reopened.get_json()["open_tasks"]] == ["reception_listening"]
    with engine.db.reading() as session:
        case = session.get_one(Case, case_id)
        done = session.scalar(select(func.count()).select_from(TaskRecord).where(TaskRecord.case_id == case_id,
                                                                                 TaskRecord.outcome == "completed"))
    assert (case.status, case.closed_reason, case.closed_at) == ("open", None, None)
    assert done == 5  # the earlier steps stay on the file
    assert events(engine, case_id, "case_reopened")[0].detail["reason"] == "L'enfant est de retour à Tanger"
    assert api.post(reopen, "cape.tanger", json={"reason": "x"}).status_code == 409  # reopening an open case


@pytest.mark.parametrize("reason", ["deceased", "majority", "duplicate", "other"])
def test_every_reason_closes_a_case(api: ApiClient, engine: Engine, reason: str):
    case_id = engine.start_case(report(engine), UPE).case_id
    closed = api.post(f"/api/v1/cases/{case_id}/close", "cape.tanger", json={"reason": reason, "note": "Note"})
    assert closed.status_code == 200, closed.get_json()
    assert api.get(f"/api/v1/cases/{case_id}", "cape.tanger").get_json()["closed_reason"] == reason


def test_an_urgent_reopening_starts_with_immediate_assistance_and_informs_the_prosecutor(
        api: ApiClient, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    api.post(f"/api/v1/cases/{case_id}/close", "cape.tanger", json={"reason": "moved"})
    assert _outbox(engine, "prosecutor_notification") == []
    reopened = api.post(f"/api/v1/cases/{case_id}/reopen", "cape.tanger",
                        json={"reason": "Retrouvée à la gare, en danger", "urgent": True})
    assert sorted(t["name"] for t in reopened.get_json()["open_tasks"]) == ["immediate_assistance",
                                                                             "judicial_decision"]
    assert len(_outbox(engine, "prosecutor_notification")) == 1  # the prosecutor is informed of the danger


def test_open_referrals_follow_an_accepted_transfer_and_end_with_a_case_closed_early(api: ApiClient, engine: Engine):
    from tests.test_referrals import BODY

    case_id = engine.start_case(report(engine), UPE).case_id
    made = api.post(f"/api/v1/cases/{case_id}/referrals", "upe.tanger", json=BODY)
    assert made.status_code == 201, made.get_json()
    referral = made.get_json()["id"]
    transfer = _transfer(api, case_id).get_json()
    assert api.post(f"/api/v1/transfers/{transfer['id']}/accept", "cape.casa", json={}).status_code == 200
    assert api.get("/api/v1/referrals?state=requested", "sante.tanger").get_json()["items"] == []  # not Tanger's
    listed = api.get("/api/v1/referrals?state=requested", "sante.casa").get_json()["items"]
    assert [r["id"] for r in listed] == [referral]  # Casablanca's health partners answer it now

    closed = api.post(f"/api/v1/cases/{case_id}/close", "cape.casa", json={"reason": "moved", "note": "Parti"})
    assert closed.status_code == 200, closed.get_json()
    [cancelled] = api.get(f"/api/v1/cases/{case_id}/referrals", "cape.casa").get_json()["items"]
    assert cancelled["status"] == "cancelled"
    assert [e.detail["reason"] for e in events(engine, case_id, "referral_cancelled")] == ["case_closed"]
