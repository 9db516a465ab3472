"""Units and user accounts administered (API, pages, command line), every change audited in an
append-only table; out of office; an account created by the administrator receives tasks and
e-mails. On SQLite and PostgreSQL."""
from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError
from werkzeug.test import TestResponse

from api.jobs import Jobs
from api.users import COMMON_PASSWORDS, password_problems
from engine.models import AdminEvent, OpenTask, OutboxMessage, Unit, User
from engine.runtime import Actor, Engine
from tests.conftest import ApiClient
from tests.helpers import UPE as UPE_ACTOR
from tests.helpers import csrf_of, events, page_login, report, task_id
from tests.test_escalation import Inbox, _jobs

TANGER = "tanger-assilah"
PASSWORD = "Salma-2026-upe"


def _patch(api: ApiClient, path: str, user: str, body: Any) -> TestResponse:
    return api.client.patch(path, headers=api.headers(user), json=body)


def _put(api: ApiClient, path: str, user: str, body: Any) -> TestResponse:
    return api.client.put(path, headers=api.headers(user), json=body)


def _login(api: ApiClient, username: str, password: str) -> TestResponse:
    return api.client.post("/api/v1/auth/token", json={"username": username, "password": password})


def _audit(engine: Engine) -> list[AdminEvent]:
    with engine.db.reading() as session:
        return list(session.scalars(select(AdminEvent).order_by(AdminEvent.id)))


def _counts(engine: Engine) -> tuple[int, int, int]:
    """(units, users, audit rows): what a refused command must leave as it was."""
    with engine.db.reading() as session:
        return tuple(session.scalar(select(func.count()).select_from(model)) or 0  # type: ignore[return-value]
                     for model in (Unit, User, AdminEvent))


def _unit(api: ApiClient, code: str, kind: str = "upe", province: str = TANGER, name: str = "UPE Tanger Nord"
          ) -> dict[str, Any]:
    created = api.post("/api/v1/admin/units", "admin", json={"code": code, "name": name, "kind": kind,
                                                              "province": province})
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def _worker(api: ApiClient, username: str = "salma.tanger", unit: str = "upe-tanger-assilah",
            **extra: Any) -> dict[str, Any]:
    body = {"username": username, "password": PASSWORD, "role": "case_worker", "province": TANGER, "unit": unit,
            "full_name": "Salma Bennani", "email": f"{username}@upe-tanger.example", "phone": "+212 661 23 45 67",
            "language": "fr", **extra}
    created = api.post("/api/v1/admin/users", "admin", json=body)
    assert created.status_code == 201, created.get_json()
    return created.get_json()


# --- units ---------------------------------------------------------------------------------

def test_an_administrator_creates_renames_deactivates_and_reactivates_units(api: ApiClient, engine: Engine):
    unit = _unit(api, "upe-tanger-nord")
    assert (unit["kind"], unit["province"], unit["active"], unit["receives_children"]) == ("upe", TANGER, True, True)
    care = _unit(api, "eps-tanger-2", kind="care_institution", name="Dar Al Amal")
    assert care["receives_children"] is False  # as vocabulary.receives_children: its pathway is aftercare
    listed = api.get(f"/api/v1/admin/units?province={TANGER}", "admin").get_json()["items"]
    assert {"upe-tanger-nord", "eps-tanger-2", "upe-tanger-assilah"} <= {u["code"] for u in listed}
    assert all(u["province"] == TANGER for u in listed)
    assert "upe-tanger-nord" in {u["code"] for u in api.get("/api/v1/units", "cape.tanger").get_json()["items"]}

    renamed = _patch(api, "/api/v1/admin/units/upe-tanger-nord", "admin", {"name": "  UPE Tanger-Nord  "})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "UPE Tanger-Nord"
    off = _patch(api, "/api/v1/admin/units/upe-tanger-nord", "admin", {"active": False})
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert "upe-tanger-nord" not in {u["code"] for u in api.get("/api/v1/units", "cape.tanger").get_json()["items"]}
    inactive = api.get("/api/v1/admin/units?active=false", "admin").get_json()["items"]
    assert "upe-tanger-nord" in {u["code"] for u in inactive}
    assert _patch(api, "/api/v1/admin/units/upe-tanger-nord", "admin", {"active": True}).get_json()["active"]
    trail = [(e.action, e.target, e.fields) for e in _audit(engine)]
    assert trail == [("unit_created", "upe-tanger-nord", ["code", "kind", "name", "province"]),
                     ("unit_created", "eps-tanger-2", ["code", "kind", "name", "province"]),
                     ("unit_changed", "upe-tanger-nord", ["name"]), ("unit_changed", "upe-tanger-nord", ["active"]),
                     ("unit_changed", "upe-tanger-nord", ["active"])]
    assert all(e.actor == "admin" for e in _audit(engine))


