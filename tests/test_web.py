"""Web pages through Flask's test client: sessions, CSRF, forms that keep what was typed."""
from __future__ import annotations

import re
from datetime import timedelta

from engine.runtime import Engine
from tests.helpers import ANSWERS, UPE, csrf_of, do, page_csrf, page_login, report, task_id


def test_login_sets_a_hardened_cookie_and_logout_ends_the_session(web):
    response = page_login(web, "upe.tanger")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert web.get("/tasks").status_code == 200
    token = page_csrf(web, "/tasks")
    assert web.post("/logout", data={"csrf_token": token}).status_code == 302
    assert web.get("/tasks").status_code == 302


def test_wrong_password_keeps_the_user_name(web):
    token = page_csrf(web)
    response = web.post("/login", data={"username": "upe.tanger", "password": "nope", "csrf_token": token})
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert 'value="upe.tanger"' in html and 'id="login-error"' in html


def test_every_form_needs_the_csrf_token(web, engine: Engine):
    assert web.post("/login", data={"username": "upe.tanger", "password": "demo-upe.tanger"}).status_code == 400
    page_login(web, "upe.tanger")
    case_id = engine.start_case(report(engine), UPE).case_id
    tid = task_id(engine, case_id, "reception_listening")
    assert web.post(f"/tasks/{tid}", data=ANSWERS["reception_listening"]).status_code == 400
    assert web.post(f"/tasks/{tid}/claim").status_code == 400
    assert web.post("/logout").status_code == 400


def test_session_expires_after_thirty_idle_minutes_and_returns_to_the_page(web, clock):
    page_login(web, "upe.tanger")
    clock.advance(timedelta(minutes=29))
    assert web.get("/tasks").status_code == 200
    clock.advance(timedelta(minutes=31))
    response = web.get("/tasks")
    assert response.status_code == 302 and "/login?next=/tasks" in response.headers["Location"]
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "flash warning" in page
    token = csrf_of(page)
    back = web.post("/login?next=/tasks", data={"username": "upe.tanger", "password": "demo-upe.tanger",
                                                "csrf_token": token})
    assert back.headers["Location"] == "/tasks"


