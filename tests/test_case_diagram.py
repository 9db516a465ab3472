"""The case page's diagram: labels in the page's language, the waiting timer with its date, the
steps as text; the stored BPMN stays as deployed (both databases)."""
from __future__ import annotations

import html
import json
import re

from lxml import etree
from sqlalchemy import select

from engine.models import CaseTimer, PathwayVersion
from engine.runtime import Engine
from tests.helpers import ANSWERS, UPE, do, page_login, report

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def waiting_for_follow_up(engine: Engine) -> str:
    """A low-risk case at its first follow-up wait (as tests/test_escalation.py takes it there)."""
    case_id = engine.start_case(report(engine, categories=["out_of_school"]), UPE).case_id
    for step in ("reception_listening", "diagnosis_medical", "diagnosis_social"):
        do(engine, case_id, step, **ANSWERS[step])
    do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": []})
    do(engine, case_id, "reintegration", **ANSWERS["reintegration"])
    return case_id


def _names(xml: str) -> dict[str, str]:
    root = etree.fromstring(xml.encode())
    return {e.get("id"): e.get("name") for e in root.iter(f"{BPMN}*") if e.get("name")}


def _timers(page: str) -> dict[str, str]:
    found = re.search(r'data-timers="([^"]*)"', page)
    assert found, "the diagram carries its timers"
    return json.loads(html.unescape(found.group(1)))


def test_the_case_page_passes_localised_labels_and_the_waiting_timer(web, engine: Engine):
    case_id = waiting_for_follow_up(engine)
    with engine.db.reading() as session:
        timer = session.scalars(select(CaseTimer).where(CaseTimer.case_id == case_id)).one()
        stored = session.scalars(select(PathwayVersion.bpmn_xml)).first()
    assert timer.step == "wait_follow_up"
    day = timer.due_at.astimezone(engine_zone()).strftime("%d/%m/%Y")
    page_login(web, "upe.tanger")

    page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'data-waiting="wait_follow_up"' in page
    assert _timers(page) == {"wait_follow_up": f"En attente jusqu'au {day}"}
    steps = page.split('id="diagram-steps"')[1].split("</ul>")[0]
    assert "Attente de la visite de suivi" in steps and f"En attente jusqu'au {day}" in html.unescape(steps)
    assert "Réinsertion" in steps and "Accueil et écoute" in steps
    french = _names(web.get(f"/cases/{case_id}/diagram.bpmn").get_data(as_text=True))
    assert french["reception_listening"] == "Accueil et écoute" and french["gw_emergency"] == "Urgence ?"

    web.get("/language/ar")
    page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert _timers(page) == {"wait_follow_up": f"في الانتظار إلى غاية {day}"}
    steps = page.split('id="diagram-steps"')[1].split("</ul>")[0]
    assert "انتظار زيارة التتبع" in steps and "إعادة الإدماج" in steps
    assert 'aria-label="تكبير"' in page and 'aria-label="تصغير"' in page, "the zoom buttons are labelled"
    response = web.get(f"/cases/{case_id}/diagram.bpmn")
    assert response.mimetype == "application/xml"
    arabic = _names(response.get_data(as_text=True))
    assert arabic["reception_listening"] == "الاستقبال والإنصات", "a user task's title from the BPMN"
    assert arabic["wait_follow_up"] == "انتظار زيارة التتبع", "an event's name from the catalogue"
    assert arabic["gw_emergency"] == "حالة استعجال؟" and arabic["flow_emergency_yes"] == "نعم"
    assert arabic["lane_coordinator"] == "تنسيق المركز"
    assert set(arabic) == set(french), "every named element keeps a name"

    web.get("/language/en")
    english = _names(web.get(f"/cases/{case_id}/diagram.bpmn").get_data(as_text=True))
    assert english["orientation"] == "Referral and individual plan" and english["case_closed"] == "Case closed"
    with engine.db.reading() as session:
        assert session.scalars(select(PathwayVersion.bpmn_xml)).first() == stored, "the stored BPMN is unchanged"


def test_a_case_without_timer_marks_its_open_step_and_no_timer(web, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    page_login(web, "upe.tanger")
    page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'data-open="reception_listening"' in page and 'data-waiting=""' in page
    assert _timers(page) == {}
    assert 'dir="ltr"' in page.split('id="diagram"')[1].split(">")[0], "the canvas stays left to right"


def engine_zone():
    from engine.settings import Settings

    return Settings().zone
