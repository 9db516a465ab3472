"""Minimisation (issue 20, item 5): what a partner reads of a child follows the recorded legal
basis and consent, and its step (API, pages, summary PDF); consent notes never reach a partner;
the CPPE's supervisors read overdue and stalled lists by reference, the name only in the file
they open (logged)."""
from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from pypdf import PdfReader

from api.auth import hash_password
from engine.models import User
from engine.runtime import Engine
from tests.conftest import ApiClient
from tests.helpers import ANSWERS, UPE, do, events, page_login, report, task_id

NOTES = "La tante a donné son accord au téléphone, le père est injoignable."
GUARDIAN = "Fatima Zahraoui"
EDUCATION = "ecole.tanger"


def _education_partner(engine: Engine) -> None:
    now = engine.now()
    with engine.db.transaction() as session:
        session.add(User(username=EDUCATION, password_hash=hash_password(f"demo-{EDUCATION}"), full_name=EDUCATION,
                         role="partner", province="tanger-assilah", unit=None, sector="education", language="fr",
                         active=True, email=f"{EDUCATION}@himaya.example", created_at=now, password_changed_at=now))


def _referred(engine: Engine, surname: str, consent: dict[str, Any]) -> str:
    """A case referred to health and education, the consent as given."""
    payload = report(engine, first_name="Salma", last_name=surname, categories=["out_of_school"])
    payload["consent"] = consent
    payload["report"]["location"] = {"commune": "Tanger", "place": "Derb Lihoudi"}
    case_id = engine.start_case(payload, UPE).case_id
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"]})
    do(engine, case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": ["social"],
                                          "referrals": ["health", "education"],
                                          "referral_notes": "Bilan dentaire ; réinscription au collège."})
    return case_id


MANDATE = {"legal_basis": "protection_mandate", "child_informed": True, "guardian_informed": False, "notes": NOTES}
CONSENTED = {"legal_basis": "consent", "given_by": GUARDIAN, "child_informed": True, "guardian_informed": True,
             "notes": NOTES}


def _pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def test_other_sectors_see_the_reference_age_and_sex_only_under_the_protection_mandate(api: ApiClient,
                                                                                      engine: Engine) -> None:
    _education_partner(engine)
    case_id = _referred(engine, "Benkirane", MANDATE)
    body = api.get(f"/api/v1/cases/{case_id}", EDUCATION).get_json()
    child = body["child"]
    assert child["identity_masked"] is True and child["sex"] == "F" and isinstance(child["age"], int)
    assert child["first_name"] is child["last_name"] is child["birth_date"] is child["alias"] is None
    assert body["child"]["names_other_script"] is None and body["child"]["nationality"] is None
    assert body["consent"] == {"legal_basis": "protection_mandate", "child_informed": True, "guardian_informed": False}
    assert "location" not in body["report"]
    text = str(body)
    for secret in ("Salma", "Benkirane", "2014-03-01", NOTES, "Derb Lihoudi"):
        assert secret not in text, secret
    tasks = api.get("/api/v1/tasks?scope=all", EDUCATION).get_json()
    assert any(t["case_id"] == case_id for t in tasks["items"])
    assert "Benkirane" not in str(tasks) and "Salma" not in str(tasks)
    listed = api.get("/api/v1/cases", EDUCATION).get_json()
    assert "Benkirane" not in str(listed) and [c["id"] for c in listed["items"]] == [case_id]
    assert api.get("/api/v1/cases?q=Benkirane", EDUCATION).get_json()["total"] == 0, "a name finds nothing"
    reference = body["reference"]
    assert api.get(f"/api/v1/cases?q={reference}", EDUCATION).get_json()["total"] == 1
    pdf = api.get(f"/api/v1/cases/{case_id}/summary.pdf", EDUCATION)
    assert pdf.status_code == 200
    printed = _pdf_text(pdf.data)
    assert reference in printed and "Benkirane" not in printed and "Salma" not in printed
    assert "accord au téléphone" not in printed and "Derb Lihoudi" not in printed


