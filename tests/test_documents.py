"""Documents of a child's case: uploaded, listed and downloaded identically; refused when empty,
too large, of a type that is not allowed or a polyglot, badly named or titled (nothing stored);
scanned by a real clamd (an infected file refused, a scanner down refused with 503); scoped like
the case (another province, a partner outside the case: 404; partners read their sector's);
audited; on the case page with thumbnails and an upload form (on SQLite and PostgreSQL)."""
from __future__ import annotations

import base64
import hashlib
import io
import re
import struct
import zipfile
import zlib
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from api.app import create_app
from engine.documents import sniff
from engine.models import CaseDocument
from engine.runtime import Engine
from engine.settings import Settings
from tests.conftest import TEST_SIGNATURE, ApiClient
from tests.helpers import ANSWERS, do, events, page_csrf, page_login, report
from tests.helpers import UPE as UPE_ACTOR
from tests.test_browser import browser, site  # noqa: F401  (the Chromium fixtures)

UPE, CAPE, SUPERVISOR, HEALTH, CASA = "upe.tanger", "cape.tanger", "cppe.tanger", "sante.tanger", "cape.casa"


def png(width: int = 64, height: int = 48) -> bytes:
    """A real PNG image (a colour gradient), decodable by a browser."""
    rows = b"".join(b"\x00" + bytes(channel for x in range(width)
                                    for channel in (40 + 180 * x // width, 90 + 120 * y // height, 160))
                    for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>"
       b"\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0o"
    "MCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wAARCAAIAAgD"
    "ASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKB"
    "kaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZ"
    "mqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQF"
    "BgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5"
    "OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX"
    "2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwCzRRRXwR9sf//Z")
WEBP = base64.b64decode("UklGRjoAAABXRUJQVlA4IC4AAADQAQCdASoIAAgAAUAmJaACdLoB+AADsAD+pNf/TSPGkeNI+Yt/84ljqd3aAAAA")
INFECTED_PDF = PDF.replace(b"endobj\ntrailer", b"endobj\n% " + TEST_SIGNATURE + b"\ntrailer")


def exe() -> bytes:
    stub = bytearray(b"MZ" + b"\x90" * 0x3A + struct.pack("<I", 0x80) + b"\x00" * (0x80 - 0x40))
    stub[0x4E:0x4E + 38] = b"This program cannot be run in DOS mode"
    return bytes(stub) + b"PE\x00\x00" + b"\x00" * 200


def zipped(name: str = "doc.txt") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, "hello")
    return buffer.getvalue()


REFUSED_TYPES = {
    "a Windows program": ("certificat.pdf", exe(), "program"),
    "an ELF program": ("photo.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "program"),
    "a web page": ("certificat.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "web page"),
    "an SVG image": ("photo.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)'
                                  b"</script></svg>", "SVG"),
    "a ZIP renamed .pdf": ("certificat.pdf", zipped(), "archive"),
    "a GIF image": ("photo.gif", b"GIF89a" + b"\x00" * 40, "PDF, or a JPEG, PNG or WebP"),
    "a PNG with a ZIP appended": ("photo.png", png() + zipped(), "extra data after its end"),
    "a JPEG with a script inside": ("photo.jpg", JPEG[:2] + b"\xff\xfe\x00\x1a<script>alert(1)</script>xx"
                                    + JPEG[2:], "web page or a script"),
    "a PDF with a program inside": ("certificat.pdf", PDF.replace(b"trailer", exe() + b"\ntrailer"), "program"),
    "a PDF whose bytes start like a program": ("certificat.pdf", b"MZ" + PDF, "program"),
    "a PDF with a ZIP inside its last KB": ("certificat.pdf", PDF.replace(b"trailer", zipped() + b"\ntrailer"),
                                            "archive"),
    "a PDF with JavaScript": ("certificat.pdf", PDF.replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction "
                                                            b"<< /S /JavaScript /JS (app.alert(1)) >>"), "script"),
    "a PDF with an escaped JavaScript name": ("certificat.pdf", PDF.replace(b"/Type /Catalog", b"/Type /Catalog "
                                                                            b"/Names << /J#61vaScript 3 0 R >>"),
                                              "script"),
    "a PDF with data after its end": ("certificat.pdf", PDF + b"<html><script>alert(1)</script>", "extra data"),
    "a truncated PNG": ("photo.png", png()[:-20], "damaged"),
}


def case_of(engine: Engine, **options: Any) -> str:
    return engine.start_case(report(engine, **options), UPE_ACTOR).case_id


def upload(client: Any, case_id: str, user: str | None, *, data: bytes = PDF, name: str = "certificat.pdf",
           kind: str = "medico_legal_certificate", title: str = "Certificat médico-légal", **more: str
           ) -> TestResponse:
    form: dict[str, Any] = {"kind": kind, "title": title, **more, "file": (io.BytesIO(data), name)}
    if isinstance(client, ApiClient):
        return client.post(f"/api/v1/cases/{case_id}/documents", user, data=form, content_type="multipart/form-data",
                           headers={"Accept-Language": "en"})  # the messages as written here
    return client.post(f"/cases/{case_id}/documents", data=form, content_type="multipart/form-data")


def stored(engine: Engine) -> int:
    with engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(CaseDocument)) or 0


def scanning_api(engine: Engine, socket: str, **settings: Any) -> ApiClient:
    return ApiClient(create_app({"TESTING": True, "SECRET_KEY": "test-secret"}, engine=engine,
                                settings=Settings(clamd_address=socket, **settings)))


# --- accepted, listed, downloaded -------------------------------------------------------------

def test_each_allowed_type_is_stored_listed_and_downloaded_identically(api: ApiClient, engine: Engine):
    case = case_of(engine)
    sent = {}
    for name, data in (("certificat.pdf", PDF), ("photo.jpeg", JPEG), ("photo.png", png()), ("photo.webp", WEBP)):
        response = upload(api, case, UPE, data=data, name=name, kind="photo", title=f"Pièce {name}")
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert set(body) >= {"id", "kind", "title", "content_type", "size", "sha256", "uploaded_by", "uploaded_at",
                             "scan"}
        assert body["size"] == len(data) and body["sha256"] == hashlib.sha256(data).hexdigest()
        assert body["uploaded_by"] == UPE and body["scan"] == "not_scanned" and body["kind"] == "photo"
        sent[body["id"]] = (data, body["content_type"])
    assert [t for _d, t in sent.values()] == ["application/pdf", "image/jpeg", "image/png", "image/webp"]
    listed = api.get(f"/api/v1/cases/{case}/documents", CAPE)
    assert listed.status_code == 200
    assert {d["id"] for d in listed.get_json()["items"]} == set(sent)
    assert all("content" not in d for d in listed.get_json()["items"])
    for document_id, (data, content_type) in sent.items():
        download = api.get(f"/api/v1/documents/{document_id}/content", CAPE)
        assert download.status_code == 200
        assert hashlib.sha256(download.data).hexdigest() == hashlib.sha256(data).hexdigest()
        assert download.mimetype == content_type
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert "sandbox" in download.headers["Content-Security-Policy"]
        assert "default-src 'none'" in download.headers["Content-Security-Policy"]


def test_the_download_name_is_safe_and_keeps_the_real_type(api: ApiClient, engine: Engine):
    case = case_of(engine)
    body = upload(api, case, UPE, data=png(), name="شهادة طبية; 100%.pdf").get_json()
    assert body["content_type"] == "image/png"
    disposition = api.get(f"/api/v1/documents/{body['id']}/content", UPE).headers["Content-Disposition"]
    fallback = re.search(r'filename="([^"]*)"', disposition)
    assert fallback and fallback.group(1).isascii() and fallback.group(1).endswith(".png")
    assert "filename*=UTF-8''%D8%B4%D9%87%D8%A7%D8%AF%D8%A9%20%D8%B7%D8%A8%D9%8A%D8%A9%3B%20100%25.png" in disposition
    assert body["filename"] == "شهادة طبية; 100%.pdf"  # the name as sent; the download has the real type's extension


def test_adding_and_downloading_are_in_the_case_history_without_the_content(api: ApiClient, engine: Engine):
    case = case_of(engine)
    body = upload(api, case, UPE).get_json()
    added = events(engine, case, "document_added")
    assert len(added) == 1 and added[0].actor == UPE
    assert added[0].detail["document_id"] == body["id"] and added[0].detail["sha256"] == body["sha256"]
    assert {"kind", "title", "size", "sha256"} <= set(added[0].detail)
    assert not any(isinstance(v, (bytes, str)) and len(v) > 300 for v in added[0].detail.values())
    api.get(f"/api/v1/documents/{body['id']}/content", CAPE)
    downloaded = events(engine, case, "document_downloaded")
    assert [(e.actor, e.detail["document_id"]) for e in downloaded] == [(CAPE, body["id"])]


def test_a_document_may_name_a_step_of_its_case_and_no_other(api: ApiClient, engine: Engine):
    case, other = case_of(engine), case_of(engine)
    from tests.helpers import task_id

    step = task_id(engine, case, "reception_listening")
    assert upload(api, case, UPE, task_id=step).get_json()["task_id"] == step
    refused = upload(api, other, UPE, task_id=step)
    assert refused.status_code == 400 and "task_id" in refused.get_json()["errors"]["form"]
    assert stored(engine) == 1


# --- refused, nothing stored ------------------------------------------------------------------

@pytest.mark.sqlite_only
@pytest.mark.parametrize("what", list(REFUSED_TYPES))
def test_types_that_are_not_allowed_and_polyglots_are_refused_with_415(api: ApiClient, engine: Engine, what: str):
    name, data, words = REFUSED_TYPES[what]
    case = case_of(engine)
    response = upload(api, case, UPE, data=data, name=name)
    assert response.status_code == 415, (what, response.get_json())
    message = response.get_json()["errors"]["form"]["file"][0]
    assert words in message, (what, message)
    assert stored(engine) == 0 and not events(engine, case, "document_added")


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"data": b""}, "file", "empty"),
    ({"name": "../../etc/passwd.pdf"}, "file", "/"),
    ({"name": "C:\\\\Users\\\\amina.pdf"}, "file", "/"),  # the header's escapes: C:\\Users\\amina.pdf
    ({"name": "certificat\u202efdp.exe"}, "file", "invisible"),
    ({"name": "certi\u0007ficat.pdf"}, "file", "invisible"),
    ({"name": "x" * 300 + ".pdf"}, "file", "255"),
    ({"title": ""}, "title", "title"),
    ({"title": "   "}, "title", "title"),
    ({"title": "x" * 201}, "title", "200"),
    ({"title": "Certificat\u202e"}, "title", "invisible"),
    ({"title": "Certificat\nmédical"}, "title", "invisible"),
    ({"kind": "virus"}, "kind", "kind"),
    ({"task_id": "not-a-step"}, "task_id", "step"),
])
def test_bad_fields_are_refused_on_the_field_and_nothing_is_stored(api: ApiClient, engine: Engine,
                                                                   fields: dict[str, Any], field: str, words: str):
    case = case_of(engine)
    response = upload(api, case, UPE, **fields)
    assert response.status_code == 400, response.get_json()
    errors = response.get_json()["errors"]["form"]
    assert field in errors and words in " ".join(errors[field]), errors
    assert stored(engine) == 0


