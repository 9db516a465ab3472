"""Subject access (issue 20, item 6): a coordinator of the case's province exports the child's
whole file — summary PDF, documents, history JSON and CSV, a README in the requested language —
for a written request by the child, a guardian or a legal representative; the reporter and third
parties are withheld; the export is recorded once (on SQLite and PostgreSQL)."""
from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
import unicodedata
import zipfile
from typing import Any

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader

from engine import audit
from engine.runtime import Engine
from tests.conftest import ApiClient
from tests.helpers import ANSWERS, CAPE, UPE, anonymise_after_ten_years, do, events, page_csrf, page_login, report
from tests.test_browser import browser, site  # noqa: F401  (the Chromium fixtures)
from tests.test_documents import PDF, png, upload

ARABIC = re.compile("[\u0600-\u06ff]")
CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
REPORTER, REPORTER_PHONE = "Mustapha Kettani", "0661 11 22 33"
SUMMARY = "Vit chez sa tante; le voisin Kettani appelle au 0661112233."
REQUEST = {"request_reference": "Courrier 2026/114", "requested_by": "guardian", "language": "fr"}


def _file(api: ApiClient, engine: Engine) -> tuple[str, dict[str, bytes]]:
    """A case with a reporter, two completed steps (one answer naming the reporter), a risk change,
    a contact and two documents; its documents' bytes by title."""
    body = report(engine, first_name="Salma", categories=["out_of_school"])
    body["report"]["reporter"] = {"name": REPORTER, "relation": "voisin", "phone": REPORTER_PHONE}
    body["report"]["description"] = "Mustapha Kettani a vu l'enfant seule la nuit"
    case_id = engine.start_case(body, UPE).case_id
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"],
                                                  "listening_summary": SUMMARY})
    do(engine, case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    engine.set_risk_level(case_id, "high", "Nuits dehors", CAPE)
    assert api.post(f"/api/v1/cases/{case_id}/contacts", UPE.username, json={
        "relation": "aunt_uncle", "name": "Fatima Alaoui", "phone": "0662 44 55 66", "guardian": True,
        "address": "12 rue des Orangers"}).status_code == 201
    documents = {"Certificat médical": PDF, "Photo ../../etc/passwd": png()}
    for (title, data), name in zip(documents.items(), ("certificat.pdf", "photo: la nuit «rue» $HOME.png"),
                                   strict=True):
        response = upload(api, case_id, UPE.username, data=data, name=name, title=title,
                          kind="photo" if data != PDF else "medico_legal_certificate")
        assert response.status_code == 201, response.get_json()
    return case_id, documents


def _export(api: ApiClient, case_id: str, body: dict[str, Any] | None = None, user: str = "cape.tanger"
            ) -> zipfile.ZipFile:
    response = api.post(f"/api/v1/cases/{case_id}/subject-access", user, json=body or REQUEST)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/zip"
    reference = api.get(f"/api/v1/cases/{case_id}", "cape.tanger").get_json()["reference"]
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and f"{reference}-subject-access.zip" in disposition
    assert "Salma" not in disposition, "named after the reference, not the child"
    return zipfile.ZipFile(io.BytesIO(response.data))


def _pdf_text(data: bytes) -> str:
    text = unicodedata.normalize("NFKC", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))
    return " ".join(CONTROLS.sub("", text).split())


def _everything(archive: zipfile.ZipFile) -> str:
    """Every text of the archive (the PDF's extracted), and the documents' bytes as Latin-1."""
    parts = []
    for name in archive.namelist():
        data = archive.read(name)
        parts.append(_pdf_text(data) if name.endswith(".pdf") and name == "summary.pdf" else
                     data.decode("utf-8-sig") if not name.startswith("documents/") else data.decode("latin-1"))
    return "\n".join(parts)


