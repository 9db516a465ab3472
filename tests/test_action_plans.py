"""The CPPE provincial action plan: structure and field errors, the pathway draft → returned →
validated → reviewed (new version), and the XLSX/PDF exports in the guide's canvas."""
from __future__ import annotations

import copy
import io
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from engine.models import ActionPlan, ActionPlanVersion, Case
from engine.runtime import Engine
from tests.conftest import ApiClient
from tests.helpers import complete_by_api, task_id

PLAN = {"province": "tanger-assilah", "title": "Plan provincial 2027-2029",
        "period_start": "2027-01-01", "period_end": "2029-12-31"}


def action(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "pilot": "Mme Salma Bennani", "partners": ["Délégation de la santé", "Entraide nationale"],
            "resources": "2 assistantes sociales, un véhicule", "budget_mad": "120000.50",
            "indicators": ["Nombre d'enfants signalés"], "deadline": "2027-06-30",
            "expected_results": "Délai de prise en charge réduit", "follow_up": "Revue trimestrielle", **extra}


CONTENT: dict[str, Any] = {
    "context": "Autodiagnostic de 2026.",
    "priorities": [
        {"area": "detection_care", "title": "Détection et prise en charge", "general_objectives": [
            {"title": "Améliorer la détection des enfants victimes", "specific_objectives": [
                {"title": "Mettre en place des équipes mobiles", "actions": [
                    action("Former deux équipes mobiles"),
                    action("Équiper les équipes d'un véhicule", ongoing=True, deadline=None, budget_mad=0)]},
                {"title": "Renforcer le signalement", "actions": [action("Ouvrir une ligne verte provinciale")]},
            ]}]},
        {"area": "prevention", "title": "Prévention", "general_objectives": [
            {"title": "Lutter contre la déscolarisation", "specific_objectives": [
                {"title": "Repérer les élèves à risque",
                 "actions": [action("Créer des cellules d'écoute scolaires")]}]}]},
    ],
}


def _create(api: ApiClient, **changes: Any) -> dict[str, Any]:
    response = api.post("/api/v1/action-plans", "cape.tanger", json={**PLAN, **changes})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _put(api: ApiClient, plan_id: int, content: dict[str, Any] | list[Any], user: str = "cape.tanger") -> TestResponse:
    return api.client.put(f"/api/v1/action-plans/{plan_id}/content", json=content, headers=api.headers(user))


def _status(engine: Engine, plan_id: int) -> list[tuple[int, str]]:
    with engine.db.reading() as session:
        return [(v.number, v.status) for v in session.scalars(
            select(ActionPlanVersion).where(ActionPlanVersion.plan_id == plan_id).order_by(ActionPlanVersion.number))]


def test_the_pathway_runs_draft_returned_validated_reviewed(api: ApiClient, engine, clock):
    plan = _create(api)
    assert plan["status"] == "draft" and plan["version"]["number"] == 1
    assert [t["name"] for t in plan["open_tasks"]] == ["draft_plan"]
    case_id, plan_id = plan["case_id"], plan["id"]

    empty = complete_by_api(api, "cape.tanger", task_id(engine, case_id, "draft_plan"),
                            {"consultation": "Atelier du 9 février"})
    assert empty.status_code == 400, "an empty plan cannot be submitted"
    assert "priorities" in empty.get_json()["errors"]["json"]["data"]
    assert _status(engine, plan_id) == [(1, "draft")]

    assert _put(api, plan_id, CONTENT).status_code == 200
    assert complete_by_api(api, "cape.tanger", task_id(engine, case_id, "draft_plan"),
                     {"consultation": "Atelier du 9 février"}).status_code == 200
    assert _status(engine, plan_id) == [(1, "submitted")]
    assert _put(api, plan_id, CONTENT).status_code == 409, "a submitted version is no longer edited"

    validate = task_id(engine, case_id, "validate_plan")
    by_cape = complete_by_api(api, "cape.tanger", validate, {"decision": "validated"})
    assert by_cape.status_code == 403, "the CPPE decides"
    no_comment = complete_by_api(api, "cppe.tanger", validate, {"decision": "returned"})
    assert no_comment.status_code == 400 and "comments" in no_comment.get_json()["errors"]["json"]["data"]
    assert complete_by_api(api, "cppe.tanger", validate,
                     {"decision": "returned", "comments": "Chiffrer l'action de la ligne verte."}).status_code == 200
    assert _status(engine, plan_id) == [(1, "returned")]
    returned = api.get(f"/api/v1/action-plans/{plan_id}", "cape.tanger").get_json()
    assert returned["comments"][0]["text"] == "Chiffrer l'action de la ligne verte."
    assert [t["name"] for t in returned["open_tasks"]] == ["draft_plan"]

    revised = copy.deepcopy(CONTENT)
    revised["priorities"][0]["general_objectives"][0]["specific_objectives"][1]["actions"][0]["budget_mad"] = "45000"
    assert _put(api, plan_id, revised).status_code == 200
    assert complete_by_api(api, "cape.tanger", task_id(engine, case_id, "draft_plan"),
                     {"consultation": "Comité technique"}).status_code == 200
    assert complete_by_api(api, "cppe.tanger", task_id(engine, case_id, "validate_plan"),
                     {"decision": "validated"}).status_code == 200
    assert _status(engine, plan_id) == [(1, "validated")]

    # the periodic review opens a year later
    clock.advance(timedelta(days=366))
    assert engine.fire_due_timers() == 1
    review = task_id(engine, case_id, "review_plan")
    assert complete_by_api(api, "cape.tanger", review, {"assessment": "8 actions sur 10 réalisées.",
                                                  "next_step": "revise"}).status_code == 200
    assert _status(engine, plan_id) == [(1, "validated"), (2, "draft")]
    api.forget_tokens()
    second = api.get(f"/api/v1/action-plans/{plan_id}", "cape.tanger").get_json()
    assert second["version"]["number"] == 2 and second["content"] == api.get(
        f"/api/v1/action-plans/{plan_id}?version=1", "cape.tanger").get_json()["content"], "a draft copy"
    assert complete_by_api(api, "cape.tanger", task_id(engine, case_id, "draft_plan"),
                     {"consultation": "Revue annuelle"}).status_code == 200
    assert complete_by_api(api, "cppe.tanger", task_id(engine, case_id, "validate_plan"),
                     {"decision": "validated"}).status_code == 200
    assert _status(engine, plan_id) == [(1, "superseded"), (2, "validated")]


