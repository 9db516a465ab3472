"""The follow-up of a validated provincial action plan, action by action: state, percentage,
actual dates, note, by the action's pilot or the CAPE technical committee, with its history on
the plan's pages and in both exports (fr, ar); bad input refused; late actions for the CPPE."""
from __future__ import annotations

import copy
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from engine.models import PlanActionProgress, PlanActionUpdate
from engine.runtime import Engine
from tests.conftest import ApiClient
from tests.helpers import complete_by_api, page_csrf, page_login, task_id
from tests.test_action_plans import CONTENT, PLAN

FIRST = "0.0.0.0"  # "Former deux équipes mobiles", deadline 2027-06-30
HOTLINE = "0.0.1.0"  # "Ouvrir une ligne verte provinciale": its pilot is the user upe.tanger


def _content() -> dict:
    content = copy.deepcopy(CONTENT)
    content["priorities"][0]["general_objectives"][0]["specific_objectives"][1]["actions"][0]["pilot"] = "upe.tanger"
    return content


def _url(plan_id: int, path: str) -> str:
    return f"/api/v1/action-plans/{plan_id}/actions/{path}/progress"


def _put(api: ApiClient, plan_id: int, path: str, body: dict, user: str = "cape.tanger"):
    return api.client.put(_url(plan_id, path), json=body, headers=api.headers(user))


def _validated_plan(api: ApiClient, engine: Engine) -> int:
    created = api.post("/api/v1/action-plans", "cape.tanger", json={**PLAN, "content": _content()})
    assert created.status_code == 201, created.get_json()
    plan = created.get_json()
    early = _put(api, plan["id"], FIRST, {"state": "in_progress", "percent_done": 10, "started_on": "2026-11-01"})
    assert early.status_code == 400 and "plan" in early.get_json()["errors"]["json"], "a draft is not followed up"
    assert complete_by_api(api, "cape.tanger", task_id(engine, plan["case_id"], "draft_plan"),
                           {"consultation": "Atelier"}).status_code == 200
    assert complete_by_api(api, "cppe.tanger", task_id(engine, plan["case_id"], "validate_plan"),
                           {"decision": "validated"}).status_code == 200
    return plan["id"]


def _updates(engine: Engine) -> int:
    with engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(PlanActionUpdate)) or 0


FIRST_UPDATE = {"state": "in_progress", "percent_done": 40, "started_on": "2026-11-02",
                "note": "Première équipe formée à Tanger"}
SECOND_UPDATE = {"state": "done", "percent_done": 100, "started_on": "2026-11-02", "ended_on": "2026-11-19",
                 "note": "Deuxième équipe formée à Assilah"}


def test_progress_updated_twice_is_shown_with_its_history_on_the_page_and_in_both_exports(
        api: ApiClient, web, engine: Engine):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    plan_id = _validated_plan(api, engine)
    assert _put(api, plan_id, FIRST, FIRST_UPDATE).status_code == 200
    second = _put(api, plan_id, FIRST, SECOND_UPDATE)
    assert second.status_code == 200, second.get_json()
    body = second.get_json()
    assert body["current"]["state"] == "done" and body["current"]["percent_done"] == 100
    assert [(h["percent_done"], h["note"], h["updated_as"]) for h in body["history"]] == [
        (40, FIRST_UPDATE["note"], "committee"), (100, SECOND_UPDATE["note"], "committee")]
    by_pilot = _put(api, plan_id, HOTLINE, {"state": "in_progress", "percent_done": 25, "started_on": "2026-11-10"},
                    "upe.tanger")
    assert by_pilot.status_code == 200 and by_pilot.get_json()["history"][0]["updated_as"] == "pilot"
    assert _put(api, plan_id, FIRST, FIRST_UPDATE, "upe.tanger").status_code == 403, "not this action's pilot"
    assert _put(api, plan_id, FIRST, FIRST_UPDATE, "cppe.tanger").status_code == 403, "the CPPE reads"
    assert api.get(_url(plan_id, HOTLINE), "upe.tanger").status_code == 200, "its pilot reads its follow-up"
    assert api.get(_url(plan_id, FIRST), "upe.tanger").status_code == 404, "not the others"
    assert api.get(f"/api/v1/action-plans/{plan_id}", "upe.tanger").status_code == 404, "nor the plan"

    plan = api.get(f"/api/v1/action-plans/{plan_id}", "cppe.tanger").get_json()
    summary = plan["progress_summary"]
    assert summary["priorities"][0]["done"] == 1 and summary["priorities"][0]["in_progress"] == 1
    assert summary["priorities"][0]["percent_done"] == round((100 + 0 + 25) / 3)
    assert summary["priorities"][1]["percent_done"] == 0 and summary["plan"]["actions"] == 4

    page_login(web, "cape.tanger")
    html = web.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert "Avancement du plan" in html and SECOND_UPDATE["note"] in html and "Réalisée" in html
    history = web.get(f"/plans/{plan_id}/progress?path={FIRST}").get_data(as_text=True)
    assert FIRST_UPDATE["note"] in history and SECOND_UPDATE["note"] in history and "Historique du suivi" in history

    for language, done_word, history_title in (("fr", "Réalisée", "Historique du suivi"),
                                               ("ar", "منجزة", "سجل التتبع")):
        xlsx = api.get(f"/api/v1/action-plans/{plan_id}/export?format=xlsx", "cppe.tanger",
                       headers={"Accept-Language": language})
        assert xlsx.status_code == 200
        book = load_workbook(io.BytesIO(xlsx.data))
        canvas = [[str(v) for v in row if v is not None] for row in book.worksheets[0].iter_rows(values_only=True)]
        row = next(r for r in canvas if "Former deux équipes mobiles" in r)
        assert any(cell.startswith(f"{done_word} · 100 %") for cell in row), row
        assert SECOND_UPDATE["note"] in row
        sheet = book[history_title[:31]]
        notes = [r[7] for r in sheet.iter_rows(min_row=2, values_only=True)]
        assert notes[:2] == [FIRST_UPDATE["note"], SECOND_UPDATE["note"]]
        pdf = api.get(f"/api/v1/action-plans/{plan_id}/export?format=pdf", "cppe.tanger",
                      headers={"Accept-Language": language})
        assert pdf.status_code == 200
        text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages).split())
        assert "Assilah" in text and "Tanger" in text, "both updates' notes in the PDF's history"
        if language == "fr":
            assert "Historique du suivi" in text and "Réalisée" in text and "Avancement : 42 %" in text