def test_the_archive_holds_the_summary_the_documents_the_history_and_a_readme(api: ApiClient, engine: Engine):
    case_id, documents = _file(api, engine)
    archive = _export(api, case_id)
    names = archive.namelist()
    assert {"summary.pdf", "history.json", "history.csv", "README.txt"} <= set(names)
    stored = [n for n in names if n.startswith("documents/")]
    assert len(stored) == 2
    for name in stored:  # safe names: no path, no control character, numbered, the real type's extension
        base = name.removeprefix("documents/")
        assert "/" not in base and ".." not in base and not any(unicodedata.category(c) == "Cf" for c in base)
        assert re.match(r"^\d{2}-[\w\- ]+\.(pdf|png)$", base), base
    assert sorted(archive.read(n) for n in stored) == sorted(documents.values()), "each document's bytes, decrypted"

    text = _pdf_text(archive.read("summary.pdf"))
    assert "Salma" in text and "Famille monoparentale" in text, "the child and a step's answer"
    assert "Courrier 2026/114" in text, "the request's reference on the summary"

    history = json.loads(archive.read("history.json"))
    assert history["request_reference"] == "Courrier 2026/114" and history["requested_by"] == "guardian"
    steps = [r for r in history["history"] if r["record"] == "step"]
    assert [s["code"] for s in steps] == ["reception_listening", "diagnosis_social"], "each completed step"
    assert all(s["by"].startswith("Intervenant") or "UPE" in s["by"] for s in steps), steps[0]["by"]
    assert not any("upe.tanger" in json.dumps(r) for r in history["history"]), "roles and units, not user names"
    kinds = [r["code"] for r in history["history"] if r["record"] == "event"]
    assert "case_opened" in kinds and "risk_changed" in kinds and "case_viewed" not in kinds
    [risk] = [r for r in history["history"] if r["code"] == "risk_changed"]
    assert risk["note"] == "Nuits dehors"
    assert {d["sha256"] for d in history["documents"]} == {hashlib.sha256(d).hexdigest() for d in documents.values()}

    rows = list(csv.reader(io.StringIO(archive.read("history.csv").decode("utf-8-sig"))))
    assert rows[0][0] == "Date"
    listening = [r for r in rows[1:] if r[1] == "Étape réalisée" and r[3] == steps[0]["what"]]
    assert len(listening) == len(steps[0]["answers"]) > 1, "a line per answer of a step"
    assert any(r[1] == "Étape réalisée" and r[3] == steps[1]["what"] for r in rows[1:])

    readme = archive.read("README.txt").decode()
    assert "Courrier 2026/114" in readme and "Le tuteur" in readme
    assert "la loi protège quiconque signale un enfant" in readme, "says the reporter is withheld"
    assert all(n in readme for n in stored), "lists each document"


def test_the_reporter_and_third_parties_appear_nowhere(api: ApiClient, engine: Engine):
    case_id, _documents = _file(api, engine)
    everything = _everything(_export(api, case_id))
    for word in ("Mustapha", "Kettani", "0661112233", "0661 11 22 33", "11 22 33"):
        assert word not in everything, word
    assert "[non communiqué]" in everything, "the reporter's name blanked in the answer that wrote it"
    assert "0662 44 55 66" not in everything and "Orangers" not in everything, "a contact's phone and address"
    assert "Fatima Alaoui" in everything, "the guardian's name stays"
    assert "upe.tanger" not in everything, "no professional's user name"


def test_the_readme_in_arabic_and_the_default_language(api: ApiClient, engine: Engine):
    case_id, _documents = _file(api, engine)
    archive = _export(api, case_id, {**REQUEST, "language": "ar"})
    readme = archive.read("README.txt").decode()
    assert len(ARABIC.findall(readme)) > 200 and "Courrier 2026/114" in readme and "الولي" in readme
    assert "Himaya" not in readme.splitlines()[0] and "حماية" in readme.splitlines()[0]
    assert ARABIC.search(_pdf_text(archive.read("summary.pdf")))
    rows = list(csv.reader(io.StringIO(archive.read("history.csv").decode("utf-8-sig"))))
    assert rows[0][0] == "التاريخ"
    english = api.post(f"/api/v1/cases/{case_id}/subject-access", "cape.tanger",
                       json={k: v for k, v in REQUEST.items() if k != "language"},
                       headers={"Accept-Language": "en"})
    readme = zipfile.ZipFile(io.BytesIO(english.data)).read("README.txt").decode()
    assert "What was withheld, and why" in readme, "no language: the request's"
    assert [e.detail["language"] for e in events(engine, case_id, "subject_access_exported")] == ["ar", "en"]