def test_a_unit_with_open_cases_cannot_be_deactivated(api: ApiClient, engine: Engine):
    engine.start_case(report(engine), UPE_ACTOR)
    before = _counts(engine)
    refused = api.client.patch("/api/v1/admin/units/upe-tanger-assilah", json={"active": False},
                               headers=api.headers("admin", **{"Accept-Language": "en"}))
    assert refused.status_code == 409, refused.get_json()
    body = refused.get_json()
    assert "open cases or tasks" in body["message"] and "active" in body["errors"]["json"]
    with engine.db.reading() as session:
        assert session.get_one(Unit, "upe-tanger-assilah").active
    assert _counts(engine) == before
    arabic = api.client.patch("/api/v1/admin/units/upe-tanger-assilah", json={"active": False},
                              headers=api.headers("admin", **{"Accept-Language": "ar"}))
    assert arabic.status_code == 409 and "مفتوحة" in arabic.get_json()["message"]


@pytest.mark.parametrize("body, field", [
    ({"code": "upe-tanger-assilah", "name": "Double", "kind": "upe", "province": TANGER}, "code"),
    ({"code": "UPE Tanger!", "name": "Bad code", "kind": "upe", "province": TANGER}, "code"),
    ({"code": "upe-atlantis", "name": "Nowhere", "kind": "upe", "province": "atlantis"}, "province"),
    ({"code": "x-tanger", "name": "Bad kind", "kind": "school", "province": TANGER}, "kind"),
    ({"code": "upe-tanger-blank", "name": "   ", "kind": "upe", "province": TANGER}, "name"),
    ({"code": "upe-tanger-x", "kind": "upe", "province": TANGER}, "name"),
    ({"code": "upe-tanger-y", "name": "Extra", "kind": "upe", "province": TANGER, "active": False}, "active"),
])
def test_bad_units_are_refused_with_the_field_and_nothing_changed(api: ApiClient, engine: Engine, body, field):
    before = _counts(engine)
    refused = api.post("/api/v1/admin/units", "admin", json=body, headers={"Accept-Language": "fr"})
    assert refused.status_code == 400, refused.get_json()
    assert field in refused.get_json()["errors"]["json"], refused.get_json()
    assert _counts(engine) == before


def test_unit_changes_refused(api: ApiClient, engine: Engine):
    before = _counts(engine)
    assert _patch(api, "/api/v1/admin/units/nowhere", "admin", {"name": "X"}).status_code == 404
    blank = _patch(api, "/api/v1/admin/units/upe-tanger-assilah", "admin", {"name": " "})
    assert blank.status_code == 400 and "name" in blank.get_json()["errors"]["json"]
    kind = _patch(api, "/api/v1/admin/units/upe-tanger-assilah", "admin", {"kind": "cape"})
    assert kind.status_code == 400  # the kind and code never change
    assert _counts(engine) == before


# --- who may --------------------------------------------------------------------------------

@pytest.mark.parametrize("user", ["upe.tanger", "cape.tanger", "parquet.tanger", "cppe.tanger", "national"])
def test_only_administrators_administer(api: ApiClient, engine: Engine, user: str):
    before = _counts(engine)
    unit = {"code": "upe-tanger-z", "name": "Z", "kind": "upe", "province": TANGER}
    account = {"username": "intrus.tanger", "password": PASSWORD, "role": "admin"}
    for method, path, body in (("get", "/api/v1/admin/units", None), ("post", "/api/v1/admin/units", unit),
                               ("patch", "/api/v1/admin/units/upe-tanger-assilah", {"active": False}),
                               ("get", "/api/v1/admin/users", None), ("post", "/api/v1/admin/users", account),
                               ("get", "/api/v1/admin/users/upe.tanger", None),
                               ("patch", "/api/v1/admin/users/upe.tanger", {"role": "admin"}),
                               ("post", "/api/v1/admin/users/upe.casa/disable", None),
                               ("post", "/api/v1/admin/users/upe.casa/enable", None),
                               ("get", "/api/v1/admin/audit", None)):
        answer = getattr(api.client, method)(path, headers=api.headers(user), json=body)
        assert answer.status_code == 403, (user, method, path, answer.get_json())
    assert _counts(engine) == before
    assert api.client.get("/api/v1/admin/users").status_code == 401


