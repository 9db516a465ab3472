"""The case file a team works from: every completed step's answers readable (API and pages), the
case on every step's page, a completed step's page showing what it recorded; partners read only
their sector's steps (on SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from engine.clock import ManualClock
from engine.runtime import Actor, Engine
from tests.conftest import ApiClient
from tests.helpers import ANSWERS, HEALTH, UPE, do, page_login, report, task_id


def _diagnosed(engine: Engine) -> str:
    """A case whose listening and social and medical diagnoses are done: the coordinator's
    orientation is next."""
    case_id = engine.start_case(report(engine, first_name="Salma", categories=["out_of_school"]), UPE).case_id
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"],
                                                  "listening_summary": "Vit chez sa tante depuis juillet."})
    assert isinstance(engine.clock, ManualClock)
    engine.clock.advance(timedelta(hours=3))  # the diagnosis comes later: "newest first" has an order
    do(engine, case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    return case_id


def _answers(body: dict[str, Any], step: str) -> dict[str, dict[str, Any]]:
    [found] = [s for s in body["completed_steps"] if s["name"] == step]
    return {a["key"]: a for a in found["answers"]}


def test_completed_steps_carry_their_answers_with_labels_in_the_callers_language(api: ApiClient, engine: Engine):
    case_id = _diagnosed(engine)
    body = api.get(f"/api/v1/cases/{case_id}", "cape.tanger").get_json()
    listening = _answers(body, "reception_listening")
    assert listening["listening_summary"]["display"] == "Vit chez sa tante depuis juillet."
    assert listening["child_heard"]["display"] == "Oui" and listening["child_heard"]["value"] is True
    social = _answers(body, "diagnosis_social")
    assert social["family_situation"] == {"key": "family_situation", "label": "Situation familiale",
                                          "value": "single_parent", "display": "Famille monoparentale"}
    keys = [a["key"] for a in next(s for s in body["completed_steps"] if s["name"] == "reception_listening")["answers"]]
    assert keys.index("listening_date") < keys.index("listening_summary"), "in the form's order"
    arabic = api.get(f"/api/v1/cases/{case_id}", "cape.tanger", headers={"Accept-Language": "ar"}).get_json()
    social_ar = _answers(arabic, "diagnosis_social")["family_situation"]
    assert social_ar["label"] != "Situation familiale" and social_ar["display"] != "Famille monoparentale"
    assert any("\u0600" <= c <= "\u06ff" for c in social_ar["display"]), social_ar


def test_a_partner_reads_only_its_sectors_steps(api: ApiClient, engine: Engine):
    case_id = engine.start_case(report(engine, medical=True, categories=["victim_violence"]), UPE).case_id
    do(engine, case_id, "immediate_assistance", **ANSWERS["immediate_assistance"])
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["medical"]})
    do(engine, case_id, "diagnosis_medical", **ANSWERS["diagnosis_medical"])
    body = api.get(f"/api/v1/cases/{case_id}", HEALTH.username).get_json()
    steps = {s["name"]: s for s in body["completed_steps"]}
    assert steps["reception_listening"]["readable"] is False and steps["reception_listening"]["answers"] == []
    assert "Écoute faite." not in str(body)
    if steps["diagnosis_medical"]["role"] == "partner":
        assert steps["diagnosis_medical"]["readable"] is True and steps["diagnosis_medical"]["answers"]


def test_the_case_page_shows_each_steps_answers_newest_first(web: FlaskClient, engine: Engine):
    case_id = _diagnosed(engine)
    page_login(web, "cape.tanger")
    html = web.get(f"/cases/{case_id}").get_data(as_text=True)
    completed = html.split('id="completed"', 1)[1].split("</section>", 1)[0]
    assert "Vit chez sa tante depuis juillet." in completed and "Famille monoparentale" in completed
    assert completed.index("Famille monoparentale") < completed.index("Vit chez sa tante"), "newest first"
    assert "<details open>" in completed, "the newest step is unfolded"


def test_a_completed_steps_url_shows_what_it_recorded(web: FlaskClient, engine: Engine):
    case_id = _diagnosed(engine)
    listening = next(s for s in _steps(engine, case_id) if s == "reception_listening")
    assert listening
    from sqlalchemy import select

    from engine.models import TaskRecord
    with engine.db.reading() as session:
        done = session.scalar(select(TaskRecord.id).where(TaskRecord.case_id == case_id,
                                                          TaskRecord.step == "reception_listening"))
    page_login(web, "upe.tanger")
    page = web.get(f"/tasks/{done}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="recorded"' in html and "Vit chez sa tante depuis juillet." in html
    assert "Nothing you typed was saved" not in html and "Rien de ce que" not in html
    page_login(web, "upe.casa")
    assert web.get(f"/tasks/{done}").status_code == 404, "another province's step is not found"


def _steps(engine: Engine, case_id: str) -> list[str]:
    from tests.helpers import completed_steps
    return completed_steps(engine, case_id)


def test_a_step_page_shows_the_child_the_report_and_the_earlier_answers(web: FlaskClient, engine: Engine):
    case_id = _diagnosed(engine)
    page_login(web, "cape.tanger")
    html = web.get(f"/tasks/{task_id(engine, case_id, 'orientation')}").get_data(as_text=True)
    context = html.split('id="case-context"', 1)[1].split("</section>", 1)[0]
    assert "Salma" in context and "ans" in context, "the child's name and age"
    assert "Fille" in context and "Faible" in context, "sex and risk in words"
    assert "Déscolarisé" in context or "scolar" in context.lower(), "the categories in words"
    assert "Signalement de test" in context, "what was reported"
    assert "Vit chez sa tante depuis juillet." in context and "Famille monoparentale" in context
    assert "<bdi" in context, "the child's name is isolated"


def test_the_timeline_shows_what_happened_and_the_access_log_who_read(api: ApiClient, web: FlaskClient,
                                                                         engine: Engine):
    case_id = engine.start_case(report(engine, categories=["victim_violence"]), UPE).case_id
    for _ in range(3):
        assert api.get(f"/api/v1/cases/{case_id}", "upe.tanger").status_code == 200
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"]})
    timeline = api.get(f"/api/v1/cases/{case_id}/history", "cape.tanger", query_string={"view": "timeline"}
                       ).get_json()["events"]
    kinds = [e["kind"] for e in timeline]
    assert "case_opened" in kinds and "step_completed" in kinds
    assert not [k for k in kinds if k.endswith(("_viewed", "_listed"))], kinds
    everything = api.get(f"/api/v1/cases/{case_id}/history", "cape.tanger").get_json()["events"]
    assert [e["kind"] for e in everything].count("case_viewed") == 3, "the full history keeps the reads"
    log = api.get(f"/api/v1/cases/{case_id}/access-log", "cape.tanger").get_json()
    assert [i["kind"] for i in log["items"]].count("case_viewed") == 3 and log["total"] >= 4
    assert {i["actor"] for i in log["items"]} >= {"upe.tanger"}
    assert api.get(f"/api/v1/cases/{case_id}/access-log", "upe.tanger").status_code == 403
    assert api.get(f"/api/v1/cases/{case_id}/access-log", "cape.casa").status_code == 404

    page_login(web, "cape.tanger")
    html = web.get(f"/cases/{case_id}").get_data(as_text=True)
    line = html.split('id="timeline"', 1)[1].split("</section>", 1)[0]
    assert "Dossier consulté" not in line and "File viewed" not in line, "no reads in the timeline"
    assert "notify_prosecutor" not in line and "parquet" in line, "the prosecutor's information in words"
    assert 'id="access-log-link"' in html
    access = web.get(f"/cases/{case_id}/access-log").get_data(as_text=True)
    assert access.count("upe.tanger") >= 3
    page_login(web, "upe.tanger")
    assert 'id="access-log-link"' not in web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert web.get(f"/cases/{case_id}/access-log").status_code == 403


def test_the_timeline_is_paged_without_a_cap(web: FlaskClient, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    coordinator = Actor("cape.tanger", "coordinator")
    for n in range(60):
        engine.set_risk_level(case_id, "high" if n % 2 == 0 else "low", f"raison {n}", coordinator)
    page_login(web, "cape.tanger")
    first = web.get(f"/cases/{case_id}").get_data(as_text=True).split('id="timeline"', 1)[1]
    assert first.split("</ol>", 1)[0].count("<li>") == 50 and 'rel="next"' in first
    second = web.get(f"/cases/{case_id}?events=2").get_data(as_text=True).split('id="timeline"', 1)[1]
    assert second.split("</ol>", 1)[0].count("<li>") >= 12 and "Dossier ouvert" in second, "the oldest, on page 2"
