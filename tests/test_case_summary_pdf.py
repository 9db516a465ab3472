"""The printable summary of a child's file (issue 18, item 7): ``GET /api/v1/cases/{id}/summary.pdf``
and the case page's print link open as PDFs (pypdf) with the identity, the report and every
completed step's answers in French, Arabic (shaped, right to left) and English; partners get the
partner view; scoped like the case and audited (on SQLite and PostgreSQL)."""
from __future__ import annotations

import io
import re
import unicodedata
from typing import Any

from flask.testing import FlaskClient
from pypdf import PdfReader

from engine.runtime import Engine
from tests.conftest import ApiClient
from tests.helpers import ANSWERS, HEALTH, UPE, do, events, page_login, report

ARABIC = re.compile("[\u0600-\u06ff]")
CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
SUMMARY = "Vit chez sa tante depuis juillet."


def _diagnosed(engine: Engine) -> str:
    """A case whose listening (with its summary) and social diagnosis are done."""
    case_id = engine.start_case(report(engine, first_name="Salma", categories=["out_of_school"]), UPE).case_id
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"],
                                                  "listening_summary": SUMMARY})
    do(engine, case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    return case_id


def _text(data: bytes) -> str:
    """The PDF's text, normalised: Arabic presentation forms to letters (NFKC), direction marks
    dropped, whitespace collapsed."""
    pages = PdfReader(io.BytesIO(data)).pages
    text = unicodedata.normalize("NFKC", " ".join(page.extract_text() for page in pages))
    return " ".join(CONTROLS.sub("", text).split())


def _summary(api: ApiClient, case_id: str, user: str = "cape.tanger", lang: str = "fr") -> tuple[str, int]:
    response = api.get(f"/api/v1/cases/{case_id}/summary.pdf", user, query_string={"lang": lang})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    return _text(response.data), len(PdfReader(io.BytesIO(response.data)).pages)


def test_the_french_summary_has_the_child_the_report_and_the_answers(api: ApiClient, engine: Engine):
    case_id = _diagnosed(engine)
    response = api.get(f"/api/v1/cases/{case_id}/summary.pdf?lang=fr", "cape.tanger")
    reference = api.get(f"/api/v1/cases/{case_id}", "cape.tanger").get_json()["reference"]
    assert response.headers["Content-Disposition"] == f'attachment; filename="{reference}.pdf"'
    text = _text(response.data)
    assert "Salma" in text and reference in text
    assert "Confidentiel" in text, "the header says the file is confidential"
    assert SUMMARY in text, "the listening's summary"
    assert "Famille monoparentale" in text and "Situation familiale" in text, "a choice by its label"
    assert "Signalement de test" in text, "the report's account (the coordinator sees the whole file)"
    assert "Ligne verte" in text or "gratuit" in text.lower(), "the source in words"
    assert "Page 1 / " in text


def test_the_arabic_summary_is_in_arabic_with_the_childs_latin_name(api: ApiClient, engine: Engine):
    case_id = _diagnosed(engine)
    text, _pages = _summary(api, case_id, lang="ar")
    assert len(ARABIC.findall(text)) > 200, "the labels are in Arabic"
    family = api.get(f"/api/v1/cases/{case_id}", "cape.tanger", headers={"Accept-Language": "ar"}).get_json()
    [social] = [s for s in family["completed_steps"] if s["name"] == "diagnosis_social"]
    [situation] = [a for a in social["answers"] if a["key"] == "family_situation"]
    assert ARABIC.search(situation["display"])
    shaped = text.replace(" ", "")
    assert unicodedata.normalize("NFKC", situation["display"]).replace(" ", "") in shaped, "a choice's Arabic label"
    assert unicodedata.normalize("NFKC", situation["label"]).replace(" ", "") in shaped
    assert "Salma" in text, "the Latin name, unreversed"
    assert "Famille monoparentale" not in text


def test_the_english_summary_has_english_labels(api: ApiClient, engine: Engine):
    case_id = _diagnosed(engine)
    text, _pages = _summary(api, case_id, lang="en")
    assert "Confidential" in text and "The child" in text and "Completed steps" in text
    assert "Single-parent family" in text or "single" in text.lower()


def test_a_partner_gets_the_partner_view(api: ApiClient, engine: Engine):
    case_id = engine.start_case(report(engine, medical=True, categories=["victim_violence"]), UPE).case_id
    do(engine, case_id, "immediate_assistance", **ANSWERS["immediate_assistance"])
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["medical"],
                                                  "listening_summary": SUMMARY})
    text, _pages = _summary(api, case_id, HEALTH.username)
    assert "Signalement de test" not in text, "no account of the report"
    assert SUMMARY not in text, "no step of another sector"
    assert "Amina" in text, "the child's name"
    coordinator, _pages = _summary(api, case_id)
    assert "Signalement de test" in coordinator and SUMMARY in coordinator