def test_bad_actions_give_field_errors_and_change_nothing(api: ApiClient, engine):
    plan = _create(api, content=CONTENT)
    path = ["priorities", "0", "general_objectives", "0", "specific_objectives", "0", "actions", "0"]

    def errors_of(content: dict[str, Any]) -> dict[str, Any]:
        response = _put(api, plan["id"], content)
        assert response.status_code == 400, response.get_json()
        found = response.get_json()["errors"]["json"]
        for key in path:
            found = found[key]
        return found

    for pilot in (None, "", "   "):
        bad = copy.deepcopy(CONTENT)
        first = bad["priorities"][0]["general_objectives"][0]["specific_objectives"][0]["actions"][0]
        if pilot is None:
            del first["pilot"]
        else:
            first["pilot"] = pilot
        assert "pilot" in errors_of(bad), pilot
    bad = copy.deepcopy(CONTENT)
    bad["priorities"][0]["general_objectives"][0]["specific_objectives"][0]["actions"][0]["budget_mad"] = "-1"
    assert "budget_mad" in errors_of(bad)
    bad["priorities"][0]["general_objectives"][0]["specific_objectives"][0]["actions"][0].update(
        budget_mad="10", deadline=None, ongoing=False)
    assert "deadline" in errors_of(bad)
    wrong_area = copy.deepcopy(CONTENT)
    wrong_area["priorities"][0]["area"] = "sports"
    assert _put(api, plan["id"], wrong_area).status_code == 400
    assert _put(api, plan["id"], ["not", "an", "object"]).status_code == 400
    api.forget_tokens()
    stored = api.get(f"/api/v1/action-plans/{plan['id']}", "cape.tanger").get_json()["content"]
    assert stored["priorities"][0]["general_objectives"][0]["specific_objectives"][0]["actions"][0][
        "budget_mad"] == "120000.50", "refused edits change nothing"


def test_opening_a_plan_refuses_bad_input(api: ApiClient, engine):
    assert api.post("/api/v1/action-plans", "cape.tanger", json={**PLAN, "province": "atlantis"}).status_code == 404
    assert api.post("/api/v1/action-plans", "cape.casa", json=PLAN).status_code == 403
    assert api.post("/api/v1/action-plans", "cppe.tanger", json=PLAN).status_code == 403
    assert api.post("/api/v1/action-plans", "upe.tanger", json=PLAN).status_code == 403
    inverted = api.post("/api/v1/action-plans", "cape.tanger", json={**PLAN, "period_end": "2026-01-01"})
    assert inverted.status_code == 400 and "period_end" in inverted.get_json()["errors"]["json"]
    bad_content = api.post("/api/v1/action-plans", "cape.tanger", json={**PLAN, "content": {"priorities": [
        {"area": "prevention", "title": "P", "general_objectives": [{"title": "G", "specific_objectives": [
            {"title": "S", "actions": [action("A", budget_mad=-5)]}]}]}]}})
    assert bad_content.status_code == 400
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(ActionPlan)) == 0
        assert session.scalar(select(func.count()).select_from(Case)) == 0, "no half-opened plan"
    _create(api)
    assert api.post("/api/v1/action-plans", "cape.tanger", json=PLAN).status_code == 409