def test_an_empty_file_and_a_bad_title_store_nothing(api: ApiClient, engine: Engine):
    case = case_of(engine)
    response = upload(api, case, UPE, data=b"", title="")
    assert response.status_code == 400 and set(response.get_json()["errors"]["form"]) == {"file", "title"}
    assert stored(engine) == 0


def test_a_file_over_the_limit_is_refused_with_413(engine: Engine):
    small = ApiClient(create_app({"TESTING": True, "SECRET_KEY": "test-secret"}, engine=engine,
                                 settings=Settings(document_max_bytes=2048)))
    case = case_of(engine)
    big = PDF.replace(b"trailer", b"%" + b"x" * 4000 + b"\ntrailer")
    response = upload(small, case, UPE, data=big)
    assert response.status_code == 413
    assert "2 KB" in response.get_json()["errors"]["form"]["file"][0]
    huge = upload(small, case, UPE, data=PDF.replace(b"trailer", b"%" + b"x" * 2_000_000 + b"\ntrailer"))
    assert huge.status_code == 413  # beyond the form's allowance: refused before it is read
    assert upload(small, case, UPE).status_code == 201
    assert stored(engine) == 1


# --- the virus scanner ------------------------------------------------------------------------

def test_a_real_clamd_refuses_an_infected_file_and_passes_a_clean_one(engine: Engine, clamd: str):
    api = scanning_api(engine, clamd)
    case = case_of(engine)
    infected = upload(api, case, UPE, data=INFECTED_PDF)
    assert sniff(INFECTED_PDF) == "application/pdf"  # a valid PDF: only the scanner refuses it
    assert infected.status_code == 422, infected.get_json()
    assert "virus scanner" in infected.get_json()["errors"]["form"]["file"][0]
    assert stored(engine) == 0 and not events(engine, case, "document_added")
    clean = upload(api, case, UPE, data=png(), name="photo.png", kind="photo", title="Photo")
    assert clean.status_code == 201 and clean.get_json()["scan"] == "clean"
    health = api.client.get("/healthz").get_json()
    assert health["scanner"] == "ok" and health["status"] == "ok"