# --- accounts -------------------------------------------------------------------------------

def test_an_administrator_creates_and_lists_accounts_without_their_hashes(api: ApiClient, engine: Engine):
    created = _worker(api)
    assert (created["email"], created["phone"], created["unit"], created["active"]) == (
        "salma.tanger@upe-tanger.example", "+212 661 23 45 67", "upe-tanger-assilah", True)
    assert "password" not in created and "password_hash" not in created
    assert _login(api, "salma.tanger", PASSWORD).status_code == 200
    partner = api.post("/api/v1/admin/users", "admin", json={
        "username": "sante2.tanger", "password": PASSWORD, "role": "partner", "province": TANGER, "sector": "health"})
    assert partner.status_code == 201 and partner.get_json()["full_name"] == "sante2.tanger"
    national = api.post("/api/v1/admin/users", "admin", json={"username": "ministere.2", "password": PASSWORD,
                                                             "role": "national", "email": ""})
    assert national.status_code == 201 and national.get_json()["email"] is None

    workers = api.get(f"/api/v1/admin/users?province={TANGER}&role=case_worker&per_page=2", "admin").get_json()
    assert workers["per_page"] == 2 and len(workers["items"]) == 2 and workers["total"] >= 4
    second = api.get(f"/api/v1/admin/users?province={TANGER}&role=case_worker&per_page=2&page=2", "admin").get_json()
    assert not {u["username"] for u in workers["items"]} & {u["username"] for u in second["items"]}
    everyone = api.get("/api/v1/admin/users?per_page=100", "admin")
    assert b"argon2" not in everyone.data and b"password_hash" not in everyone.data
    assert all(u["role"] == "case_worker" and u["province"] == TANGER for u in workers["items"])
    found = api.get("/api/v1/admin/users?q=Bennani", "admin").get_json()["items"]
    assert [u["username"] for u in found] == ["salma.tanger"]
    assert api.get("/api/v1/admin/users/salma.tanger", "admin").get_json()["full_name"] == "Salma Bennani"
    assert api.get("/api/v1/admin/users/nobody", "admin").status_code == 404
    [first, *_rest] = _audit(engine)
    assert (first.action, first.target, first.actor) == ("user_created", "salma.tanger", "admin")
    assert {"email", "phone", "password", "role", "unit", "province"} <= set(first.fields)
    with engine.db.reading() as session:
        rows = session.execute(text("SELECT * FROM admin_events")).all()
    assert not any("upe-tanger.example" in str(row) or "661" in str(row) or PASSWORD in str(row) for row in rows)


BAD_ACCOUNTS = [
    ({"username": "upe.tanger"}, "username"),
    ({"username": "Salma Tanger"}, "username"),
    ({"role": "chief"}, "role"),
    ({"password": "short-1"}, "password"),
    ({"password": "onlylowercaseletters"}, "password"),
    ({"password": "salma.tanger"}, "password"),
    ({"password": "salma.tanger1"}, "password"),
    ({"password": "Password123"}, "password"),
    ({"email": "salma@"}, "email"),
    ({"email": "salma at example.ma"}, "email"),
    ({"phone": "call me"}, "phone"),
    ({"phone": "12"}, "phone"),
    ({"phone": "+212-661-23"}, "phone"),
    ({"unit": "upe-casablanca"}, "unit"),
    ({"unit": "nowhere"}, "unit"),
    ({"province": "atlantis"}, "province"),
    ({"sector": "health"}, "sector"),
    ({"role": "partner", "unit": None}, "sector"),
    ({"role": "national"}, "role"),
    ({"language": "de"}, "language"),
    ({"away_from": "2026-12-10", "away_until": "2026-12-01"}, "away_until"),
    ({"away_until": "2026-12-01"}, "away_from"),
    ({"full_name": "x" * 201}, "full_name"),
    ({"is_admin": True}, "is_admin"),
]