def test_only_the_provinces_coordinators_export(api: ApiClient, engine: Engine):
    case_id, _documents = _file(api, engine)
    path = f"/api/v1/cases/{case_id}/subject-access"
    assert api.post(path, "upe.tanger", json=REQUEST).status_code == 403, "a case worker of the case"
    assert api.post(path, "cppe.tanger", json=REQUEST).status_code == 403, "a supervisor of the province"
    assert api.post(path, "cape.casa", json=REQUEST).status_code == 404, "a coordinator of another province"
    assert api.post(path, None, json=REQUEST).status_code == 401
    assert api.post("/api/v1/cases/00000000-0000-4000-8000-000000000000/subject-access", "cape.tanger",
                    json=REQUEST).status_code == 404
    assert not events(engine, case_id, "subject_access_exported")


def test_an_anonymised_file_is_refused_with_409(api: ApiClient, engine: Engine, clock: Any):
    case_id = engine.start_case(report(engine), UPE).case_id
    engine.close_case(case_id, "moved", "Parti", CAPE)
    assert anonymise_after_ten_years(engine, clock).files == 1
    response = api.post(f"/api/v1/cases/{case_id}/subject-access", "cape.tanger", json=REQUEST,
                        headers={"Accept-Language": "en"})
    assert response.status_code == 409 and "anonymised" in response.get_json()["message"]
    assert not events(engine, case_id, "subject_access_exported")


BAD_BODIES = {
    "no reference": ({"requested_by": "child"}, "request_reference"),
    "a blank reference": ({"request_reference": "   ", "requested_by": "child"}, "request_reference"),
    "too long": ({"request_reference": "x" * 121, "requested_by": "child"}, "request_reference"),
    "a control character": ({"request_reference": "A\u202eB", "requested_by": "child"}, "request_reference"),
    "a line break": ({"request_reference": "A\nB", "requested_by": "child"}, "request_reference"),
    "not text": ({"request_reference": 12, "requested_by": "child"}, "request_reference"),
    "an unknown requester": ({"request_reference": "R1", "requested_by": "neighbour"}, "requested_by"),
    "no requester": ({"request_reference": "R1"}, "requested_by"),
    "an unknown language": ({"request_reference": "R1", "requested_by": "child", "language": "de"}, "language"),
    "an unknown field": ({"request_reference": "R1", "requested_by": "child", "reporter": "x"}, "reporter"),
}