def test_health_and_justice_see_the_identity_but_never_the_consent_notes(api: ApiClient, engine: Engine) -> None:
    case_id = _referred(engine, "Tazi", CONSENTED)
    health = api.get(f"/api/v1/cases/{case_id}", "sante.tanger").get_json()
    assert health["child"]["first_name"] == "Salma" and health["child"]["last_name"] == "Tazi"
    assert health["child"]["identity_masked"] is False
    assert health["consent"] == {"legal_basis": "consent", "child_informed": True, "guardian_informed": True}
    assert NOTES not in str(health) and GUARDIAN not in str(health)
    pdf = _pdf_text(api.get(f"/api/v1/cases/{case_id}/summary.pdf", "sante.tanger").data)
    assert "Tazi" in pdf and "accord au téléphone" not in pdf and "Zahraoui" not in pdf
    violence = report(engine, first_name="Youssef", last_name="Alaoui", categories=["victim_violence"])
    violence["consent"] = MANDATE
    judged = engine.start_case(violence, UPE).case_id
    justice = api.get(f"/api/v1/cases/{judged}", "parquet.tanger").get_json()
    assert justice["child"]["last_name"] == "Alaoui" and justice["child"]["identity_masked"] is False
    assert NOTES not in str(justice) and "notes" not in justice["consent"]
    team = api.get(f"/api/v1/cases/{case_id}", "cape.tanger").get_json()
    assert team["consent"]["notes"] == NOTES and team["consent"]["given_by"] == GUARDIAN, "the team reads them"


def test_other_sectors_see_the_identity_when_the_consent_allows_it(api: ApiClient, engine: Engine) -> None:
    _education_partner(engine)
    consented = _referred(engine, "Chraibi", CONSENTED)
    body = api.get(f"/api/v1/cases/{consented}", EDUCATION).get_json()
    assert body["child"]["last_name"] == "Chraibi" and body["child"]["identity_masked"] is False
    assert NOTES not in str(body) and GUARDIAN not in str(body)
    assert api.get("/api/v1/cases?q=Chraibi", EDUCATION).get_json()["total"] == 1
    uninformed = _referred(engine, "Fassi", {**CONSENTED, "child_informed": False, "guardian_informed": False})
    assert api.get(f"/api/v1/cases/{uninformed}", EDUCATION).get_json()["child"]["identity_masked"] is True
    ordered = _referred(engine, "Berrada", {**MANDATE, "legal_basis": "judicial_order"})
    assert api.get(f"/api/v1/cases/{ordered}", EDUCATION).get_json()["child"]["last_name"] == "Berrada"


def test_the_pages_mask_the_child_for_a_partner_of_another_sector(web: FlaskClient, engine: Engine) -> None:
    _education_partner(engine)
    case_id = _referred(engine, "Benjelloun", MANDATE)
    page_login(web, EDUCATION)
    case_page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Benjelloun" not in case_page and "Salma" not in case_page and "nom non affiché" in case_page
    assert 'id="identity-masked"' in case_page and "2014-03-01" not in case_page
    step = web.get(f"/tasks/{task_id(engine, case_id, 'referral_education')}").get_data(as_text=True)
    assert "Benjelloun" not in step and "Salma" not in step and "nom non affiché" in step
    listing = web.get("/tasks").get_data(as_text=True)
    assert "Benjelloun" not in listing
    printed = _pdf_text(web.get(f"/cases/{case_id}/summary.pdf").data)
    assert "Benjelloun" not in printed and "accord au téléphone" not in printed


def test_supervisors_read_overdue_and_stalled_lists_by_reference(api: ApiClient, web: FlaskClient,
                                                                engine: Engine, clock) -> None:
    case_id = engine.start_case(report(engine, first_name="Nour", last_name="Squalli",
                                       categories=["victim_violence"], medical=True), UPE).case_id
    clock.advance(timedelta(days=20))
    api.forget_tokens()
    overdue = api.get("/api/v1/supervision/overdue", "cppe.tanger").get_json()
    assert overdue["total"] >= 1 and all(t["child_name"] == "" and t["child_masked"] for t in overdue["items"])
    assert all(isinstance(t["child_age"], int) for t in overdue["items"])
    stalled = api.get("/api/v1/supervision/stalled?days=14", "cppe.tanger").get_json()
    assert stalled["total"] == 1 and stalled["items"][0]["child"]["identity_masked"] is True
    assert stalled["items"][0]["reference"] and "Squalli" not in str(stalled) and "Squalli" not in str(overdue)
    cases = api.get("/api/v1/cases", "cppe.tanger").get_json()
    assert "Squalli" not in str(cases)
    coordinator = api.get("/api/v1/supervision/stalled?days=14", "cape.tanger").get_json()
    assert "Squalli" in str(coordinator), "the coordinators work the cases: they read the names"
    page_login(web, "cppe.tanger")
    dashboard = web.get("/supervision").get_data(as_text=True)
    assert "Squalli" not in dashboard and "nom non affiché" in dashboard
    before = len(events(engine, case_id, "case_viewed"))
    opened = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Squalli" in opened, "the file the supervisor opens names the child"
    assert len(events(engine, case_id, "case_viewed")) == before + 1, "and the opening is logged"