@pytest.mark.parametrize("change, field", BAD_ACCOUNTS)
def test_bad_accounts_are_refused_with_the_field_and_nothing_changed(api: ApiClient, engine: Engine,
                                                                     change: dict[str, Any], field: str):
    body = {"username": "salma.tanger", "password": PASSWORD, "role": "case_worker", "province": TANGER,
            "unit": "upe-tanger-assilah", "language": "fr", **change}
    before = _counts(engine)
    refused = api.post("/api/v1/admin/users", "admin", json=body, headers={"Accept-Language": "fr"})
    assert refused.status_code == 400, refused.get_json()
    assert field in refused.get_json()["errors"]["json"], refused.get_json()
    assert _counts(engine) == before


def test_refusals_are_in_the_callers_language(api: ApiClient):
    body = {"username": "salma.tanger", "password": "abc", "role": "case_worker", "province": TANGER,
            "unit": "upe-tanger-assilah", "email": "nope"}
    arabic = api.post("/api/v1/admin/users", "admin", json=body, headers={"Accept-Language": "ar"}).get_json()
    assert any("\u0600" <= ch <= "\u06ff" for ch in arabic["errors"]["json"]["email"][0])
    french = api.post("/api/v1/admin/users", "admin", json=body, headers={"Accept-Language": "fr"}).get_json()
    assert "10 caractères" in french["errors"]["json"]["password"][0]


def test_password_rules():
    assert password_problems("a-long-password") == []
    assert password_problems("Salma-2026-upe", "salma.tanger") == []
    assert password_problems("نص-طويل-بالعربية") == []  # Arabic letters count as a kind of their own
    for weak in ("short-1", "abcdefghijkl", "ABCDEFGHIJKL", "123456789012", "aaaaaaaaaaaa1", "password123"):
        assert password_problems(weak), weak
    assert password_problems("salma.tanger", "salma.tanger") and password_problems("SALMA.TANGER!1", "salma.tanger")
    assert all(password_problems(common) for common in COMMON_PASSWORDS)
    assert password_problems("x" * 150 + "1" * 51)


def test_an_administrator_changes_an_account_and_resets_its_password(api: ApiClient, engine: Engine):
    _worker(api)
    old_token = _login(api, "salma.tanger", PASSWORD).get_json()["access_token"]
    url = "/api/v1/admin/users/salma.tanger"
    changed = _patch(api, url, "admin", {"full_name": "Salma B.", "email": "s.bennani@upe-tanger.example",
                                         "phone": None, "language": "ar"})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["full_name"], changed.get_json()["phone"], changed.get_json()["language"]) == (
        "Salma B.", None, "ar")
    before = _counts(engine)
    for bad, field in (({"unit": "upe-casablanca"}, "unit"), ({"role": "partner"}, "sector"),
                       ({"email": "nope"}, "email"), ({"phone": "abc"}, "phone"), ({"password": "salma.tanger"},
                                                                                  "password"),
                       ({"full_name": ""}, "full_name"), ({"role": "boss"}, "role"), ({"username": "other"},
                                                                                     "username")):
        refused = _patch(api, url, "admin", bad)
        assert refused.status_code == 400 and field in refused.get_json()["errors"]["json"], (bad, refused.get_json())
    assert _counts(engine) == before
    assert _patch(api, "/api/v1/admin/users/nobody", "admin", {"full_name": "X"}).status_code == 404
    moved = _patch(api, url, "admin", {"role": "case_worker", "province": "casablanca", "unit": "upe-casablanca"})
    assert moved.status_code == 200 and moved.get_json()["unit"] == "upe-casablanca"
    coordinator = _patch(api, url, "admin", {"role": "coordinator"})
    assert coordinator.status_code == 200 and (coordinator.get_json()["unit"], coordinator.get_json()["province"]) == (
        None, "casablanca")
    reset = _patch(api, url, "admin", {"password": "Nouveau-mot-2026"})
    assert reset.status_code == 200
    assert api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    assert _login(api, "salma.tanger", PASSWORD).status_code == 401
    assert _login(api, "salma.tanger", "Nouveau-mot-2026").status_code == 200
    trail = [(e.action, e.fields) for e in _audit(engine) if e.target == "salma.tanger"][1:]
    assert trail == [("user_changed", ["email", "full_name", "language", "phone"]),
                     ("user_changed", ["province", "unit"]), ("user_changed", ["role", "unit"]),
                     ("password_reset", ["password"])]