def test_a_scanner_that_is_down_refuses_uploads_with_503_and_healthz_says_so(engine: Engine, tmp_path):
    api = scanning_api(engine, str(tmp_path / "no-clamd.sock"))
    case = case_of(engine)
    response = upload(api, case, UPE)
    assert response.status_code == 503
    assert "virus scanner cannot be reached" in response.get_json()["message"]
    assert stored(engine) == 0
    health = api.client.get("/healthz")
    assert health.status_code == 200  # the rest of the service works
    assert health.get_json()["scanner"] == "unreachable" and health.get_json()["database"] == "ok"


def test_healthz_says_when_scanning_is_off(api: ApiClient):
    body = api.client.get("/healthz").get_json()
    assert body["scanner"] == "off" and body["documents"] == "scanning off"
    assert {"status", "database", "scheduler"} <= set(body)


# --- who sees and adds ------------------------------------------------------------------------

def _medical_case(engine: Engine) -> str:
    """A case whose listening asks for the medical diagnosis (the health partner's step)."""
    case = case_of(engine, categories=["victim_violence"])
    do(engine, case, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["medical"]})
    return case


def test_another_province_and_a_partner_outside_the_case_find_nothing(api: ApiClient, engine: Engine):
    case = case_of(engine)  # no partner step
    document = upload(api, case, UPE).get_json()["id"]
    for user in (CASA, HEALTH):
        assert api.get(f"/api/v1/cases/{case}/documents", user).status_code == 404
        assert api.get(f"/api/v1/documents/{document}/content", user).status_code == 404
        assert upload(api, case, user).status_code == 404
    assert stored(engine) == 1
    assert not [e for e in events(engine, case, "document_downloaded")]


