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
from tests.test_browser import browser, site  # noqa: F401  (the Chromium fixtures)

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


def test_a_coordinator_releases_in_bulk_one_persons_or_one_units_tasks(api: ApiClient, engine: Engine):
    colleague = _colleague(engine)
    cases = [engine.start_case(report(engine), UPE_ACTOR).case_id for _ in range(3)]
    tids = [task_id(engine, c, "reception_listening") for c in cases]
    engine.claim(tids[0], colleague)
    engine.claim(tids[1], colleague)
    engine.claim(tids[2], UPE_ACTOR)
    url = "/api/v1/tasks/release-all"
    for bad, field in (({}, "username"), ({"username": COLLEAGUE, "unit": "upe-tanger-assilah"}, "username"),
                       ({"username": "upe.casa"}, "username"), ({"unit": "upe-casablanca"}, "unit"),
                       ({"username": COLLEAGUE, "reason": ""}, "reason")):
        refused = api.post(url, "cape.tanger", json=bad)
        assert refused.status_code == 400 and field in refused.get_json()["errors"]["json"], (bad, refused.get_json())
    assert api.post(url, "upe.tanger", json={"username": COLLEAGUE}).status_code == 403
    assert api.post(url, "cape.casa", json={"username": COLLEAGUE}).status_code == 400  # not of Casablanca
    assert [_task(engine, t).state for t in tids] == ["claimed"] * 3  # nothing changed
    mine = api.post(url, "cape.tanger", json={"username": COLLEAGUE, "reason": "Arrêt maladie"})
    assert mine.status_code == 200 and mine.get_json()["count"] == 2
    assert sorted(r["task_id"] for r in mine.get_json()["released"]) == sorted(tids[:2])
    assert _task(engine, tids[2]).assignee == "upe.tanger"
    assert events(engine, cases[0], "task_released")[0].detail["reason"] == "Arrêt maladie"
    unit = api.post(url, "cape.tanger", json={"unit": "upe-tanger-assilah"})
    assert unit.status_code == 200 and [r["task_id"] for r in unit.get_json()["released"]] == [tids[2]]
    assert events(engine, cases[2], "task_released")[0].detail["reason"] == "coordinator_decision"
    assert api.post(url, "cape.tanger", json={"unit": "upe-tanger-assilah"}).get_json()["count"] == 0


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


def test_a_coordinator_gives_a_task_back_to_the_team_from_its_page(web, engine: Engine):
    from tests.helpers import csrf_of, page_login

    case = engine.start_case(report(engine), UPE_ACTOR).case_id
    tid = task_id(engine, case, "reception_listening")
    engine.claim(tid, UPE_ACTOR)
    page_login(web, "upe.tanger")
    assert 'id="release-task"' not in web.get(f"/tasks/{tid}").get_data(as_text=True)  # workers unclaim
    web.post("/logout", data={"csrf_token": csrf_of(web.get("/tasks").get_data(as_text=True))})
    page_login(web, "cape.tanger")
    html = web.get(f"/tasks/{tid}").get_data(as_text=True)
    assert 'id="release-task"' in html and "<bdi>upe.tanger</bdi>" in html
    too_long = web.post(f"/tasks/{tid}/release", data={"csrf_token": csrf_of(html), "reason": "x" * 501})
    assert too_long.status_code == 302 and _task(engine, tid).state == "claimed"
    done = web.post(f"/tasks/{tid}/release", data={"csrf_token": csrf_of(html), "reason": "  En congé  "})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/tasks/{tid}")
    assert (_task(engine, tid).state, _task(engine, tid).assignee) == ("ready", None)
    assert events(engine, case, "task_released")[0].detail["reason"] == "En congé"
    page = web.get(f"/tasks/{tid}").get_data(as_text=True)
    assert "remise à l&#39;équipe" in page and 'id="release-task"' not in page
    again = web.post(f"/tasks/{tid}/release", data={"csrf_token": csrf_of(page)})
    assert again.status_code == 302 and "personne" in web.get(f"/tasks/{tid}").get_data(as_text=True)


def test_the_give_back_form_in_chromium_in_french_and_arabic(request: pytest.FixtureRequest):
    from tests.test_browser import ARTIFACTS, _login, _page

    chromium, live = request.getfixturevalue("browser"), request.getfixturevalue("site")
    himaya = live["engine"]
    case = himaya.start_case(report(himaya), UPE_ACTOR).case_id
    tid = task_id(himaya, case, "reception_listening")
    for language, width in (("fr", 1280), ("ar", 360)):
        himaya.claim(tid, UPE_ACTOR)
        page = _page(chromium, width)
        _login(page, live, "cape.tanger")
        page.goto(f"{live['url']}/tasks/{tid}")
        if language == "ar":
            page.click("a[lang=ar]")
            page.wait_for_load_state()
            assert page.get_attribute("html", "dir") == "rtl"
        page.click("#release-task summary")
        page.fill("#release-reason", "En congé jusqu'au 15 mars" if language == "fr" else "في عطلة")
        page.locator("#release-task").screenshot(path=str(ARTIFACTS / f"46-release-task-{language}.png"))
        page.click("#release-submit")
        page.wait_for_load_state()
        assert page.locator(".flash.success").is_visible()
        assert page.locator("#release-task").count() == 0
        page.screenshot(path=str(ARTIFACTS / f"46-released-{language}-{width}px.png"), full_page=False)
        page.context.close()
        assert _task(himaya, tid).state == "ready"
