"""The children's data sealed at rest (on SQLite and PostgreSQL): after a report, a step's answers,
a note, a contact, a document and a referral, neither the database file nor its dump nor a backup
holds their text; the API still reads them; a wrong or missing master key is a clear error,
never plain text; a tampered value is named by ``himaya keys check`` and refused by the API; the
master key and the data key rotate, interrupted or not."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from api.cli import main
from engine import crypto
from engine.backup import backup
from engine.db import Database
from engine.models import Case
from engine.runtime import Engine
from engine.sealing import broken, reencrypt
from tests.conftest import ApiClient
from tests.helpers import ANSWERS, UPE, do, report
from tests.test_documents import PDF, upload

SECRETS = {
    "report": "Signalé par la voisine Khadija Bennani",
    "answer": "Écoute: le beau-père la frappe avec une ceinture",
    "note": "Appel de la tante Zineb au 0661-223344",
    "contact": "Fatima Zahra El Idrissi",
    "phone": "+212 600 112 233",
    "document": "Certificat-ITT-17-jours",
    "first_name": "Soukaina",
    "last_name": "Ouazzani-Chahdi",
    "arabic_name": "سكينة",
    "birth_date": "2013-09-17",
}


def _filled(api: ApiClient, engine: Engine) -> str:
    body = report(engine, first_name=SECRETS["first_name"], last_name=SECRETS["last_name"],
                  birth_date=SECRETS["birth_date"])
    body["child"]["names_other_script"] = {"first_name": SECRETS["arabic_name"], "last_name": "الوزاني"}
    body["report"]["description"] = SECRETS["report"]
    case_id = engine.start_case(body, UPE).case_id
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"],
                                                 "listening_summary": SECRETS["answer"]})
    assert api.post(f"/api/v1/cases/{case_id}/notes", "upe.tanger",
                    json={"text": SECRETS["note"], "visibility": "team"}).status_code == 201
    contact = api.post(f"/api/v1/cases/{case_id}/contacts", "upe.tanger", json={
        "relation": "aunt_uncle", "name": SECRETS["contact"], "phone": SECRETS["phone"], "guardian": False})
    assert contact.status_code == 201, contact.get_json()
    pdf = PDF.replace(b"/Count 0", b"/Count 0 /Title (" + SECRETS["document"].encode() + b")")
    uploaded = upload(api, case_id, "upe.tanger", data=pdf)
    assert uploaded.status_code == 201, uploaded.get_json()
    return case_id


def _dump(database: Database, tmp_path: Path) -> bytes:
    """What a copy of the database shows: the SQLite file and its text dump, or pg_dump's output."""
    if database.is_sqlite:
        path = database.engine.url.database
        assert path
        with sqlite3.connect(path) as conn:
            dumped = "\n".join(conn.iterdump()).encode()
        files = b"".join(Path(p).read_bytes() for p in (path, path + "-wal") if Path(p).exists())
        return dumped + files
    tool = shutil.which("pg_dump") or sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))[-1]
    url = database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run([str(tool), "--no-owner", url], check=True, capture_output=True).stdout


def _absent(blob: bytes) -> list[str]:
    return [name for name, secret in SECRETS.items() if secret.encode() in blob]


def test_a_copy_of_the_database_holds_none_of_the_childs_texts(api: ApiClient, engine: Engine, tmp_path: Path):
    case_id = _filled(api, engine)
    assert _absent(_dump(engine.db, tmp_path)) == []
    copy = backup(engine.db.url, tmp_path / "himaya.backup")
    assert _absent(copy.read_bytes()) == []
    # The service reads them as before.
    file = api.get(f"/api/v1/cases/{case_id}", "upe.tanger").get_json()
    assert file["report"]["description"] == SECRETS["report"]
    answers = {a["key"]: a["value"] for s in file["completed_steps"] for a in s.get("answers", [])}
    assert answers["listening_summary"] == SECRETS["answer"]
    assert api.get(f"/api/v1/cases/{case_id}/notes", "upe.tanger").get_json()["items"][0]["text"] == SECRETS["note"]
    [contact] = api.get(f"/api/v1/cases/{case_id}/contacts", "upe.tanger").get_json()["items"]
    assert (contact["name"], contact["phone"]) == (SECRETS["contact"], SECRETS["phone"])
    [document] = api.get(f"/api/v1/cases/{case_id}/documents", "upe.tanger").get_json()["items"]
    content = api.get(f"/api/v1/documents/{document['id']}/content", "upe.tanger")
    assert SECRETS["document"].encode() in content.data
    history = api.get(f"/api/v1/cases/{case_id}/history", "cape.tanger").get_json()["events"]
    assert any(e["kind"] == "step_completed" for e in history)
    assert (file["child"]["first_name"], file["child"]["birth_date"]) == (SECRETS["first_name"], SECRETS["birth_date"])


def test_a_child_whose_identity_is_sealed_is_still_found_and_recognised(api: ApiClient, engine: Engine):
    case_id = _filled(api, engine)
    for q in ("Soukaina Ouazzani", "سكينة", "Sukayna Wazzani", SECRETS["birth_date"]):
        found = api.get("/api/v1/cases", "upe.tanger", query_string={"q": q}).get_json()["items"]
        assert case_id in [c["id"] for c in found], q
    again = report(engine, first_name="Soukayna", last_name="Ouazzani Chahdi", birth_date=SECRETS["birth_date"])
    duplicates = api.post("/api/v1/cases", "upe.tanger", json=again).get_json()["possible_duplicates"]
    assert case_id in [d["case_id"] for d in duplicates]  # the duplicate check reads the hashed keys too