def test_partners_add_documents_and_read_only_their_sectors(api: ApiClient, engine: Engine):
    case = _medical_case(engine)
    team = upload(api, case, UPE, kind="court_order", title="Ordonnance").get_json()["id"]
    health = upload(api, case, HEALTH, title="Certificat médico-légal, Dr Alaoui")
    assert health.status_code == 201, health.get_json()
    mine = health.get_json()["id"]
    listed = api.get(f"/api/v1/cases/{case}/documents", HEALTH).get_json()["items"]
    assert [d["id"] for d in listed] == [mine]
    assert api.get(f"/api/v1/documents/{team}/content", HEALTH).status_code == 404
    assert api.get(f"/api/v1/documents/{mine}/content", HEALTH).status_code == 200
    assert {d["id"] for d in api.get(f"/api/v1/cases/{case}/documents", CAPE).get_json()["items"]} == {team, mine}
    # the supervisor reads the file, and adds nothing to it
    assert api.get(f"/api/v1/documents/{mine}/content", SUPERVISOR).status_code == 200
    assert upload(api, case, SUPERVISOR).status_code == 403
    assert stored(engine) == 2


# --- the case page ----------------------------------------------------------------------------

def test_the_case_page_lists_documents_with_thumbnails_and_uploads_through_its_form(web: FlaskClient,
                                                                                     engine: Engine):
    case = case_of(engine)
    page_login(web, UPE)
    page = web.get(f"/cases/{case}").get_data(as_text=True)
    assert 'id="documents"' in page and "Aucun document" in page and 'enctype="multipart/form-data"' in page
    token = page_csrf(web, f"/cases/{case}")
    added = upload(web, case, None, data=png(), name="photo.png", kind="photo", title="Photo de l'enfant",
                   csrf_token=token)
    assert added.status_code == 302 and added.headers["Location"].endswith(f"/cases/{case}#documents")
    upload(web, case, None, csrf_token=token)
    page = web.get(f"/cases/{case}").get_data(as_text=True)
    assert "<bdi class=\"document-title\">Photo de l&#39;enfant</bdi>" in page
    assert "Certificat médico-légal" in page and "Photo" in page
    with engine.db.reading() as session:
        rows = {r.content_type: r.id for r in session.scalars(select(CaseDocument))}
    assert f'src="/documents/{rows["image/png"]}/image"' in page
    assert f'/documents/{rows["application/pdf"]}/image' not in page  # a PDF is never shown inline
    image = web.get(f"/documents/{rows['image/png']}/image")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.headers["Content-Disposition"].startswith("inline;") and image.data == png()
    assert web.get(f"/documents/{rows['application/pdf']}/image").status_code == 404
    download = web.get(f"/documents/{rows['application/pdf']}/download")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert {e.kind for e in events(engine, case)} >= {"document_added", "document_viewed", "document_downloaded"}


