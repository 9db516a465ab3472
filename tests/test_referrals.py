"""Referrals to partners: requested, accepted or declined, served, cancelled; overdue ones climb the
escalation ladder; a partner sees only those addressed to its sector in its province (on SQLite and
PostgreSQL, and the main path in Chromium)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from api.jobs import Jobs
from engine.models import CaseEvent, OutboxMessage, Referral
from engine.runtime import Engine
from notifications.templates import render, topics
from tests.conftest import ApiClient
from tests.helpers import UPE, do, events, page_csrf, page_login, report, task_id
from tests.test_browser import browser, site  # noqa: F401  (the Chromium fixtures)

HEALTH_TANGER = {"role": "partner", "province": "tanger-assilah", "sector": "health"}
BODY = {"sector": "health", "organisation": "Unité de protection de l'enfance, hôpital Mohammed V",
        "service": "medical_exam", "reason": "Contusions visibles : examen médical demandé."}


def _case(engine: Engine, **kwargs: Any) -> str:
    return engine.start_case(report(engine, **kwargs), UPE).case_id


def _refer(api: ApiClient, case_id: str, user: str = "upe.tanger", **changes: Any) -> Any:
    return api.post(f"/api/v1/cases/{case_id}/referrals", user, json={**BODY, **changes})


def _made(api: ApiClient, case_id: str, user: str = "upe.tanger", **changes: Any) -> dict[str, Any]:
    response = _refer(api, case_id, user, **changes)
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def _advance(api: ApiClient, clock: Any, delta: timedelta) -> None:
    """Move the test clock (tokens live one hour of it: log in again)."""
    clock.advance(delta)
    api.forget_tokens()


def _messages(engine: Engine, topic: str) -> list[OutboxMessage]:
    with engine.db.reading() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic,
                                                                OutboxMessage.channel == "notify")
                                    .order_by(OutboxMessage.id)))


def _count(engine: Engine, model: Any) -> int:
    with engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_referral_accepted_then_served_is_seen_by_the_worker_and_the_coordinator(api: ApiClient, engine: Engine,
                                                                                   clock):
    case = _case(engine, categories=["street"])  # medium risk: 5 days to answer, 30 to serve
    reception = task_id(engine, case, "reception_listening")
    made = _made(api, case, task_id=reception)
    assert (made["status"], made["priority"], made["step"], made["sector"]) == (
        "requested", "urgent", "reception_listening", "health")
    assert made["respond_by"].startswith((clock.now() + timedelta(days=5)).date().isoformat())
    assert made["child"]["display_name"].startswith("Amina") and made["overdue"] is False
    [asked] = _messages(engine, "referral_requested")
    assert asked.recipient == HEALTH_TANGER and asked.payload["case_reference"] == made["case_reference"]
    assert "Amina" not in str(asked.payload)  # no identity in a message

    # the partner sees it in its list, with the child's reference, age and sex only
    listed = api.get("/api/v1/referrals?state=requested", "sante.tanger").get_json()
    assert [r["id"] for r in listed["items"]] == [made["id"]]
    assert set(listed["items"][0]["child"]) == {"age", "age_estimated", "sex"}
    assert listed["items"][0]["reason"] == BODY["reason"]

    _advance(api, clock, timedelta(days=1))
    accepted = api.post(f"/api/v1/referrals/{made['id']}/accept", "sante.tanger",
                        json={"due_by": (clock.now() + timedelta(days=3)).date().isoformat(), "note": "RDV lundi"})
    assert accepted.status_code == 200, accepted.get_json()
    assert (accepted.get_json()["status"], accepted.get_json()["accepted_by"]) == ("accepted", "sante.tanger")
    assert [m.recipient for m in _messages(engine, "referral_accepted")] == [
        {"usernames": ["upe.tanger"]}, {"role": "coordinator", "province": "tanger-assilah"}]

    _advance(api, clock, timedelta(days=2))
    served = api.post(f"/api/v1/referrals/{made['id']}/complete", "sante.tanger",
                      json={"service_given": "Examen fait, certificat remis.",
                            "occurrence": clock.now().date().isoformat()})
    assert served.status_code == 200, served.get_json()
    today = clock.now().date().isoformat()
    assert (served.get_json()["status"], served.get_json()["occurrence"]) == ("completed", today)

    for user in ("upe.tanger", "cape.tanger", "cppe.tanger"):
        [item] = api.get(f"/api/v1/cases/{case}/referrals", user).get_json()["items"]
        assert (item["status"], item["service_given"], item["completed_by"]) == (
            "completed", "Examen fait, certificat remis.", "sante.tanger")
    assert api.get("/api/v1/referrals?state=completed", "cape.tanger").get_json()["total"] == 1
    kinds = [e.kind for e in events(engine, case) if e.kind.startswith("referral_")]
    assert kinds == ["referral_requested", "referral_accepted", "referral_completed"]
    assert all("Contusions" not in str(e.detail) for e in events(engine, case))  # the texts stay in the referral
    # answering again: 409, nothing changed
    assert api.post(f"/api/v1/referrals/{made['id']}/accept", "sante.tanger", json={}).status_code == 409
    assert api.post(f"/api/v1/referrals/{made['id']}/complete", "sante.tanger",
                    json={"service_given": "x", "occurrence": clock.now().date().isoformat()}).status_code == 409


def test_an_unanswered_referral_climbs_the_ladder_once_per_rung(api: ApiClient, engine: Engine, clock):
    case = _case(engine, categories=["victim_violence"], danger=True)  # high risk: 2 days to answer
    made = _made(api, case)
    assert made["priority"] == "asap"
    jobs = Jobs(engine)

    def rungs() -> list[tuple[int, dict[str, Any]]]:
        return [(m.payload["level"], m.recipient) for m in _messages(engine, "referral_overdue")]

    _advance(api, clock, timedelta(days=2) - timedelta(minutes=1))
    jobs.escalate()
    assert rungs() == []
    _advance(api, clock, timedelta(minutes=2))
    jobs.escalate()
    jobs.escalate()  # twice: still one rung
    assert rungs() == [(1, HEALTH_TANGER)]
    assert api.get(f"/api/v1/cases/{case}/referrals", "upe.tanger").get_json()["items"][0]["overdue"] is True
    _advance(api, clock, timedelta(hours=12))  # a further 25 % of 2 days (12 h): the coordinators
    jobs.escalate()
    jobs.escalate()
    assert rungs()[1:] == [(2, {"role": "coordinator", "province": "tanger-assilah"})]
    _advance(api, clock, timedelta(days=1))  # a further 50 %: the supervisors
    jobs.escalate()
    _advance(api, clock, timedelta(days=30))
    jobs.escalate()
    assert rungs()[2:] == [(3, {"role": "supervisor", "province": "tanger-assilah"})]
    assert [e.detail["level"] for e in events(engine, case, "referral_escalated")] == [1, 2, 3]
    # the notifications reach the partner, then the coordinator, then the supervisor (each once)
    jobs.deliver()
    for user in ("sante.tanger", "cape.tanger", "cppe.tanger"):
        topics_seen = [n["topic"] for n in api.get("/api/v1/notifications", user).get_json()["items"]]
        assert topics_seen.count("referral_overdue") == 1, (user, topics_seen)

    # accepted late: the ladder starts again from the service deadline, and stops once served
    accepted = api.post(f"/api/v1/referrals/{made['id']}/accept", "sante.tanger", json={})
    assert accepted.status_code == 200 and accepted.get_json()["escalation_level"] == 0
    _advance(api, clock, timedelta(days=14, minutes=1))
    jobs.escalate()
    assert [lvl for lvl, _ in rungs()] == [1, 2, 3, 1]
    assert _messages(engine, "referral_overdue")[-1].payload["stage"] == "service"
    api.post(f"/api/v1/referrals/{made['id']}/complete", "sante.tanger",
             json={"service_given": "Soins", "occurrence": clock.now().date().isoformat()})
    _advance(api, clock, timedelta(days=60))
    assert jobs.escalate() == 0 or len(rungs()) == 4  # the case's own steps may climb; the referral does not
    assert len(rungs()) == 4


def test_a_declined_referral_and_a_cancelled_one(api: ApiClient, engine: Engine):
    case = _case(engine)
    made = _made(api, case)
    blank = api.post(f"/api/v1/referrals/{made['id']}/decline", "sante.tanger", json={"reason": "  "})
    assert blank.status_code == 400 and "reason" in blank.get_json()["errors"]["json"]
    declined = api.post(f"/api/v1/referrals/{made['id']}/decline", "sante.tanger",
                        json={"reason": "Pas de pédiatre cette semaine."})
    assert declined.status_code == 200
    assert (declined.get_json()["status"], declined.get_json()["status_reason"]) == (
        "declined", "Pas de pédiatre cette semaine.")
    assert len(_messages(engine, "referral_declined")) == 2
    # completing a declined one, cancelling it, accepting it: 409
    assert api.post(f"/api/v1/referrals/{made['id']}/complete", "sante.tanger",
                    json={"service_given": "x", "occurrence": engine.now().date().isoformat()}).status_code == 409
    assert api.post(f"/api/v1/referrals/{made['id']}/cancel", "upe.tanger", json={"reason": "x"}).status_code == 409
    assert api.post(f"/api/v1/referrals/{made['id']}/accept", "sante.tanger", json={}).status_code == 409

    other = _made(api, case, sector="justice", service="legal_aid", organisation=None)
    cancel = f"/api/v1/referrals/{other['id']}/cancel"
    assert api.post(cancel, "sante.tanger", json={"reason": "x"}).status_code == 404
    assert api.post(cancel, "parquet.tanger", json={"reason": "x"}).status_code == 403
    assert api.post(f"/api/v1/referrals/{other['id']}/cancel", "upe.tanger", json={}).status_code == 400
    cancelled = api.post(f"/api/v1/referrals/{other['id']}/cancel", "cape.tanger", json={"reason": "Fait ailleurs"})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    [told] = _messages(engine, "referral_cancelled")
    assert told.recipient == {"role": "partner", "province": "tanger-assilah", "sector": "justice"}
    assert api.post(f"/api/v1/referrals/{other['id']}/accept", "parquet.tanger", json={}).status_code == 409


@pytest.mark.parametrize("changes, field", [
    ({"sector": "astrology"}, "sector"), ({"sector": None}, "sector"), ({"service": "shelter"}, "service"),
    ({"service": "flying"}, "service"), ({"reason": ""}, "reason"), ({"reason": "   \n "}, "reason"),
    ({"respond_by": "2020-01-01"}, "respond_by"), ({"respond_by": "demain"}, "respond_by"),
    ({"respond_by": "2099-01-01"}, "respond_by"), ({"organisation": "x" * 201}, "organisation"),
    ({"reason": "x" * 2001}, "reason"), ({"task_id": "11111111-1111-1111-1111-111111111111"}, "task_id"),
    ({"colour": "red"}, "colour"),
])
def test_bad_referrals_are_refused_field_by_field_and_nothing_is_written(api: ApiClient, engine: Engine,
                                                                          changes, field):
    case = _case(engine)
    before = (_count(engine, Referral), _count(engine, OutboxMessage), len(events(engine, case)))
    body = {**BODY, **changes}
    response = api.post(f"/api/v1/cases/{case}/referrals", "upe.tanger", json=body)
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["errors"]["json"], response.get_json()
    assert (_count(engine, Referral), _count(engine, OutboxMessage), len(events(engine, case))) == before


def test_bad_answers_are_refused(api: ApiClient, engine: Engine, clock):
    case = _case(engine)
    made = _made(api, case)
    path = f"/api/v1/referrals/{made['id']}"
    assert api.post(path + "/accept", "sante.tanger", json={"due_by": "2020-01-01"}).status_code == 400
    assert api.post(path + "/accept", "sante.tanger", json={"due_by": 3}).status_code == 400
    assert api.post(path + "/complete", "sante.tanger",
                    json={"service_given": "x", "occurrence": clock.now().date().isoformat()}).status_code == 409
    assert api.post(path + "/accept", "sante.tanger", json={}).status_code == 200
    for body, field in (({"service_given": "", "occurrence": clock.now().date().isoformat()}, "service_given"),
                        ({"service_given": "x"}, "occurrence"),
                        ({"service_given": "x", "occurrence": "2020-01-01"}, "occurrence"),
                        ({"service_given": "x", "occurrence": (clock.now() + timedelta(days=2)).date().isoformat()},
                         "occurrence")):
        response = api.post(path + "/complete", "sante.tanger", json=body)
        assert response.status_code == 400 and field in response.get_json()["errors"]["json"], response.get_json()
    assert api.get(f"/api/v1/cases/{case}/referrals", "upe.tanger").get_json()["items"][0]["status"] == "accepted"


def test_a_partner_of_another_sector_or_province_neither_sees_nor_answers(api: ApiClient, engine: Engine):
    case = _case(engine)
    made = _made(api, case)
    path = f"/api/v1/referrals/{made['id']}"
    for user in ("parquet.tanger", "sante.casa", "upe.casa", "cape.casa"):
        assert api.get("/api/v1/referrals", user).get_json()["total"] == 0, user
        for action, body in (("accept", {}), ("decline", {"reason": "x"}), ("cancel", {"reason": "x"}),
                             ("complete", {"service_given": "x", "occurrence": "2026-11-20"})):
            assert api.post(f"{path}/{action}", user, json=body).status_code == 404, (user, action)
    # those who see it but are not addressed: 403
    for user in ("upe.tanger", "cape.tanger", "cppe.tanger"):
        assert api.post(f"{path}/accept", user, json={}).status_code == 403, user
    assert api.post(f"{path}/cancel", "cppe.tanger", json={"reason": "x"}).status_code == 403
    # making one: the case's team only
    assert _refer(api, case, "sante.tanger").status_code == 404  # no task of its sector: it does not see the case
    assert _refer(api, case, "cppe.tanger").status_code == 403
    assert _refer(api, case, "cape.casa").status_code == 404
    assert _refer(api, case, "cape.tanger").status_code == 201
    assert api.get("/api/v1/referrals", "national").status_code == 403
    assert api.get("/api/v1/referrals?state=lost", "cape.tanger").status_code == 400
    assert api.get("/api/v1/referrals/" + made["id"], "cape.tanger").status_code in (404, 405)


def test_a_closed_case_takes_no_referral_and_no_answer(api: ApiClient, engine: Engine):
    case = _case(engine)
    made = _made(api, case)
    from sqlalchemy import update

    from engine.models import Case
    with engine.db.transaction() as session:
        session.execute(update(Case).where(Case.id == case).values(status="closed"))
    assert _refer(api, case).status_code == 409
    assert api.post(f"/api/v1/referrals/{made['id']}/accept", "sante.tanger", json={}).status_code == 409
    assert api.get(f"/api/v1/cases/{case}/referrals", "upe.tanger").get_json()["items"][0]["status"] == "requested"


def test_a_referral_from_the_orientation_step(api: ApiClient, engine: Engine):
    from tests.helpers import ANSWERS

    case = _case(engine)
    do(engine, case, "reception_listening", **ANSWERS["reception_listening"])
    do(engine, case, "diagnosis_medical", **ANSWERS["diagnosis_medical"])
    do(engine, case, "diagnosis_social", **ANSWERS["diagnosis_social"])
    orientation = task_id(engine, case, "orientation")
    made = _made(api, case, "cape.tanger", sector="education", service="school_reinsertion", organisation=None,
                 task_id=orientation)
    assert made["step"] == "orientation"
    [event] = events(engine, case, "referral_requested")
    assert (event.step, event.task_id, event.detail["sector"]) == ("orientation", orientation, "education")


def test_every_referral_topic_has_its_texts():
    for topic in ("referral_requested", "referral_accepted", "referral_declined", "referral_completed",
                  "referral_cancelled", "referral_overdue"):
        assert topic in topics()
        for language in ("fr", "ar", "en"):
            subject, body = render(topic, language, {"reference": "TNG-2026-000001", "link": "/referrals",
                                                     "due": "2026-11-22 08:00"})
            assert "TNG-2026-000001" in subject + body and "/referrals" in body, (topic, language)


# --- pages ---------------------------------------------------------------------------------------

def test_the_case_page_lists_referrals_and_makes_one(web, engine: Engine):
    case = _case(engine)
    page_login(web, "upe.tanger")
    html = web.get(f"/cases/{case}").get_data(as_text=True)
    assert 'id="referrals"' in html and 'id="referral-form"' in html
    token = page_csrf(web, f"/cases/{case}")
    bad = web.post(f"/cases/{case}/referrals", data={"csrf_token": token, "sector": "health",
                                                     "service": "medical_exam", "reason": ""})
    assert bad.status_code == 400 and "referral-form-errors" in bad.get_data(as_text=True)
    assert _count(engine, Referral) == 0
    made = web.post(f"/cases/{case}/referrals", data={"csrf_token": token, "sector": "health",
                                                      "service": "medical_exam", "reason": "Examen",
                                                      "organisation": "Hôpital"})
    assert made.status_code == 302, made.get_data(as_text=True)[:2000]
    html = web.get(f"/cases/{case}").get_data(as_text=True)
    assert "Hôpital" in html and "referral-requested" in html


def test_the_partner_page_accepts_and_records_the_service(web, api: ApiClient, engine: Engine):
    case = _case(engine)
    made = _made(api, case)
    page_login(web, "sante.tanger")
    Jobs(engine).deliver()
    [told] = api.get("/api/v1/notifications", "sante.tanger").get_json()["items"]
    assert told["topic"] == "referral_requested"
    opened = web.post(f"/inbox/{told['id']}/open", data={"csrf_token": page_csrf(web, "/inbox")})
    assert opened.headers["Location"].endswith("/referrals")  # not the file, which the partner does not read
    html = web.get("/referrals").get_data(as_text=True)
    assert made["case_reference"] in html and "Amina" not in html
    token = page_csrf(web, "/referrals")
    assert web.post(f"/referrals/{made['id']}/decline", data={"csrf_token": token, "reason": ""}).status_code == 400
    assert web.post(f"/referrals/{made['id']}/accept", data={"csrf_token": token}).status_code == 302
    done = web.post(f"/referrals/{made['id']}/complete", data={"csrf_token": token, "service_given": "Examen fait",
                                                               "occurrence": engine.now().date().isoformat()})
    assert done.status_code == 302
    assert api.get(f"/api/v1/cases/{case}/referrals", "upe.tanger").get_json()["items"][0]["status"] == "completed"
    page_login(web, "parquet.tanger")
    assert made["case_reference"] not in web.get("/referrals").get_data(as_text=True)
    assert web.post(f"/referrals/{made['id']}/accept", data={"csrf_token": page_csrf(web, "/referrals")}
                    ).status_code == 404


def test_referrals_in_chromium(request):
    from tests.test_browser import ARTIFACTS, _login, _page

    chromium, live = request.getfixturevalue("browser"), request.getfixturevalue("site")
    himaya: Engine = live["engine"]
    case = himaya.start_case(report(himaya, categories=["street"]), UPE).case_id
    page = _page(chromium)
    _login(page, live, "upe.tanger")
    page.goto(f"{live['url']}/cases/{case}#referrals")
    page.select_option("#referral-sector", "health")
    # only the sector's services are offered
    assert page.locator("#referral-service optgroup[data-sector=justice]").evaluate("g => g.hidden") is True
    assert page.locator("#referral-service optgroup[data-sector=health]").evaluate("g => g.hidden") is False
    page.select_option("#referral-service", "medical_exam")
    page.fill("#referral-organisation", "Hôpital Mohammed V – unité de protection de l'enfance")
    page.fill("#referral-reason", "Contusions : examen médical et certificat.")
    page.click("#make-referral")
    page.wait_for_load_state()
    assert page.locator("#referrals .referral.referral-requested").count() == 1
    page.context.close()
    for language, width in (("fr", 1280), ("ar", 360)):
        page = _page(chromium, width)
        _login(page, live, "upe.tanger")
        page.goto(f"{live['url']}/cases/{case}")
        if language == "ar":
            page.click("a[lang=ar]")
            page.wait_for_load_state()
            assert page.get_attribute("html", "dir") == "rtl"
            assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        page.locator("#referrals").screenshot(path=str(ARTIFACTS / f"60-case-referrals-{language}-{width}px.png"))
        page.context.close()
        page = _page(chromium, width)
        _login(page, live, "sante.tanger")
        page.goto(f"{live['url']}/referrals")
        if language == "ar":
            page.click("a[lang=ar]")
            page.wait_for_load_state()
            assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        assert page.locator("#menu-referrals").count() == 1
        assert page.locator(".referral").count() == 1
        page.screenshot(path=str(ARTIFACTS / f"61-partner-referrals-{language}-{width}px.png"), full_page=True)
        page.context.close()
    page = _page(chromium)
    _login(page, live, "sante.tanger")
    page.goto(f"{live['url']}/referrals")
    page.click(".referral .accept-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".referral.referral-accepted").count() == 1
    page.fill(".referral .complete-form textarea[name=service_given]", "Examen fait, certificat remis.")
    page.click(".referral .complete-form button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live['url']}/referrals?state=completed")
    assert page.locator(".referral.referral-completed").count() == 1
    page.context.close()
    with himaya.db.reading() as session:
        assert session.scalar(select(Referral.status)) == "completed"
        assert session.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.kind == "referral_completed")) == 1


def test_every_demo_user_sees_and_answers_only_what_the_policy_says(api: ApiClient, engine: Engine):
    """Each demo user × (list, case list, accept): written from the role table of docs/referrals.md."""
    from api.demo import demo_users

    case = _case(engine)
    made = _made(api, case)
    path = f"/api/v1/referrals/{made['id']}"
    failures = []
    for user in demo_users():
        name, role, province = user["username"], user["role"], user["province"]
        in_tanger = province == "tanger-assilah"
        team = in_tanger and (role in ("coordinator", "supervisor") or user["unit"] == "upe-tanger-assilah")
        addressed = in_tanger and role == "partner" and user["sector"] == "health"
        sees = team or addressed
        listed = api.get("/api/v1/referrals", name)
        want_list = 200 if role in ("case_worker", "coordinator", "partner", "supervisor") else 403
        got_ids = [r["id"] for r in listed.get_json().get("items", [])] if listed.status_code == 200 else []
        if listed.status_code != want_list or (made["id"] in got_ids) != sees:
            failures.append(f"list by {name}: {listed.status_code} {got_ids}")
        got = api.post(path + "/decline", name, json={"reason": "x"}).status_code
        want = 404 if not sees else (200 if addressed else 403)
        if got != want:
            failures.append(f"decline by {name}: got {got}, expected {want}")
        if got == 200:  # put it back for the next users
            with engine.db.transaction() as session:
                row = session.get_one(Referral, made["id"])
                row.status, row.status_reason, row.declined_by, row.declined_at = "requested", None, None, None
    assert not failures, "\n".join(failures)
