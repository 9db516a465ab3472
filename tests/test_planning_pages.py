"""Pages of the statistical reports and action plans (Flask test client): the plan is built
level by level without JavaScript, field errors show next to their field, exports download."""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from engine.models import ActionPlan, ActionPlanVersion
from engine.runtime import SYSTEM, Engine
from engine.statistical_reports import Quarter, open_quarter
from tests.helpers import page_csrf, page_login, task_id


def _login(client: FlaskClient, username: str) -> str:
    """Log in; returns a CSRF token for the forms that follow."""
    page_login(client, username)
    return page_csrf(client, "/tasks" if username != "national" else "/indicators")


def _new_plan(web: FlaskClient, csrf: str, engine: Engine) -> int:
    web.post("/plans/new", data={"csrf_token": csrf, "title": "Plan", "period_start": "2027-01-01",
                                 "period_end": "2029-12-31"})
    with engine.db.reading() as session:
        return session.execute(select(ActionPlan.id)).scalar_one()


def _content(engine: Engine, plan_id: int) -> dict[str, Any]:
    with engine.db.reading() as session:
        content = session.scalars(select(ActionPlanVersion.content).where(ActionPlanVersion.plan_id == plan_id)
                                  .order_by(ActionPlanVersion.number.desc())).first()
    assert content is not None, "the plan has a version"
    return content


def test_a_coordinator_builds_a_plan_level_by_level_and_exports_it(web, engine: Engine):
    csrf = _login(web, "cape.tanger")
    assert "Plans d'action" in web.get("/plans").get_data(as_text=True)
    bad = web.post("/plans/new", data={"csrf_token": csrf, "title": "Plan", "period_start": "2027-01-01",
                                       "period_end": "2026-01-01"})
    assert bad.status_code == 400 and 'id="period_end-error"' in bad.get_data(as_text=True)
    created = web.post("/plans/new", data={"csrf_token": csrf, "title": "Plan 2027-2029",
                                           "period_start": "2027-01-01", "period_end": "2029-12-31"})
    assert created.status_code == 302
    plan_url = created.headers["Location"]
    plan_id = int(plan_url.rstrip("/").split("/")[-1])
    edit = f"/plans/{plan_id}/edit"
    web.post(edit, data={"csrf_token": csrf, "op": "add_priority", "area": "prevention", "title": "Prévention"})
    web.post(edit, data={"csrf_token": csrf, "op": "add_general", "path": "0", "title": "Réduire l'abandon scolaire"})
    web.post(edit, data={"csrf_token": csrf, "op": "add_specific", "path": "0.0", "title": "Repérer les élèves"})
    assert web.post(edit, data={"csrf_token": csrf, "op": "add_specific", "path": "3.0",
                                "title": "x"}).status_code == 404
    action = f"/plans/{plan_id}/action?path=0.0.0"
    missing = web.post(action, data={"csrf_token": csrf, "title": "Cellules d'écoute", "pilot": " ",
                                     "budget_mad": "-10", "deadline": "2027-06-30"})
    html = missing.get_data(as_text=True)
    assert missing.status_code == 400
    assert 'id="pilot-error"' in html and 'id="budget_mad-error"' in html, "errors next to their fields"
    assert 'value="Cellules d&#39;écoute"' in html, "what was typed is kept"
    objective = _content(engine, plan_id)["priorities"][0]["general_objectives"][0]["specific_objectives"][0]
    assert objective["actions"] == []
    saved = web.post(action, data={"csrf_token": csrf, "title": "Cellules d'écoute", "pilot": "M. Karim Alaoui",
                                   "partners": "Éducation nationale\nAssociation Bayti", "budget_mad": "15 000,50",
                                   "ongoing": "on", "indicators": "Nombre d'élèves repérés"})
    assert saved.status_code == 302
    stored = _content(engine, plan_id)["priorities"][0]["general_objectives"][0]["specific_objectives"][0]["actions"][0]
    assert stored["pilot"] == "M. Karim Alaoui" and stored["budget_mad"] == "15000.50" and stored["ongoing"] is True
    assert stored["partners"] == ["Éducation nationale", "Association Bayti"]
    page = web.get(plan_url).get_data(as_text=True)
    assert "Cellules d&#39;écoute" in page and "M. Karim Alaoui" in page and "en continu" in page
    edit_page = web.get(f"/plans/{plan_id}/action?path=0.0.0.0").get_data(as_text=True)
    assert 'value="M. Karim Alaoui"' in edit_page

    xlsx = web.get(f"/plans/{plan_id}/export.xlsx")
    assert xlsx.status_code == 200
    from openpyxl import load_workbook
    cells = [c for row in load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True) for c in row if c]
    assert "M. Karim Alaoui" in cells
    assert web.get(f"/plans/{plan_id}/export.pdf").data.startswith(b"%PDF")
    assert web.get(f"/plans/{plan_id}/export.docx").status_code == 404

    # submitted: no longer editable, and the CPPE sees the plan (read-only) and its task
    assert web.post(f"/tasks/{task_id(engine, _case(engine, plan_id), 'draft_plan')}",
                    data={"csrf_token": csrf, "consultation": "Atelier"}).status_code == 302
    assert web.post(edit, data={"csrf_token": csrf, "op": "add_priority", "area": "prevention",
                                "title": "x"}).status_code == 409
    web.post("/logout", data={"csrf_token": csrf})
    cppe = _login(web, "cppe.tanger")
    tasks = web.get("/tasks").get_data(as_text=True)
    assert "Valider le plan d&#39;action" in tasks
    page = web.get(plan_url).get_data(as_text=True)
    assert "Soumis au CPPE" in page and "/edit" not in page
    validate = task_id(engine, _case(engine, plan_id), "validate_plan")
    assert web.post(f"/tasks/{validate}", data={"csrf_token": cppe, "decision": "validated"}).status_code == 302
    assert "Validé" in web.get(plan_url).get_data(as_text=True)