def test_plans_are_scoped_to_their_province(api: ApiClient, engine):
    plan = _create(api, content=CONTENT)
    assert api.get(f"/api/v1/action-plans/{plan['id']}", "cppe.tanger").status_code == 200
    assert api.get(f"/api/v1/action-plans/{plan['id']}", "national").status_code == 200
    assert api.get(f"/api/v1/action-plans/{plan['id']}", "cape.casa").status_code == 404
    assert api.get(f"/api/v1/action-plans/{plan['id']}", "upe.tanger").status_code == 404
    assert _put(api, plan["id"], CONTENT, "cppe.tanger").status_code == 403
    assert _put(api, plan["id"], CONTENT, "cape.casa").status_code == 404
    assert [p["id"] for p in api.get("/api/v1/action-plans", "cppe.tanger").get_json()["items"]] == [plan["id"]]
    assert api.get("/api/v1/action-plans", "cape.casa").get_json()["items"] == []
    assert api.get(f"/api/v1/cases/{plan['case_id']}", "cape.tanger").status_code == 404, "not a child's file"


def _all_actions(content: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for p in content["priorities"] for g in p["general_objectives"] for s in g["specific_objectives"]
            for a in s["actions"]]


def test_xlsx_export_follows_the_canvas(api: ApiClient):
    from openpyxl import load_workbook

    plan = _create(api, content=CONTENT)
    response = api.get(f"/api/v1/action-plans/{plan['id']}/export?format=xlsx", "cppe.tanger")
    assert response.status_code == 200 and (response.mimetype or "").endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    text = [str(c) for row in values for c in row if c is not None]
    assert any("PLAN D'ACTION PROVINCIAL" in t for t in text)
    assert sum(1 for t in text if t.startswith("Priorité")) == 2
    assert sum(1 for t in text if t.startswith("Objectif général")) == 2
    header = next(row for row in values if row[0] == "Objectifs spécifiques")
    assert header[:4] == ["Objectifs spécifiques", "Moyens / actions", "Résultats attendus", "Pilote(s)"]
    rows = {row[1]: row for row in values if row[1] in {a["title"] for a in _all_actions(CONTENT)}}
    assert len(rows) == 4
    vehicle = rows["Équiper les équipes d'un véhicule"]
    assert vehicle[3] == "Mme Salma Bennani" and vehicle[6] == "en continu"
    assert rows["Former deux équipes mobiles"][7] == "120 000.50"
    assert any(t.startswith("Version du") for t in text)


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_pdf_export_has_the_plans_rows(api: ApiClient, language: str):
    from pypdf import PdfReader

    plan = _create(api, content=CONTENT)
    response = api.get(f"/api/v1/action-plans/{plan['id']}/export?format=pdf", "cppe.tanger",
                       headers={"Accept-Language": language})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    flat = " ".join(text.split())
    if language == "fr":
        assert "PLAN D'ACTION PROVINCIAL" in flat
        for wanted in ("Former deux équipes mobiles", "Ouvrir une ligne verte provinciale", "Salma Bennani",
                       "Mettre en place des équipes mobiles", "Version du"):
            assert wanted in flat, wanted
    else:
        assert "Salma" in flat and "Bennani" in flat


def test_exports_refuse_bad_input(api: ApiClient):
    plan = _create(api)
    assert api.get(f"/api/v1/action-plans/{plan['id']}/export?format=docx", "cppe.tanger").status_code == 400
    assert api.get(f"/api/v1/action-plans/{plan['id']}/export?format=pdf&version=7", "cppe.tanger").status_code == 404
    assert api.get("/api/v1/action-plans/999/export?format=pdf", "cppe.tanger").status_code == 404


def test_a_pdf_export_without_a_unicode_font_is_a_clear_503(api: ApiClient, monkeypatch):
    from api import plan_export

    plan = _create(api, content=CONTENT)
    monkeypatch.setattr(plan_export, "FONT_CANDIDATES", ())
    monkeypatch.delenv("HIMAYA_PDF_FONT", raising=False)
    response = api.get(f"/api/v1/action-plans/{plan['id']}/export?format=pdf", "cppe.tanger")
    assert response.status_code == 503 and "font" in response.get_json()["message"].lower() or \
        "police" in response.get_json()["message"].lower()
    assert api.get(f"/api/v1/action-plans/{plan['id']}/export?format=xlsx", "cppe.tanger").status_code == 200


def test_xlsx_export_writes_formula_like_text_as_text(api: ApiClient):
    from openpyxl import load_workbook

    content = copy.deepcopy(CONTENT)
    specific = content["priorities"][0]["general_objectives"][0]["specific_objectives"][0]
    specific["title"] = "=1+2"
    specific["actions"][0].update(title="=cmd|' /C calc'!A0", pilot="@SUM(A1:A2)", expected_results="-2+3",
                                  partners=["+33 6 12 34 56 78"])
    plan = _create(api, title="=HYPERLINK(\"http://example.org\")", content=content)
    response = api.get(f"/api/v1/action-plans/{plan['id']}/export?format=xlsx", "cppe.tanger")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"], "no cell may be a formula"
    values = {cell.value for cell in cells}
    assert {"=1+2", "=cmd|' /C calc'!A0", "@SUM(A1:A2)", "-2+3", "+33 6 12 34 56 78"} <= values, \
        "the text is written as typed"
    assert all(cell.quotePrefix for cell in cells if str(cell.value).startswith(("=", "+", "-", "@")))