def test_a_refused_upload_shows_the_case_page_with_the_error_next_to_the_field(web: FlaskClient, engine: Engine):
    case = case_of(engine)
    page_login(web, UPE)
    token = page_csrf(web, f"/cases/{case}")
    refused = upload(web, case, None, data=exe(), name="certificat.pdf", title="", csrf_token=token)
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'id="doc-title-error"' in html and 'id="document-errors"' in html
    assert 'aria-invalid="true"' in html and "autofocus" in html
    wrong_type = upload(web, case, None, data=exe(), name="certificat.pdf", csrf_token=token)
    assert wrong_type.status_code == 415
    assert 'id="doc-file-error"' in wrong_type.get_data(as_text=True)
    assert "programme" in wrong_type.get_data(as_text=True)  # in French
    assert upload(web, case, None, csrf_token="forged").status_code == 400
    assert stored(engine) == 0


def test_the_upload_form_is_offered_only_to_those_who_may_add(web: FlaskClient, engine: Engine):
    case = case_of(engine)
    page_login(web, SUPERVISOR)
    page = web.get(f"/cases/{case}").get_data(as_text=True)
    assert 'id="documents"' in page and 'id="document-form"' not in page


def test_a_step_page_shows_the_contacts_and_adds_a_document_to_the_step(web: FlaskClient, api: ApiClient,
                                                                         engine: Engine):
    from tests.helpers import task_id

    case = case_of(engine)
    aunt = api.post(f"/api/v1/cases/{case}/contacts", UPE, json={
        "relation": "aunt_uncle", "name": "خديجة العلمي", "phone": "0539.12.34.56", "guardian": True})
    assert aunt.status_code == 201, aunt.get_json()
    step = task_id(engine, case, "reception_listening")
    page_login(web, UPE)
    page = web.get(f"/tasks/{step}").get_data(as_text=True)
    assert 'id="contacts"' in page and '<bdi class="contact-name">خديجة العلمي</bdi>' in page
    assert 'href="tel:0539123456"' in page and 'id="contact-form"' not in page  # changed on the case page
    assert 'id="contacts-on-case"' in page
    assert 'id="document-form"' in page and f'name="task_id" value="{step}"' in page
    assert any(e.kind == "contacts_viewed" and e.actor == UPE for e in events(engine, case))
    token = page_csrf(web, f"/tasks/{step}")
    added = upload(web, case, None, csrf_token=token, task_id=step)
    assert added.status_code == 302 and added.headers["Location"].endswith(f"/tasks/{step}#documents")
    with engine.db.reading() as session:
        assert [d.task_id for d in session.scalars(select(CaseDocument))] == [step]
    assert "Certificat médico-légal" in web.get(f"/tasks/{step}").get_data(as_text=True)
    # refused: the step's page again, the error next to the field, the step form still there
    refused = upload(web, case, None, csrf_token=token, task_id=step, title="")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'id="doc-title-error"' in html and 'id="step-form"' in html
    assert f'name="task_id" value="{step}"' in html
    assert stored(engine) == 1


def test_a_closed_case_takes_no_document(api: ApiClient, engine: Engine):
    first, second = case_of(engine), case_of(engine)
    with engine.db.write_connection() as conn:  # closed as a confirmed duplicate would be
        from engine.models import Case
        conn.execute(Case.__table__.update().where(Case.__table__.c.id == second)
                     .values(status="closed", closed_reason="duplicate", duplicate_of=first))
    refused = upload(api, second, UPE)
    assert refused.status_code == 409, refused.get_json()
    assert stored(engine) == 0


# --- in Chromium ------------------------------------------------------------------------------

