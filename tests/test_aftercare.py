"""Aftercare (16–22, seed 004): started from the page and the API by the care institution's social
mediator, only with the young person's recorded consent; the mediator works its steps."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.models import Case, OpenTask
from engine.runtime import Engine
from tests.conftest import ApiClient
from tests.helpers import csrf_of, page_csrf, page_login, task_id

MEDIATOR, INSTITUTION = "mediateur.tanger", "eps-tanger-assilah"


def _born(engine: Engine, age: int) -> str:
    today = engine.now().date()
    return date(today.year - age, 1, 15 if today >= date(today.year, 1, 15) else 1).isoformat()


def young_person(engine: Engine, *, age: int = 17, **consent: Any) -> dict[str, Any]:
    given = {"given": True, "given_on": engine.now().date().isoformat(), "method": "signed_form", **consent}
    return {
        "pathway": "aftercare",
        "child": {"first_name": "Karim", "last_name": "Alaoui", "sex": "M", "birth_date": _born(engine, age),
                  "civil_status_registered": True, "nationality": "MA"},
        "province": "tanger-assilah", "unit": INSTITUTION, "categories": ["in_institution"],
        "report": {"source": "self_referral", "received_at": engine.now().isoformat(),
                   "description": "Sortie prévue en juin."},
        "consent": {"legal_basis": "consent", "given_by": "Karim Alaoui", "young_person": given},
    }


def _cases(engine: Engine) -> int:
    with engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


def test_the_mediator_enrols_a_17_year_old_with_consent_and_completes_the_first_step(api: ApiClient):
    engine = api.app.extensions["himaya"]
    body = young_person(engine, method="oral_witnessed", witness="Mme Naima, éducatrice")
    started = api.post("/api/v1/cases", MEDIATOR, json=body)
    assert started.status_code == 201, started.get_json()
    case = started.get_json()
    assert case["pathway"]["key"] == "aftercare" and [t["name"] for t in case["open_tasks"]] == ["enrolment"]
    file = api.get(f"/api/v1/cases/{case['id']}", MEDIATOR).get_json()
    consent = file["consent"]["young_person"]
    assert consent["given"] is True and consent["method"] == "oral_witnessed"
    assert consent["witness"] == "Mme Naima, éducatrice" and consent["recorded_by"] == MEDIATOR
    assert consent["given_on"] == engine.now().date().isoformat()
    # the mediator's lane: the institution's case workers, not the UPE's
    listed = api.get("/api/v1/tasks?scope=available", MEDIATOR).get_json()["items"]
    assert [t["name"] for t in listed if t["case_id"] == case["id"]] == ["enrolment"]
    assert api.get(f"/api/v1/cases/{case['id']}", "upe.tanger").status_code == 404
    enrolment = task_id(engine, case["id"], "enrolment")
    assert api.post(f"/api/v1/tasks/{enrolment}/complete", "upe.tanger", json={"data": {}}).status_code == 404
    done = api.post(f"/api/v1/tasks/{enrolment}/complete", MEDIATOR, json={"data": {
        "institution_name": "Dar Al Atfal", "exit_date": "2027-06-30", "consent_to_accompaniment": True}})
    assert done.status_code == 200, done.get_json()
    assert [t["name"] for t in done.get_json()["open_tasks"]] == ["self_assessment"]


def test_enrolment_without_the_young_persons_consent_is_refused_and_creates_nothing(api: ApiClient):
    engine = api.app.extensions["himaya"]
    before = _cases(engine)
    body = young_person(engine)
    del body["consent"]["young_person"]
    refused = api.post("/api/v1/cases", MEDIATOR, json=body)
    assert refused.status_code == 400
    assert refused.get_json()["errors"]["json"]["consent"]["young_person"] == [
        "L'inscription exige le consentement du jeune : indiquez quand et comment il l'a donné."]
    not_given = api.post("/api/v1/cases", MEDIATOR, json=young_person(engine, given=False)).get_json()
    assert list(not_given["errors"]["json"]["consent"]["young_person"]) == ["given"]
    no_witness = api.post("/api/v1/cases", MEDIATOR, json=young_person(engine, method="oral_witnessed")).get_json()
    assert list(no_witness["errors"]["json"]["consent"]["young_person"]) == ["witness"]
    later = young_person(engine, given_on="2099-01-01")
    assert api.post("/api/v1/cases", MEDIATOR, json=later).status_code == 400
    assert _cases(engine) == before, "no case row"


def test_aftercare_is_refused_for_a_14_year_old_and_outside_a_care_institution(api: ApiClient):
    engine = api.app.extensions["himaya"]
    before = _cases(engine)
    young = api.post("/api/v1/cases", MEDIATOR, json=young_person(engine, age=14))
    assert young.status_code == 400
    assert young.get_json()["errors"]["json"]["child"]["birth_date"] == [
        "Ce parcours concerne les personnes de 16 à 22 ans à la date du signalement (âge : 14 ans)."]
    at_the_upe = {**young_person(engine), "unit": "upe-tanger-assilah"}
    refused = api.post("/api/v1/cases", "upe.tanger", json=at_the_upe)
    assert refused.status_code == 400 and "unit" in refused.get_json()["errors"]["json"]
    # and a child-protection report is not filed to a care institution
    child = {**young_person(engine, age=12), "pathway": "child_protection",
             "consent": {"legal_basis": "protection_mandate"}}
    assert "unit" in api.post("/api/v1/cases", MEDIATOR, json=child).get_json()["errors"]["json"]
    assert _cases(engine) == before


def _form(engine: Engine, **overrides: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {"first_name": "Hind", "last_name": "Bennani", "sex": "F", "birth_date": _born(engine, 17),
                              "nationality": "MA", "unit": INSTITUTION, "categories": ["in_institution"],
                              "description": "Souhaite une formation en cuisine.", "consent_given": "on",
                              "consent_given_on": engine.now().date().isoformat(), "consent_method": "signed_form"}
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def test_the_start_page_enrols_with_consent_and_shows_it_on_the_case(web: FlaskClient, engine: Engine):
    page_login(web, MEDIATOR)
    home = web.get("/tasks").get_data(as_text=True)
    assert 'href="/aftercare/new"' in home, "in the mediator's menu"
    assert 'href="/cases/new"' not in home, "no child is reported to a care institution: not in the mediator's menu"
    assert 'id="unit-none"' in web.get("/cases/new").get_data(as_text=True)
    page = web.get("/aftercare/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Établissement de protection sociale Dar Al Atfal" in html
    token = csrf_of(html)
    before = _cases(engine)
    without = web.post("/aftercare/new", data={**_form(engine, consent_given=None), "csrf_token": token})
    html = without.get_data(as_text=True)
    assert without.status_code == 400 and 'id="consent_given-error"' in html
    assert "ne cochez qu&#39;une fois qu&#39;il l&#39;a donné" in html and "Hind" in html, "values kept"
    too_young = web.post("/aftercare/new", data={**_form(engine, birth_date=_born(engine, 14)), "csrf_token": token})
    assert too_young.status_code == 400 and 'id="birth_date-error"' in too_young.get_data(as_text=True)
    oral = web.post("/aftercare/new", data={**_form(engine, consent_method="oral_witnessed"), "csrf_token": token})
    assert oral.status_code == 400 and 'id="consent_witness-error"' in oral.get_data(as_text=True)
    assert _cases(engine) == before, "nothing created"
    done = web.post("/aftercare/new", data={**_form(engine), "csrf_token": token})
    assert done.status_code == 302, done.get_data(as_text=True)
    case_page = web.get(done.headers["Location"]).get_data(as_text=True)
    assert "id=\"young-consent\"" in case_page
    assert "Formulaire d'inscription signé" in case_page
    assert "Inscription au dispositif" in case_page, "the first step is open"
    with engine.db.reading() as session:
        task = session.scalars(select(OpenTask).where(OpenTask.step == "enrolment")).one()
    assert (task.unit, task.role) == (INSTITUTION, "case_worker")
    # the mediator takes the first step on its page
    token = page_csrf(web, f"/tasks/{task.id}")
    step = web.post(f"/tasks/{task.id}", data={"csrf_token": token, "institution_name": "Dar Al Atfal",
                                               "exit_date": "2027-06-30", "consent_to_accompaniment": "on"})
    assert step.status_code == 302
    with engine.db.reading() as session:
        assert session.scalar(select(OpenTask.step).where(OpenTask.case_id == task.case_id)) == "self_assessment"


def test_only_those_who_may_start_aftercare_see_it(web: FlaskClient, engine: Engine):
    page_login(web, "upe.tanger")  # a case worker without a care institution
    assert 'href="/aftercare/new"' not in web.get("/tasks").get_data(as_text=True)
    assert web.get("/aftercare/new").status_code == 403
    web.post("/logout", data={"csrf_token": page_csrf(web, "/tasks")})
    page_login(web, "cape.tanger")  # the province's coordinator: the province's institutions
    assert 'href="/aftercare/new"' in web.get("/tasks").get_data(as_text=True)
    assert web.get("/aftercare/new").status_code == 200
    web.post("/logout", data={"csrf_token": page_csrf(web, "/tasks")})
    page_login(web, "cape.casa")  # Casablanca has no care institution in the demo data
    assert web.get("/aftercare/new").status_code == 403
