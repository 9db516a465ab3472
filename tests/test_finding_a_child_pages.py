"""Finding a child on the pages: the case list and its search, the report form with an unknown name
and the check for earlier reports (never revealing a case the user may not read), the warning after
reporting, the coordinators' duplicate reviews, the identity correction, the task list naming the
child (on SQLite and PostgreSQL)."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient
from sqlalchemy import func, select

import api.web.cases as case_pages
from engine.clock import ManualClock
from engine.models import Case, DuplicateReview
from engine.runtime import Actor, Engine
from tests.helpers import UPE, csrf_of, events, page_csrf, page_login, report

CASA = Actor("upe.casa", "case_worker")
CAPE = Actor("cape.tanger", "coordinator")


def _case(engine: Engine, first: str | None = "Karim", last: str | None = "Bennani", *, actor: Actor = UPE,
          province: str = "tanger-assilah", **child: Any) -> Any:
    person: dict[str, Any] = {"first_name": first, "last_name": last, "sex": "M", "birth_date": "2013-05-14"}
    person.update(child)
    return engine.start_case(report(engine, province=province, **person), actor)


def _form(token: str, **fields: Any) -> dict[str, Any]:
    """The report form as a browser posts it: a boy, known name, Tanger's UPE."""
    data: dict[str, Any] = {"csrf_token": token, "first_name": "Karim", "last_name": "Bennani", "sex": "M",
                            "birth_date": "2013-05-14", "unit": "upe-tanger-assilah", "source": "phone_line",
                            "received_at": "2026-11-20T08:00", "categories": ["street"],
                            "legal_basis": "protection_mandate"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def _cases(engine: Engine) -> int:
    with engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(Case).where(Case.subject_kind == "child")) or 0


def _rows(html: str) -> list[str]:
    """The references listed in the case list's results, in order."""
    results = html.split('id="results"', 1)[1] if 'id="results"' in html else ""
    return re.findall(r'<tr id="case-[^"]+">\s*<td class="nowrap"><a href="[^"]+">([A-Z]+-\d{4}-\d+)</a>', results)


# --- the case list ----------------------------------------------------------------------------

