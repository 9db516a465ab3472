"""Retention (issue 20), on SQLite and PostgreSQL: retention settings that make no sense stop the
start; a dry run lists what has expired and changes nothing; the job anonymises an expired file —
identity, search keys, report account, notes, contacts, documents, free-text answers and reasons
gone, the answers' choices, the indicators and the audit chain unchanged, one audit entry — and
leaves a file kept by the child's age; documents and rejected duplicate reviews go on their own
schedule; an anonymised file is not reopened."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from api.cli import main
from api.jobs import Jobs
from engine import audit, retention
from engine.clock import ManualClock
from engine.models import Case, CaseContact, CaseDocument, CaseNote, ChildNameKey, DuplicateReview, TaskRecord
from engine.retention import RetentionPolicy
from engine.runtime import Engine
from engine.settings import Settings, SettingsError
from tests.conftest import ApiClient
from tests.helpers import ANSWERS, TEN_YEARS, UPE, anonymise_after_ten_years, do, events, report
from tests.helpers import CAPE as COORDINATOR
from tests.test_browser import browser, site  # noqa: F401  (the Chromium fixtures)
from tests.test_documents import PDF, upload

CAPE = "cape.tanger"
WORDS = {
    "first_name": "Ilyas", "last_name": "Benjelloun-Retention", "arabic": "إلياس",
    "report": "Le voisin Mustapha entend des cris chaque nuit", "answer": "Il dort dans la rue de la Kasbah",
    "note": "Appeler l'oncle Driss au 0662-445566", "contact": "Driss Benjelloun", "close": "Parti chez l'oncle",
    "risk": "Coups vus par l'institutrice",
}


def _closed_file(api: ApiClient, engine: Engine, *, born: str = "2014-03-01") -> str:
    body = report(engine, first_name=WORDS["first_name"], last_name=WORDS["last_name"], birth_date=born)
    body["child"]["names_other_script"] = {"first_name": WORDS["arabic"], "last_name": "بنجلون"}
    body["report"]["description"] = WORDS["report"]
    body["report"]["reporter"] = {"name": "Mustapha", "relation": "voisin", "phone": "0661 11 22 33"}
    case_id = engine.start_case(body, UPE).case_id
    do(engine, case_id, "reception_listening",
       **{**ANSWERS["reception_listening"], "listening_summary": WORDS["answer"]})
    engine.set_risk_level(case_id, "high", WORDS["risk"], UPE)
    assert api.post(f"/api/v1/cases/{case_id}/notes", UPE.username, json={"text": WORDS["note"], "visibility": "team"}
                    ).status_code == 201
    assert api.post(f"/api/v1/cases/{case_id}/contacts", UPE.username, json={
        "relation": "aunt_uncle", "name": WORDS["contact"], "phone": "0662 44 55 66", "guardian": False}
    ).status_code == 201
    assert upload(api, case_id, UPE.username, data=PDF).status_code == 201
    engine.close_case(case_id, "moved", WORDS["close"], COORDINATOR)
    return case_id


def _indicators(api: ApiClient) -> Any:
    response = api.get("/api/v1/indicators?from=2026-01-01&to=2026-12-31", CAPE)
    assert response.status_code == 200
    return response.get_json()


def _plain_everywhere(engine: Engine, case_id: str) -> str:
    """Every value of the file as the application reads it (opened), in one text to search."""
    def values(row: Any) -> dict[str, Any]:
        return {k: v for k, v in sorted(vars(row).items()) if not k.startswith("_")}

    with engine.db.reading() as session:
        case = session.get(Case, case_id)
        parts: list[Any] = [values(case)]
        for model in (CaseNote, CaseContact, CaseDocument, TaskRecord):
            parts += [values(r) for r in session.scalars(select(model).where(model.case_id == case_id)
                                                          .order_by(model.id))]
    parts += [e.detail for e in events(engine, case_id)]
    return str(parts)


@pytest.mark.parametrize("variable, value", [
    ("HIMAYA_RETENTION_CLOSED_CASE_YEARS", "-1"),
    ("HIMAYA_RETENTION_CLOSED_CASE_YEARS", "0"),
    ("HIMAYA_RETENTION_AFTER_MAJORITY_YEARS", "-3"),
    ("HIMAYA_RETENTION_DOCUMENT_YEARS", "ten"),
    ("HIMAYA_RETENTION_REJECTED_DUPLICATE_DAYS", "0"),
])
def test_retention_settings_that_make_no_sense_stop_the_start(variable: str, value: str):
    with pytest.raises(SettingsError, match=variable):
        Settings.from_environment({variable: value})


def test_documents_cannot_be_kept_longer_than_their_file(monkeypatch, capsys):
    with pytest.raises(SettingsError, match="HIMAYA_RETENTION_DOCUMENT_YEARS.*outlive their file"):
        Settings.from_environment({"HIMAYA_RETENTION_CLOSED_CASE_YEARS": "5", "HIMAYA_RETENTION_DOCUMENT_YEARS": "8"})
    monkeypatch.setenv("HIMAYA_RETENTION_CLOSED_CASE_YEARS", "-2")
    assert main(["retention", "--dry-run"]) == 2
    assert "HIMAYA_RETENTION_CLOSED_CASE_YEARS" in capsys.readouterr().err


def test_an_expired_file_is_anonymised_and_the_indicators_stay(api: ApiClient, engine: Engine, clock: ManualClock,
                                                               monkeypatch, capsys):
    case_id = _closed_file(api, engine)
    kept_open = engine.start_case(report(engine), UPE).case_id
    before = _indicators(api)
    text_before = _plain_everywhere(engine, case_id)
    assert all(w in text_before for w in (WORDS["first_name"], WORDS["note"], WORDS["answer"], WORDS["close"]))
    audit.extend(engine.db, engine.now())

    clock.advance(TEN_YEARS)
    monkeypatch.setenv("HIMAYA_DATABASE_URL", engine.db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr(Engine, "now", lambda self: clock.now())
    assert main(["retention", "--dry-run"]) == 0
    out = capsys.readouterr().out
    with engine.db.reading() as session:
        reference = session.get(Case, case_id).reference  # type: ignore[union-attr]
    assert f"file {reference} (tanger-assilah): closed 2026-" in out and "18 on 2032-03-01" in out
    assert "dry run: 1 file(s) would be anonymised" in out and "nothing changed" in out
    assert _plain_everywhere(engine, case_id) == text_before  # the dry run changed nothing

    jobs = Jobs(engine, settings=Settings())
    assert jobs.apply_retention() == 1
    text_after = _plain_everywhere(engine, case_id)
    assert [w for w in WORDS.values() if w in text_after] == []
    with engine.db.reading() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.anonymised_at == clock.now()
        assert (case.child_first_name, case.child_birth_date, case.child_birth_date_key) == (None, None, None)
        assert set(case.report) == {"source", "received_at"} and case.consent == {"legal_basis": "protection_mandate"}
        assert (case.status, case.categories, case.child_sex, case.child_age_at_report) == (
            "closed", ["out_of_school"], "F", 12)
        for model in (ChildNameKey, CaseNote, CaseContact, CaseDocument):
            assert session.scalar(select(func.count()).select_from(model).where(model.case_id == case_id)) == 0
        listening = session.scalars(select(TaskRecord).where(
            TaskRecord.case_id == case_id, TaskRecord.step == "reception_listening")).one()
    assert "listening_summary" not in listening.data
    assert set(ANSWERS["reception_listening"]) - {"listening_summary"} <= set(listening.data)  # the choices stay
    assert listening.data["diagnoses"] == ANSWERS["reception_listening"]["diagnoses"]
    [anonymised] = events(engine, case_id, retention.ANONYMISED_EVENT)
    assert anonymised.actor == retention.RETENTION_ACTOR
    assert anonymised.detail == {"notes": 1, "contacts": 1, "documents": 1, "answers": 1, "events": 3}
    closed = events(engine, case_id, "case_closed")[0]
    assert closed.detail["reason"] == "moved" and audit.is_erased(closed.detail["note"])

    api._tokens.clear()  # ten years on: new tokens
    assert _indicators(api) == before  # the pathway's facts are kept for the indicators
    assert api.get("/api/v1/cases", UPE.username, query_string={"q": WORDS["last_name"]}).get_json()["items"] == []
    audit.extend(engine.db, engine.now())
    assert audit.verify(engine.db).intact  # forgetting does not break the chain
    assert api.get(f"/api/v1/cases/{case_id}", CAPE).get_json()["anonymised_at"]
    assert api.post(f"/api/v1/cases/{case_id}/notes", CAPE, json={"text": "Nouvelle note", "visibility": "team"}
                    ).status_code == 403  # nothing personal is added to an anonymised file
    refused = api.post(f"/api/v1/cases/{case_id}/reopen", CAPE, json={"reason": "Retour", "urgent": False})
    assert refused.status_code == 409 and "anonymis" in refused.get_json()["message"]
    assert jobs.apply_retention() == 0  # once
    with engine.db.reading() as session:
        assert session.get(Case, kept_open).anonymised_at is None  # type: ignore[union-attr]


def test_a_file_is_kept_until_the_child_is_of_age_and_its_documents_go_first(api: ApiClient, engine: Engine,
                                                                          clock: ManualClock):
    young = _closed_file(api, engine, born="2020-06-01")  # 18 in 2038, +2: kept until 2040
    grown = _closed_file(api, engine)  # born 2014: 18 in 2032, +2 in 2034, closed ten years in 2036
    clock.advance(timedelta(days=365 * 4))
    later = engine.start_case(report(engine), UPE).case_id
    engine.close_case(later, "moved", None, COORDINATOR)  # closed in 2030: kept until 2040
    clock.advance(TEN_YEARS - timedelta(days=365 * 4))
    policy = RetentionPolicy(closed_case_years=10, after_majority_years=2, document_years=5)
    expired = retention.plan(engine.db, clock.now(), policy)
    assert [e.case_id for e in expired.files] == [grown]
    assert [(e.case_id, e.documents) for e in expired.documents] == [(young, 1)]
    outcome = retention.apply(engine.db, engine.definition, clock.now(), expired)
    assert (outcome.files, outcome.documents) == (1, 1)
    with engine.db.reading() as session:
        young_case = session.get(Case, young)
        assert young_case is not None and young_case.anonymised_at is None
        assert young_case.child_first_name == WORDS["first_name"]
        assert session.scalar(select(func.count()).select_from(CaseDocument).where(CaseDocument.case_id == young)) == 0
    assert events(engine, young, retention.DOCUMENTS_EVENT)[0].detail == {"documents": 1}


def test_a_rejected_duplicate_review_goes_after_its_days(api: ApiClient, engine: Engine, clock: ManualClock):
    from tests.test_finding_a_child import child, reported
    first = reported(api, engine, child("Yassine", "Kabbaj"))
    reported(api, engine, child("Yassine", "Kabbaj"))
    [review] = api.get("/api/v1/duplicates", CAPE).get_json()["items"]
    assert api.post(f"/api/v1/duplicates/{review['id']}/reject", CAPE, json={"note": "Deux frères"}
                    ).status_code == 200
    policy = RetentionPolicy(rejected_duplicate_days=365)
    clock.advance(timedelta(days=364))
    assert retention.plan(engine.db, clock.now(), policy).rejected_reviews == []
    clock.advance(timedelta(days=2))
    expired = retention.plan(engine.db, clock.now(), policy)
    assert expired.rejected_reviews == [review["id"]] and expired.files == []
    assert retention.apply(engine.db, engine.definition, clock.now(), expired).rejected_reviews == 1
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(DuplicateReview)) == 0
        kept = session.get(Case, first["id"])
        assert kept is not None and kept.child_first_name == "Yassine"  # the files themselves stay


def test_an_anonymised_file_in_the_case_page(web, engine: Engine, api: ApiClient, clock: ManualClock):
    from tests.helpers import page_login
    case_id = _closed_file(api, engine)
    assert anonymise_after_ten_years(engine, clock).files == 1
    page_login(web, "cape.tanger")
    html = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="anonymised-notice"' in html and 'id="reopen-form"' not in html and 'id="identity-removed"' in html
    assert 'id="correct-identity"' not in html
    assert "environ 22 ans" in html  # from the age at the report (12), ten years on
    assert [w for w in WORDS.values() if w in html] == []
    assert "(effacé à la fin de la durée de conservation du dossier)" in html  # the closure's note, erased


def test_the_anonymised_file_in_chromium_in_french_and_arabic(request: pytest.FixtureRequest):
    from tests.test_browser import ARTIFACTS, _login, _page

    chromium, live = request.getfixturevalue("browser"), request.getfixturevalue("site")
    himaya: Engine = live["engine"]
    case_id = himaya.start_case(report(himaya, first_name=WORDS["first_name"]), UPE).case_id
    himaya.set_risk_level(case_id, "high", WORDS["risk"], UPE)
    himaya.close_case(case_id, "other", WORDS["close"], COORDINATOR)
    later = himaya.now() + TEN_YEARS
    assert retention.apply(himaya.db, himaya.definition, himaya.now(),
                           retention.plan(himaya.db, later, RetentionPolicy())).files == 1
    for language, width in (("fr", 1280), ("ar", 360)):
        page = _page(chromium, width)
        _login(page, live, "cape.tanger")
        if language == "ar":
            page.click("a[lang=ar]")
            page.wait_for_load_state()
        page.goto(f"{live['url']}/cases/{case_id}")
        assert page.locator("#anonymised-notice").is_visible()
        assert page.locator("#reopen-form").count() == 0
        body = page.locator("main").inner_text()
        assert WORDS["first_name"] not in body and WORDS["close"] not in body and WORDS["risk"] not in body
        page.screenshot(path=str(ARTIFACTS / f"52-anonymised-file-{language}-{width}px.png"), full_page=True)
        page.context.close()
