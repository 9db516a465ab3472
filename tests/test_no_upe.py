"""Provinces without a UPE: the CAPE's social workers report a child and take the UPE's steps, and
SAS mobile teams report the children they find to the province's UPE or CAPE (PROTOCOL.md).

The demo's Chefchaouen has a CAPE and no UPE (``social.chaouen`` is the CAPE's social worker,
``cape.chaouen`` its coordinator); Tanger-Assilah has a UPE, a CAPE and a SAS mobile team
(``sas.tanger``).
"""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from api.users import UserError, add_user
from engine.models import Case, Notification, OpenTask, Unit
from engine.reference_data import ensure_unit
from engine.runtime import Actor, Engine
from tests.api_data import intake
from tests.conftest import ApiClient
from tests.helpers import ANSWERS, KEY_ENV, complete_by_api, page_csrf, page_login, report, task_id

ROOT = Path(__file__).resolve().parent.parent
SOCIAL = Actor("social.chaouen", "case_worker")
CAPE_UNIT = "cape-chefchaouen"


def _chaouen_intake(engine: Engine, **overrides: Any) -> dict[str, Any]:
    """A child reported to the CAPE of Chefchaouen, not in danger: its first step is the listening."""
    return intake(engine, province="chefchaouen", unit=CAPE_UNIT, categories=["out_of_school"],
                  emergency={"medical": False, "immediate_danger": False}, **overrides)


def _task(api: ApiClient, user: str, case_id: str, step: str) -> dict[str, Any]:
    items = api.get(f"/api/v1/tasks?case_id={case_id}", user).get_json()["items"]
    found = [t for t in items if t["name"] == step]
    assert len(found) == 1, items
    return found[0]


# --- the CAPE's social worker, in a province without a UPE ------------------------------

def test_a_cape_social_worker_reports_a_child_and_takes_its_listening(api: ApiClient, engine: Engine):
    created = api.post("/api/v1/cases", "social.chaouen", json=_chaouen_intake(engine))
    assert created.status_code == 201, created.get_json()
    case = created.get_json()
    assert case["reference"].startswith("CHF-"), "Chefchaouen's reference prefix"
    listening = next(t for t in case["open_tasks"] if t["name"] == "reception_listening")
    assert listening["role"] == "case_worker" and listening["unit"] == CAPE_UNIT

    assert _task(api, "social.chaouen", case["id"], "reception_listening")["id"] == listening["id"]
    mine = api.get("/api/v1/tasks?scope=available", "social.chaouen").get_json()["items"]
    assert listening["id"] in {t["id"] for t in mine}, "the CAPE unit's lane is the social worker's"
    for stranger in ("upe.tanger", "upe.casa", "sas.tanger", "sante.tanger"):
        assert api.get(f"/api/v1/cases/{case['id']}", stranger).status_code == 404, stranger
        assert api.get(f"/api/v1/tasks/{listening['id']}", stranger).status_code == 404, stranger
        assert complete_by_api(api, stranger, listening["id"], ANSWERS["reception_listening"]).status_code == 404
    assert api.get(f"/api/v1/cases/{case['id']}", "cape.chaouen").status_code == 200, "the CAPE coordinator"

    done = complete_by_api(api, "social.chaouen", listening["id"], ANSWERS["reception_listening"])
    assert done.status_code == 200, done.get_json()
    following = done.get_json()["open_tasks"]
    assert "reception_listening" not in {t["name"] for t in following}
    workers = [t for t in following if t["role"] == "case_worker"]
    assert workers and all(t["unit"] == CAPE_UNIT for t in workers), "the next case-worker steps stay at the CAPE"
    for task in workers:  # and the social worker takes them too
        assert api.post(f"/api/v1/tasks/{task['id']}/claim", "social.chaouen").status_code == 200
    history = api.get(f"/api/v1/cases/{case['id']}/history", "social.chaouen").get_json()["events"]
    assert {"case_opened", "step_completed"} <= {e["kind"] for e in history}
    assert any(e["kind"] == "step_completed" and e["actor"] == "social.chaouen" for e in history)


def test_the_coordinator_assigns_the_cape_lane_to_its_social_worker_only(api: ApiClient, engine: Engine):
    case_id = engine.start_case(_chaouen_intake(engine), SOCIAL).case_id
    listening = task_id(engine, case_id, "reception_listening")
    for outsider in ("upe.tanger", "cape.chaouen", "sante.chaouen"):
        refused = api.post(f"/api/v1/tasks/{listening}/assign", "cape.chaouen", json={"username": outsider})
        assert refused.status_code == 400, outsider
    assigned = api.post(f"/api/v1/tasks/{listening}/assign", "cape.chaouen", json={"username": "social.chaouen"})
    assert assigned.status_code == 200, assigned.get_json()
    assert api.post(f"/api/v1/tasks/{listening}/assign", "cape.tanger",
                    json={"username": "social.chaouen"}).status_code == 404, "another province's coordinator"