def test_scope_language_and_audit(api: ApiClient, engine: Engine):
    case_id = _diagnosed(engine)
    assert api.get(f"/api/v1/cases/{case_id}/summary.pdf", "upe.casa").status_code == 404, "another province"
    assert api.get("/api/v1/cases/00000000-0000-4000-8000-000000000000/summary.pdf", "cape.tanger").status_code == 404
    assert api.get(f"/api/v1/cases/{case_id}/summary.pdf?lang=de", "cape.tanger").status_code == 400
    assert api.get(f"/api/v1/cases/{case_id}/summary.pdf").status_code == 401
    assert not events(engine, case_id, "summary_printed")
    assert api.get(f"/api/v1/cases/{case_id}/summary.pdf?lang=ar", "cape.tanger").status_code == 200
    [printed] = events(engine, case_id, "summary_printed")
    assert printed.actor == "cape.tanger" and printed.detail["language"] == "ar"
    log = api.get(f"/api/v1/cases/{case_id}/access-log", "cape.tanger").get_json()["items"]
    assert "summary_printed" in [e["kind"] for e in log], "a read: in the access log"
    timeline = api.get(f"/api/v1/cases/{case_id}/history", "cape.tanger", query_string={"view": "timeline"})
    assert "summary_printed" not in [e["kind"] for e in timeline.get_json()["events"]], "not in the timeline"


def test_long_answers_wrap_over_pages(api: ApiClient, engine: Engine):
    case_id = engine.start_case(report(engine, first_name="Salma"), UPE).case_id
    long_summary = " ".join(f"Phrase {n} de l'écoute, longue et détaillée." for n in range(85))
    assert len(long_summary) <= 4000, "the form's limit"
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"],
                                                  "listening_summary": long_summary})
    text, pages = _summary(api, case_id)
    assert pages >= 2 and f"Page {pages} / {pages}" in text
    assert "Phrase 0 de l'écoute" in text and "Phrase 84 de l'écoute" in text, "nothing cut"


def test_the_case_page_links_the_summary_in_its_language(web: FlaskClient, engine: Engine):
    case_id = _diagnosed(engine)
    page_login(web, "cape.tanger")
    html = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="print-summary"' in html and f"/cases/{case_id}/summary.pdf?lang=fr" in html
    response = web.get(f"/cases/{case_id}/summary.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = _text(response.data)
    assert "Salma" in text and "Famille monoparentale" in text
    assert len(events(engine, case_id, "summary_printed")) == 1
    assert ARABIC.search(_text(web.get(f"/cases/{case_id}/summary.pdf?lang=ar").data))
    assert web.get(f"/cases/{case_id}/summary.pdf?lang=xx").status_code == 400
    page_login(web, "upe.casa")
    assert web.get(f"/cases/{case_id}/summary.pdf").status_code == 404, "another province's case"
    anonymous = web.application.test_client()
    assert anonymous.get(f"/cases/{case_id}/summary.pdf").status_code == 302, "to the login page"


MOTHER: dict[str, Any] = {"relation": "mother", "name": "Fatima Alami", "phone": "+212 661 23 45 67",
                          "address": "Derb Sidi Bouabid", "guardian": False, "may_contact": False,
                          "note": "Violence suspectée : ne pas l'appeler."}
AUNT: dict[str, Any] = {"relation": "aunt_uncle", "name": "خديجة العلمي", "phone": "0539.12.34.56", "guardian": True}
AUNT_NAME = unicodedata.normalize("NFKC", AUNT["name"]).replace(" ", "")


def test_the_contacts_print_as_their_reader_may_read_them(api: ApiClient, engine: Engine):
    case_id = engine.start_case(report(engine, medical=True, categories=["victim_violence"]), UPE).case_id
    for contact in (MOTHER, AUNT):
        assert api.post(f"/api/v1/cases/{case_id}/contacts", UPE.username, json=contact).status_code == 201
    text, _pages = _summary(api, case_id)
    assert "Fatima Alami" in text and "+212 661 23 45 67" in text and "Ne pas contacter" in text
    assert "ne pas l'appeler" in text and "Mère" in text
    arabic, _pages = _summary(api, case_id, lang="ar")
    assert "Fatima Alami" in arabic and "+212 661 23 45 67" in arabic, "a Latin name and a phone in an Arabic page"
    assert AUNT_NAME in arabic.replace(" ", "")
    do(engine, case_id, "immediate_assistance", **ANSWERS["immediate_assistance"])
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["medical"]})
    partner, _pages = _summary(api, case_id, HEALTH.username)
    assert "Fatima Alami" not in partner and "ne pas l'appeler" not in partner, "only those who may be contacted"
    assert AUNT_NAME in partner.replace(" ", "")


def test_documents_print_from_the_hook(api: ApiClient, engine: Engine):
    """Documents come in through :func:`api.case_summary_pdf.read_summary` (their reader lives on
    another branch); none given prints "none recorded"."""
    from api import case_summary_pdf
    from api.auth import authenticate
    from api.readers.context import ReadContext

    case_id = _diagnosed(engine)
    token = api.token("cape.tanger")
    with engine.db.reading() as session:
        principal = authenticate(session, "test-secret", token, now=engine.now())
    assert principal is not None
    documents = [{"title": "Certificat médical (CML-1)", "kind": "medical_certificate",
                  "kind_label": "Certificat médical", "uploaded_by": "upe.tanger", "uploaded_at": engine.now()}]
    for language in ("fr", "ar"):
        with api.app.test_request_context(f"/api/v1/cases/{case_id}/summary.pdf?lang={language}"):
            context = ReadContext(engine, principal, language, engine.now())
            empty = _text(case_summary_pdf.render(case_summary_pdf.read_summary(context, case_id)))
            full = _text(case_summary_pdf.render(case_summary_pdf.read_summary(context, case_id,
                                                                                documents=documents)))
        assert "Certificat médical (CML-1)" in full and "upe.tanger" in full
        assert "CML-1" not in empty
        if language == "fr":
            assert empty.count("Aucun enregistré.") == 2 and full.count("Aucun enregistré.") == 1
