"""A team that changes: a coordinator releases or reassigns a task someone holds, and a disabled
account's tasks go back to their lanes with the coordinators told (on SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from api.users import add_user, disable_user
from engine.models import OpenTask, OutboxMessage
from engine.runtime import Actor, Engine
from engine.staffing import release_all_of
from notifications.templates import payload_values, render
from tests.conftest import ApiClient
from tests.helpers import UPE as UPE_ACTOR
from tests.helpers import events, report, task_id

COLLEAGUE = "upe.tanger.b"


def _colleague(engine: Engine) -> Actor:
    """A second case worker of Tanger's UPE (the lane of the reception)."""
    with engine.db.transaction() as session:
        add_user(session, username=COLLEAGUE, password=f"demo-{COLLEAGUE}-long-enough", role="case_worker",
                 now=engine.now(), province="tanger-assilah", unit="upe-tanger-assilah")
    return Actor(COLLEAGUE, "case_worker")


def _task(engine: Engine, tid: str) -> OpenTask:
    with engine.db.reading() as session:
        return session.get_one(OpenTask, tid)


def test_a_coordinator_releases_a_claimed_task_to_its_lane(api: ApiClient, engine: Engine):
    case = engine.start_case(report(engine), UPE_ACTOR).case_id
    tid = task_id(engine, case, "reception_listening")
    engine.claim(tid, UPE_ACTOR)
    assert api.post(f"/api/v1/tasks/{tid}/release", "upe.tanger", json={}).status_code == 403  # workers unclaim
    assert api.post(f"/api/v1/tasks/{tid}/release", "cape.casa", json={}).status_code == 404
    released = api.post(f"/api/v1/tasks/{tid}/release", "cape.tanger", json={"reason": "En congé"})
    assert released.status_code == 200, released.get_json()
    assert (released.get_json()["state"], released.get_json()["assignee"]) == ("ready", None)
    [event] = events(engine, case, "task_released")
    assert event.actor == "cape.tanger" and event.detail["previous_assignee"] == "upe.tanger"
    assert event.detail["reason"] == "En congé"
    again = api.post(f"/api/v1/tasks/{tid}/release", "cape.tanger", json={})
    assert again.status_code == 409, again.get_json()
    assert api.post(f"/api/v1/tasks/{tid}/release", "cape.tanger", json={"reason": ""}).status_code == 400


def test_a_coordinator_reassigns_a_claimed_task(api: ApiClient, engine: Engine):
    _colleague(engine)
    case = engine.start_case(report(engine), UPE_ACTOR).case_id
    tid = task_id(engine, case, "reception_listening")
    engine.claim(tid, UPE_ACTOR)
    moved = api.post(f"/api/v1/tasks/{tid}/assign", "cape.tanger", json={"username": COLLEAGUE})
    assert moved.status_code == 200, moved.get_json()
    assert _task(engine, tid).assignee == COLLEAGUE
    [event] = events(engine, case, "task_assigned")
    assert (event.detail["assignee"], event.detail["previous_assignee"]) == (COLLEAGUE, "upe.tanger")


def test_disabling_a_leaver_puts_her_tasks_back_and_tells_the_coordinators(engine: Engine):
    leaver = _colleague(engine)
    cases = [engine.start_case(report(engine), UPE_ACTOR).case_id for _ in range(3)]
    held = [task_id(engine, c, "reception_listening") for c in cases[:2]]
    for tid in held:
        engine.claim(tid, leaver)
    kept = task_id(engine, cases[2], "reception_listening")
    engine.claim(kept, UPE_ACTOR)  # a colleague's task stays hers
    with engine.db.transaction() as session:
        disable_user(session, COLLEAGUE, now=engine.now())
    released = release_all_of(engine, COLLEAGUE, Actor("cli", "administrator"))
    assert sorted(r.task_id for r in released) == sorted(held)
    assert [(_task(engine, t).state, _task(engine, t).assignee) for t in held] == [("ready", None)] * 2
    assert _task(engine, kept).assignee == "upe.tanger"
    assert all(events(engine, c, "task_released")[0].detail["reason"] == "user_disabled" for c in cases[:2])
    with engine.db.reading() as session:
        [told] = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "tasks_released")).all()
    assert (told.recipient["role"], told.recipient["province"]) == ("coordinator", "tanger-assilah")
    assert told.payload["tasks"] == 2 and len(told.payload["case_references"]) == 2
    subject, body = render("tasks_released", "ar", payload_values(told.payload, None, "ar"))
    assert COLLEAGUE in subject and told.payload["case_references"][0] in body
    assert release_all_of(engine, COLLEAGUE, Actor("cli", "administrator")) == []  # nothing held any more


@pytest.mark.sqlite_only
def test_the_disable_command_releases_the_tasks(engine: Engine, monkeypatch, capsys):
    from api.cli import main

    leaver = _colleague(engine)
    case = engine.start_case(report(engine), UPE_ACTOR).case_id
    tid = task_id(engine, case, "reception_listening")
    engine.claim(tid, leaver)
    monkeypatch.setenv("HIMAYA_DATABASE_URL", engine.db.engine.url.render_as_string(hide_password=False))
    assert main(["user", "disable", COLLEAGUE]) == 0
    out = capsys.readouterr().out
    assert "disabled (tokens revoked): upe.tanger.b" in out and "1 task(s) back in their lanes" in out
    assert _task(engine, tid).state == "ready"