def test_a_wrong_or_missing_master_key_is_a_clear_error_never_plain_text(engine: Engine):
    engine.start_case(report(engine), UPE)
    wrong = Database(engine.db.url, master_key=crypto.parse_master_key(crypto.new_master_key_text(), "a test key"))
    with pytest.raises(crypto.KeyProblem, match="is not the one that wraps"):
        wrong.check_keys()
    with pytest.raises((crypto.KeyProblem, StatementError)) as raised, wrong.reading() as session:
        session.scalars(select(Case.report)).all()
    assert isinstance(getattr(raised.value, "orig", raised.value), crypto.KeyProblem)
    with wrong.reading() as session:  # what the wrong key can read: ciphertext only
        raw = session.execute(text("SELECT report FROM cases")).scalars().all()
    assert raw and all(bytes(value).startswith(crypto.MAGIC) for value in raw)
    wrong.dispose()
    with pytest.raises(crypto.KeyProblem, match="must hold 32 bytes"):
        crypto.parse_master_key("short", "HIMAYA_DATA_KEY")
    missing = Database(engine.db.url, master_key=None)
    missing.keys.master = None
    with pytest.raises(crypto.KeyProblem, match="no master key"):
        missing.check_keys()
    missing.dispose()


def test_a_tampered_value_is_named_by_the_check_and_refused_by_the_api(api: ApiClient, engine: Engine,
                                                                        monkeypatch, capsys):
    case_id = _filled(api, engine)
    with engine.db.engine.begin() as conn:
        sealed = conn.execute(text("SELECT id, text FROM case_notes")).one()
        altered = bytes(sealed.text[:-1]) + bytes([sealed.text[-1] ^ 1])
        conn.execute(text("UPDATE case_notes SET text = :v WHERE id = :id"), {"v": altered, "id": sealed.id})
    [item] = list(broken(engine.db))
    assert (item.table, item.column, item.key) == ("case_notes", "text", str(sealed.id))
    assert "altered" in item.problem and SECRETS["note"] not in item.problem
    refused = api.get(f"/api/v1/cases/{case_id}/notes", "upe.tanger")
    assert refused.status_code == 503 and SECRETS["note"] not in refused.get_data(as_text=True)
    if engine.db.is_sqlite:
        monkeypatch.setenv("HIMAYA_DATABASE_URL", engine.db.url)
        assert main(["keys", "check"]) == 1
        out = capsys.readouterr().out
        assert f"does not open: case_notes.text row {sealed.id}" in out
        assert main(["check"]) == 1  # the consistency check reports it too
        assert f"case_notes.text row {sealed.id} does not open" in capsys.readouterr().out


def test_the_master_key_and_the_data_key_rotate(api: ApiClient, engine: Engine, tmp_path: Path, monkeypatch,
                                                 capsys):
    case_id = _filled(api, engine)
    old = engine.db.keys.master
    assert old is not None
    new_text = crypto.new_master_key_text()
    new = crypto.parse_master_key(new_text, "the new key")
    with engine.db.write_connection() as conn:
        assert crypto.rewrap(conn, old, new) == 1
        first = crypto.create_data_key(conn, new)
    assert first == 2
    stale = Database(engine.db.url, master_key=old)
    with pytest.raises(crypto.KeyProblem):
        stale.check_keys()
    stale.dispose()
    engine.db.keys.master = new
    engine.db.keys.reload()
    # A note written now is sealed with the new data key; the older values still open.
    api.post(f"/api/v1/cases/{case_id}/notes", "upe.tanger", json={"text": "Après la rotation", "visibility": "team"})
    notes = [n["text"] for n in api.get(f"/api/v1/cases/{case_id}/notes", "upe.tanger").get_json()["items"]]
    assert notes == ["Après la rotation", SECRETS["note"]]
    moved = reencrypt(engine.db)
    assert moved > 0 and reencrypt(engine.db) == 0  # resumable: a second run finds nothing left to move
    with engine.db.engine.connect() as conn:
        ids = {crypto.Keyring.key_id_of(bytes(v)) for (v,) in conn.execute(text("SELECT text FROM case_notes"))}
        events = {crypto.Keyring.key_id_of(bytes(v)) for (v,) in conn.execute(text("SELECT detail FROM case_events"))}
    assert ids == {2} and events == {2}  # the audit's details move too (their facts do not change)
    assert list(broken(engine.db)) == []
    assert api.get(f"/api/v1/cases/{case_id}", "upe.tanger").get_json()["report"]["description"] == SECRETS["report"]
    with engine.db.write_connection() as conn:  # PostgreSQL's test database keeps its data keys: give them back
        crypto.rewrap(conn, new, old)


@pytest.mark.sqlite_only
def test_the_keys_commands(engine: Engine, tmp_path: Path, monkeypatch, capsys):
    engine.start_case(report(engine), UPE)
    monkeypatch.setenv("HIMAYA_DATABASE_URL", engine.db.url)
    assert main(["keys", "new"]) == 0
    key_file = tmp_path / "new_key"
    key_file.write_text(capsys.readouterr().out.strip())
    assert main(["keys", "check"]) == 0
    assert main(["keys", "rotate", "--new-key-file", str(key_file), "--new-data-key", "--re-encrypt"]) == 0
    out = capsys.readouterr().out
    assert "1 data key(s) wrapped with the new master key" in out and "data key 2 is active" in out
    assert main(["keys", "check"]) == 2  # the environment still names the old key: refused, with the reason
    assert "is not the one that wraps" in capsys.readouterr().err
    monkeypatch.setenv("HIMAYA_DATA_KEY", key_file.read_text().strip())
    assert main(["keys", "check"]) == 0
