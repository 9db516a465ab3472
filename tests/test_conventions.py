"""A unit's partnership convention (issue 24, item 4): recorded by the CAPE technical committee
with its period and milestones; each milestone followed like a plan's action (state, percentage,
actual dates, note) by the unit's staff or the committee, with its history on the pages; bad input
refused with field errors and nothing changed; late milestones listed for the CPPE."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from engine import conventions, plan_progress
from engine.models import ConventionMilestone, ConventionMilestoneUpdate, UnitConvention
from engine.runtime import Engine
from tests.conftest import ApiClient
from tests.helpers import page_csrf, page_login

ROOT = Path(__file__).resolve().parent.parent
CONVENTION = {
    "unit": "upe-tanger-assilah", "reference": "CONV-UPE-2023-017",
    "title": "Convention de partenariat de l'UPE de Tanger-Assilah",
    "partners": ["Ministère de la Solidarité", "Entraide Nationale"],
    "signed_on": "2023-11-20", "starts_on": "2024-01-01", "ends_on": "2026-12-31",
    "milestones": [{"title": "Local ouvert et équipé", "due_on": "2024-03-31"},
                   {"title": "Équipe recrutée et formée", "due_on": "2024-06-30"},
                   {"title": "Rapport final", "due_on": "2026-12-31"}],
}
FIRST = {"state": "in_progress", "percent_done": 40, "started_on": "2024-02-01", "note": "Travaux en cours"}
SECOND = {"state": "done", "percent_done": 100, "started_on": "2024-02-01", "ended_on": "2024-04-15",
          "note": "Local inauguré avec la province"}


def _record(api: ApiClient, body: dict | None = None, user: str = "cape.tanger"):
    return api.post("/api/v1/conventions", user, json=CONVENTION if body is None else body)


def _put(api: ApiClient, convention_id: int, milestone_id: int, body: dict, user: str = "upe.tanger"):
    return api.client.put(f"/api/v1/conventions/{convention_id}/milestones/{milestone_id}/progress", json=body,
                          headers=api.headers(user))


def _count(engine: Engine, model: type) -> int:
    with engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_convention_is_recorded_and_its_milestone_followed_twice_with_its_history(api: ApiClient, web,
                                                                                  engine: Engine):
    created = _record(api)
    assert created.status_code == 201, created.get_json()
    convention = created.get_json()
    assert convention["unit_name"] and convention["period_state"] == "running"
    first, second, final = (m["id"] for m in convention["milestones"])
    assert [m["state"] for m in convention["milestones"]] == ["not_started"] * 3

    assert _put(api, convention["id"], first, FIRST).status_code == 200
    done = _put(api, convention["id"], first, SECOND)
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["state"] == "done" and body["revision"] == 2
    assert [(h["percent_done"], h["note"], h["updated_as"]) for h in body["history"]] == [
        (40, FIRST["note"], "unit"), (100, SECOND["note"], "unit")]
    by_committee = _put(api, convention["id"], second, {"state": "in_progress", "percent_done": 50,
                                                        "started_on": "2024-05-01"}, "cape.tanger")
    assert by_committee.status_code == 200 and by_committee.get_json()["history"][0]["updated_as"] == "committee"

    assert _put(api, convention["id"], final, FIRST, "sas.tanger").status_code == 403, "another unit's staff"
    assert _put(api, convention["id"], final, FIRST, "cppe.tanger").status_code == 403, "the CPPE reads"
    assert _put(api, convention["id"], final, FIRST, "national").status_code == 403, "the national level reads"
    assert api.get(f"/api/v1/conventions/{convention['id']}", "national").status_code == 200
    assert api.get(f"/api/v1/conventions/{convention['id']}", "cppe.tanger").status_code == 200
    assert api.get(f"/api/v1/conventions/{convention['id']}", "sas.tanger").status_code == 404, "not its unit's"
    assert api.get(f"/api/v1/conventions/{convention['id']}", "cape.casa").status_code == 404
    assert api.get("/api/v1/conventions", "upe.casa").get_json()["total"] == 0
    assert api.get("/api/v1/conventions", "parquet.tanger").status_code == 403

    listed = api.get("/api/v1/conventions", "upe.tanger").get_json()
    assert listed["total"] == 1
    summary = listed["items"][0]["summary"]
    assert summary["done"] == 1 and summary["in_progress"] == 1 and summary["not_started"] == 1
    assert summary["percent_done"] == 50  # (100 + 50 + 0) / 3
    assert summary["late"] == 1, "the team (due 2024-06-30, in progress) is late at the clock's 2026-11-20"

    page_login(web, "upe.tanger")
    page = web.get(f"/conventions/{convention['id']}").get_data(as_text=True)
    assert "Local ouvert et équipé" in page and "Réalisée" in page and SECOND["note"] in page
    history = web.get(f"/conventions/{convention['id']}/milestones/{first}").get_data(as_text=True)
    assert "Historique du suivi" in history and FIRST["note"] in history and SECOND["note"] in history
    assert "personnel de l’unité" in history or "personnel de l'unité" in history
    web.get("/language/ar")
    arabic = web.get(f"/conventions/{convention['id']}/milestones/{first}").get_data(as_text=True)
    assert "سجل التتبع" in arabic and SECOND["note"] in arabic


def test_both_exports_show_each_milestone_where_it_stands_and_its_history_in_french_and_arabic(
        api: ApiClient, web, engine: Engine):
    import io

    from openpyxl import load_workbook
    from pypdf import PdfReader

    convention = _record(api).get_json()
    first = convention["milestones"][0]["id"]
    assert _put(api, convention["id"], first, FIRST).status_code == 200
    assert _put(api, convention["id"], first, SECOND).status_code == 200
    for language, done_word, history_title in (("fr", "Réalisée", "Historique du suivi"),
                                               ("ar", "منجزة", "سجل التتبع")):
        xlsx = api.get("/api/v1/conventions/export?format=xlsx", "cppe.tanger", headers={"Accept-Language": language})
        assert xlsx.status_code == 200 and xlsx.headers["Content-Disposition"].endswith('.xlsx"')
        book = load_workbook(io.BytesIO(xlsx.data))
        table = [[str(v) for v in row if v is not None] for row in book.worksheets[0].iter_rows(values_only=True)]
        row = next(r for r in table if "Local ouvert et équipé" in r)
        assert any(cell.startswith(f"{done_word} · 100 %") for cell in row) and SECOND["note"] in row, row
        late = next(r for r in table if "Équipe recrutée et formée" in r)
        assert any(("Hors délai" if language == "fr" else "") in cell for cell in late)
        assert book.worksheets[0].sheet_view.rightToLeft is (language == "ar")
        history = book[history_title[:31]]
        assert [r[8] for r in history.iter_rows(min_row=2, values_only=True)] == [FIRST["note"], SECOND["note"]]
        pdf = api.get("/api/v1/conventions/export?format=pdf", "cppe.tanger", headers={"Accept-Language": language})
        assert pdf.status_code == 200
        text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages).split())
        assert "CONV-UPE-2023-017" in text and "Local ouvert" in text
        if language == "fr":
            assert "Historique du suivi" in text and "Réalisée" in text and "1 jalon(s) réalisé(s) sur 3" in text
    assert api.get("/api/v1/conventions/export?format=csv", "cppe.tanger").status_code == 400
    assert api.get("/api/v1/conventions/export?format=xlsx", "parquet.tanger").status_code == 403
    casa = load_workbook(io.BytesIO(api.get("/api/v1/conventions/export?format=xlsx", "cppe.casa").data))
    assert not any("CONV-UPE-2023-017" in str(v) for row in casa.worksheets[0].iter_rows(values_only=True)
                   for v in row), "another province's conventions are not exported"
    page_login(web, "upe.tanger")
    assert 'data-export="xlsx"' in web.get("/conventions").get_data(as_text=True)
    download = web.get("/conventions/export.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert web.get("/conventions/export.doc").status_code == 404


@pytest.mark.parametrize("change, field", [
    ({"ends_on": "2023-12-31"}, "ends_on"),
    ({"ends_on": "2035-01-01"}, "ends_on"),
    ({"milestones": [{"title": "Trop tard", "due_on": "2027-03-01"}]}, "milestones"),
    ({"milestones": [{"title": "   ", "due_on": "2024-03-01"}]}, "milestones"),
    ({"unit": "upe-casablanca"}, "unit"),
    ({"unit": "cape-tanger-assilah"}, "unit"),
    ({"signed_on": "2027-01-10"}, "signed_on"),
    ({"signed_on": "2030-01-01", "ends_on": "2026-12-31"}, "signed_on"),
    ({"partners": []}, "partners"),
    ({"reference": ""}, "reference"),
    ({"starts_on": "01/01/2024"}, "starts_on"),
    ({"budget": 120000}, "budget"),
])
def test_a_bad_convention_gives_field_errors_and_records_nothing(api: ApiClient, engine: Engine, change, field):
    response = _record(api, {**CONVENTION, **change})
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["errors"]["json"], response.get_json()
    assert _count(engine, UnitConvention) == 0 and _count(engine, ConventionMilestone) == 0


def test_a_reference_is_recorded_once_and_only_the_committee_records(api: ApiClient, engine: Engine):
    assert _record(api).status_code == 201
    again = _record(api, {**CONVENTION, "unit": "sas-tanger-assilah"})
    assert again.status_code == 400 and "reference" in again.get_json()["errors"]["json"]
    assert _record(api, {**CONVENTION, "reference": "X-1"}, "upe.tanger").status_code == 403
    assert _record(api, {**CONVENTION, "reference": "X-2"}, "cppe.tanger").status_code == 403
    assert _count(engine, UnitConvention) == 1


@pytest.mark.parametrize("body, field", [
    ({"state": "in_progress", "percent_done": 120, "started_on": "2024-02-01"}, "percent_done"),
    ({"state": "in_progress", "percent_done": -1, "started_on": "2024-02-01"}, "percent_done"),
    ({"state": "done", "percent_done": 100, "started_on": "2024-02-01"}, "ended_on"),
    ({"state": "not_started", "percent_done": 30}, "percent_done"),
    ({"state": "in_progress", "percent_done": 10, "started_on": "2027-02-01"}, "started_on"),
    ({"state": "paused", "percent_done": 10}, "state"),
])
def test_a_bad_follow_up_gives_field_errors_and_changes_nothing(api: ApiClient, engine: Engine, body, field):
    convention = _record(api).get_json()
    milestone = convention["milestones"][0]["id"]
    response = _put(api, convention["id"], milestone, body)
    assert response.status_code == 400 and field in response.get_json()["errors"]["json"], response.get_json()
    if field == "ended_on":
        assert "jalon" in response.get_json()["errors"]["json"]["ended_on"][0], "worded for a milestone"
    assert _count(engine, ConventionMilestoneUpdate) == 0
    with engine.db.reading() as session:
        assert session.scalar(select(ConventionMilestone.revision).where(ConventionMilestone.id == milestone)) == 0


def test_another_province_an_unknown_milestone_and_an_added_one(api: ApiClient, engine: Engine):
    convention = _record(api).get_json()
    milestone = convention["milestones"][0]["id"]
    other = _put(api, convention["id"], milestone, FIRST, "cape.casa")
    assert other.status_code == 400 and "convention" in other.get_json()["errors"]["json"]
    missing = _put(api, convention["id"], 987_654, FIRST)
    assert missing.status_code == 400 and "milestone" in missing.get_json()["errors"]["json"]
    assert _put(api, 987_654, milestone, FIRST).status_code == 404
    assert _count(engine, ConventionMilestoneUpdate) == 0

    url = f"/api/v1/conventions/{convention['id']}/milestones"
    outside = api.post(url, "cape.tanger", json={"title": "Audit", "due_on": "2027-06-30"})
    assert outside.status_code == 400 and "due_on" in outside.get_json()["errors"]["json"]
    assert api.post(url, "upe.tanger", json={"title": "Audit", "due_on": "2025-06-30"}).status_code == 403
    assert api.post(url, "cape.casa", json={"title": "Audit", "due_on": "2025-06-30"}).status_code == 404
    added = api.post(url, "cape.tanger", json={"title": "Audit financier", "due_on": "2025-06-30"})
    assert added.status_code == 201, added.get_json()
    assert [m["title"] for m in added.get_json()["milestones"]][-1] == "Audit financier"
    assert _count(engine, ConventionMilestone) == 4


def test_the_committee_corrects_a_convention_at_the_revision_it_read(api: ApiClient, web, engine: Engine):
    convention = _record(api).get_json()
    url = f"/api/v1/conventions/{convention['id']}"
    fields = {key: CONVENTION[key] for key in ("reference", "title", "partners", "signed_on", "starts_on")}
    extended = {**fields, "ends_on": "2027-12-31", "revision": convention["revision"]}
    done = api.client.put(url, json={**extended, "title": "Convention (avenant n° 1)"},
                          headers=api.headers("cape.tanger"))
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["ends_on"] == "2027-12-31" and body["title"] == "Convention (avenant n° 1)" and body["revision"] == 2
    assert len(body["milestones"]) == 3, "the milestones stay"

    def put(change: dict, user: str = "cape.tanger"):
        return api.client.put(url, json={**extended, "revision": 2, **change}, headers=api.headers(user))

    stale = put({"revision": 1, "title": "Autre"})
    assert stale.status_code == 409, "a correction made on what someone else has since corrected"
    shorter = put({"ends_on": "2025-12-31"})
    assert shorter.status_code == 400 and "ends_on" in shorter.get_json()["errors"]["json"], \
        "the final report is due later"
    assert put({"ends_on": "2023-06-30"}).status_code == 400
    assert put({"unit": "sas-tanger-assilah"}).status_code == 400, "the unit stays"
    assert put({"revision": "2"}).status_code == 400
    assert put({"title": "Autre"}, "upe.tanger").status_code == 403
    assert put({"title": "Autre"}, "cape.casa").status_code == 404
    other = _record(api, {**CONVENTION, "reference": "CONV-SAS-2024-003", "unit": "sas-tanger-assilah"}).get_json()
    taken = put({"reference": other["reference"]})
    assert taken.status_code == 400 and "reference" in taken.get_json()["errors"]["json"]
    current = api.get(url, "cppe.tanger").get_json()
    assert (current["title"], current["ends_on"], current["revision"]) == ("Convention (avenant n° 1)", "2027-12-31", 2)

    page_login(web, "cape.tanger")
    page_url = f"/conventions/{convention['id']}"
    csrf = page_csrf(web, page_url)
    form = {"csrf_token": csrf, "form": "correct", "revision": "2", "reference": CONVENTION["reference"],
            "title": "Convention (avenant n° 2)", "partners": "Entraide Nationale", "signed_on": "2023-11-20",
            "starts_on": "2024-01-01", "ends_on": "2024-05-01"}
    bad = web.post(page_url, data=form)
    assert bad.status_code == 400 and 'id="c-ends_on-error"' in bad.get_data(as_text=True)
    assert "avenant n° 2" in bad.get_data(as_text=True), "what was typed is kept"
    good = web.post(page_url, data={**form, "ends_on": "2028-12-31"}, follow_redirects=True)
    assert good.status_code == 200 and "Convention corrigée." in good.get_data(as_text=True)
    assert api.get(url, "cppe.tanger").get_json()["partners"] == ["Entraide Nationale"]
    again = web.post(page_url, data={**form, "ends_on": "2028-12-31"})
    assert again.status_code == 409 and "corrigée entre-temps" in again.get_data(as_text=True)


def test_late_milestones_are_listed_for_the_cppe(api: ApiClient, web, engine: Engine, clock):
    convention = _record(api).get_json()
    first = convention["milestones"][0]["id"]
    assert _put(api, convention["id"], first, SECOND).status_code == 200  # done: never late
    clock.set(datetime(2027, 1, 10, 9, 0, tzinfo=UTC))  # every due date has passed
    api.forget_tokens()
    body = api.get(f"/api/v1/conventions/{convention['id']}", "cppe.tanger").get_json()
    assert [m["late"] for m in body["milestones"]] == [False, True, True]
    assert body["summary"]["late"] == 2 and body["period_state"] == "ended"
    page_login(web, "cppe.tanger")
    board = web.get("/supervision").get_data(as_text=True)
    assert "Jalons en retard des conventions des unités (2)" in board
    assert "Équipe recrutée et formée" in board and "Rapport final" in board
    assert "Local ouvert et équipé" not in board
    page_login(web, "cppe.casa")
    assert "Jalons en retard des conventions des unités (0)" in web.get("/supervision").get_data(as_text=True)


def test_the_page_form_records_a_convention_and_names_a_bad_milestone_line(web, engine: Engine):
    page_login(web, "cape.tanger")
    csrf = page_csrf(web, "/conventions")
    form = {"csrf_token": csrf, "unit": "upe-tanger-assilah", "reference": "CONV-UPE-2023-017",
            "title": "Convention de l'UPE", "partners": "Entraide Nationale\nProvince de Tanger-Assilah",
            "signed_on": "2023-11-20", "starts_on": "2024-01-01", "ends_on": "2026-12-31",
            "milestones": "2024-03-31 Local ouvert\n31/06/2024 Équipe recrutée\n\n2026-12-31 — Rapport final"}
    bad = web.post("/conventions", data=form)
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert 'id="milestones-error"' in html and "Ligne 2" in html, "the line with an unreadable date is named"
    assert "31/06/2024 Équipe recrutée" in html, "what was typed is kept"
    assert _count(engine, UnitConvention) == 0
    form["milestones"] = "2024-03-31 Local ouvert\n2024-06-30 Équipe recrutée\n\n2026-12-31 — Rapport final"
    good = web.post("/conventions", data=form, follow_redirects=True)
    assert good.status_code == 200, good.get_data(as_text=True)[:500]
    assert "Rapport final" in good.get_data(as_text=True)
    with engine.db.reading() as session:
        titles = session.scalars(select(ConventionMilestone.title).order_by(ConventionMilestone.position)).all()
    assert titles == ["Local ouvert", "Équipe recrutée", "Rapport final"]


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_the_follow_up_rules_are_worded_in_each_language(language):
    with (ROOT / "api" / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        translated = {m.id for m in read_po(handle) if m.id and m.string}
    words = {*plan_progress.ACTION_WORDS.values(), *conventions.MILESTONE_WORDS.values(), *_sentences_of_conventions()}
    assert len(words) > 30 and not sorted(words - translated)


def _sentences_of_conventions() -> set[str]:
    """Every sentence written in engine/conventions.py (its messages, wherever they are set: in an
    error's dictionary, a validator's ``error=``, a field's ``error_messages``), docstrings aside."""
    import ast

    tree = ast.parse((ROOT / "engine" / "conventions.py").read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and node.value[:1].isupper() and " " in node.value and node.value.rstrip(")").endswith((".", "…"))}