def test_a_case_worker_uploads_a_photo_and_a_certificate_through_the_page_in_french_and_arabic(
        request: pytest.FixtureRequest):
    from playwright.sync_api import FilePayload

    from tests.test_browser import ARTIFACTS, _login, _page

    def payload(name: str, mime: str, data: bytes) -> FilePayload:
        return {"name": name, "mimeType": mime, "buffer": data}

    chromium, live = request.getfixturevalue("browser"), request.getfixturevalue("site")
    case = live["engine"].start_case(report(live["engine"], first_name="Nour"), UPE_ACTOR).case_id
    page = _page(chromium)
    _login(page, live, UPE)
    page.goto(f"{live['url']}/cases/{case}")
    assert page.locator("#documents").is_visible()
    page.select_option("#doc-kind", "photo")
    page.fill("#doc-title", "Photo de l'enfant à l'accueil")
    page.set_input_files("#doc-file", files=[payload("photo.png", "image/png", png(320, 240))])
    page.click("#add-document")
    page.wait_for_load_state()
    assert page.url.endswith(f"/cases/{case}#documents")
    page.select_option("#doc-kind", "medico_legal_certificate")
    page.fill("#doc-title", "شهادة طبية شرعية — د. العلوي")
    page.set_input_files("#doc-file", files=[payload("certificat.pdf", "application/pdf", PDF)])
    page.click("#add-document")
    page.wait_for_load_state()
    assert page.locator("#documents li.document").count() == 2
    thumb = page.locator("#documents img.thumb")
    assert thumb.count() == 1
    page.wait_for_function("() => document.querySelector('#documents img.thumb').naturalWidth === 320")
    page.locator("#documents").scroll_into_view_if_needed()
    page.locator("#documents").screenshot(path=str(ARTIFACTS / "40-case-documents-fr.png"))
    # a refused file: the error next to the field, in Arabic
    page.click("a[lang=ar]")
    page.wait_for_load_state()
    page.select_option("#doc-kind", "other")
    page.fill("#doc-title", "ملف")
    page.set_input_files("#doc-file", files=[payload("setup.pdf", "application/pdf", exe())])
    page.click("#add-document")
    page.wait_for_load_state()
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.locator("#doc-file-error").is_visible()
    assert page.evaluate("() => document.activeElement.id") == "doc-file"
    page.locator("#documents").screenshot(path=str(ARTIFACTS / "40-case-documents-ar.png"))
    page.context.close()


def test_a_worker_adds_a_certificate_from_the_step_page_with_the_contacts_in_view(request: pytest.FixtureRequest):
    from playwright.sync_api import FilePayload

    from tests.helpers import task_id
    from tests.test_browser import ARTIFACTS, _login, _page

    chromium, live = request.getfixturevalue("browser"), request.getfixturevalue("site")
    himaya = live["engine"]
    case = himaya.start_case(report(himaya, first_name="Salma"), UPE_ACTOR).case_id
    from engine import case_records
    case_records.add_contact(himaya.db, case, {"relation": "aunt_uncle", "name": "خديجة العلمي",
                                               "phone": "0539.12.34.56", "guardian": True},
                             actor=UPE_ACTOR, now=himaya.now())
    step = task_id(himaya, case, "reception_listening")
    page = _page(chromium)
    _login(page, live, UPE)
    page.goto(f"{live['url']}/tasks/{step}")
    assert page.locator("#contacts .contact-name").inner_text() == "خديجة العلمي"
    page.select_option("#doc-kind", "medico_legal_certificate")
    page.fill("#doc-title", "Certificat médico-légal, Dr Alaoui")
    page.set_input_files("#doc-file", files=[FilePayload(name="certificat.pdf", mimeType="application/pdf",
                                                         buffer=PDF)])
    page.click("#add-document")
    page.wait_for_load_state()
    assert page.url.endswith(f"/tasks/{step}#documents")
    assert page.locator("#documents li.document").count() == 1
    page.screenshot(path=str(ARTIFACTS / "45-step-contacts-documents-fr.png"), full_page=True)
    small = page.context.browser.new_context(viewport={"width": 360, "height": 800}, locale="ar-MA") \
        if page.context.browser else None
    assert small is not None
    phone = small.new_page()
    _login(phone, live, UPE)
    phone.goto(f"{live['url']}/tasks/{step}")
    phone.click("a[lang=ar]")
    phone.wait_for_load_state()
    assert phone.get_attribute("html", "dir") == "rtl"
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 360
    phone.screenshot(path=str(ARTIFACTS / "45-step-contacts-documents-ar-360px.png"), full_page=True)
    small.close()
    page.context.close()
