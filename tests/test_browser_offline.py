"""Outreach without a network in a real Chromium (Playwright's offline mode): a report and a
listening form done offline, the browser closed and started again on the same profile, then
online: exactly one case and one completion on the server, with the data; the same action sent
again with its key: no second case; a conflict shown on the sync list; logging out wipes the queue
(the IndexedDB store empty, the key gone). Screenshots at 360 px in fr and ar: /tmp/shots-offline/."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.models import Case, IdempotencyKey, TaskRecord
from tests.helpers import ANSWERS, UPE, report, task_id
from tests.test_browser import ARGS, CHROMIUM, ROOT, site  # noqa: F401 (fixture)

SHOTS = Path(os.environ.get("HIMAYA_OFFLINE_SHOTS", "/tmp/shots-offline"))


@pytest.fixture(scope="module")
def playwright_instance():
    if CHROMIUM is None or not (ROOT / "node_modules" / "bpmn-js").exists():
        if os.environ.get("HIMAYA_TEST_REQUIRE_BROWSER"):
            pytest.fail("Chromium or the npm packages are missing (make test installs them)")
        pytest.skip("no Chromium or npm packages: run `make test`")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        yield playwright


def _phone(playwright: Any, profile: Path, locale: str = "fr-FR") -> Any:
    """A phone's browser: a persistent profile (what a restart keeps), 360 px wide."""
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=ARGS, headless=True, viewport={"width": 360, "height": 780},
        locale=locale, timezone_id="Africa/Casablanca", service_workers="allow")


def _login(page: Any, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", f"demo-{username}")
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def _until(page: Any, expression: str, timeout: float = 20) -> None:
    """Poll ``expression`` in the page (the pages' CSP allows no eval: wait_for_function cannot)."""
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        if page.evaluate(expression):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"never true: {expression}")


def _ready_offline(page: Any, url: str, pages: int) -> None:
    """The outreach page visited online: the key fetched, the worker's pages kept."""
    page.goto(url + "/outreach")
    _until(page, f"document.getElementById('offline-ready').dataset.kept === '{pages}'", 20)
    _until(page, "navigator.serviceWorker.controller !== null", 10)


def _queue(page: Any) -> Any:
    """What the phone keeps: {"items": [...], "keys": n}; None when there is no database at all."""
    return page.evaluate("""() => new Promise((resolve) => {
        const open = indexedDB.open('himaya-outreach', 1);
        open.onupgradeneeded = () => { open.transaction.abort(); resolve(null); };
        open.onerror = () => resolve(null);
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('queue')) { db.close(); resolve([]); return; }
          const t = db.transaction(['queue', 'keys']);
          const items = t.objectStore('queue').getAll(), keys = t.objectStore('keys').getAll();
          t.oncomplete = () => { db.close(); resolve({items: items.result.map(i => ({id: i.id, kind: i.kind,
            state: i.state, sealed: i.sealed, result: i.result, title: i.title})), keys: keys.result.length}); };
        };
    })""")


def _count(engine: Any, model: Any) -> int:
    with engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _fill_report(page: Any, first: str, last: str) -> None:
    page.fill("#first_name", first)
    page.fill("#last_name", last)
    page.check("#sex-M")
    page.fill("#age_estimate", "11")
    page.check("#cat-street")
    page.select_option("#source", "mobile_team")
    page.fill("#location_place", "Souk Casabarata")
    page.fill("#description", "Vu seul au marché, dort dehors.")