def test_an_overdue_cape_task_reminds_the_social_worker_then_the_cape_coordinator(engine: Engine, clock):
    from api.jobs import Jobs

    engine.start_case(report(engine, province="chefchaouen", categories=["out_of_school"]) | {"unit": CAPE_UNIT},
                      SOCIAL)
    clock.advance(timedelta(days=8, hours=19))  # low risk: 7 days, then the coordinator's rung
    assert Jobs(engine).run_once()["escalations"] == 2
    with engine.db.reading() as session:
        told = set(session.scalars(select(Notification.username)))
    assert told == {"social.chaouen", "cape.chaouen"}


# --- SAS mobile teams report to the UPE or the CAPE -------------------------------------

def test_a_sas_mobile_worker_reports_to_the_provinces_upe_or_cape(api: ApiClient, engine: Engine):
    street = {"source": "mobile_team", "received_at": (engine.now() - timedelta(hours=1)).isoformat(),
              "description": "Enfant seul près de la gare."}
    for unit in ("upe-tanger-assilah", "cape-tanger-assilah"):
        created = api.post("/api/v1/cases", "sas.tanger", json=intake(engine, unit=unit, report=street))
        assert created.status_code == 201, (unit, created.get_json())
        case_id = created.get_json()["id"]
        with engine.db.reading() as session:
            assert session.get(Case, case_id).unit == unit  # type: ignore[union-attr]
        assert api.get(f"/api/v1/cases/{case_id}", "sas.tanger").status_code == 404, "the receiving unit follows it"
        assert api.get(f"/api/v1/cases/{case_id}", "cape.tanger").status_code == 200
    assert api.get(f"/api/v1/cases/{case_id}", "social.chaouen").status_code == 404  # the CAPE's, not Chaouen's

    own = api.post("/api/v1/cases", "sas.tanger", json=intake(engine, unit="sas-tanger-assilah", report=street))
    assert own.status_code == 400
    assert "ne reçoit pas d'enfants" in own.get_json()["errors"]["json"]["unit"][0]  # the user's French
    elsewhere = api.post("/api/v1/cases", "sas.tanger", json=intake(engine, province="casablanca"))
    assert elsewhere.status_code == 403, "another province"
    by_upe = api.post("/api/v1/cases", "upe.tanger", json=intake(engine, unit="cape-tanger-assilah"))
    assert by_upe.status_code == 403, "a UPE worker reports to its own unit"


def test_no_one_files_a_case_at_a_unit_that_receives_no_child(api: ApiClient, engine: Engine):
    refused = api.post("/api/v1/cases", "cape.tanger", json=intake(engine, unit="sas-tanger-assilah"),
                       headers={"Accept-Language": "fr"})
    assert refused.status_code == 400
    assert refused.get_json()["errors"]["json"]["unit"] == [
        "Cette unité ne reçoit pas d'enfants : choisissez une UPE ou le CAPE de la province."]
    with engine.db.reading() as session:
        assert session.scalar(select(Case.id)) is None, "nothing changed"
    assert api.post("/api/v1/cases", "cape.tanger", json=intake(engine, unit="cape-tanger-assilah")).status_code == 201


# --- the list of units ------------------------------------------------------------------

def _units(api: ApiClient, user: str, query: str = "") -> dict[str, dict[str, Any]]:
    response = api.get(f"/api/v1/units{query}", user)
    assert response.status_code == 200, response.get_json()
    return {u["code"]: u for u in response.get_json()["items"]}


def test_the_units_endpoint_says_which_units_receive_a_child_and_which_the_caller_may_report_to(api: ApiClient):
    chaouen = _units(api, "social.chaouen")
    assert chaouen == {CAPE_UNIT: {"code": CAPE_UNIT, "name": "CAPE Chefchaouen", "kind": "cape",
                                   "province": "chefchaouen", "receives_children": True, "can_report": True}}
    sas = _units(api, "sas.tanger")
    assert {c: (u["receives_children"], u["can_report"]) for c, u in sas.items()} == {
        "upe-tanger-assilah": (True, True), "cape-tanger-assilah": (True, True),
        "sas-tanger-assilah": (False, False),
        "eps-tanger-assilah": (False, False)}  # the care institution: its young people's aftercare only
    upe = _units(api, "upe.tanger")
    assert [c for c, u in upe.items() if u["can_report"]] == ["upe-tanger-assilah"]
    receiving = _units(api, "cape.tanger", "?receives_children=true")
    assert set(receiving) == {"upe-tanger-assilah", "cape-tanger-assilah"}
    assert all(u["can_report"] for u in receiving.values())
    assert set(_units(api, "cape.tanger", "?receives_children=false")) == {"sas-tanger-assilah", "eps-tanger-assilah"}
    other = _units(api, "cape.tanger", "?province=chefchaouen")
    assert other[CAPE_UNIT]["receives_children"] and not other[CAPE_UNIT]["can_report"], "not its province"
    assert set(_units(api, "national", "?province=chefchaouen")) == {CAPE_UNIT}

    assert api.get("/api/v1/units?province=atlantis", "cape.tanger").status_code == 404
    no_province = api.get("/api/v1/units", "admin")
    assert no_province.status_code == 400 and "province" in no_province.get_json()["errors"]["query"]
    assert api.get("/api/v1/units?receives_children=maybe", "cape.tanger").status_code == 400
    assert api.get("/api/v1/units").status_code == 401