@pytest.mark.parametrize("case", BAD_BODIES, ids=list(BAD_BODIES))
def test_a_bad_body_gives_its_field_error_and_records_nothing(api: ApiClient, engine: Engine, case: str):
    body, field = BAD_BODIES[case]
    case_id = engine.start_case(report(engine), UPE).case_id
    response = api.post(f"/api/v1/cases/{case_id}/subject-access", "cape.tanger", json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert field in response.get_json()["errors"]["json"]
    assert not events(engine, case_id, "subject_access_exported")
    malformed = api.post(f"/api/v1/cases/{case_id}/subject-access", "cape.tanger", data="{",
                         content_type="application/json")
    assert malformed.status_code == 400


def test_the_export_is_recorded_once_labelled_and_its_reference_erasable(api: ApiClient, engine: Engine):
    case_id, _documents = _file(api, engine)
    _export(api, case_id, {**REQUEST, "request_reference": "  Courrier   2026/114 "})
    [event] = events(engine, case_id, "subject_access_exported")
    assert event.actor == "cape.tanger"
    assert {k: event.detail[k] for k in ("request_reference", "requested_by", "language", "documents", "role")} == {
        "request_reference": "Courrier 2026/114", "requested_by": "guardian", "language": "fr", "documents": 2,
        "role": "coordinator"}
    timeline = api.get(f"/api/v1/cases/{case_id}/history", "cape.tanger", query_string={"view": "timeline"})
    assert "subject_access_exported" in [e["kind"] for e in timeline.get_json()["events"]]
    for language, words in (("fr", "Dossier exporté pour une demande d'accès (Le tuteur)"),
                            ("ar", "تصدير الملف لطلب الولوج إلى المعطيات (الولي)")):
        web = api.app.test_client()
        page_login(web, "cape.tanger")
        web.get(f"/?lang={language}")
        assert words in html.unescape(web.get(f"/cases/{case_id}?lang={language}").get_data(as_text=True))
    assert "request_reference" in audit.FREE_TEXT["subject_access_exported"]
    erased = audit.erase_free_text(engine.db.keys, event.kind, event.detail)
    assert erased is not None and audit.is_erased(erased["request_reference"])


def test_the_case_page_form_for_coordinators(web: FlaskClient, engine: Engine, api: ApiClient):
    case_id, documents = _file(api, engine)
    page_login(web, "upe.tanger")
    assert 'id="subject-access-form"' not in web.get(f"/cases/{case_id}").get_data(as_text=True)
    token = page_csrf(web, f"/cases/{case_id}")
    assert web.post(f"/cases/{case_id}/subject-access", data={**REQUEST, "csrf_token": token}).status_code == 403
    page_login(web, "cape.tanger")
    page = html.unescape(web.get(f"/cases/{case_id}").get_data(as_text=True))
    assert 'id="subject-access-form"' in page and "Export pour une demande d'accès" in page
    token = page_csrf(web, f"/cases/{case_id}")
    refused = web.post(f"/cases/{case_id}/subject-access",
                       data={"request_reference": "", "requested_by": "voisin", "csrf_token": token})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert 'id="sa-request_reference-error"' in page and 'id="sa-requested_by-error"' in page
    assert 'aria-invalid="true"' in page and "<details id=\"subject-access-details\" open>" in page
    assert not events(engine, case_id, "subject_access_exported")
    response = web.post(f"/cases/{case_id}/subject-access", data={**REQUEST, "language": "ar", "csrf_token": token})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert len([n for n in archive.namelist() if n.startswith("documents/")]) == len(documents)
    assert ARABIC.search(archive.read("README.txt").decode())
    assert len(events(engine, case_id, "subject_access_exported")) == 1


def test_the_form_downloads_the_archive_in_chromium(request: pytest.FixtureRequest, tmp_path: Any):
    from tests.test_browser import ARTIFACTS, _login, _page

    chromium, live = request.getfixturevalue("browser"), request.getfixturevalue("site")
    himaya: Engine = live["engine"]
    body = report(himaya, first_name="Salma")
    body["report"]["reporter"] = {"name": REPORTER, "relation": "voisin", "phone": REPORTER_PHONE}
    case_id = himaya.start_case(body, UPE).case_id
    do(himaya, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "listening_summary": SUMMARY})
    for language, width in (("fr", 1280), ("ar", 360)):
        page = _page(chromium, width)
        _login(page, live, "cape.tanger")
        if language == "ar":
            page.click("a[lang=ar]")
            page.wait_for_load_state()
        page.goto(f"{live['url']}/cases/{case_id}#subject-access")
        page.click("#subject-access-details summary")
        page.click("#export-subject-access")  # nothing filled: the fields' errors
        page.wait_for_load_state()
        assert page.locator("#sa-request_reference-error").is_visible()
        assert page.locator("#sa-requested_by-error").is_visible()
        if language == "ar":
            assert page.evaluate("document.documentElement.dir") == "rtl"
        page.locator("#subject-access").screenshot(path=str(ARTIFACTS / f"60-subject-access-errors-{language}.png"))
        page.fill("#sa-reference", "Courrier 2026/114")
        page.check("#sa-by-guardian")
        page.select_option("#sa-language", language)
        page.locator("#subject-access").screenshot(path=str(ARTIFACTS / f"61-subject-access-form-{language}.png"))
        with page.expect_download() as info:
            page.click("#export-subject-access")
        download = info.value
        assert download.suggested_filename.endswith("-subject-access.zip")
        saved = tmp_path / f"{language}.zip"
        download.save_as(str(saved))
        archive = zipfile.ZipFile(saved)
        assert "summary.pdf" in archive.namelist()
        readme = archive.read("README.txt").decode()
        assert ("الولي" if language == "ar" else "Le tuteur") in readme and "Kettani" not in readme
        page.context.close()
    assert len(events(himaya, case_id, "subject_access_exported")) == 2
