"""Outreach without a network, the server's side (on SQLite and PostgreSQL): the queue's key, the
sync endpoints (a report and a listening step sealed as the phone seals them, sent twice: one case,
one completion), what a refused sync says, the pages kept for offline use (the worker's own held
steps only), the service worker's scope, and logging out wiping what the phone kept."""
from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from api import offline_keys
from engine.clock import ManualClock
from engine.models import Case, TaskRecord
from engine.runtime import Engine
from tests.helpers import UPE, page_csrf, page_login, report, task_id

WEB_SECRET = "web-secret"  # the `web` fixture's SECRET_KEY


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seal(key: dict[str, Any], value: Any) -> dict[str, str]:
    """What static/outreach.js does: ECDH with a new key pair, HKDF-SHA256, AES-256-GCM."""
    server = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), base64.urlsafe_b64decode(key["public_key"] + "=" * (-len(key["public_key"]) % 4)))
    mine = ec.generate_private_key(ec.SECP256R1())
    shared = mine.exchange(ec.ECDH(), server)
    aes = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=offline_keys.INFO).derive(shared)
    nonce = b"\x01" * 12
    sealed = AESGCM(aes).encrypt(nonce, json.dumps(value).encode(), key["key_id"].encode())
    epk = mine.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"key_id": key["key_id"], "epk": _b64(epk), "iv": _b64(nonce), "ct": _b64(sealed)}


def _key(web: FlaskClient, key_id: str | None = None) -> dict[str, Any]:
    answer = web.get("/outreach/key" + (f"?key_id={key_id}" if key_id else ""))
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    return answer.get_json()


def _send(web: FlaskClient, url: str, key: dict[str, Any], fields: dict[str, Any], client_id: str,
          sealed: dict[str, str] | None = None) -> Any:
    return web.post(url, json={"client_id": client_id, "sealed": sealed or seal(key, fields)},
                    headers={"X-CSRF-Token": key["csrf"]})


REPORT_FIELDS = {"first_name": "Yassine", "last_name": "Offline", "sex": "M", "age_estimate": "11",
                 "categories": ["street", "out_of_school"], "unit": "upe-tanger-assilah", "source": "mobile_team",
                 "received_at": "2026-11-20T08:30", "location_place": "Souk Casabarata", "legal_basis":
                 "protection_mandate", "nationality": "MA", "description": "Vu au marché, seul."}


def _cases(engine: Engine) -> int:
    with engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


def test_a_report_made_offline_sent_twice_opens_one_case(web: FlaskClient, engine: Engine):
    page_login(web, "upe.tanger")
    key = _key(web)
    sealed = seal(key, REPORT_FIELDS)
    first = _send(web, "/outreach/sync/report", key, REPORT_FIELDS, "phone-report-0001", sealed)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["reference"].startswith("TNG-") and body["followed"] is True
    assert "Idempotent-Replayed" not in first.headers
    again = _send(web, "/outreach/sync/report", key, REPORT_FIELDS, "phone-report-0001", sealed)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == body
    # Sealed again (another nonce, another ephemeral key), it is still the same action.
    third = _send(web, "/outreach/sync/report", key, REPORT_FIELDS, "phone-report-0001")
    assert third.get_json()["case_id"] == body["case_id"]
    assert _cases(engine) == 1
    with engine.db.reading() as session:
        case = session.get_one(Case, body["case_id"])
    assert (case.child_first_name, case.categories, case.report["source"]) == (
        "Yassine", ["street", "out_of_school"], "mobile_team")
    # The same id for another report: refused, explained.
    other = _send(web, "/outreach/sync/report", key, {**REPORT_FIELDS, "first_name": "Hamza"}, "phone-report-0001")
    assert other.status_code == 422 and other.get_json()["reason"] == "key_reused"


def test_the_duplicate_check_runs_at_sync_and_its_warning_comes_back(web: FlaskClient, engine: Engine):
    page_login(web, "upe.tanger")
    key = _key(web)
    assert _send(web, "/outreach/sync/report", key, REPORT_FIELDS, "phone-report-0010").status_code == 201
    twin = _send(web, "/outreach/sync/report", key, REPORT_FIELDS, "phone-report-0011")
    assert twin.status_code == 201
    earlier = twin.get_json()["possible_duplicates"]
    assert earlier and set(earlier[0]) == {"reference", "score"}  # references, no child's name


def test_a_sas_team_report_goes_to_the_upe_and_is_not_followed(web: FlaskClient, engine: Engine):
    page_login(web, "sas.tanger")
    key = _key(web)
    answer = _send(web, "/outreach/sync/report", key, REPORT_FIELDS, "sas-report-00001")
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["followed"] is False and answer.get_json()["unit"] == "upe-tanger-assilah"


