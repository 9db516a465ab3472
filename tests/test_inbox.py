"""The inbox page: my notifications, unread first, each opening its page and marked read as it
opens; the menu counts the unread ones (on SQLite and PostgreSQL)."""
from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from api.users import add_user
from engine.models import Notification
from engine.runtime import Actor, Engine
from engine.staffing import release_all_of
from notifications.delivery import Deliverer
from tests.helpers import UPE, csrf_of, page_login, report, task_id
from tests.test_browser import browser, site  # noqa: F401  (the Chromium fixtures)


def _notified(engine: Engine) -> tuple[str, str]:
    """Two notifications for Tanger's coordinators: a duplicate to review (about a case) and a
    leaver's tasks given back (about no case). Returns (the second report's id, its reference)."""
    first = engine.start_case(report(engine, first_name="Yassine", last_name="Berrada"), UPE)
    second = engine.start_case(report(engine, first_name="Yassine", last_name="Berrada"), UPE)
    with engine.db.transaction() as session:
        add_user(session, username="upe.leaver", password="demo-upe.leaver-long-enough", role="case_worker",
                 now=engine.now(), province="tanger-assilah", unit="upe-tanger-assilah")
    engine.claim(task_id(engine, first.case_id, "reception_listening"), Actor("upe.leaver", "case_worker"))
    release_all_of(engine, "upe.leaver", Actor("cli", "administrator"))
    Deliverer(engine).run()
    with engine.db.reading() as session:
        from engine.models import Case
        return second.case_id, session.get_one(Case, second.case_id).reference


def test_the_inbox_lists_unread_first_and_opens_each_page(web: FlaskClient, engine: Engine):
    case_id, reference = _notified(engine)
    page_login(web, "cape.tanger")
    html = web.get("/tasks").get_data(as_text=True)
    assert 'id="menu-inbox"' in html and '<span class="count">2<' in html
    inbox = web.get("/inbox").get_data(as_text=True)
    assert inbox.count('class="notification unread"') == 2 and "Aucun message lu" in inbox
    assert "upe.leaver" in inbox and reference in inbox
    assert "un doublon possible à examiner" in inbox  # each topic in words, not a bare reference
    with engine.db.reading() as session:
        rows = {n.topic: n.id for n in session.scalars(select(Notification).where(
            Notification.username == "cape.tanger"))}
    csrf = csrf_of(inbox)
    to_case = web.post(f"/inbox/{rows['duplicate_review']}/open", data={"csrf_token": csrf})
    assert to_case.status_code == 302 and to_case.headers["Location"].endswith(f"/cases/{case_id}")
    to_list = web.post(f"/inbox/{rows['tasks_released']}/open", data={"csrf_token": csrf})
    assert to_list.status_code == 302 and to_list.headers["Location"].endswith("/tasks?scope=available")
    inbox = web.get("/inbox").get_data(as_text=True)
    assert 'class="notification unread"' not in inbox and "Rien de nouveau" in inbox
    assert '<span class="count">' not in web.get("/tasks").get_data(as_text=True).split('id="menu-inbox"')[1][:80]
    # another person's notification is not mine to open
    web.post("/logout", data={"csrf_token": csrf})
    page_login(web, "upe.tanger")
    assert web.post(f"/inbox/{rows['tasks_released']}/open",
                    data={"csrf_token": csrf_of(web.get('/inbox').get_data(as_text=True))}).status_code == 404


def test_a_notification_link_never_leaves_the_site():
    from api.readers.notifications import _page_link

    assert _page_link("/duplicates") == "/duplicates"
    assert [_page_link(v) for v in ("//evil.example", "https://evil.example", "\\\\evil", None, 3)] == [None] * 5


def test_the_inbox_in_chromium_in_french_and_arabic(request):
    from tests.test_browser import ARTIFACTS, _login, _page

    chromium, live = request.getfixturevalue("browser"), request.getfixturevalue("site")
    _notified(live["engine"])
    for language, width in (("fr", 1280), ("ar", 360)):
        page = _page(chromium, width)
        _login(page, live, "cape.tanger")
        page.goto(f"{live['url']}/inbox")
        if language == "ar":
            page.click("a[lang=ar]")
            page.wait_for_load_state()
            assert page.get_attribute("html", "dir") == "rtl"
            assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        assert page.locator("#unread li.notification").count() == 2
        page.screenshot(path=str(ARTIFACTS / f"47-inbox-{language}-{width}px.png"), full_page=True)
        page.context.close()
