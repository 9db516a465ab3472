"""Text direction controls (issue 15, F13): U+202E in a child's name turned the case header around.
The intake refuses direction controls and control characters in names and short texts; and every
text a person wrote is shown in its own direction island (``<bdi>``, ``dir="auto"``, or FIRST
STRONG ISOLATE … POP DIRECTIONAL ISOLATE where no element may go), so that even stored data
cannot reorder a page."""
from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from engine import action_plans
from engine.models import ActionPlan, Case, OpenTask
from engine.runtime import Actor, Engine
from engine.trainings import record_training
from tests.api_data import intake
from tests.conftest import ApiClient
from tests.helpers import UPE, page_csrf, page_login, report, task_id

RLO = "\u202e"
CONTROLS = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e",
            "\u200f", "\u061c", "\x07", "\x1b", "\n", "\t", "\x85", "\u2028"]
REFUSED = {"fr": "Ce texte contient des caractères de contrôle invisibles (marques de direction, retours à la "
                 "ligne…) : saisissez-le de nouveau sans eux.",
           "ar": "يحتوي هذا النص على رموز تحكم غير مرئية (مثل علامات الاتجاه أو فواصل الأسطر): أعد كتابته بدونها."}


def _cases(engine: Engine) -> int:
    with engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


@pytest.mark.sqlite_only
@pytest.mark.parametrize("control", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
def test_a_name_with_a_direction_control_is_refused_at_intake(api: ApiClient, control: str):
    engine = api.app.extensions["himaya"]
    body = intake(engine)
    body["child"]["first_name"] = f"Amina{control}tseT"
    response = api.post("/api/v1/cases", "upe.tanger", json=body, headers={"Accept-Language": "fr"})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["errors"]["json"]["child"]["first_name"] == [REFUSED["fr"]]
    assert _cases(engine) == 0


@pytest.mark.parametrize("place", [("child", "last_name"), ("consent", "given_by"), ("province",), ("unit",)])
def test_short_texts_of_the_intake_refuse_direction_controls(api: ApiClient, place: tuple[str, ...]):
    engine = api.app.extensions["himaya"]
    body = intake(engine)
    body["consent"].update(legal_basis="consent", given_by="La mère")
    target = body
    for key in place[:-1]:
        target = target[key]
    target[place[-1]] = f"{target[place[-1]]}{RLO}"
    response = api.post("/api/v1/cases", "upe.tanger", json=body, headers={"Accept-Language": "ar"})
    assert response.status_code == 400, response.get_json()
    errors: Any = response.get_json()["errors"]["json"]
    for key in place:
        errors = errors[key]
    assert errors == [REFUSED["ar"]]


def test_arabic_and_french_names_are_accepted(api: ApiClient):
    engine = api.app.extensions["himaya"]
    body = intake(engine)
    body["child"].update(first_name="أمينة", last_name="El Idrissi-بنعلي")
    assert api.post("/api/v1/cases", "upe.tanger", json=body).status_code == 201


def test_the_report_page_shows_the_refusal_next_to_the_name(web: FlaskClient):
    page_login(web, "upe.tanger")
    token = page_csrf(web, "/cases/new")
    response = web.post("/cases/new", data={"csrf_token": token, "first_name": f"Amina{RLO}", "last_name": "B",
                                            "sex": "F", "birth_date": "2015-01-01", "unit": "upe-tanger-assilah",
                                            "source": "phone_line", "received_at": "2026-11-20T08:00",
                                            "categories": ["street"], "legal_basis": "protection_mandate"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="first_name-error"' in html and "caractères de contrôle invisibles" in html
    assert 'id="first_name" name="first_name" value="Amina"' in html, "the box gives the name back without them"
    assert "Les caractères invisibles ont été retirés du champ" in html


class _Islands(HTMLParser):
    """Collects each text holding the marker that is not inside a direction island."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
    PLAIN = {"title", "option"}  # no element may go there: the text carries FSI … PDI itself

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker, self.seen = marker, 0
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.loose: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if self.marker not in data:
            return
        self.seen += 1
        innermost = self.stack[-1][0] if self.stack else ""
        if innermost in self.PLAIN:
            isolated = all(data.rfind("\u2068", 0, at) > data.rfind("\u2069", 0, at)
                           for at in range(len(data)) if data[at] == self.marker)
        else:
            isolated = any(tag in ("bdi", "textarea") or attrs.get("dir") == "auto" for tag, attrs in self.stack[1:])
        if not isolated:
            self.loose.append(f"<{innermost}> {data.strip()[:60]!r}")


def _assert_isolated(html: str, at_least: int) -> None:
    parser = _Islands(RLO)
    parser.feed(html)
    assert parser.seen >= at_least, f"expected the stored text {at_least} times, found {parser.seen}"
    assert not parser.loose, f"user text outside a direction island: {parser.loose}"


def _hostile_case(engine: Engine) -> str:
    """A case whose stored texts hold U+202E (written before the intake refused it)."""
    case_id = engine.start_case(report(engine), UPE).case_id
    with engine.db.transaction() as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.child_first_name, case.child_last_name = f"{RLO}animA", f"tseT{RLO}"
        case.report = {**case.report, "description": f"Signalé {RLO}par la ligne verte"}
        session.execute(update(OpenTask).where(OpenTask.case_id == case_id).values(assignee=f"upe{RLO}.tanger"))
    engine.record_access(Actor(f"upe{RLO}.tanger", "case_worker"), "case_viewed", [case_id])  # in the access log
    engine.set_risk_level(case_id, "high", "revue", Actor(f"cape{RLO}.tanger", "coordinator"))  # in the timeline
    return case_id


def test_stored_names_and_notes_are_isolated_on_the_case_page(web: FlaskClient, engine: Engine):
    case_id = _hostile_case(engine)
    page_login(web, "upe.tanger")
    response = web.get(f"/cases/{case_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<bdi class="child-name">{RLO}animA tseT{RLO}</bdi>' in html
    _assert_isolated(html, at_least=4)  # the name, the description, the assignee, the timeline
    page_login(web, "cape.tanger")
    _assert_isolated(web.get(f"/cases/{case_id}/access-log").get_data(as_text=True), at_least=1)


def test_a_stored_assignee_is_isolated_on_the_task_page(web: FlaskClient, engine: Engine):
    case_id = _hostile_case(engine)
    page_login(web, "cape.tanger")
    html = web.get(f"/tasks/{task_id(engine, case_id, 'reception_listening')}").get_data(as_text=True)
    _assert_isolated(html, at_least=1)


def test_plan_and_training_texts_are_isolated(web: FlaskClient, engine: Engine):
    coordinator = Actor("cape.tanger", "coordinator")
    case_id = action_plans.create_plan(engine, {"province": "tanger-assilah", "title": f"Plan {RLO}2027",
                                                "period_start": "2027-01-01", "period_end": "2029-12-31"},
                                       coordinator)
    action = {"title": f"Former {RLO}deux équipes", "pilot": f"Mme {RLO}Salma", "partners": [f"Santé{RLO}", "ONDE"],
              "resources": f"{RLO}véhicule", "budget_mad": "100", "indicators": [f"{RLO}enfants"],
              "deadline": "2027-06-30", "expected_results": f"{RLO}délai", "follow_up": f"{RLO}revue"}
    content = {"context": f"Contexte {RLO}2026", "priorities": [
        {"area": "prevention", "title": f"Prévention {RLO}", "general_objectives": [
            {"title": f"Objectif {RLO}général", "specific_objectives": [
                {"title": f"Objectif {RLO}spécifique", "actions": [action]}]}]}]}
    with engine.db.reading() as session:
        plan_id = session.execute(select(ActionPlan.id).where(ActionPlan.case_id == case_id)).scalar_one()
    action_plans.save_content(engine, plan_id, content, coordinator)
    record_training(engine.db, {"title": f"Écoute {RLO}de l'enfant", "start_date": "2026-10-01",
                                "end_date": "2026-10-03", "province": "tanger-assilah",
                                "units": ["upe-tanger-assilah"], "participants": [f"Nadia{RLO}"]},
                    actor="cape.tanger", now=engine.now())
    page_login(web, "cppe.tanger")
    plan_page = web.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert f"\u2068Plan {RLO}2027\u2069" in plan_page.split("</title>")[0], "the page title is isolated"
    _assert_isolated(plan_page, at_least=12)
    _assert_isolated(web.get("/plans").get_data(as_text=True), at_least=1)
    _assert_isolated(web.get("/trainings").get_data(as_text=True), at_least=1)
