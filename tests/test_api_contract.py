"""Contract tests: every endpoint of docs/api.md, its success and each documented error."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, Response, request, request_finished
from sqlalchemy import func, select

from engine.models import AuthToken, Case, CaseEvent, OpenTask, User
from tests.api_data import intake
from tests.conftest import ApiClient
from tests.helpers import ANSWERS

ERROR_KEYS = {"code", "status", "message"}
HTTP_DATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")


def _http_dates(value: Any, where: str = "") -> Iterator[str]:
    if isinstance(value, str) and HTTP_DATE.search(value):
        yield f"{where}: {value}"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _http_dates(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _http_dates(item, f"{where}[{index}]")


@pytest.fixture(autouse=True)
def no_http_dates_in_responses() -> Iterator[None]:
    """Every JSON answer of these tests has its dates in ISO 8601 (2013-05-02), never as an HTTP
    date (Thu, 02 May 2013 00:00:00 GMT)."""
    found: list[str] = []

    def check(sender: Flask, response: Response, **_: Any) -> None:
        if response.is_json and not response.direct_passthrough:
            found.extend(f"{request.method} {request.path}{where}" for where in _http_dates(response.get_json()))

    request_finished.connect(check)
    try:
        yield
    finally:
        request_finished.disconnect(check)
    assert not found, f"HTTP dates in JSON answers: {found[:5]}"


def _error(response, code: int) -> dict:
    assert response.status_code == code, (response.status_code, response.get_data(as_text=True)[:500])
    body = response.get_json()
    assert ERROR_KEYS <= set(body) and body["code"] == code, body
    return body


def _open_task(api: ApiClient, user: str, case_id: str, step: str) -> dict:
    items = api.get(f"/api/v1/tasks?case_id={case_id}&step={step}", user).get_json()["items"]
    assert len(items) == 1, items
    return items[0]


def _case(api: ApiClient, user: str = "upe.tanger", **overrides) -> dict:
    engine = api.app.extensions["himaya"]
    response = api.post("/api/v1/cases", user, json=intake(engine, **overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- auth ----------------------------------------------------------------------------

def test_token_success_and_bearer_use(api: ApiClient):
    response = api.post("/api/v1/auth/token", json={"username": "upe.tanger", "password": "demo-upe.tanger"})
    body = response.get_json()
    assert response.status_code == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 3600
    me = api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.get_json()["role"] == "case_worker"


def test_same_401_for_unknown_user_and_wrong_password(api: ApiClient):
    wrong = _error(api.post("/api/v1/auth/token", json={"username": "upe.tanger", "password": "nope"}), 401)
    unknown = _error(api.post("/api/v1/auth/token", json={"username": "ghost", "password": "nope"}), 401)
    assert wrong["message"] == unknown["message"]


@pytest.mark.parametrize("body", [{}, {"username": "upe.tanger"}, {"username": 3, "password": "x"},
                                  {"username": "a", "password": "b", "extra": 1}])
def test_token_request_validation(api: ApiClient, body):
    errors = _error(api.post("/api/v1/auth/token", json=body), 400)["errors"]["json"]
    assert errors


def test_missing_malformed_and_foreign_tokens_are_401(api: ApiClient):
    _error(api.client.get("/api/v1/cases"), 401)
    _error(api.client.get("/api/v1/cases", headers={"Authorization": "Bearer not-a-token"}), 401)
    _error(api.client.get("/api/v1/cases", headers={"Authorization": "Basic dXBlOng="}), 401)
    from itsdangerous import URLSafeSerializer
    forged = URLSafeSerializer("another-secret", salt="himaya-token").dumps("x" * 43)
    _error(api.client.get("/api/v1/cases", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_token_expiry(api: ApiClient, clock):
    api.token("upe.tanger")
    assert api.get("/api/v1/cases", "upe.tanger").status_code == 200
    clock.advance(timedelta(minutes=61))
    _error(api.get("/api/v1/cases", "upe.tanger"), 401)


def test_token_revocation(api: ApiClient):
    assert api.post("/api/v1/auth/revoke", "upe.tanger").status_code == 204
    _error(api.get("/api/v1/cases", "upe.tanger"), 401)


def test_token_of_a_disabled_user_is_401(api: ApiClient):
    engine = api.app.extensions["himaya"]
    api.token("upe.casa")
    with engine.db.transaction() as session:
        session.scalar(select(User).where(User.username == "upe.casa")).active = False
    try:
        _error(api.get("/api/v1/cases", "upe.casa"), 401)
        _error(api.post("/api/v1/auth/token", json={"username": "upe.casa", "password": "demo-upe.casa"}), 401)
    finally:
        with engine.db.transaction() as session:
            session.scalar(select(User).where(User.username == "upe.casa")).active = True


def test_lock_out_after_six_failures_in_fifteen_minutes(api: ApiClient, clock):
    for _ in range(6):
        _error(api.post("/api/v1/auth/token", json={"username": "cppe.tanger", "password": "bad"}), 401)
    locked = api.post("/api/v1/auth/token", json={"username": "cppe.tanger", "password": "demo-cppe.tanger"})
    _error(locked, 429)
    ghost = [api.post("/api/v1/auth/token", json={"username": "ghost", "password": "bad"}) for _ in range(7)]
    assert ghost[-1].status_code == 429, "unknown names lock the same way: nothing is revealed"
    clock.advance(timedelta(minutes=16))
    assert api.post("/api/v1/auth/token", json={"username": "cppe.tanger",
                                                "password": "demo-cppe.tanger"}).status_code == 200


# --- cases ---------------------------------------------------------------------------

def test_report_a_child(api: ApiClient):
    body = _case(api)
    assert body["reference"].startswith("TNG-2026-") and body["status"] == "open" and body["risk_level"] == "high"
    assert body["pathway"] == {"key": "child_protection", "version": 1}
    steps = sorted(t["name"] for t in body["open_tasks"])
    assert steps == ["immediate_assistance", "judicial_decision"]
    task = body["open_tasks"][0]
    assert {"id", "case_id", "case_reference", "name", "title", "role", "sector", "state", "assignee",
            "created_at", "due_at", "overdue", "escalation_level"} <= set(task)


@pytest.mark.parametrize("change, where", [
    (lambda b: b["child"].update(sex="X"), ("child", "sex")),
    (lambda b: b["child"].update(birth_date="2008-01-01"), ("child", "birth_date")),
    (lambda b: b["child"].update(birth_date=None), ("child", "birth_date")),
    (lambda b: b.update(categories=["unknown"]), ("categories",)),
    (lambda b: b.update(unexpected=True), ("unexpected",)),
    (lambda b: b["report"].update(received_at="not a date"), ("report", "received_at")),
    (lambda b: b.update(unit="upe-nowhere"), ("unit",)),
    (lambda b: b.update(consent={"legal_basis": "consent"}), ("consent", "given_by")),
])
def test_report_validation_lists_each_field_and_writes_nothing(api: ApiClient, change, where):
    engine = api.app.extensions["himaya"]
    body = intake(engine)
    change(body)
    errors = _error(api.post("/api/v1/cases", "cape.tanger", json=body), 400)["errors"]["json"]
    for key in where:
        assert key in errors, errors
        errors = errors[key]
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_child_of_eighteen_at_the_report_date_is_refused(api: ApiClient):
    engine = api.app.extensions["himaya"]
    body = intake(engine)
    body["child"]["birth_date"] = (engine.now() - timedelta(days=18 * 366)).date().isoformat()
    response = api.post("/api/v1/cases", "upe.tanger", json=body, headers={"Accept-Language": "en"})
    errors = _error(response, 400)["errors"]["json"]
    assert "under 18" in errors["child"]["birth_date"][0]


def test_malformed_json_and_too_large_bodies(api: ApiClient):
    bad = api.post("/api/v1/cases", "upe.tanger", data="{not json", headers={"Content-Type": "application/json"})
    _error(bad, 400)
    huge = api.post("/api/v1/cases", "upe.tanger", data="[" + "1," * 600_000 + "1]",
                    headers={"Content-Type": "application/json"})
    _error(huge, 413)


def test_reporting_outside_ones_territory_is_403(api: ApiClient):
    engine = api.app.extensions["himaya"]
    _error(api.post("/api/v1/cases", "upe.tanger", json=intake(engine, province="casablanca")), 403)
    _error(api.post("/api/v1/cases", "parquet.tanger", json=intake(engine)), 403)


def test_list_cases_paginates_and_filters(api: ApiClient):
    for _ in range(3):
        _case(api)
    _case(api, categories=["street"], emergency={"medical": False, "immediate_danger": False})
    page = api.get("/api/v1/cases?per_page=2&page=2", "cape.tanger").get_json()
    assert page["total"] == 4 and len(page["items"]) == 2 and page["page"] == 2
    medium = api.get("/api/v1/cases?risk_level=medium", "cape.tanger").get_json()
    assert medium["total"] == 1
    street = api.get("/api/v1/cases?category=street", "cape.tanger").get_json()
    assert street["total"] == 1
    _error(api.get("/api/v1/cases?per_page=1000", "cape.tanger"), 400)
    _error(api.get("/api/v1/cases?risk_level=extreme", "cape.tanger"), 400)


def test_get_case_and_its_history(api: ApiClient):
    case = _case(api)
    body = api.get(f"/api/v1/cases/{case['id']}", "upe.tanger").get_json()
    assert body["child"]["first_name"] == "Amina" and body["completed_steps"] == []
    assert sorted(t["name"] for t in body["open_tasks"]) == ["immediate_assistance", "judicial_decision"]
    history = api.get(f"/api/v1/cases/{case['id']}/history", "cape.tanger").get_json()
    kinds = [e["kind"] for e in history["events"]]
    assert kinds[0] == "case_opened" and "case_viewed" in kinds and "service_task_run" in kinds
    viewed = [e for e in history["events"] if e["kind"] == "case_viewed"][0]
    assert viewed["actor"] == "upe.tanger" and viewed["detail"]["source"]
    _error(api.get("/api/v1/cases/00000000-0000-0000-0000-000000000000", "upe.tanger"), 404)
    _error(api.get("/api/v1/cases/not-a-uuid", "upe.tanger"), 404)
    _error(api.get(f"/api/v1/cases/{case['id']}/history", "parquet.tanger"), 403)


def test_partner_sees_only_what_its_tasks_need(api: ApiClient):
    case = _case(api)
    body = api.get(f"/api/v1/cases/{case['id']}", "parquet.tanger").get_json()
    assert [t["name"] for t in body["open_tasks"]] == ["judicial_decision"]
    assert "description" not in body["report"]


def test_change_risk_level(api: ApiClient):
    case = _case(api, categories=["out_of_school"], emergency={"medical": False, "immediate_danger": False})
    response = api.post(f"/api/v1/cases/{case['id']}/risk-level", "cape.tanger",
                        json={"risk_level": "high", "reason": "Violence révélée"})
    assert response.status_code == 200 and response.get_json()["risk_level"] == "high"
    _error(api.post(f"/api/v1/cases/{case['id']}/risk-level", "cape.tanger", json={"risk_level": "high"}), 400)
    _error(api.post(f"/api/v1/cases/{case['id']}/risk-level", "upe.tanger",
                    json={"risk_level": "low", "reason": "x"}), 403)


# --- tasks ---------------------------------------------------------------------------

def test_task_list_scopes_and_detail_with_form(api: ApiClient):
    case = _case(api)
    available = api.get("/api/v1/tasks?scope=available", "upe.tanger").get_json()
    assert [t["name"] for t in available["items"]] == ["immediate_assistance"]
    assert api.get("/api/v1/tasks?scope=mine", "upe.tanger").get_json()["total"] == 0
    task = available["items"][0]
    detail = api.get(f"/api/v1/tasks/{task['id']}", "upe.tanger").get_json()
    assert detail["form"]["components"] and detail["title"] == "Assistance immédiate"
    arabic = api.get(f"/api/v1/tasks/{task['id']}", "upe.tanger", headers={"Accept-Language": "ar"}).get_json()
    assert arabic["title"] != detail["title"] and any("\u0600" <= ch <= "\u06ff" for ch in arabic["title"])
    english = api.get(f"/api/v1/tasks/{task['id']}?lang=en", "upe.tanger").get_json()
    assert english["title"] == "Immediate assistance"
    assert api.get(f"/api/v1/tasks?case_id={case['id']}", "cape.tanger").get_json()["total"] == 2
    _error(api.get("/api/v1/tasks?scope=everything", "upe.tanger"), 400)
    _error(api.get("/api/v1/tasks/00000000-0000-0000-0000-000000000000", "upe.tanger"), 404)


def test_claim_unclaim_assign(api: ApiClient):
    case = _case(api)
    task = _open_task(api, "upe.tanger", case["id"], "immediate_assistance")
    claimed = api.post(f"/api/v1/tasks/{task['id']}/claim", "upe.tanger").get_json()
    assert claimed["state"] == "claimed" and claimed["assignee"] == "upe.tanger"
    assert api.get("/api/v1/tasks?scope=mine", "upe.tanger").get_json()["total"] == 1
    assert api.post(f"/api/v1/tasks/{task['id']}/unclaim", "upe.tanger").get_json()["state"] == "ready"
    assigned = api.post(f"/api/v1/tasks/{task['id']}/assign", "cape.tanger", json={"username": "upe.tanger"})
    assert assigned.status_code == 200 and assigned.get_json()["assignee"] == "upe.tanger"
    _error(api.post(f"/api/v1/tasks/{task['id']}/assign", "cape.tanger", json={"username": "upe.casa"}), 400)
    _error(api.post(f"/api/v1/tasks/{task['id']}/assign", "cape.tanger", json={"username": "ghost"}), 400)
    _error(api.post(f"/api/v1/tasks/{task['id']}/assign", "upe.tanger", json={"username": "upe.tanger"}), 403)
    _error(api.post(f"/api/v1/tasks/{task['id']}/claim", "cape.tanger"), 403)


def test_complete_validation_conflict_and_success(api: ApiClient):
    engine = api.app.extensions["himaya"]
    case = _case(api)
    task = _open_task(api, "upe.tanger", case["id"], "immediate_assistance")
    bad = _error(api.post(f"/api/v1/tasks/{task['id']}/complete", "upe.tanger",
                          json={"data": {"assistance_provided": ["spaceship"], "hospitalised": "maybe"}}), 400)
    assert set(bad["errors"]["json"]["data"]) == {"assistance_provided", "hospitalised", "assistance_notes"}
    _error(api.post(f"/api/v1/tasks/{task['id']}/complete", "upe.tanger", json={}), 400)
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(OpenTask)) == 2, "nothing changed"
    done = api.post(f"/api/v1/tasks/{task['id']}/complete", "upe.tanger",
                    json={"data": ANSWERS["immediate_assistance"]})
    assert done.status_code == 200
    assert sorted(t["name"] for t in done.get_json()["open_tasks"]) == ["judicial_decision", "reception_listening"]
    _error(api.post(f"/api/v1/tasks/{task['id']}/complete", "upe.tanger",
                    json={"data": ANSWERS["immediate_assistance"]}), 409)
    other = _open_task(api, "upe.tanger", case["id"], "reception_listening")
    api.post(f"/api/v1/tasks/{other['id']}/assign", "cape.tanger", json={"username": "upe.tanger"})
    with engine.db.transaction() as session:  # someone else of the unit holds it
        session.get(OpenTask, other["id"]).assignee = "upe.other"
    _error(api.post(f"/api/v1/tasks/{other['id']}/complete", "upe.tanger",
                    json={"data": ANSWERS["reception_listening"]}), 409)


# --- supervision ---------------------------------------------------------------------

def test_supervision_endpoints(api: ApiClient, clock):
    _case(api)
    _case(api, categories=["out_of_school"], emergency={"medical": False, "immediate_danger": False})
    assert api.get("/api/v1/supervision/overdue", "cppe.tanger").get_json()["total"] == 0
    clock.advance(timedelta(hours=5))
    api.forget_tokens()
    overdue = api.get("/api/v1/supervision/overdue", "cppe.tanger").get_json()
    assert [t["name"] for t in overdue["items"]] == ["immediate_assistance"] and overdue["items"][0]["overdue"]
    clock.advance(timedelta(days=15))
    api.forget_tokens()
    stalled = api.get("/api/v1/supervision/stalled?days=14", "cape.tanger").get_json()
    assert stalled["total"] == 2 and stalled["items"][0]["days_without_progress"] >= 15
    assert api.get("/api/v1/supervision/stalled?days=30", "cape.tanger").get_json()["total"] == 0
    summary = api.get("/api/v1/supervision/summary", "cppe.tanger").get_json()
    assert summary["open_cases"] == 2
    assert {c["key"]: c["count"] for c in summary["by_risk_level"]} == {"high": 1, "low": 1}
    assert {"key": "reception_listening", "count": 1} in summary["by_step"]
    filtered = api.get("/api/v1/supervision/summary?risk_level=low", "cppe.tanger").get_json()
    assert filtered["open_cases"] == 1
    _error(api.get("/api/v1/supervision/overdue", "upe.tanger"), 403)
    _error(api.get("/api/v1/supervision/stalled?days=0", "cape.tanger"), 400)


# --- pathways ------------------------------------------------------------------------

def test_pathway_administration(api: ApiClient):
    from api.setup import BPMN_FOLDER

    listing = {p["key"]: p for p in api.get("/api/v1/pathways", "admin").get_json()}
    assert listing["child_protection"]["active_version"] == 1 and listing["aftercare"]["active_version"] == 1
    xml = (BPMN_FOLDER / "child_protection.bpmn").read_text(encoding="utf-8")
    same = api.post("/api/v1/pathways", "admin", data=xml, headers={"Content-Type": "application/xml"})
    assert same.status_code == 200 and same.get_json()["version"] == 1 and not same.get_json()["created"]
    changed = xml.replace("Signalement reçu", "Signalement reçu (v2)")
    created = api.post("/api/v1/pathways?activate=false", "admin", data=changed,
                       headers={"Content-Type": "application/xml"})
    assert created.status_code == 201 and created.get_json()["version"] == 2 and not created.get_json()["active"]
    meta = api.get("/api/v1/pathways/child_protection/versions/2", "admin").get_json()
    assert meta["active"] is False and "follow_up" in meta["steps"]
    bpmn = api.get("/api/v1/pathways/child_protection/versions/2/bpmn", "admin")
    assert bpmn.mimetype == "application/xml" and "(v2)" in bpmn.get_data(as_text=True)
    activated = api.post("/api/v1/pathways/child_protection/versions/2/activate", "admin").get_json()
    assert activated["active"] is True
    invalid = _error(api.post("/api/v1/pathways", "admin", data="<bpmn:definitions",
                              headers={"Content-Type": "application/xml"}), 422)
    assert invalid["errors"][0]["message"].startswith("not well-formed")
    _error(api.post("/api/v1/pathways", "admin", data="x", headers={"Content-Type": "text/plain"}), 415)
    _error(api.get("/api/v1/pathways/child_protection/versions/9", "admin"), 404)
    _error(api.get("/api/v1/pathways", "cape.tanger"), 403)


# --- errors, languages, audit ---------------------------------------------------------

def test_unknown_route_and_wrong_method_are_json(api: ApiClient):
    _error(api.get("/api/v1/nowhere", "upe.tanger"), 404)
    _error(api.client.delete("/api/v1/cases"), 405)


@pytest.mark.parametrize("language, expected", [
    ("fr", "Nom d'utilisateur ou mot de passe incorrect."), ("en", "Wrong user name or password.")])
def test_error_messages_follow_accept_language(api: ApiClient, language, expected):
    body = api.post("/api/v1/auth/token", json={"username": "x", "password": "y"},
                    headers={"Accept-Language": language}).get_json()
    assert body["message"] == expected


def test_arabic_error_messages(api: ApiClient):
    body = api.post("/api/v1/cases", "upe.tanger", json={}, headers={"Accept-Language": "ar"}).get_json()
    message = body["errors"]["json"]["province"][0]
    assert any("\u0600" <= ch <= "\u06ff" for ch in message), message
    assert body["message"] != "The request has invalid fields."


def test_reads_are_audited_in_an_append_only_table(api: ApiClient):
    engine = api.app.extensions["himaya"]
    case = _case(api)
    api.get(f"/api/v1/cases/{case['id']}", "cape.tanger")
    task = _open_task(api, "cape.tanger", case["id"], "judicial_decision")
    api.get(f"/api/v1/tasks/{task['id']}", "cppe.tanger")
    with engine.db.reading() as session:
        kinds = {(e.kind, e.actor) for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case["id"]))}
    assert {("case_viewed", "cape.tanger"), ("task_viewed", "cppe.tanger"), ("tasks_listed", "cape.tanger")} <= kinds
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError
    for statement in ("UPDATE case_events SET actor = 'x'", "DELETE FROM case_events"):
        with pytest.raises(DatabaseError):
            with engine.db.transaction() as session:
                session.execute(text(statement))


def test_tokens_are_stored_by_id_only(api: ApiClient):
    token = api.token("admin")
    engine = api.app.extensions["himaya"]
    with engine.db.reading() as session:
        ids = list(session.scalars(select(AuthToken.id)))
    assert ids and token not in ids


def test_openapi_and_offline_interactive_docs(api: ApiClient):
    spec = api.get("/api/v1/openapi.json").get_json()
    assert spec["info"]["title"] == "Himaya" and "/api/v1/tasks/{task_id}/complete" in spec["paths"]
    page = api.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/docs-assets/swagger-ui-bundle.js" in html and "cdn." not in html
    assert api.get("/api/v1/docs-assets/swagger-ui-bundle.js").status_code == 200