def test_disabling_releases_the_tasks_held_and_enabling_lets_her_back(api: ApiClient, engine: Engine):
    _worker(api)
    case = engine.start_case(report(engine), UPE_ACTOR).case_id
    tid = task_id(engine, case, "reception_listening")
    token = _login(api, "salma.tanger", PASSWORD).get_json()["access_token"]
    claimed = api.client.post(f"/api/v1/tasks/{tid}/claim", headers={"Authorization": f"Bearer {token}"})
    assert claimed.status_code == 200, claimed.get_json()
    assert api.post("/api/v1/admin/users/admin/disable", "admin").status_code == 409  # not oneself
    disabled = api.post("/api/v1/admin/users/salma.tanger/disable", "admin")
    assert disabled.status_code == 200 and disabled.get_json()["released"] == 1
    assert disabled.get_json()["user"]["active"] is False
    with engine.db.reading() as session:
        task = session.get_one(OpenTask, tid)
        [told] = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "tasks_released")).all()
    assert (task.state, task.assignee) == ("ready", None) and told.payload["username"] == "salma.tanger"
    assert events(engine, case, "task_released")[0].detail["reason"] == "user_disabled"
    assert api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _login(api, "salma.tanger", PASSWORD).status_code == 401
    assert api.post("/api/v1/admin/users/salma.tanger/disable", "admin").status_code == 409
    assert api.post("/api/v1/admin/users/nobody/disable", "admin").status_code == 404
    enabled = api.post("/api/v1/admin/users/salma.tanger/enable", "admin")
    assert enabled.status_code == 200 and enabled.get_json()["active"] is True
    assert api.post("/api/v1/admin/users/salma.tanger/enable", "admin").status_code == 409
    assert _login(api, "salma.tanger", PASSWORD).status_code == 200
    actions = [e.action for e in _audit(engine)]
    assert actions == ["user_created", "user_disabled", "user_enabled"]


def test_the_audit_lists_every_change_newest_first_and_refuses_to_be_rewritten(api: ApiClient, engine: Engine):
    _unit(api, "upe-tanger-audit")
    _worker(api)
    _patch(api, "/api/v1/admin/users/salma.tanger", "admin", {"password": "Nouveau-mot-2026"})
    api.post("/api/v1/admin/users/salma.tanger/disable", "admin")
    api.post("/api/v1/admin/users/salma.tanger/enable", "admin")
    listed = api.get("/api/v1/admin/audit?per_page=3", "admin").get_json()
    assert listed["total"] == 5 and [e["action"] for e in listed["items"]] == [
        "user_enabled", "user_disabled", "password_reset"]
    older = api.get("/api/v1/admin/audit?per_page=3&page=2", "admin").get_json()["items"]
    assert [e["action"] for e in older] == ["user_created", "unit_created"]
    assert older[1]["fields"] == ["code", "kind", "name", "province"] and older[1]["actor"] == "admin"
    mine = api.get("/api/v1/admin/audit?target=upe-tanger-audit", "admin").get_json()
    assert mine["total"] == 1
    for statement in ("UPDATE admin_events SET actor = 'x'", "DELETE FROM admin_events"):
        with pytest.raises(DatabaseError):
            with engine.db.transaction() as session:
                session.execute(text(statement))
    assert len(_audit(engine)) == 5