# --- the report page --------------------------------------------------------------------

def _form(engine: Engine, unit: str) -> dict[str, Any]:
    received = "2026-11-20T08:00"  # the test clock's morning, in the service's time zone
    return {"first_name": "Nour", "last_name": "Démo", "sex": "F", "birth_date": "2015-01-01", "unit": unit,
            "source": "mobile_team", "received_at": received, "categories": ["street"],
            "legal_basis": "protection_mandate"}


def test_the_report_page_offers_the_cape_to_its_social_worker(web: FlaskClient, engine: Engine):
    page_login(web, "social.chaouen")
    html = web.get("/cases/new").get_data(as_text=True)
    assert f'<option value="{CAPE_UNIT}" selected>' in html
    assert "<optgroup label=\"Centre d'accompagnement pour la protection de l'enfance (CAPE)\">" in html
    token = page_csrf(web, "/cases/new")
    done = web.post("/cases/new", data={"csrf_token": token, **_form(engine, CAPE_UNIT)})
    assert done.status_code == 302, done.get_data(as_text=True)
    case_id = done.headers["Location"].rsplit("/", 1)[1]
    with engine.db.reading() as session:
        assert session.get(Case, case_id).unit == CAPE_UNIT  # type: ignore[union-attr]
    listening = task_id(engine, case_id, "reception_listening")
    assert web.get(f"/tasks/{listening}").status_code == 200
    answered = web.post(f"/tasks/{listening}", data={"csrf_token": token, "listening_date": "2026-11-20",
                                                       "listening_summary": "Écoute faite au CAPE.",
                                                       "child_heard": "on", "diagnoses": ["social"]})
    assert answered.status_code == 302 and answered.headers["Location"] == f"/cases/{case_id}"


def test_the_report_page_of_a_sas_worker_offers_the_upe_and_the_cape(web: FlaskClient, engine: Engine):
    page_login(web, "sas.tanger")
    html = web.get("/cases/new").get_data(as_text=True)
    assert 'value="upe-tanger-assilah"' in html and 'value="cape-tanger-assilah"' in html
    assert 'value="sas-tanger-assilah"' not in html, "a mobile team receives no child"
    assert 'id="unit-hint"' in html and '<option value="mobile_team" selected>' in html
    assert '<option value="">—</option>' in html and "-assilah\" selected" not in html, "the team chooses"
    token = page_csrf(web, "/cases/new")
    unchosen = web.post("/cases/new", data={"csrf_token": token, **_form(engine, "")})
    assert unchosen.status_code == 400 and "Choisissez l&#39;unité qui reçoit l&#39;enfant." in \
        unchosen.get_data(as_text=True)
    refused = web.post("/cases/new", data={"csrf_token": token, **_form(engine, "sas-tanger-assilah")})
    assert refused.status_code == 400 and 'id="unit-error"' in refused.get_data(as_text=True)
    done = web.post("/cases/new", data={"csrf_token": token, **_form(engine, "cape-tanger-assilah")})
    assert done.status_code == 302 and done.headers["Location"] == "/cases/new", "it does not follow the case"
    with engine.db.reading() as session:
        case = session.scalars(select(Case)).one()
    assert case.unit == "cape-tanger-assilah"
    flashed = web.get("/cases/new").get_data(as_text=True)
    assert case.reference in flashed and "CAPE Tanger-Assilah" in flashed


def test_the_report_page_offers_a_coordinator_the_provinces_upe_and_cape(web: FlaskClient):
    page_login(web, "cape.tanger")
    html = web.get("/cases/new").get_data(as_text=True)
    assert 'value="upe-tanger-assilah"' in html and 'value="cape-tanger-assilah"' in html
    assert 'value="sas-tanger-assilah"' not in html and 'id="unit-hint"' not in html