@pytest.mark.parametrize("body, field", [
    ({"state": "in_progress", "percent_done": 120, "started_on": "2026-11-02"}, "percent_done"),
    ({"state": "in_progress", "percent_done": -5, "started_on": "2026-11-02"}, "percent_done"),
    ({"state": "in_progress", "percent_done": "half", "started_on": "2026-11-02"}, "percent_done"),
    ({"state": "done", "percent_done": 100, "started_on": "2026-11-02"}, "ended_on"),
    ({"state": "done", "percent_done": 60, "started_on": "2026-11-02", "ended_on": "2026-11-10"}, "percent_done"),
    ({"state": "in_progress", "percent_done": 20, "started_on": "2027-05-01"}, "started_on"),
    ({"state": "done", "percent_done": 100, "started_on": "2026-11-12", "ended_on": "2026-11-02"}, "ended_on"),
    ({"state": "finished", "percent_done": 100}, "state"),
])
def test_bad_follow_up_gives_field_errors_and_changes_nothing(api: ApiClient, engine: Engine, body, field):
    plan_id = _validated_plan(api, engine)
    assert _put(api, plan_id, FIRST, FIRST_UPDATE).status_code == 200
    response = _put(api, plan_id, FIRST, body)
    assert response.status_code == 400 and field in response.get_json()["errors"]["json"], response.get_json()
    assert _updates(engine) == 1
    with engine.db.reading() as session:
        assert session.scalars(select(PlanActionProgress.percent_done)).all() == [40]


def test_another_province_or_action_gives_field_errors(api: ApiClient, engine: Engine):
    plan_id = _validated_plan(api, engine)
    other = _put(api, plan_id, FIRST, FIRST_UPDATE, "cape.casa")
    assert other.status_code == 400 and "plan" in other.get_json()["errors"]["json"]
    missing = _put(api, plan_id, "9.0.0.0", FIRST_UPDATE)
    assert missing.status_code == 400 and "action" in missing.get_json()["errors"]["json"]
    assert _put(api, 999_999, FIRST, FIRST_UPDATE).status_code == 404
    assert api.get(_url(plan_id, FIRST), "cape.casa").status_code == 404, "another province's plan is not shown"
    assert _updates(engine) == 0


def test_the_page_form_refuses_bad_input_next_to_its_field(api: ApiClient, web, engine: Engine):
    plan_id = _validated_plan(api, engine)
    page_login(web, "cape.tanger")
    url = f"/plans/{plan_id}/progress?path={FIRST}"
    csrf = page_csrf(web, url)
    bad = web.post(url, data={"csrf_token": csrf, "state": "done", "percent_done": "100", "started_on": "2026-11-02"})
    assert bad.status_code == 400
    assert 'id="ended_on-error"' in bad.get_data(as_text=True)
    assert _updates(engine) == 0
    good = web.post(url, data={"csrf_token": csrf, "state": "in_progress", "percent_done": "30",
                               "started_on": "2026-11-02", "note": "Démarrage"}, follow_redirects=True)
    assert good.status_code == 200 and "Démarrage" in good.get_data(as_text=True)
    assert _updates(engine) == 1


def test_late_actions_are_listed_for_the_cppe(api: ApiClient, web, engine: Engine, clock):
    plan_id = _validated_plan(api, engine)
    assert _put(api, plan_id, FIRST, SECOND_UPDATE).status_code == 200  # done: never late
    clock.set(datetime(2027, 7, 10, 9, 0, tzinfo=UTC))  # every deadline (2027-06-30) has passed
    api.forget_tokens()
    plan = api.get(f"/api/v1/action-plans/{plan_id}", "cppe.tanger").get_json()
    assert plan["late"] == ["0.0.1.0", "1.0.0.0"], "the ongoing action and the done one are not late"
    page_login(web, "cppe.tanger")
    board = web.get("/supervision").get_data(as_text=True)
    assert "Actions en retard du plan d'action (2)" in board
    assert "Ouvrir une ligne verte provinciale" in board and "Créer des cellules d&#39;écoute scolaires" in board
    assert "Former deux équipes mobiles" not in board
    page_login(web, "cppe.casa")
    assert "Actions en retard du plan d'action (0)" in web.get("/supervision").get_data(as_text=True)