@pytest.mark.sqlite_only
def test_the_command_line_keeps_its_commands_and_audits_them(engine: Engine, monkeypatch, capsys):
    from api.cli import main

    monkeypatch.setenv("HIMAYA_DATABASE_URL", engine.db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["user", "add", "cli.tanger", "--role", "case_worker", "--province", TANGER, "--unit",
                 "upe-tanger-assilah", "--email", "cli@upe-tanger.example", "--phone", "0661 23 45 67",
                 "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("weak\n"))
    assert main(["user", "set-password", "cli.tanger", "--password-stdin"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["user", "add", "cli.tanger", "--role", "case_worker", "--province", TANGER, "--unit",
                 "upe-tanger-assilah", "--email", "nope", "--password-stdin"]) == 1
    assert "already taken" in capsys.readouterr().err
    assert main(["user", "disable", "cli.tanger"]) == 0
    with engine.db.reading() as session:
        user = session.scalar(select(User).where(User.username == "cli.tanger"))
    assert user is not None and (user.email, user.phone, user.active) == ("cli@upe-tanger.example", "0661 23 45 67",
                                                                          False)
    trail = _audit(engine)
    assert [e.action for e in trail] == ["user_created", "user_disabled"]
    assert all(e.actor.startswith("cli") for e in trail)


# --- out of office ---------------------------------------------------------------------------

def test_out_of_office_dates_are_set_by_the_person_a_coordinator_or_the_administrator(api: ApiClient,
                                                                                     engine: Engine):
    _worker(api)
    url = "/api/v1/users/salma.tanger/away"
    before = _counts(engine)
    backwards = _put(api, url, "admin", {"away_from": "2026-12-10", "away_until": "2026-12-01"})
    assert backwards.status_code == 400 and "away_until" in backwards.get_json()["errors"]["json"]
    assert _put(api, url, "admin", {"away_from": None, "away_until": "2026-12-01"}).status_code == 400
    assert _put(api, url, "admin", {"away_from": "not a date"}).status_code == 400
    assert _put(api, url, "upe.tanger", {"away_from": "2026-12-01"}).status_code == 403  # a colleague
    assert _put(api, url, "cape.casa", {"away_from": "2026-12-01"}).status_code == 404  # another province
    assert _put(api, "/api/v1/users/cape.tanger/away", "cape.tanger", {"away_from": None}).status_code == 200
    assert _counts(engine) == before
    by_coordinator = _put(api, url, "cape.tanger", {"away_from": "2026-12-01", "away_until": "2026-12-05"})
    assert by_coordinator.status_code == 200, by_coordinator.get_json()
    assert (by_coordinator.get_json()["away_from"], by_coordinator.get_json()["away_until"]) == (
        "2026-12-01", "2026-12-05")
    token = _login(api, "salma.tanger", PASSWORD).get_json()["access_token"]
    cleared = api.client.put(url, headers={"Authorization": f"Bearer {token}"}, json={"away_from": None})
    assert cleared.status_code == 200 and cleared.get_json()["away_from"] is None
    trail = [(e.action, e.actor, e.fields) for e in _audit(engine) if e.action == "away_changed"]
    assert trail == [("away_changed", "cape.tanger", ["away_from", "away_until"]),
                     ("away_changed", "salma.tanger", ["away_from", "away_until"])]


def test_the_tasks_of_someone_away_go_back_to_the_lane_from_the_first_day(api: ApiClient, engine: Engine, clock):
    _worker(api)
    salma = Actor("salma.tanger", "case_worker")
    cases = [engine.start_case(report(engine), UPE_ACTOR).case_id for _ in range(2)]
    tids = [task_id(engine, c, "reception_listening") for c in cases]
    engine.claim(tids[0], salma)
    engine.claim(tids[1], UPE_ACTOR)
    tomorrow = (clock.now() + timedelta(days=1)).date().isoformat()
    assert _put(api, "/api/v1/users/salma.tanger/away", "admin", {"away_from": tomorrow}).status_code == 200
    jobs = Jobs(engine)
    assert jobs.release_of_away() == 0  # not yet away
    clock.advance(timedelta(days=1))
    assert jobs.release_of_away() == 1
    with engine.db.reading() as session:
        assert (session.get_one(OpenTask, tids[0]).state, session.get_one(OpenTask, tids[1]).assignee) == (
            "ready", "upe.tanger")
        [told] = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "tasks_released_away")).all()
    assert told.payload["username"] == "salma.tanger" and told.recipient["role"] == "coordinator"
    assert events(engine, cases[0], "task_released")[0].detail["reason"] == "out_of_office"
    assert jobs.release_of_away() == 0
    # she may still claim (back early); when the absence has ended, what she claims stays hers
    api.forget_tokens()  # a day has gone by
    assert _put(api, "/api/v1/users/salma.tanger/away", "admin",
                {"away_from": tomorrow, "away_until": tomorrow}).status_code == 200
    clock.advance(timedelta(days=1))
    engine.claim(tids[0], salma)
    assert jobs.release_of_away() == 0
    with engine.db.reading() as session:
        assert session.get_one(OpenTask, tids[0]).assignee == "salma.tanger"


def test_an_absence_set_for_today_releases_at_once(api: ApiClient, engine: Engine, clock):
    _worker(api)
    case = engine.start_case(report(engine), UPE_ACTOR).case_id
    tid = task_id(engine, case, "reception_listening")
    engine.claim(tid, Actor("salma.tanger", "case_worker"))
    today = clock.now().date().isoformat()
    assert _put(api, "/api/v1/users/salma.tanger/away", "cape.tanger", {"away_from": today}).status_code == 200
    with engine.db.reading() as session:
        assert session.get_one(OpenTask, tid).state == "ready"


# --- an account made by the administrator at work -------------------------------------------

def test_a_case_worker_created_by_the_administrator_receives_tasks_and_escalation_emails(api: ApiClient,
                                                                                        engine: Engine, clock):
    _unit(api, "upe-tanger-medina", name="UPE Tanger Médina")
    _worker(api, unit="upe-tanger-medina", email="salma@upe-medina.example")
    body = {**report(engine, categories=["out_of_school"]), "unit": "upe-tanger-medina"}
    case = engine.start_case(body, Actor("salma.tanger", "case_worker")).case_id
    token = _login(api, "salma.tanger", PASSWORD).get_json()["access_token"]
    mine = api.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).get_json()["items"]
    assert [t["name"] for t in mine if t["case_id"] == case] == ["reception_listening"]
    assert case not in {t["case_id"] for t in api.get("/api/v1/tasks", "upe.tanger").get_json()["items"]}
    clock.advance(timedelta(days=8, hours=19))  # the reminder to her lane is due
    with Inbox() as inbox:
        jobs = _jobs(engine, inbox)
        assert jobs.run_once()["escalations"] >= 1
        jobs.deliver()
        received = {address: body for (addresses, _m), body in zip(inbox.messages, inbox.texts())
                    for address in addresses}
    assert "salma@upe-medina.example" in received, sorted(received)
    assert "Rappel" in received["salma@upe-medina.example"]
    assert "upe.tanger@himaya.example" not in received  # not her lane