def test_login_never_redirects_off_site(web):
    token = page_csrf(web)
    response = web.post("/login?next=https://evil.example/", data={
        "username": "upe.tanger", "password": "demo-upe.tanger", "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_task_form_redisplays_errors_and_keeps_values(web, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    tid = task_id(engine, case_id, "reception_listening")
    page_login(web, "upe.tanger")
    token = page_csrf(web, f"/tasks/{tid}")
    response = web.post(f"/tasks/{tid}", data={"csrf_token": token, "listening_summary": "Ce que j'ai tapé",
                                                "child_heard": "on"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Ce que j&#39;ai tapé" in html and 'id="f-child_heard" name="child_heard" type="checkbox" checked' in html
    assert 'id="listening_date-error"' in html and 'id="diagnoses-error"' in html
    done = web.post(f"/tasks/{tid}", data={"csrf_token": token, "listening_date": "2026-11-20",
                                            "listening_summary": "ok", "diagnoses": ["social"]})
    assert done.status_code == 302 and done.headers["Location"] == f"/cases/{case_id}"


def test_a_stale_form_says_so_plainly(web, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    tid = task_id(engine, case_id, "reception_listening")
    page_login(web, "upe.tanger")
    token = page_csrf(web, f"/tasks/{tid}")
    do(engine, case_id, "reception_listening", **ANSWERS["reception_listening"])  # someone else, meanwhile
    response = web.post(f"/tasks/{tid}", data={"csrf_token": token, "listening_date": "2026-11-20",
                                                "listening_summary": "ok", "diagnoses": ["social"]})
    assert response.status_code == 409
    assert "no longer open" in response.get_data(as_text=True) or "plus ouverte" in response.get_data(as_text=True)


def test_report_form_keeps_values_and_shows_field_errors(web, engine: Engine):
    page_login(web, "upe.tanger")
    token = page_csrf(web, "/cases/new")
    response = web.post("/cases/new", data={"csrf_token": token, "first_name": "Nour", "sex": "F",
                                             "birth_date": "2001-01-01", "unit": "upe-tanger-assilah",
                                             "source": "phone_line", "received_at": "2026-11-20T09:00",
                                             "categories": ["street"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="Nour"' in html and 'id="last_name-error"' in html
    assert 'id="cat-street" name="categories" value="street" checked' in html
    too_old = web.post("/cases/new", data={"csrf_token": token, "first_name": "Nour", "last_name": "B", "sex": "F",
                                            "birth_date": "2001-01-01", "unit": "upe-tanger-assilah",
                                            "source": "phone_line", "received_at": "2026-11-20T08:00",
                                            "categories": ["street"]})
    assert too_old.status_code == 400 and 'id="birth_date-error"' in too_old.get_data(as_text=True)
    ok = web.post("/cases/new", data={"csrf_token": token, "first_name": "Nour", "last_name": "B", "sex": "F",
                                       "birth_date": "2015-01-01", "unit": "upe-tanger-assilah",
                                       "source": "phone_line", "received_at": "2026-11-20T08:00",
                                       "categories": ["street"], "legal_basis": "protection_mandate"})
    assert ok.status_code == 302 and ok.headers["Location"].startswith("/cases/")


def test_the_report_form_sent_twice_opens_one_case(web, engine: Engine):
    """A double click, or a resend after an answer lost on a slow line: the form's key (a hidden
    field) makes the second sending answer the first case; the same form changed since is refused."""
    from sqlalchemy import func, select

    from engine.models import Case

    def cases() -> int:
        with engine.db.reading() as session:
            return int(session.scalar(select(func.count()).select_from(Case)) or 0)

    page_login(web, "upe.tanger")
    form = web.get("/cases/new").get_data(as_text=True)
    key = re.search(r'name="client_id" value="([^"]+)"', form)
    assert key is not None, "the report form carries its own key"
    other = re.search(r'name="client_id" value="([^"]+)"', web.get("/cases/new").get_data(as_text=True))
    assert other is not None and other[1] != key[1], "each form its own key"
    fields = {"csrf_token": page_csrf(web, "/cases/new"), "client_id": key[1], "first_name": "Nour", "last_name": "B",
              "sex": "F", "birth_date": "2015-01-01", "unit": "upe-tanger-assilah", "source": "phone_line",
              "received_at": "2026-11-20T08:00", "categories": ["street"], "legal_basis": "protection_mandate"}
    before = cases()
    first = web.post("/cases/new", data=fields)
    again = web.post("/cases/new", data=fields)
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"], "the same case, not a second one"
    assert cases() == before + 1
    changed = web.post("/cases/new", data={**fields, "first_name": "Noura"})
    html = changed.get_data(as_text=True)
    assert changed.status_code == 400 and 'id="client_id-error"' in html and cases() == before + 1
    fresh = re.search(r'name="client_id" value="([^"]+)"', html)
    assert fresh is not None and fresh[1] != key[1], "the form given back carries a new key"
    assert web.post("/cases/new", data={**fields, "first_name": "Noura", "client_id": fresh[1]}).status_code == 302
    assert cases() == before + 2
    without = {k: v for k, v in fields.items() if k != "client_id"}  # a page from before the key
    assert web.post("/cases/new", data={**without, "first_name": "Salma"}).status_code == 302
    assert cases() == before + 3


def test_pages_follow_the_policy(web, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    page_login(web, "upe.casa")
    assert web.get(f"/cases/{case_id}").status_code == 404
    assert web.get(f"/cases/{case_id}/diagram.bpmn").status_code == 404
    assert web.get(f"/tasks/{task_id(engine, case_id, 'reception_listening')}").status_code == 404
    assert web.get("/supervision").status_code == 403
    web.post("/logout", data={"csrf_token": page_csrf(web, "/tasks")})
    page_login(web, "parquet.tanger")
    assert web.get("/cases/new").status_code == 403


def test_security_headers_on_pages(web):
    response = web.get("/login")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in \
        policy.split("script-src")[1].split(";")[0]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.get_data(as_text=True)


def test_arabic_pages_are_right_to_left(web, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    page_login(web, "upe.tanger")
    web.get("/language/ar")
    html = web.get(f"/tasks/{task_id(engine, case_id, 'reception_listening')}").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "الاستقبال والإنصات" in html  # the step's title from the BPMN


def test_indicators_page(web, engine: Engine):
    engine.start_case(report(engine), UPE)
    page_login(web, "cppe.tanger")
    html = web.get("/indicators").get_data(as_text=True)
    assert 'id="indicators"' in html and "Enfants pris en charge" in html
    assert web.get("/indicators?from=2026-12-01&to=2026-01-01").status_code == 400
    web.post("/logout", data={"csrf_token": page_csrf(web, "/indicators")})
    page_login(web, "national")
    assert web.get("/").headers["Location"] == "/indicators"
    assert "cases qui permettraient de les retrouver par soustraction" in web.get("/indicators").get_data(as_text=True)


def test_admin_pages_are_for_administrators_and_need_csrf(web):
    page_login(web, "cape.tanger")
    for path in ("/admin/pathways", "/admin/forms/follow_up", "/admin/pathways/child_protection/migrate",
                 "/admin/pathways/child_protection/versions/1/modeler"):
        assert web.get(path).status_code == 403, path
    web.post("/logout", data={"csrf_token": page_csrf(web, "/tasks")})
    page_login(web, "admin")
    assert web.get("/admin/pathways").status_code == 200
    assert web.post("/admin/pathways/deploy", data="<x/>", content_type="application/xml").status_code == 400
    token = page_csrf(web, "/admin/pathways")
    checked = web.post("/admin/pathways/check", data="<x/>", content_type="application/xml",
                       headers={"X-CSRF-Token": token})
    assert checked.status_code == 422 and checked.get_json()["errors"]
    assert web.get("/admin/forms/Bad%20Name").status_code == 404
    bad_form = web.post("/admin/forms/follow_up", json={"components": "nope"}, headers={"X-CSRF-Token": token})
    assert bad_form.status_code == 422


def test_login_starts_a_new_session_no_fixation(web):
    before = page_csrf(web)  # a session exists before login (its CSRF token)
    cookie_before = web.get_cookie("session").value
    web.post("/login", data={"username": "upe.tanger", "password": "demo-upe.tanger", "csrf_token": before})
    assert web.get_cookie("session").value != cookie_before
    assert page_csrf(web, "/tasks") != before, "a fresh CSRF token after login"


def test_hsts_and_secure_cookies_behind_https(engine: Engine, monkeypatch):
    from api.app import create_app

    monkeypatch.setenv("HIMAYA_HTTPS", "1")
    client = create_app({"TESTING": True, "SECRET_KEY": "s"}, engine=engine).test_client()
    response = client.get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in response.headers["Set-Cookie"]