def test_a_province_whose_units_are_all_closed_says_so_on_the_report_page(web: FlaskClient, engine: Engine):
    closing = update(Unit).where(Unit.province == "chefchaouen")
    with engine.db.transaction() as session:
        session.execute(closing.values(active=False))
    try:
        page_login(web, "cape.chaouen")
        assert 'id="unit-none"' in web.get("/cases/new").get_data(as_text=True)
    finally:  # units outlive a test on PostgreSQL
        with engine.db.transaction() as session:
            session.execute(closing.values(active=True))


# --- user administration ----------------------------------------------------------------

def test_user_administration_takes_a_case_worker_at_a_cape_and_refuses_nonsense(engine: Engine):
    def add(**spec: Any) -> Any:
        with engine.db.transaction() as session:
            return add_user(session, password="a-long-password", now=engine.now(), **spec)

    social = add(username="social2.chaouen", role="case_worker", province="chefchaouen", unit=CAPE_UNIT)
    assert (social.role, social.unit) == ("case_worker", CAPE_UNIT)
    at_cape_with_upe = add(username="social.tanger", role="case_worker", province="tanger-assilah",
                           unit="cape-tanger-assilah")
    assert at_cape_with_upe.unit == "cape-tanger-assilah", "a CAPE may receive a child where there is a UPE"
    assert add(username="sas2.tanger", role="case_worker", province="tanger-assilah",
               unit="sas-tanger-assilah").unit == "sas-tanger-assilah"

    with engine.db.transaction() as session:  # a closed CAPE (units outlive a test on PostgreSQL: idempotent)
        ensure_unit(session, "cape-ouezzane", "ouezzane", "cape", "CAPE Ouezzane").active = False
    refusals: list[tuple[dict[str, str | None], str]] = [
        ({"role": "case_worker", "province": "tanger-assilah", "unit": CAPE_UNIT}, "unit"),  # another province's
        ({"role": "case_worker", "province": "chefchaouen", "unit": None}, "unit"),
        ({"role": "case_worker", "province": "chefchaouen", "unit": "upe-chefchaouen"}, "unit"),  # no such unit
        ({"role": "case_worker", "province": "ouezzane", "unit": "cape-ouezzane"}, "unit"),  # closed
        ({"role": "coordinator", "province": "chefchaouen", "unit": CAPE_UNIT}, "unit"),  # coordinators: none
    ]
    for spec, field in refusals:
        with pytest.raises(UserError) as refused:
            add(username="someone.new", **spec)
        assert field in refused.value.errors, (spec, refused.value.errors)


def test_the_command_line_adds_a_case_worker_at_a_cape(tmp_path: Path):
    def run(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {"HIMAYA_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}", "PATH": "/usr/bin:/bin", **KEY_ENV}
        return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=180, input=password)

    assert run("demo").returncode == 0
    ok = run("user", "add", "assistante.chaouen", "--role", "case_worker", "--province", "chefchaouen",
             "--unit", CAPE_UNIT, "--password-stdin", password="a-long-password\n")
    assert ok.returncode == 0, ok.stderr
    bad = run("user", "add", "assistante.tanger", "--role", "case_worker", "--province", "tanger-assilah",
              "--unit", CAPE_UNIT, "--password-stdin", password="a-long-password\n")
    assert bad.returncode == 1 and "unit" in bad.stderr


# --- the demo data ----------------------------------------------------------------------

def test_demo_chefchaouen_has_a_cape_no_upe_and_no_justice_partner(engine: Engine):
    from api.demo import load_demo
    from engine.models import Province, User

    # aftercare, a second report and a street child included; the test database holds the demo users already
    assert load_demo(engine) == 12
    with engine.db.reading() as session:
        province = session.get(Province, "chefchaouen")
        assert province is not None and province.name_ar == "شفشاون" and province.reference_prefix == "CHF"
        kinds = set(session.scalars(select(Unit.kind).where(Unit.province == "chefchaouen")))
        users = {u.username: u for u in session.scalars(select(User).where(User.province == "chefchaouen"))}
        cases = list(session.scalars(select(Case).where(Case.province == "chefchaouen")))
        open_units = set(session.scalars(select(OpenTask.unit).where(OpenTask.province == "chefchaouen",
                                                                     OpenTask.role == "case_worker")))
    assert kinds == {"cape"}
    assert (users["social.chaouen"].role, users["social.chaouen"].unit) == ("case_worker", CAPE_UNIT)
    assert users["cape.chaouen"].role == "coordinator" and users["sante.chaouen"].sector == "health"
    assert not any(u.sector == "justice" for u in users.values()), "left out on purpose"
    assert len(cases) == 3 and {c.unit for c in cases} == {CAPE_UNIT} and open_units == {CAPE_UNIT}