# --- the pages ---------------------------------------------------------------------------------

def _page_post(web, url: str, data: dict[str, Any]) -> TestResponse:
    html = web.get(url).get_data(as_text=True)
    return web.post(url, data={"csrf_token": csrf_of(html), **data})


def test_the_administration_pages_create_change_and_refuse(web, engine: Engine):
    page_login(web, "admin")
    home = web.get("/admin/users").get_data(as_text=True)
    assert 'id="menu-users"' in home and 'id="menu-units"' in home and 'id="menu-audit"' in home
    assert "upe.tanger" in home
    bad_unit = _page_post(web, "/admin/units/new", {"code": "upe-tanger-assilah", "name": "", "kind": "upe",
                                                     "province": TANGER})
    html = bad_unit.get_data(as_text=True)
    assert bad_unit.status_code == 400 and "Ce code d&#39;unité est déjà pris." in html and 'id="f-name-error"' in html
    made = _page_post(web, "/admin/units/new", {"code": "upe-tanger-pages", "name": "UPE Pages", "kind": "upe",
                                                 "province": TANGER})
    assert made.status_code == 302
    before = _counts(engine)
    bad = _page_post(web, "/admin/users/new", {"username": "Salma", "password": "court", "role": "case_worker",
                                                "province": TANGER, "unit": "upe-casablanca", "email": "salma@",
                                                "phone": "abc", "language": "fr", "away_from": "2026-12-10",
                                                "away_until": "2026-12-01"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and _counts(engine) == before
    for field in ("username", "password", "unit", "email", "phone", "away_until"):
        assert f'id="f-{field}-error"' in html, field
    assert "court" not in html.split('id="f-password"')[1].split(">")[0]  # the password is not shown again
    assert 'value="salma@"' in html
    created = _page_post(web, "/admin/users/new", {"username": "salma.tanger", "password": PASSWORD,
                                                    "role": "case_worker", "province": TANGER,
                                                    "unit": "upe-tanger-pages", "email": "salma@upe.example",
                                                    "phone": "", "language": "ar", "full_name": "Salma Bennani"})
    assert created.status_code == 302 and created.headers["Location"].endswith("/admin/users/salma.tanger")
    edit = "/admin/users/salma.tanger"
    form = {"full_name": "Salma B.", "role": "case_worker", "province": TANGER, "unit": "upe-tanger-pages",
            "sector": "", "email": "salma@upe.example", "phone": "0661 23 45 67", "language": "ar"}
    assert _page_post(web, edit, form).status_code == 302
    wrong = _page_post(web, edit, {**form, "unit": "upe-casablanca"})
    assert wrong.status_code == 400 and 'id="f-unit-error"' in wrong.get_data(as_text=True)
    page = web.get(edit).get_data(as_text=True)
    token = csrf_of(page)
    weak = web.post(edit + "/password", data={"csrf_token": token, "password": "weak"}, follow_redirects=True)
    assert "10 caractères" in weak.get_data(as_text=True)
    assert web.post(edit + "/password", data={"csrf_token": token, "password": "Nouveau-mot-2026"}).status_code == 302
    assert web.post(edit + "/disable", data={"csrf_token": token}).status_code == 302
    assert 'id="enable-user"' in web.get(edit).get_data(as_text=True)
    assert web.post(edit + "/enable", data={"csrf_token": token}).status_code == 302
    off = _page_post(web, "/admin/units/upe-tanger-pages", {"active": "0"})
    assert off.status_code == 302
    engine.start_case(report(engine), UPE_ACTOR)
    busy = _page_post(web, "/admin/units/upe-tanger-assilah", {"active": "0"})
    assert busy.status_code == 409 and "dossiers ou des tâches ouverts" in busy.get_data(as_text=True)
    audit = web.get("/admin/audit").get_data(as_text=True)
    for label in ("Unité créée", "Compte créé", "Compte modifié", "Mot de passe réinitialisé", "Compte désactivé",
                  "Compte réactivé", "Unité modifiée"):
        assert label in audit, label
    actions = [e.action for e in _audit(engine)]
    assert actions.count("unit_changed") == 1  # the empty unit deactivated; the busy one refused
    assert web.get("/admin/users?role=case_worker&province=casablanca").get_data(as_text=True).count(
        '<tr id="user-') == 1


def test_the_administration_pages_are_for_administrators(web, engine: Engine):
    page_login(web, "cape.tanger")
    for url in ("/admin/users", "/admin/users/new", "/admin/users/upe.tanger", "/admin/units", "/admin/units/new",
                "/admin/units/upe-tanger-assilah", "/admin/audit"):
        assert web.get(url).status_code == 403, url
    assert 'id="menu-users"' not in web.get("/account").get_data(as_text=True)


def test_my_account_page_sets_and_clears_my_absence(web, engine: Engine, clock):
    page_login(web, "upe.tanger")
    backwards = _page_post(web, "/account", {"away_from": "2026-12-10", "away_until": "2026-12-01"})
    assert backwards.status_code == 400 and 'id="f-away_until-error"' in backwards.get_data(as_text=True)
    saved = _page_post(web, "/account", {"away_from": "2026-12-10", "away_until": "2026-12-12"})
    assert saved.status_code == 302
    with engine.db.reading() as session:
        user = session.scalar(select(User).where(User.username == "upe.tanger"))
        assert user is not None and str(user.away_from) == "2026-12-10"
    assert 'id="clear-away"' in web.get("/account").get_data(as_text=True)
    assert _page_post(web, "/account", {"clear": "1"}).status_code == 302
    with engine.db.reading() as session:
        user = session.scalar(select(User).where(User.username == "upe.tanger"))
        assert user is not None and user.away_from is None


def test_moving_a_case_worker_to_another_unit_gives_back_the_tasks_of_her_former_unit(api: ApiClient,
                                                                                      engine: Engine):
    _worker(api)
    _unit(api, "upe-tanger-beni-makada")
    case = engine.start_case(report(engine), UPE_ACTOR).case_id
    tid = task_id(engine, case, "reception_listening")
    token = _login(api, "salma.tanger", PASSWORD).get_json()["access_token"]
    assert api.client.post(f"/api/v1/tasks/{tid}/claim",
                           headers={"Authorization": f"Bearer {token}"}).status_code == 200
    renamed = _patch(api, "/api/v1/admin/users/salma.tanger", "admin", {"full_name": "Salma B."})
    assert renamed.status_code == 200, renamed.get_json()
    with engine.db.reading() as session:
        assert session.get_one(OpenTask, tid).assignee == "salma.tanger"  # her name is not her lane
    moved = _patch(api, "/api/v1/admin/users/salma.tanger", "admin", {"unit": "upe-tanger-beni-makada"})
    assert moved.status_code == 200, moved.get_json()
    with engine.db.reading() as session:
        task = session.get_one(OpenTask, tid)
        [told] = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "tasks_released_lane")).all()
    assert (task.state, task.assignee) == ("ready", None)
    assert told.recipient["province"] == TANGER and told.payload["username"] == "salma.tanger"
    assert events(engine, case, "task_released")[0].detail["reason"] == "lane_changed"