def test_the_case_list_finds_filters_sorts_and_pages_with_the_filters_in_the_url(web: FlaskClient, engine: Engine,
                                                                                clock: ManualClock,
                                                                                monkeypatch: pytest.MonkeyPatch):
    karim = _case(engine)
    clock.advance(timedelta(minutes=1))
    nour = _case(engine, "Nour", "Alaoui", sex="F", birth_date="2015-02-03", categories=["victim_violence"])
    clock.advance(timedelta(minutes=1))
    street = _case(engine, None, None, identity_known=False, alias="Garçon de la gare routière", sex="U",
                   birth_date=None, age_estimate=11)
    page_login(web, "upe.tanger")
    menu = web.get("/tasks").get_data(as_text=True)
    assert 'href="/cases"' in menu, "the case list is in the main menu"
    html = web.get("/cases").get_data(as_text=True)
    assert _rows(html) == [street.case_reference, nour.case_reference, karim.case_reference]  # newest first
    assert '<bdi class="child-name">Karim Bennani</bdi>' in html
    assert 'class="alias-mark">surnom :</span> <bdi class="child-name alias">Garçon de la gare routière</bdi>' in html
    assert "environ 11 ans" in html and "13 ans" in html and "Non précisé" in html
    assert "Référence" in html and "date de naissance" in html, "the hint says what can be searched"

    assert _rows(web.get("/cases?q=Bennani").get_data(as_text=True)) == [karim.case_reference]
    assert _rows(web.get("/cases", query_string={"q": "gare routière"}).get_data(as_text=True)) == [
        street.case_reference]
    assert _rows(web.get("/cases", query_string={"q": nour.case_reference}).get_data(as_text=True)) == [
        nour.case_reference]
    assert _rows(web.get("/cases?q=2015-02-03").get_data(as_text=True)) == [nour.case_reference]
    assert _rows(web.get("/cases?q=2013").get_data(as_text=True)) == [karim.case_reference]
    assert _rows(web.get("/cases?risk_level=high").get_data(as_text=True)) == [nour.case_reference]
    assert _rows(web.get("/cases?status=closed").get_data(as_text=True)) == []
    assert _rows(web.get("/cases?step=reception_listening&sort=oldest").get_data(as_text=True)) == [
        karim.case_reference, nour.case_reference, street.case_reference]
    assert _rows(web.get("/cases?assigned=me").get_data(as_text=True)) == []
    assert _rows(web.get("/cases?overdue=1").get_data(as_text=True)) == []
    kept = web.get("/cases?status=open&risk_level=high&sort=oldest").get_data(as_text=True)
    assert '<option value="open" selected>' in kept and '<option value="oldest" selected>' in kept
    assert 'value="reception_listening"' in kept and "Accueil et écoute" in kept, "steps by their title"
    assert web.get("/cases?status=nonsense&sort=x&page=abc").status_code == 200, "unknown values are left out"

    monkeypatch.setattr(case_pages, "PER_PAGE", 2)
    first = web.get("/cases?status=open").get_data(as_text=True)
    assert len(_rows(first)) == 2 and "Page 1 sur 2" in first
    follow = re.search(r'<a rel="next" href="([^"]+)"', first)
    assert follow is not None and "status=open" in follow.group(1) and "page=2" in follow.group(1)
    second = web.get(follow.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert _rows(second) == [karim.case_reference]


def test_a_search_that_cannot_run_is_a_field_error_and_an_empty_one_says_what_to_try(web: FlaskClient,
                                                                                     engine: Engine):
    _case(engine)
    page_login(web, "upe.tanger")
    for q in ("a", "!!", "x" * 201):
        response = web.get("/cases", query_string={"q": q})
        assert response.status_code == 400, q
        html = response.get_data(as_text=True)
        assert 'id="q-error"' in html and 'aria-invalid="true"' in html and 'id="results"' not in html
    assert "au moins 2 caractères" in web.get("/cases?q=a").get_data(as_text=True)
    assert "200 caractères" in web.get("/cases", query_string={"q": "x" * 201}).get_data(as_text=True)
    empty = web.get("/cases?q=Zzyzx").get_data(as_text=True)
    assert 'id="no-results"' in empty and "orthographe" in empty and "référence" in empty


def test_the_case_list_shows_only_the_users_cases_and_is_refused_to_the_national_level(web: FlaskClient,
                                                                                       engine: Engine):
    casa = _case(engine, actor=CASA, province="casablanca")
    tanger = _case(engine)
    page_login(web, "upe.tanger")
    html = web.get("/cases?q=Bennani").get_data(as_text=True)
    assert _rows(html) == [tanger.case_reference] and casa.case_reference not in html
    web.post("/logout", data={"csrf_token": page_csrf(web, "/tasks")})
    page_login(web, "national")
    assert web.get("/cases").status_code == 403


# --- reporting: unknown name, the check for earlier reports, the warning after reporting ---------

def test_a_child_whose_name_is_unknown_is_reported_with_an_alias_reporter_and_place(web: FlaskClient,
                                                                                    engine: Engine):
    page_login(web, "upe.tanger")
    page = web.get("/cases/new").get_data(as_text=True)
    assert 'id="name_unknown"' in page and 'id="sex-U"' in page and 'id="other_first_name"' in page
    assert "(obligatoire sauf si le nom n" in page and "(obligatoire)" in page, "required fields say so in words"
    token = csrf_of(page)
    missing = web.post("/cases/new", data=_form(token, first_name=None, last_name=None, name_unknown="on",
                                                sex="U", birth_date=None, age_estimate="9"))
    assert missing.status_code == 400
    html = missing.get_data(as_text=True)
    assert 'id="alias-error"' in html and "donnez un surnom" in html.lower(), "the engine's message, in French"
    assert 'name="name_unknown" aria-describedby="name_unknown-hint" checked' in html
    bad_phone = web.post("/cases/new", data=_form(token, reporter_phone="appelez-moi"))
    assert bad_phone.status_code == 400 and 'id="reporter_phone-error"' in bad_phone.get_data(as_text=True)
    done = web.post("/cases/new", data=_form(
        token, first_name=None, last_name=None, name_unknown="on", alias="Fille du carrefour Bab Souk", sex="U",
        birth_date=None, age_estimate="9", reporter_name="Mme Naima", reporter_relation="voisine",
        reporter_phone="0661 23 45 67", location_commune="Tanger", location_place="Bab Souk"))
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    case = web.get(done.headers["Location"]).get_data(as_text=True)
    assert '<bdi class="child-name">Fille du carrefour Bab Souk</bdi> <span class="badge">' in case
    assert "Non précisé" in case and "environ 9 ans" in case
    assert "Mme Naima" in case and "0661 23 45 67" in case and "Bab Souk</bdi>, <bdi>Tanger" in case


def test_the_report_keeps_the_names_in_the_other_script_and_shows_them(web: FlaskClient, engine: Engine):
    page_login(web, "upe.tanger")
    token = page_csrf(web, "/cases/new")
    done = web.post("/cases/new", data=_form(token, other_first_name="كريم", other_last_name="بناني"))
    assert done.status_code == 302
    case = web.get(done.headers["Location"]).get_data(as_text=True)
    assert '<bdi dir="auto">كريم بناني</bdi>' in case


def test_the_check_button_names_an_earlier_report_the_user_may_read_and_opens_no_case(web: FlaskClient,
                                                                                      engine: Engine):
    earlier = _case(engine)
    page_login(web, "upe.tanger")
    token = page_csrf(web, "/cases/new")
    response = web.post("/cases/new", data=_form(token, action="check", description="Texte gardé"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    panel = html.split('id="earlier-reports"', 1)[1].split("</section>", 1)[0]
    assert f'href="/cases/{earlier.case_id}" target="_blank" rel="noopener">{earlier.case_reference}' in panel
    assert re.search(r"\d+ %", panel) and "même prénom" in panel and "même date de naissance" in panel
    assert 'value="Karim"' in html and "Texte gardé" in html, "the form keeps what was typed"
    assert _cases(engine) == 1, "checking opens no case"
    none = web.post("/cases/new", data=_form(token, action="check", first_name="Samir", last_name="Tazi"))
    assert "Aucun signalement antérieur trouvé dans vos dossiers" in none.get_data(as_text=True)
    refused = web.post("/cases/new", data=_form(token, action="check", first_name=None))
    assert refused.status_code == 400
    assert 'id="first_name-error"' in refused.get_data(as_text=True) and "Indiquez le prénom" in refused.get_data(
        as_text=True)
    undated = web.post("/cases/new", data=_form(token, action="check", birth_date=None))
    assert undated.status_code == 400 and 'id="birth_date-error"' in undated.get_data(as_text=True)


def test_an_earlier_report_the_user_may_not_read_is_never_revealed(web: FlaskClient, engine: Engine):
    casa = _case(engine, actor=CASA, province="casablanca")
    page_login(web, "upe.tanger")
    token = page_csrf(web, "/cases/new")
    checked = web.post("/cases/new", data=_form(token, action="check")).get_data(as_text=True)
    assert "Aucun signalement antérieur trouvé dans vos dossiers" in checked
    assert casa.case_reference not in checked and casa.case_id not in checked
    assert "score" not in checked.split('id="earlier-reports"', 1)[1].split("</section>", 1)[0]
    done = web.post("/cases/new", data=_form(token))
    assert done.status_code == 302, "a suspected duplicate is never refused"
    case = web.get(done.headers["Location"]).get_data(as_text=True)
    assert 'id="earlier-warning"' not in case and casa.case_reference not in case and casa.case_id not in case
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(DuplicateReview)) == 1, "the coordinators review it"


def test_after_reporting_the_case_page_names_the_earlier_reports_once(web: FlaskClient, engine: Engine):
    earlier = _case(engine)
    page_login(web, "upe.tanger")
    done = web.post("/cases/new", data=_form(page_csrf(web, "/cases/new")))
    assert done.status_code == 302
    cookie = web.get_cookie("session")
    assert cookie is not None
    interface = web.application.session_interface
    assert isinstance(interface, SecureCookieSessionInterface)
    serializer = interface.get_signing_serializer(web.application)
    assert serializer is not None
    kept = serializer.loads(cookie.value)
    assert kept["earlier_reports"]["matches"][0]["reference"] == earlier.case_reference
    assert "Karim" not in str(kept) and "Bennani" not in str(kept), "the browser's cookie holds no identity"
    case = web.get(done.headers["Location"]).get_data(as_text=True)
    warning = case.split('id="earlier-warning"', 1)[1].split("</section>", 1)[0]
    assert f'href="/cases/{earlier.case_id}">{earlier.case_reference}</a>' in warning
    assert "coordinateurs" in warning and "même enfant" in warning
    assert 'id="earlier-warning"' not in web.get(done.headers["Location"]).get_data(as_text=True), "shown once"


# --- the coordinators' reviews --------------------------------------------------------------------

def _two_reports(engine: Engine) -> tuple[Any, Any]:
    first = _case(engine)
    second = _case(engine)
    assert second.possible_duplicates, "the second report is flagged"
    return first, second


def test_a_coordinator_links_two_reports_of_one_child(web: FlaskClient, engine: Engine):
    first, second = _two_reports(engine)
    page_login(web, "cape.tanger")
    html = web.get("/duplicates").get_data(as_text=True)
    assert re.search(r'id="menu-duplicates">[^<]*<span class="count">1<', html), "the menu counts what waits"
    review = html.split('class="card review"', 1)[1]
    assert first.case_reference in review and second.case_reference in review
    assert review.count('<bdi class="child-name">Karim Bennani</bdi>') == 2 and "2013-05-14" in review
    assert "même prénom" in review and "même nom de famille" in review and re.search(r"\d+ %", review)
    assert f'value="{first.case_id}" checked' in review, "the earlier report continues by default"
    token = csrf_of(html)
    [review_id] = re.findall(r'action="/duplicates/(\d+)"', html)[:1]
    done = web.post(f"/duplicates/{review_id}", data={"csrf_token": token, "decision": "confirm",
                                                       "keep": first.case_id, "note": "Même enfant"})
    assert done.status_code == 302 and done.headers["Location"] == "/duplicates"
    after = web.get("/duplicates").get_data(as_text=True)
    assert "Liés" in after and 'id="no-reviews"' in after
    assert 'class="count"' not in after.split('id="menu-duplicates"', 1)[1].split("</a>", 1)[0]
    closed = web.get(f"/cases/{second.case_id}").get_data(as_text=True)
    assert 'id="closed-duplicate"' in closed and first.case_reference in closed
    kept = web.get(f"/cases/{first.case_id}").get_data(as_text=True)
    linked = kept.split('id="linked-reports"', 1)[1].split("</section>", 1)[0]
    assert f'href="/cases/{second.case_id}">{second.case_reference}</a>' in linked
    timeline = kept.split('class="timeline"', 1)[1]
    assert re.search(rf'<span class="badge linked" title="[^"]+">{second.case_reference}</span> Dossier ouvert',
                     timeline), "the linked report's events carry its reference"
    assert "lié à ce dossier comme le même enfant" in timeline
    listed = web.get("/cases?status=closed").get_data(as_text=True)
    assert "Clôturé : signalement en double" in listed and f'href="/cases/{first.case_id}"' in listed
    decided = web.get("/duplicates?state=confirmed").get_data(as_text=True)
    assert "Même enfant" in decided and first.case_reference in decided


def test_a_coordinator_records_two_different_children_and_a_decision_made_meanwhile_is_a_409(web: FlaskClient,
                                                                                           engine: Engine):
    first, second = _two_reports(engine)
    page_login(web, "cape.tanger")
    html = web.get("/duplicates").get_data(as_text=True)
    token = csrf_of(html)
    review_id = re.findall(r'action="/duplicates/(\d+)"', html)[0]
    stale = web.post(f"/duplicates/{review_id}", data={"csrf_token": token, "decision": "reject", "note": "x" * 2001})
    assert stale.status_code == 400 and "2000 caractères" in stale.get_data(as_text=True)
    done = web.post(f"/duplicates/{review_id}", data={"csrf_token": token, "decision": "reject",
                                                       "note": "Deux cousins"})
    assert done.status_code == 302
    assert "deux enfants différents" in web.get("/duplicates").get_data(as_text=True)
    again = web.post(f"/duplicates/{review_id}", data={"csrf_token": token, "decision": "confirm"})
    assert again.status_code == 409
    assert "déjà été tranché" in again.get_data(as_text=True)
    assert web.get(f"/cases/{second.case_id}").status_code == 200
    with engine.db.reading() as session:
        still = session.get(Case, second.case_id)
        assert still is not None and still.status == "open"
    assert web.post("/duplicates/99999", data={"csrf_token": token, "decision": "reject"}).status_code == 404
    assert web.post(f"/duplicates/{review_id}", data={"decision": "reject"}).status_code == 400, "CSRF"


def test_only_coordinators_review_duplicates(web: FlaskClient, engine: Engine):
    _two_reports(engine)
    page_login(web, "upe.tanger")
    assert 'id="menu-duplicates"' not in web.get("/tasks").get_data(as_text=True)
    assert web.get("/duplicates").status_code == 403
    token = page_csrf(web, "/tasks")
    assert web.post("/duplicates/1", data={"csrf_token": token, "decision": "reject"}).status_code == 403
    web.post("/logout", data={"csrf_token": token})
    page_login(web, "cape.chaouen")
    assert 'id="no-reviews"' in web.get("/duplicates").get_data(as_text=True), "another province's are not shown"


# --- the identity correction ----------------------------------------------------------------------

def test_the_case_team_corrects_the_identity_with_a_reason(web: FlaskClient, engine: Engine):
    case = _case(engine, None, None, identity_known=False, alias="Garçon de la gare", sex="U", birth_date=None,
                 age_estimate=11)
    page_login(web, "upe.tanger")
    page = web.get(f"/cases/{case.case_id}").get_data(as_text=True)
    assert f'href="/cases/{case.case_id}/child"' in page
    form = web.get(f"/cases/{case.case_id}/child").get_data(as_text=True)
    assert 'value="Garçon de la gare"' in form and 'name="name_unknown" checked' in form
    assert 'id="sex-U" name="sex" value="U" checked' in form and 'value="11"' in form
    token = csrf_of(form)
    fields = {"csrf_token": token, "first_name": "Yassine", "last_name": "Idrissi", "alias": "Garçon de la gare",
              "sex": "M", "age_estimate": "11"}
    no_reason = web.post(f"/cases/{case.case_id}/child", data=fields)
    assert no_reason.status_code == 400 and 'id="reason-error"' in no_reason.get_data(as_text=True)
    assert 'value="Yassine"' in no_reason.get_data(as_text=True), "what was typed stays"
    no_name = web.post(f"/cases/{case.case_id}/child", data={**fields, "first_name": "", "reason": "Vu à l'école"})
    assert no_name.status_code == 400 and 'id="first_name-error"' in no_name.get_data(as_text=True)
    done = web.post(f"/cases/{case.case_id}/child", data={**fields, "reason": "Acte de naissance vu à l'école"})
    assert done.status_code == 302 and done.headers["Location"] == f"/cases/{case.case_id}"
    after = web.get(done.headers["Location"]).get_data(as_text=True)
    assert "L&#39;identité de l&#39;enfant est corrigée" in after or "L'identité de l'enfant est corrigée" in after
    assert '<bdi class="child-name">Yassine Idrissi</bdi>' in after and "Garçon" in after
    assert "Identité de l&#39;enfant corrigée" in after or "Identité de l'enfant corrigée" in after
    [event] = events(engine, case.case_id, "identity_corrected")
    assert event.detail["reason"] == "Acte de naissance vu à l'école"
    assert set(event.detail["fields"]) >= {"first_name", "last_name", "identity_known", "sex"}


def test_who_may_correct_the_identity(web: FlaskClient, engine: Engine):
    case = _case(engine)
    page_login(web, "upe.casa")
    assert web.get(f"/cases/{case.case_id}/child").status_code == 404
    web.post("/logout", data={"csrf_token": page_csrf(web, "/tasks")})
    page_login(web, "cppe.tanger")  # the supervisor reads the file, does not correct it
    assert 'id="correct-identity"' not in web.get(f"/cases/{case.case_id}").get_data(as_text=True)
    assert web.get(f"/cases/{case.case_id}/child").status_code == 403
    web.post("/logout", data={"csrf_token": page_csrf(web, "/tasks")})
    page_login(web, "cape.tanger")
    assert 'id="correct-identity"' in web.get(f"/cases/{case.case_id}").get_data(as_text=True)


# --- the task list and the languages ---------------------------------------------------------------

def test_the_task_list_names_the_child_with_age_and_risk(web: FlaskClient, engine: Engine):
    _case(engine, "Salma", "Idrissi", sex="F", birth_date="2014-03-01", categories=["victim_violence"])
    page_login(web, "upe.tanger")
    html = web.get("/tasks").get_data(as_text=True)
    assert '<bdi class="child-name">Salma Idrissi</bdi> · 12 ans' in html
    assert 'class="badge risk-high"' in html and "Élevé" in html


def test_the_pages_read_in_arabic(web: FlaskClient, engine: Engine):
    _two_reports(engine)
    page_login(web, "cape.tanger")
    web.get("/language/ar")
    cases_page = web.get("/cases?q=Bennani").get_data(as_text=True)
    assert 'dir="rtl"' in cases_page and "البحث عن طفل" in cases_page
    reviews = web.get("/duplicates").get_data(as_text=True)
    assert "نفس الاسم الشخصي" in reviews and "نفس الطفل" in reviews
    missing = web.post("/cases/new", data=_form(csrf_of(reviews), unit="cape-tanger-assilah", first_name=None,
                                                last_name=None, name_unknown="on", sex="U"))
    assert missing.status_code == 400 and "لقب" in missing.get_data(as_text=True)