def test_a_listening_done_offline_sent_twice_completes_once(web: FlaskClient, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    task = task_id(engine, case_id, "reception_listening")
    engine.claim(task, UPE)
    page_login(web, "upe.tanger")
    key = _key(web)
    fields = {"listening_date": "2026-11-20", "child_heard": "on", "listening_summary": "Écoute au souk.",
              "diagnoses": ["medical", "social"]}
    sealed = seal(key, fields)
    first = _send(web, f"/outreach/sync/tasks/{task}", key, fields, "phone-step-00001", sealed)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["outcome"] == "completed"
    again = _send(web, f"/outreach/sync/tasks/{task}", key, fields, "phone-step-00001", sealed)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    with engine.db.reading() as session:
        done = session.scalars(select(TaskRecord).where(TaskRecord.id == task)).all()
    assert len(done) == 1 and done[0].data["listening_summary"] == "Écoute au souk."
    assert done[0].data["child_heard"] is True and done[0].data["diagnoses"] == ["medical", "social"]
    # Another action on the step done: the conflict is named for the page.
    later = _send(web, f"/outreach/sync/tasks/{task}", key, fields, "phone-step-00002")
    assert later.status_code == 409 and later.get_json()["reason"] == "task_already_completed"


def test_bad_fields_come_back_with_their_messages_and_nothing_changes(web: FlaskClient, engine: Engine):
    page_login(web, "upe.tanger")
    key = _key(web)
    answer = _send(web, "/outreach/sync/report", key, {**REPORT_FIELDS, "sex": ""}, "phone-report-0020")
    assert answer.status_code == 400 and answer.get_json()["reason"] == "invalid_fields"
    assert "sex" in answer.get_json()["errors"]
    assert _cases(engine) == 0
    # Corrected, under the same id: it goes (nothing was stored for the refused one).
    assert _send(web, "/outreach/sync/report", key, REPORT_FIELDS, "phone-report-0020").status_code == 201


@pytest.mark.sqlite_only
def test_what_does_not_open_is_refused_without_saying_why(web: FlaskClient, engine: Engine, clock: ManualClock):
    page_login(web, "upe.tanger")
    key = _key(web)
    sealed = seal(key, REPORT_FIELDS)
    tampered = {**sealed, "ct": sealed["ct"][:-4] + ("AAAA" if not sealed["ct"].endswith("AAAA") else "BBBB")}
    for bad in (tampered, {**sealed, "key_id": "1700000000.abcdefghijkl"}, {**sealed, "epk": "AAAA"},
                "text", None, {**sealed, "iv": "AAAA"}):
        answer = web.post("/outreach/sync/report", json={"client_id": "phone-report-0030", "sealed": bad},
                          headers={"X-CSRF-Token": key["csrf"]})
        assert answer.status_code == 400, (bad, answer.get_json())
        assert answer.get_json()["reason"] == "unopenable"
    bodies: list[Any] = [[], {"sealed": sealed}, {"client_id": "x", "sealed": sealed}]
    for body in bodies:
        assert web.post("/outreach/sync/report", json=body,
                        headers={"X-CSRF-Token": key["csrf"]}).status_code == 400
    # Another worker cannot open it: it was sealed for upe.tanger.
    web.post("/logout", data={"csrf_token": key["csrf"]})
    page_login(web, "cape.tanger")
    other = _key(web)
    answer = web.post("/outreach/sync/report", json={"client_id": "phone-report-0031", "sealed": sealed},
                      headers={"X-CSRF-Token": other["csrf"]})
    assert answer.get_json()["reason"] == "unopenable"
    assert _cases(engine) == 0


def test_the_key_comes_back_the_same_while_young_and_is_refused_when_old(web: FlaskClient, engine: Engine,
                                                                        clock: ManualClock):
    page_login(web, "upe.tanger")
    key = _key(web)
    assert _key(web, key["key_id"])["public_key"] == key["public_key"]
    sealed = seal(key, REPORT_FIELDS)
    clock.advance(timedelta(hours=49))  # past HIMAYA_OFFLINE_QUEUE_HOURS (48)
    page_login(web, "upe.tanger")
    fresh = _key(web, key["key_id"])
    assert fresh["key_id"] != key["key_id"]
    late = web.post("/outreach/sync/report", json={"client_id": "phone-report-0040", "sealed": sealed},
                    headers={"X-CSRF-Token": fresh["csrf"]})
    assert late.status_code == 400 and late.get_json()["reason"] == "unopenable"


def test_a_lapsed_session_is_a_401_the_page_explains(web: FlaskClient, engine: Engine):
    page_login(web, "upe.tanger")
    key = _key(web)
    web.post("/logout", data={"csrf_token": key["csrf"]})
    page_login(web, "upe.tanger")
    csrf = _key(web)["csrf"]
    with web.session_transaction() as session:
        session.pop("token")
    answer = web.post("/outreach/sync/report", json={"client_id": "phone-report-0050", "sealed": {}},
                      headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 401 and answer.get_json()["reason"] == "signed_out"


def test_the_pages_kept_offline_are_the_workers_own(web: FlaskClient, engine: Engine):
    mine = engine.start_case(report(engine), UPE).case_id
    held = task_id(engine, mine, "reception_listening")
    engine.claim(held, UPE)
    others = engine.start_case(report(engine), UPE).case_id  # of the unit, not held by the worker
    not_held = task_id(engine, others, "reception_listening")
    page_login(web, "upe.tanger")
    listed = web.get("/outreach/offline.json").get_json()
    assert listed["pages"] == ["/outreach", "/cases/new", f"/outreach/tasks/{held}"]
    assert set(listed["languages"]) == {"fr", "ar", "en"}
    page = web.get(f"/outreach/tasks/{held}", headers={"X-Himaya-Language": "ar"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'dir="rtl"' in html and "الاستقبال والإنصات" in html
    with engine.db.reading() as session:
        case = session.get_one(Case, mine)
    # no child's data on the page kept on the phone
    assert case.child_last_name and case.child_last_name not in html and case.reference in html
    assert web.get(f"/outreach/tasks/{not_held}").status_code == 404
    outreach = web.get("/outreach").get_data(as_text=True)
    assert f"/outreach/tasks/{held}" in outreach and f"/outreach/tasks/{not_held}" not in outreach


def test_the_service_worker_covers_the_pages_and_logging_out_wipes_the_phone(web: FlaskClient, engine: Engine):
    worker = web.get("/sw.js")
    assert worker.status_code == 200 and worker.headers["Service-Worker-Allowed"] == "/"
    assert worker.mimetype == "text/javascript" and "offline-language" in worker.get_data(as_text=True)
    page_login(web, "upe.tanger")
    home = web.get("/cases/new").get_data(as_text=True)
    assert 'rel="manifest"' in home and "outreach-words" in home and 'data-offline="report"' in home
    csrf = _key(web)["csrf"]
    out = web.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 302 and out.headers["Clear-Site-Data"] == '"cache", "storage"'


def test_only_reporting_workers_get_a_key(web: FlaskClient, engine: Engine):
    page_login(web, "parquet.tanger")
    assert web.get("/outreach/key").status_code == 403
    assert web.get("/outreach").status_code == 403


def test_a_background_request_leaves_the_session_cookie_alone(web: FlaskClient, engine: Engine):
    """The service worker keeping pages (or outreach.js fetching its key) answers after the worker
    chose another language: its answer must not put the old session back."""
    page_login(web, "upe.tanger")
    background = web.get("/outreach/tasks/00000000-0000-4000-8000-000000000000",
                         headers={"X-Himaya-Language": "ar", "X-Himaya-Background": "1"})
    assert background.status_code == 404 and "Set-Cookie" not in background.headers
    assert "Set-Cookie" not in web.get("/outreach/key", headers={"X-Himaya-Background": "1"}).headers
    assert "Set-Cookie" in web.get("/outreach/key").headers  # a page's own request moves the session on


def test_a_report_refused_at_sync_is_corrected_on_the_report_page_and_opens_one_case(web: FlaskClient,
                                                                                     engine: Engine):
    """A field the phone cannot check (the pathway's age limit): refused at sync; sent back sealed,
    the report page opens with what was typed and the field to correct, writing nothing; corrected
    and sent with the phone's id, one case, however often; the phone's list asks which were."""
    page_login(web, "upe.tanger")
    key = _key(web)
    typed = {**REPORT_FIELDS, "age_estimate": "25"}
    sealed = seal(key, typed)
    refused = _send(web, "/outreach/sync/report", key, typed, "phone-report-0040", sealed)
    assert refused.status_code == 400 and refused.get_json()["reason"] == "invalid_fields"
    assert "age_estimate" in refused.get_json()["errors"]

    opened = web.post("/outreach/correct/report", data={
        "csrf_token": key["csrf"], "client_id": "phone-report-0040", "sealed": json.dumps(sealed)})
    assert opened.status_code == 400, "the field to correct is marked"
    html = opened.get_data(as_text=True)
    assert 'id="kept-offline"' in html and 'value="Yassine"' in html and 'value="Souk Casabarata"' in html
    assert 'id="age_estimate-error"' in html and "25" in html
    assert 'name="client_id" value="phone-report-0040"' in html
    assert 'name="offline_id" value="phone-report-0040"' in html
    assert _cases(engine) == 0, "opening it to correct writes nothing"

    form = {**{k: v for k, v in typed.items() if k != "categories"}, "age_estimate": "12",
            "csrf_token": key["csrf"], "client_id": "phone-report-0040", "offline_id": "phone-report-0040"}
    form_data = MultiDict([*form.items(), *(("categories", c) for c in typed["categories"])])
    sent = web.post("/cases/new", data=form_data)
    assert sent.status_code == 302 and "/cases/" in sent.headers["Location"], sent.get_data(as_text=True)[:500]
    assert _cases(engine) == 1
    asked = web.post("/outreach/corrected", json={"ids": ["phone-report-0040", "phone-report-0041"]},
                     headers={"X-CSRF-Token": key["csrf"]})
    assert asked.status_code == 200 and list(asked.get_json()["reports"]) == ["phone-report-0040"]
    found = asked.get_json()["reports"]["phone-report-0040"]
    assert found["reference"].startswith("TNG-") and found["followed"] is True
    assert found["case_id"] in sent.headers["Location"]
    bad_bodies: list[Any] = [{"ids": "phone-report-0040"}, {"ids": ["x"]},
                             {"ids": [f"phone-report-{n:04}" for n in range(51)]}, []]
    for bad in bad_bodies:
        assert web.post("/outreach/corrected", json=bad, headers={"X-CSRF-Token": key["csrf"]}).status_code == 400
    assert web.post("/cases/new", data=form_data).status_code == 302 and _cases(engine) == 1, "sent again: one case"


def test_what_cannot_be_opened_to_correct_goes_back_to_the_outreach_page(web: FlaskClient, engine: Engine):
    page_login(web, "upe.tanger")
    key = _key(web)
    sealed = seal(key, REPORT_FIELDS)
    tampered = {**sealed, "ct": sealed["ct"][:-4] + ("AAAA" if not sealed["ct"].endswith("AAAA") else "BBBB")}
    for client_id, raw in (("phone-report-0050", json.dumps(tampered)), ("phone-report-0050", "not json"),
                           ("phone-report-0050", ""), ("x", json.dumps(sealed)), ("phone-report-0050", "[1]")):
        answer = web.post("/outreach/correct/report", data={"csrf_token": key["csrf"], "client_id": client_id,
                                                            "sealed": raw})
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/outreach"), (client_id, raw)
    assert "ne peut pas être ouverte" in web.get("/outreach").get_data(as_text=True)
    assert web.post("/outreach/correct/report", data={"client_id": "phone-report-0050",
                                                      "sealed": json.dumps(sealed)}).status_code == 400, "CSRF"
    web.post("/logout", data={"csrf_token": key["csrf"]})
    page_login(web, "cape.tanger")  # sealed for upe.tanger: another worker cannot open it
    other = _key(web)
    answer = web.post("/outreach/correct/report", data={"csrf_token": other["csrf"], "client_id": "phone-report-0051",
                                                        "sealed": json.dumps(sealed)})
    assert answer.status_code == 302 and _cases(engine) == 0
    page_login(web, "admin")
    csrf = page_csrf(web, "/admin/categories")
    assert web.post("/outreach/correct/report", data={"csrf_token": csrf, "client_id": "phone-report-0052",
                                                      "sealed": json.dumps(sealed)}).status_code == 403


def test_only_the_worker_who_corrected_a_report_learns_of_it(web: FlaskClient, engine: Engine):
    page_login(web, "upe.tanger")
    csrf = page_csrf(web, "/cases/new")
    fields = {k: v for k, v in REPORT_FIELDS.items() if k != "categories"}
    sent = web.post("/cases/new", data=MultiDict([*fields.items(), ("categories", "street"), ("csrf_token", csrf),
                                                  ("client_id", "phone-report-0060")]))
    assert sent.status_code == 302
    web.post("/logout", data={"csrf_token": csrf})
    page_login(web, "cape.tanger")
    other = _key(web)
    asked = web.post("/outreach/corrected", json={"ids": ["phone-report-0060"]},
                     headers={"X-CSRF-Token": other["csrf"]})
    assert asked.status_code == 200 and asked.get_json()["reports"] == {}, "another account's key says nothing"