def _case(engine: Engine, plan_id: int) -> str:
    with engine.db.reading() as session:
        return session.get_one(ActionPlan, plan_id).case_id


def test_plans_of_another_province_are_not_found(web, engine: Engine):
    csrf = _login(web, "cape.tanger")
    plan_id = _new_plan(web, csrf, engine)
    web.post("/logout", data={"csrf_token": csrf})
    _login(web, "cape.casa")
    assert web.get(f"/plans/{plan_id}").status_code == 404
    assert web.get(f"/plans/{plan_id}/export.pdf").status_code == 404
    assert web.get("/plans/new").status_code == 200
    web.post("/logout", data={"csrf_token": page_csrf(web, "/tasks")})
    _login(web, "upe.tanger")
    assert web.get("/plans").status_code == 403


def test_a_report_task_shows_the_quarters_figures_and_links_to_the_report(web, engine: Engine, clock):
    clock.set(datetime(2027, 1, 2, 8, 0, tzinfo=UTC))
    open_quarter(engine, Quarter(2026, 4), SYSTEM)
    csrf = _login(web, "upe.tanger")
    tasks = web.get("/tasks").get_data(as_text=True)
    assert "Préparer le rapport statistique trimestriel" in tasks
    match = re.search(r'href="/tasks/([0-9a-f-]+)">Préparer le rapport', tasks)
    assert match, "the report task is listed"
    page = web.get(f"/tasks/{match.group(1)}").get_data(as_text=True)
    assert "Chiffres du trimestre" in page and "Enfants pris en charge" in page
    done = web.post(f"/tasks/{match.group(1)}", data={"csrf_token": csrf, "activities": "Écoute",
                                                       "figures_checked": "on"})
    assert done.status_code == 302
    followed = web.get(done.headers["Location"])
    assert followed.status_code == 302 and "/reports/" in followed.headers["Location"], \
        "the case link leads to the report"
    report = web.get(followed.headers["Location"]).get_data(as_text=True)
    assert "Soumis au CAPE" in report
    assert "2026-T4" in web.get("/reports").get_data(as_text=True)