def test_a_report_and_a_listening_done_offline_reach_the_server_once_after_a_restart(
        playwright_instance, site, tmp_path):  # noqa: F811
    engine, url = site["engine"], site["url"]
    case_id = engine.start_case(report(engine), UPE).case_id
    held = task_id(engine, case_id, "reception_listening")
    engine.claim(held, UPE)
    cases_before = _count(engine, Case)
    profile = tmp_path / "phone"

    phone = _phone(playwright_instance, profile)
    page = phone.new_page()
    _login(page, url, "upe.tanger")
    _ready_offline(page, url, 3)  # the outreach page, the report form, the held listening form
    assert _queue(page)["keys"] == 1

    # In the street, no network: the report form and the listening form come from the phone.
    phone.set_offline(True)
    page.goto(url + "/cases/new")
    assert page.locator("#net-status.offline").is_visible()
    assert page.is_disabled("#check-earlier")
    _fill_report(page, "Yassine", "Horsligne")
    page.click("#open-case")
    page.wait_for_selector("#offline-saved.success:not([hidden])")
    page.screenshot(path=str(SHOTS / "offline-report-fr-360.png"), full_page=False)
    assert page.input_value("#first_name") == ""  # the form is ready for the next child

    page.goto(url + f"/outreach/tasks/{held}")
    page.fill("#f-listening_date", "2026-11-20")
    page.check("#f-child_heard")
    page.fill("#f-listening_summary", "Écoute faite au souk, l'enfant veut rentrer.")
    page.check("#f-diagnoses-4")  # social
    page.click("#offline-save")
    page.wait_for_selector("#offline-saved.success:not([hidden])")
    kept = _queue(page)
    assert sorted(i["kind"] for i in kept["items"]) == ["report", "step"]
    assert all(i["state"] == "waiting" and i["sealed"]["ct"] for i in kept["items"])
    # What the phone keeps is sealed: no word of it in the clear.
    dump = page.evaluate("""() => new Promise((resolve) => { const o = indexedDB.open('himaya-outreach', 1);
        o.onsuccess = () => { const t = o.result.transaction('queue'); const r = t.objectStore('queue').getAll();
        t.oncomplete = () => resolve(JSON.stringify(r.result)); }; })""")
    assert "Yassine" not in dump and "souk" not in dump.lower()
    page.goto(url + "/outreach")
    _until(page, "document.querySelectorAll('#queue-waiting .queue-item').length === 2")
    assert page.is_disabled("#sync-now")  # nothing to press without a network
    page.screenshot(path=str(SHOTS / "sync-list-offline-fr-360.png"), full_page=True)
    assert _count(engine, Case) == cases_before  # nothing reached the server
    phone.close()

    # The phone restarts (same profile), the network back; the worker signs in again.
    phone = _phone(playwright_instance, profile)
    page = phone.new_page()
    _login(page, url, "upe.tanger")
    page.goto(url + "/outreach")
    _until(page, "document.querySelectorAll('#queue-synced .queue-item').length === 2", 20)
    assert _count(engine, Case) == cases_before + 1
    with engine.db.reading() as session:
        new = session.scalars(select(Case).where(Case.id != case_id)).all()  # the names are sealed: by id
        done = session.scalars(select(TaskRecord).where(TaskRecord.id == held)).all()
    assert len(new) == 1 and new[0].categories == ["street"] and new[0].report["source"] == "mobile_team"
    assert (new[0].child_first_name, new[0].child_last_name, new[0].child_age_estimate) == ("Yassine", "Horsligne", 11)
    assert len(done) == 1 and done[0].data["listening_summary"] == "Écoute faite au souk, l'enfant veut rentrer."
    assert _count(engine, IdempotencyKey) == 2
    synced = _queue(page)["items"]
    assert all(i["state"] == "synced" and i["sealed"] is None for i in synced)  # sent: nothing left of the forms
    assert new[0].reference in page.locator("#queue-synced").inner_text()
    _until(page, "document.getElementById('offline-ready').dataset.kept === '2'")  # the step done: not kept
    assert not page.locator(f".offline-step[data-task-id='{held}']").is_visible()
    page.screenshot(path=str(SHOTS / "sync-list-synced-fr-360.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 370, f"readable at 360 px: no horizontal scrolling ({width})"

    phone.close()


def test_the_same_action_replayed_with_its_key_makes_no_second_case(playwright_instance, site, tmp_path):  # noqa: F811
    engine, url = site["engine"], site["url"]
    phone = _phone(playwright_instance, tmp_path / "phone")
    page = phone.new_page()
    _login(page, url, "sas.tanger")
    _ready_offline(page, url, 2)
    phone.set_offline(True)
    page.goto(url + "/cases/new")
    _fill_report(page, "Hamza", "Deuxfois")
    page.select_option("#unit", "upe-tanger-assilah")
    page.click("#open-case")
    page.wait_for_selector("#offline-saved.success:not([hidden])")
    [item] = _queue(page)["items"]
    sealed = item["sealed"]
    phone.set_offline(False)
    page.goto(url + "/outreach")
    _until(page, "document.querySelectorAll('#queue-synced .queue-item').length === 1", 20)
    before = _count(engine, Case)
    # The answer was lost on the way: the phone sends the very same action again, with its key.
    again = page.evaluate("""async ([id, sealed]) => {
        const session = await (await fetch('/outreach/key', {headers: {Accept: 'application/json'}})).json();
        const answer = await fetch('/outreach/sync/report', {method: 'POST',
          headers: {'Content-Type': 'application/json', 'X-CSRF-Token': session.csrf, 'Idempotency-Key': id},
          body: JSON.stringify({client_id: id, sealed})});
        return {status: answer.status, replayed: answer.headers.get('Idempotent-Replayed'), body: await answer.json()};
    }""", [item["id"], sealed])
    assert again["status"] == 201 and again["replayed"] == "true"
    assert _count(engine, Case) == before
    # A SAS team does not follow the case: the sync list says where it went, without a link to it.
    synced = page.locator("#queue-synced").inner_text()
    assert again["body"]["reference"] in synced and again["body"]["followed"] is False
    phone.close()


def test_a_conflict_is_shown_and_resolved_and_logging_out_wipes_the_queue(playwright_instance, site, tmp_path):  # noqa: F811
    engine, url = site["engine"], site["url"]
    case_id = engine.start_case(report(engine), UPE).case_id
    held = task_id(engine, case_id, "reception_listening")
    engine.claim(held, UPE)
    phone = _phone(playwright_instance, tmp_path / "phone", locale="ar-MA")
    page = phone.new_page()
    _login(page, url, "upe.tanger")
    page.click("a[lang=ar]")
    page.wait_for_load_state()
    _ready_offline(page, url, 3)
    phone.set_offline(True)
    page.goto(url + "/cases/new")
    assert page.get_attribute("html", "dir") == "rtl"  # the Arabic page, kept on the phone
    page.click("#open-case")  # empty: the phone names what is missing before sealing anything
    assert page.locator(".offline-error").count() >= 4
    assert _queue(page)["items"] == []
    _fill_report(page, "يوسف", "بدون شبكة")
    page.click("#open-case")
    page.wait_for_selector("#offline-saved.success:not([hidden])")
    page.screenshot(path=str(SHOTS / "offline-report-ar-360.png"), full_page=False)
    page.goto(url + f"/outreach/tasks/{held}")
    assert "الاستقبال والإنصات" in page.locator("h1").inner_text()
    page.fill("#f-listening_date", "2026-11-20")
    page.fill("#f-listening_summary", "إنصات في السوق.")
    page.check("#f-diagnoses-4")
    page.click("#offline-save")
    page.wait_for_selector("#offline-saved.success:not([hidden])")
    # Meanwhile, at the office, the step is done from another device.
    engine.complete(held, ANSWERS["reception_listening"], UPE)
    page.goto(url + "/outreach")
    page.screenshot(path=str(SHOTS / "sync-list-offline-ar-360.png"), full_page=True)
    phone.set_offline(False)
    page.click("#sync-now")
    page.wait_for_selector("#queue-attention .queue-item [data-reason=task_already_completed]", timeout=20000)
    assert page.locator("#queue-synced .queue-item").count() == 1
    assert "أُنجزت هذه المرحلة" in page.locator("#queue-attention").inner_text()
    assert page.get_attribute("#queue-attention a.open-case", "href") == f"/tasks/{held}"
    page.screenshot(path=str(SHOTS / "sync-list-conflict-ar-360.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 370, f"readable at 360 px: no horizontal scrolling ({width})"
    with engine.db.reading() as session:
        assert len(session.scalars(select(TaskRecord).where(TaskRecord.id == held)).all()) == 1
    # Resolved on the page: the worker removes it (the step was recorded at the office).
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#queue-attention .queue-item button.discard")
    _until(page, "document.querySelectorAll('#queue-attention .queue-item').length === 0")
    assert [i["state"] for i in _queue(page)["items"]] == ["synced"]

    # Another action waits (saved offline); logging out warns, then wipes the phone.
    phone.set_offline(True)
    page.goto(url + "/cases/new")
    _fill_report(page, "سلمى", "تمسح")
    page.click("#open-case")
    page.wait_for_selector("#offline-saved.success:not([hidden])")
    # The network drops as it leaves: the route is in place before the phone is back online,
    # or the page's "online" event sends the report first.
    page.route("**/outreach/sync/**", lambda route: route.abort())
    phone.set_offline(False)
    page.goto(url + "/outreach")
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.click("form[action$='/logout'] button[type=submit]")
    page.wait_for_url("**/login")
    assert asked and "1" in asked[0]
    after = _queue(page)
    assert after is None or after == [] or (after["items"] == [] and after["keys"] == 0), after
    assert page.evaluate("caches.keys()") == []
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0
    phone.close()


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_a_report_refused_at_sync_is_corrected_on_the_report_page_not_retyped(
        playwright_instance, site, tmp_path, language):  # noqa: F811
    """The phone cannot check the pathway's age limit: the report is refused at sync. "Correct it"
    opens the report page with what was typed and the field marked; corrected and sent, one case,
    and the phone's list shows it as sent."""
    engine, url = site["engine"], site["url"]
    phone = _phone(playwright_instance, tmp_path / "phone", locale="ar-MA" if language == "ar" else "fr-FR")
    page = phone.new_page()
    _login(page, url, "upe.tanger")
    if language == "ar":
        page.click("a[lang=ar]")
        page.wait_for_load_state()
    _ready_offline(page, url, 2)
    phone.set_offline(True)
    page.goto(url + "/cases/new")
    first = "Yassine" if language == "fr" else "ياسين"
    _fill_report(page, first, "Corrige")
    page.fill("#age_estimate", "25")  # over the pathway's limit: only the server knows it
    page.click("#open-case")
    page.wait_for_selector("#offline-saved.success:not([hidden])")
    phone.set_offline(False)
    page.goto(url + "/outreach")
    page.wait_for_selector("#queue-attention .queue-item [data-reason=invalid_fields]", timeout=20000)
    before = _count(engine, Case)
    page.screenshot(path=str(SHOTS / f"sync-list-to-correct-{language}-360.png"), full_page=True)

    page.click("#queue-attention .queue-item button.correct")
    page.wait_for_selector("#kept-offline")
    assert page.input_value("#first_name") == first and page.input_value("#age_estimate") == "25"
    assert page.locator("#age_estimate-error").is_visible() and page.is_checked("#cat-street")
    assert _count(engine, Case) == before, "opening it to correct writes nothing"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 370, f"readable at 360 px: no horizontal scrolling ({width})"
    page.screenshot(path=str(SHOTS / f"report-to-correct-{language}-360.png"), full_page=True)
    page.fill("#age_estimate", "12")
    page.click("#open-case")
    page.wait_for_load_state()
    assert _count(engine, Case) == before + 1
    page.goto(url + "/outreach")
    _until(page, "document.querySelectorAll('#queue-synced .queue-item').length === 1", 20)
    assert page.locator("#queue-attention .queue-item").count() == 0
    [item] = _queue(page)["items"]
    assert item["state"] == "synced" and item["sealed"] is None and item["result"]["corrected"] is True
    with engine.db.reading() as session:
        reference = session.scalars(select(Case.reference).order_by(Case.opened_at.desc())).first()
    assert reference in page.locator("#queue-synced").inner_text()
    page.screenshot(path=str(SHOTS / f"sync-list-corrected-{language}-360.png"), full_page=True)
    phone.close()