def test_indicator_exports_download_from_the_page_with_the_session(web, engine: Engine):
    _login(web, "cppe.tanger")
    page = web.get("/indicators?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    assert 'href="/indicators/export.csv?from=2026-01-01&amp;to=2026-12-31"' in page
    exported = web.get("/indicators/export.csv?from=2026-01-01&to=2026-12-31")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert exported.get_data(as_text=True).startswith("indicator,breakdown,value")
    assert web.get("/indicators/export.xlsx").status_code == 200
    assert web.get("/indicators/export.pdf").status_code == 404
    assert web.get("/indicators/export.csv?from=2026-12-31&to=2026-01-01").status_code == 400
    web.post("/logout", data={"csrf_token": page_csrf(web, "/indicators")})
    _login(web, "national")
    page = web.get("/indicators?province=casablanca").get_data(as_text=True)
    assert '<option value="casablanca" selected>' in page and "province=casablanca" in page
    assert web.get("/indicators?province=atlantis").status_code == 404


def test_a_coordinator_records_a_training_and_the_supervisor_reads_it(web, engine: Engine):
    csrf = _login(web, "cape.tanger")
    bad = web.post("/trainings", data={"csrf_token": csrf, "title": "Écoute active", "start_date": "2026-11-10",
                                       "end_date": "2026-11-12", "participants": ""})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and 'id="units-error"' in html and 'id="participants-error"' in html
    assert 'value="Écoute active"' in html
    inverted = web.post("/trainings", data={"csrf_token": csrf, "title": "Écoute active", "start_date": "2026-11-10",
                                            "end_date": "2026-11-09", "units": ["upe-tanger-assilah"],
                                            "participants": "Nadia B."})
    assert inverted.status_code == 400 and 'id="end_date-error"' in inverted.get_data(as_text=True)
    done = web.post("/trainings", data={"csrf_token": csrf, "title": "Écoute active", "start_date": "2026-11-10",
                                        "end_date": "2026-11-12", "units": ["upe-tanger-assilah"],
                                        "participants": "Nadia B.\nOmar K.\n"})
    assert done.status_code == 302
    indicators = web.get("/indicators?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    assert re.search(r'id="figure-staff_trained"><dt>Professionnels formés</dt>'
                     r'<dd><bdi dir="ltr">2</bdi></dd>', indicators)
    web.post("/logout", data={"csrf_token": csrf})
    cppe = _login(web, "cppe.tanger")
    listed = web.get("/trainings").get_data(as_text=True)
    assert "Écoute active" in listed and 'name="title"' not in listed, "supervisors read, coordinators record"
    assert web.post("/trainings", data={"csrf_token": cppe, "title": "x"}).status_code == 403


def test_removing_needs_an_exact_path(web, engine: Engine):
    csrf = _login(web, "cape.tanger")
    plan_id = _new_plan(web, csrf, engine)
    edit = f"/plans/{plan_id}/edit"
    web.post(edit, data={"csrf_token": csrf, "op": "add_priority", "area": "prevention", "title": "Prévention"})
    for bad in ("a.0", "0.", "", "0.0.0.0.0", "5"):
        assert web.post(edit, data={"csrf_token": csrf, "op": "remove", "path": bad}).status_code == 404, bad
    assert len(_content(engine, plan_id)["priorities"]) == 1
    assert web.post(edit, data={"csrf_token": csrf, "op": "remove", "path": "0"}).status_code == 302
    assert _content(engine, plan_id)["priorities"] == []


def test_items_move_up_and_down_among_their_siblings(web, engine: Engine):
    csrf = _login(web, "cape.tanger")
    plan_id = _new_plan(web, csrf, engine)
    edit = f"/plans/{plan_id}/edit"
    for title in ("Prévention", "Détection", "Promotion"):
        web.post(edit, data={"csrf_token": csrf, "op": "add_priority", "area": "prevention", "title": title})
    assert web.post(edit, data={"csrf_token": csrf, "op": "up", "path": "2"}).status_code == 302
    assert web.post(edit, data={"csrf_token": csrf, "op": "down", "path": "0"}).status_code == 302
    assert [p["title"] for p in _content(engine, plan_id)["priorities"]] == ["Promotion", "Prévention", "Détection"]
    for op, path in (("up", "0"), ("down", "2"), ("up", "7"), ("down", "x")):
        assert web.post(edit, data={"csrf_token": csrf, "op": op, "path": path}).status_code == 404, (op, path)
    page = web.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert page.count('aria-label="Monter"') == 2 and page.count('aria-label="Descendre"') == 2
