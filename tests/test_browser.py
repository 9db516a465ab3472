"""The web pages in a real headless Chromium (Debian's package), driven by Playwright.

`make test` installs Chromium with apt and sets HIMAYA_TEST_REQUIRE_BROWSER=1, so a missing
browser fails the run instead of skipping it. Screenshots of each page go to test-artifacts/.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from engine.assembly import assemble_engine
from engine.db import Database
from tests.conftest import SHARED_DEFINITIONS
from tests.helpers import ANSWERS, KEY_ENV, UPE, do, report, task_id

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium") if Path(p).exists()), None)
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None or not (ROOT / "node_modules" / "bpmn-js").exists():
        if os.environ.get("HIMAYA_TEST_REQUIRE_BROWSER"):
            pytest.fail("Chromium or the npm packages are missing (make test installs them)")
        pytest.skip("no Chromium or npm packages: run `make test`")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def site(sqlite_template, tmp_path):
    """A live server on a copy of the test database (real clock)."""
    from werkzeug.serving import make_server

    from api.app import create_app

    path = tmp_path / "himaya.sqlite"
    shutil.copy(sqlite_template, path)
    engine = assemble_engine(Database(f"sqlite:///{path}"), definitions=SHARED_DEFINITIONS)
    app = create_app({"TESTING": False, "SECRET_KEY": "browser-secret"}, engine=engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "engine": engine, "db_url": f"sqlite:///{path}"}
    server.shutdown()
    engine.db.dispose()


def _page(browser: Browser, width: int = 1280) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="fr-FR")
    return context.new_page()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _login(page: Page, site: dict[str, Any], username: str) -> None:
    page.goto(site["url"] + "/login")
    page.fill("#username", username)
    page.fill("#password", f"demo-{username}")
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def test_report_a_child_then_complete_a_step_after_an_error(browser, site):
    page = _page(browser)
    page.goto(site["url"] + "/login")
    _shot(page, "01-login")
    _login(page, site, "upe.tanger")
    assert page.url.endswith("/tasks")
    page.goto(site["url"] + "/cases/new")
    page.fill("#first_name", "Nour")
    page.fill("#last_name", "Browser")
    page.check("#sex-F")
    page.fill("#birth_date", "2015-02-03")
    page.check("#cat-out_of_school")
    page.select_option("#source", "phone_line")
    _shot(page, "02-report")
    page.click("#open-case")
    page.wait_for_load_state()
    assert "/cases/" in page.url, page.content()[:500]
    reference = page.locator("h1").inner_text()
    assert "TNG-" in reference
    # the open step: reception and listening
    page.click("text=Accueil et écoute")
    page.wait_for_load_state()
    page.fill("#f-listening_summary", "Résumé gardé")
    page.click("form.step-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#form-errors").is_visible()
    assert page.locator("#listening_date-error").is_visible()
    assert page.input_value("#f-listening_summary") == "Résumé gardé"
    _shot(page, "03-task-with-errors")
    page.fill("#f-listening_date", "2026-11-20")
    page.check("#f-diagnoses-4")  # social
    page.click("form.step-form button[type=submit]")
    page.wait_for_load_state()
    assert "/cases/" in page.url
    page.wait_for_selector("#diagram[data-ready=true]", timeout=15000)
    marked = page.evaluate("""() => ({
        completed: document.querySelector('[data-element-id="reception_listening"]').classList.contains('completed'),
        open: document.querySelector('[data-element-id="diagnosis_social"]').classList.contains('open'),
        other: document.querySelector('[data-element-id="orientation"]').classList.length })""")
    assert marked["completed"] and marked["open"], marked
    _shot(page, "04-case-diagram")
    page.goto(site["url"] + "/tasks")
    _shot(page, "05-tasks")


def test_arabic_pages_are_rtl_with_arabic_labels(browser, site):
    engine = site["engine"]
    case_id = engine.start_case(report(engine), UPE).case_id
    page = _page(browser, width=360)
    _login(page, site, "upe.tanger")
    page.click("a[lang=ar]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "dir") == "rtl" and page.get_attribute("html", "lang") == "ar"
    page.goto(site["url"] + f"/tasks/{task_id(engine, case_id, 'reception_listening')}")
    assert "الاستقبال والإنصات" in page.locator("h1").inner_text()
    assert "تاريخ" in page.locator("label[for=f-listening_date]").inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 370, f"readable at 360 px: no horizontal scrolling ({width})"
    _shot(page, "06-task-arabic-360px")


def test_supervisor_sees_an_overdue_task_after_the_clock_is_advanced(browser, site):
    engine = site["engine"]
    case = engine.start_case(report(engine, categories=["out_of_school"]), UPE)
    later = (engine.now() + timedelta(days=8)).isoformat()
    done = subprocess.run([sys.executable, "-m", "api.cli", "scheduler", "run-once", "--now", later], cwd=ROOT,
                          env={"HIMAYA_DATABASE_URL": site["db_url"], "PATH": "/usr/bin:/bin", **KEY_ENV},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    page = _page(browser)
    _login(page, site, "cppe.tanger")
    assert page.url.endswith("/supervision")
    overdue = page.locator("#overdue").inner_text()
    assert case.case_reference in overdue
    _shot(page, "07-supervision")


def test_a_case_worker_of_another_province_cannot_open_the_case(browser, site):
    engine = site["engine"]
    case_id = engine.start_case(report(engine), UPE).case_id
    page = _page(browser)
    _login(page, site, "upe.casa")
    response = page.goto(site["url"] + f"/cases/{case_id}")
    assert response is not None and response.status == 404
    assert "Amina" not in page.content()
    _shot(page, "08-other-province-404")


def test_keyboard_navigation_reaches_the_form_with_visible_focus(browser, site):
    page = _page(browser)
    page.goto(site["url"] + "/login")
    page.locator("h1").click()  # the keyboard starts from the top of the page
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    for _ in range(15):
        if page.evaluate("document.activeElement.id") == "username":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "username", "the form is reachable by keyboard"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none", "visible focus"
    page.keyboard.type("upe.tanger")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type("demo-upe.tanger")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/tasks"), "logged in with the keyboard only"


def test_claiming_from_the_task_list_updates_the_row_in_place(browser, site):
    engine = site["engine"]
    case_id = engine.start_case(report(engine), UPE).case_id
    tid = task_id(engine, case_id, "reception_listening")
    page = _page(browser)
    _login(page, site, "upe.tanger")
    page.goto(site["url"] + "/tasks")
    page.evaluate("window.__marker = 'same page'")
    page.click(f"#task-{tid} button")
    page.wait_for_selector(f"#task-{tid}:has-text('upe.tanger')")
    assert page.evaluate("window.__marker") == "same page", "htmx swapped the row without a reload"
    from engine.models import OpenTask
    with engine.db.reading() as session:
        assert session.get(OpenTask, tid).assignee == "upe.tanger"


def test_admin_adds_a_step_in_the_modeler_and_deploys_a_new_version(browser, site):
    page = _page(browser)
    _login(page, site, "admin")
    assert page.url.endswith("/admin/pathways")
    _shot(page, "09-admin-pathways")
    page.goto(site["url"] + "/admin/pathways/child_protection/versions/1/modeler")
    page.wait_for_selector("#canvas[data-ready=true]", timeout=20000)
    page.evaluate("""() => {
        const m = window.himayaModeler, reg = m.get('elementRegistry'), modeling = m.get('modeling');
        const source = reg.get('reintegration'), target = reg.get('gw_placement');
        modeling.removeConnection(reg.get('flow_reintegration_to_placement'));
        const shape = modeling.createShape({type: 'bpmn:UserTask'},
                                           {x: source.x + source.width / 2 + 40, y: source.y + 140}, source.parent);
        modeling.updateProperties(shape, {id: 'family_mediation', name: 'Médiation familiale'});
        modeling.connect(source, shape);
        modeling.connect(shape, target);
        m.get('selection').select(shape);
    }""")
    page.select_option("#prop-role", "case_worker")
    page.select_option("#prop-form", "follow_up")
    page.check("#due-same")
    page.fill("#due-all-n", "7")
    page.dispatch_event("#due-all-n", "change")
    page.fill("#prop-title_ar", "الوساطة الأسرية")
    page.dispatch_event("#prop-title_ar", "change")
    page.fill("#prop-title_en", "Family mediation")
    page.dispatch_event("#prop-title_en", "change")
    page.click("#deploy")
    page.wait_for_selector("#result[data-state]")
    assert page.get_attribute("#result", "data-state") == "ok", page.inner_text("#problems")
    assert "Version 2" in page.inner_text("#result")
    _shot(page, "10-admin-modeler-deployed")
    page.goto(site["url"] + "/admin/pathways")
    assert page.locator("#version-child_protection-2").is_visible()
    page.locator("#version-child_protection-2 a").nth(1).click()
    page.wait_for_selector("#changes")
    assert "family_mediation" in page.inner_text("#changes")
    _shot(page, "11-admin-compare")


def test_an_invalid_diagram_shows_the_error_on_its_element(browser, site):
    page = _page(browser)
    _login(page, site, "admin")
    page.goto(site["url"] + "/admin/pathways/child_protection/versions/1/modeler")
    page.wait_for_selector("#canvas[data-ready=true]", timeout=20000)
    page.evaluate("() => { const m = window.himayaModeler; "
                  "m.get('selection').select(m.get('elementRegistry').get('follow_up')); }")
    page.select_option("#prop-form", "")
    page.click("#check")
    page.wait_for_selector("#result[data-state=invalid]")
    assert page.locator("#problems li[data-element=follow_up]").is_visible()
    assert page.evaluate("document.querySelector('[data-element-id=follow_up]').classList.contains('invalid')")
    _shot(page, "12-admin-modeler-error")


def test_a_task_dropped_on_the_canvas_and_left_unconnected_is_flagged_on_it(browser, site):
    page = _page(browser, width=1440)
    _login(page, site, "admin")
    page.goto(site["url"] + "/admin/pathways/child_protection/versions/1/modeler")
    page.wait_for_selector("#canvas[data-ready=true]", timeout=20000)
    created = page.evaluate("""() => { const m = window.himayaModeler;
        const shape = m.get('elementFactory').createShape({ type: 'bpmn:UserTask' });
        const root = m.get('canvas').getRootElement();
        const lane = m.get('elementRegistry').filter(e => e.type === 'bpmn:Lane')[0];
        return m.get('modeling').createShape(shape, { x: 400, y: 60 }, lane || root).id; }""")
    page.click("#check")
    page.wait_for_selector("#result[data-state=invalid]")
    assert page.locator(f"#problems li[data-element={created}]").count() >= 2
    assert "Aucune flèche ne mène à cet élément" in page.inner_text("#problems")  # in the page's language
    assert page.evaluate(f"document.querySelector('[data-element-id={created}]').classList.contains('invalid')")
    _shot(page, "12b-admin-modeler-unconnected")


def test_admin_form_editor_loads_and_saves(browser, site):
    page = _page(browser)
    _login(page, site, "admin")
    page.goto(site["url"] + "/admin/forms/follow_up")
    page.wait_for_selector("#form-editor[data-ready=true]", timeout=20000)
    page.click("#save-form")
    page.wait_for_selector("#form-result[data-state]")
    assert page.get_attribute("#form-result", "data-state") == "ok", page.inner_text("#form-result")
    _shot(page, "13-admin-form-editor")


def test_a_coordinator_builds_an_action_plan_and_the_cppe_reads_it_in_arabic(browser, site):
    page = _page(browser)
    _login(page, site, "cape.tanger")
    page.click("nav >> text=Plans d'action")
    page.click("text=Ouvrir un nouveau plan")
    page.fill("#title", "Plan provincial 2027-2029")
    page.fill("#period_start", "2027-01-01")
    page.fill("#period_end", "2029-12-31")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "Brouillon" in page.locator("#plan-status").inner_text()
    page.select_option("#area", "detection_care")
    page.fill("#add-add_priority-", "Détection et prise en charge")
    page.locator("form:has(#add-add_priority-) button").click()
    page.fill("#add-add_general-0", "Améliorer la détection")
    page.locator("form:has(#add-add_general-0) button").click()
    page.fill("[id='add-add_specific-0.0']", "Mettre en place des équipes mobiles")
    page.locator("form:has([id='add-add_specific-0.0']) button").click()
    page.click("text=Ajouter une action")
    page.fill("#title", "Former deux équipes mobiles")
    page.fill("#budget_mad", "-5")
    page.fill("#deadline", "2027-06-30")
    page.click("main button[type=submit]")
    assert page.locator("#pilot-error").is_visible() and page.locator("#budget_mad-error").is_visible()
    page.fill("#pilot", "Mme Salma Bennani")
    page.fill("#budget_mad", "120000")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "Former deux équipes mobiles" in page.locator("table.canvas").inner_text()
    _shot(page, "08-action-plan-draft")
    with page.expect_download() as download:
        page.click("[data-export=pdf]")
    assert download.value.suggested_filename.endswith(".pdf")

    arabic = _page(browser, width=360)
    _login(arabic, site, "cppe.tanger")
    arabic.goto(site["url"] + "/language/ar?next=/plans")
    assert arabic.locator("html").get_attribute("dir") == "rtl"
    arabic.click("text=Plan provincial 2027-2029")
    assert "مسودة" in arabic.locator("#plan-status").inner_text()
    assert arabic.locator("form[action$='/edit']").count() == 0, "the CPPE reads the plan, it does not edit it"
    _shot(arabic, "09-action-plan-arabic-360px")


def test_the_api_docs_run_under_the_content_security_policy(browser, site):
    page = _page(browser)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda answer: problems.append(f"{answer.status} {answer.url}")
            if answer.status >= 400 and not answer.url.endswith("/favicon.ico") else None)
    response = page.goto(site["url"] + "/api/v1/docs")
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("#swagger-ui-container[data-ready=true] .opblock", timeout=20000)
    assert page.locator(".opblock").count() >= 20
    assert not problems, problems
    _shot(page, "10-api-docs")


def test_a_stored_name_with_a_right_to_left_override_keeps_the_case_header_in_order(browser, site):
    from sqlalchemy import update

    from engine.models import Case

    engine = site["engine"]
    case_id = engine.start_case(report(engine), UPE).case_id
    with engine.db.transaction() as session:
        session.execute(update(Case).where(Case.id == case_id).values(child_first_name="\u202eanimA"))
    page = _page(browser)
    _login(page, site, "upe.tanger")
    page.goto(f"{site['url']}/cases/{case_id}")
    edges = page.evaluate("""() => {
        const name = document.querySelector('#identity bdi.child-name');
        const label = name.closest('dd').previousElementSibling;
        const next = name.closest('dd').nextElementSibling;
        return {name: name.getBoundingClientRect().left, label: label.getBoundingClientRect().right,
                bottom: name.getBoundingClientRect().bottom, next: next.getBoundingClientRect().top};
    }""")
    assert edges["name"] >= edges["label"] - 1, f"the name still follows its label: {edges}"
    assert edges["next"] >= edges["bottom"] - 1, f"the sex and birth date still follow the name: {edges}"
    _shot(page, "11-case-with-override-in-name")


def test_the_social_mediator_enrols_a_young_person_with_consent(browser, site):
    """Aftercare from the menu: refused without consent (the error at the box), then enrolled; in
    French, in Arabic and at 360 px (screenshots also in $HIMAYA_SHOTS, when set)."""
    from datetime import date

    shots = Path(os.environ["HIMAYA_SHOTS"]) if os.environ.get("HIMAYA_SHOTS") else None

    def shot(page: Page, name: str) -> None:
        _shot(page, name)
        if shots:
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    born = date(date.today().year - 17, 1, 1).isoformat()
    page = _page(browser)
    _login(page, site, "mediateur.tanger")
    page.click("nav >> text=Accompagnement 16–22 ans")
    page.wait_for_load_state()
    assert page.url.endswith("/aftercare/new")
    page.fill("#first_name", "Hind")
    page.fill("#last_name", "Bennani")
    page.check("#sex-F")
    page.fill("#birth_date", born)
    page.fill("#description", "Sortie prévue en juin ; souhaite une formation en cuisine.")
    shot(page, "aftercare-start-fr")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#consent_given-error").is_visible()
    assert page.input_value("#first_name") == "Hind"
    shot(page, "aftercare-start-fr-without-consent")
    page.check("#consent_given")
    page.check("#method-oral_witnessed")
    page.fill("#consent_witness", "Mme Naima, éducatrice")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "/cases/" in page.url, page.content()[:500]
    assert "Mme Naima" in page.locator("#young-consent").inner_text()
    shot(page, "aftercare-case-fr")

    arabic = _page(browser)
    _login(arabic, site, "mediateur.tanger")
    arabic.click("a[lang=ar]")
    arabic.wait_for_load_state()
    arabic.goto(site["url"] + "/aftercare/new")
    assert arabic.get_attribute("html", "dir") == "rtl"
    assert "موافقة الشاب" in arabic.locator("#consent legend").first.inner_text()
    shot(arabic, "aftercare-start-ar")

    narrow = _page(browser, width=360)
    _login(narrow, site, "mediateur.tanger")
    narrow.goto(site["url"] + "/aftercare/new")
    width = narrow.evaluate("document.documentElement.scrollWidth")
    assert width <= 370, f"readable at 360 px: no horizontal scrolling ({width})"
    shot(narrow, "aftercare-start-fr-360px")
    narrow.click("a[lang=ar]")
    narrow.wait_for_load_state()
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 370
    shot(narrow, "aftercare-start-ar-360px")


def test_violence_found_at_the_listening_reaches_the_coordinators_view_of_the_judicial_branch(browser, site):
    engine = site["engine"]
    case_id = engine.start_case(report(engine), UPE).case_id
    page = _page(browser, width=360)  # the listening is often written in the field
    _login(page, site, "upe.tanger")
    page.goto(site["url"] + f"/tasks/{task_id(engine, case_id, 'reception_listening')}")
    page.fill("#f-listening_date", "2026-11-20")
    page.fill("#f-listening_summary", "L'enfant raconte des coups répétés.")
    page.check("#f-concerns_found-1")  # physical or psychological violence
    page.check("#f-diagnoses-4")  # social
    page.click("form.step-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#concerns_detail-error").is_visible(), "the facts are required with the violence ticked"
    assert page.is_checked("#f-concerns_found-1"), "the answers are kept"
    _shot(page, "07-listening-violence-needs-facts-360px")
    page.fill("#f-concerns_detail", "Coups de ceinture, selon l'enfant, par l'oncle.")
    page.click("form.step-form button[type=submit]")
    page.wait_for_load_state()
    assert "/cases/" in page.url
    card = page.locator("#judicial")
    assert "Décisions attendues du parquet : 1" in card.inner_text()
    assert "Accueil et écoute" in card.inner_text() and "Violence physique ou psychologique" in card.inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 370, f"readable at 360 px: no horizontal scrolling ({width})"
    do(engine, case_id, "judicial_decision", judicial_measure="investigation_opened", decision_date="2026-11-22",
       court_reference="PR-2026-101")
    do(engine, case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    coordinator = _page(browser)
    _login(coordinator, site, "cape.tanger")
    coordinator.goto(site["url"] + f"/tasks/{task_id(engine, case_id, 'orientation')}")
    assert "PR-2026-101" in coordinator.locator("#judicial").inner_text()
    _shot(coordinator, "08-orientation-with-judicial-decision")
    coordinator.click("a[lang=ar]")
    coordinator.wait_for_load_state()
    assert "الحماية القضائية" in coordinator.locator("#judicial").inner_text()
    _shot(coordinator, "09-orientation-with-judicial-decision-arabic")


def test_a_prosecutor_notification_nobody_received_is_shown_to_the_coordinator_and_resolved(browser, site):
    """No active justice partner in Tanger-Assilah: the coordinator sees it on the task list,
    opens the incident and records how the prosecutor's office was informed, in French then Arabic."""
    from sqlalchemy import update

    from engine.models import User
    from notifications.delivery import Deliverer

    engine = site["engine"]
    with engine.db.transaction() as session:
        session.execute(update(User).where(User.username == "parquet.tanger").values(active=False))
    first = engine.start_case(report(engine, categories=["victim_violence"]), UPE)
    second = engine.start_case(report(engine, categories=["victim_violence"], first_name="Hiba"), UPE)
    assert Deliverer(engine).run().undeliverable == 2
    page = _page(browser)
    _login(page, site, "cape.tanger")
    line = page.locator("#incidents-line")
    assert "Notifications au parquet non remises : 2." in line.inner_text()
    _shot(page, "20-tasks-incident-line-fr")
    line.locator("a").click()
    page.wait_for_load_state()
    assert page.url.endswith("/incidents")
    rows = page.locator("#open-incidents tbody tr")
    assert rows.count() == 2
    assert "Aucun partenaire justice actif (parquet) dans la province de Tanger-Assilah." in rows.first.inner_text()
    _shot(page, "21-incidents-fr")
    page.locator("#open-incidents tbody tr", has_text=first.case_reference).locator("text=Enregistrer").click()
    page.wait_for_load_state()
    page.fill("#note", "Substitut joint")
    page.click("#resolve-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#form-errors").is_visible() and page.locator("#informed_via-error").is_visible()
    assert page.input_value("#note") == "Substitut joint", "what was typed stays"
    _shot(page, "22-resolve-form-errors-fr")
    page.check("#via-phone")
    page.fill("#acknowledgment_reference", "PV-118")
    page.click("#resolve-form button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith("/incidents") and page.locator("#open-incidents tbody tr").count() == 1
    assert first.case_reference in page.locator("#resolved-incidents").inner_text()
    _shot(page, "23-incidents-after-resolve-fr")
    page.goto(site["url"] + f"/cases/{first.case_id}")
    timeline = page.locator("ol.timeline").inner_text()
    assert "Parquet informé par un autre moyen (Téléphone)" in timeline
    assert "La notification au parquet n'a pas pu être remise" in timeline

    arabic = _page(browser, width=360)
    _login(arabic, site, "cape.tanger")
    arabic.goto(site["url"] + "/language/ar?next=/tasks")
    assert arabic.locator("html").get_attribute("dir") == "rtl"
    assert "إخبارات النيابة العامة التي لم يتم إيصالها: 1." in arabic.locator("#incidents-line").inner_text()
    arabic.goto(site["url"] + f"/cases/{second.case_id}")
    assert "تعذر إيصال إخبار النيابة العامة" in arabic.locator(".case-incident").inner_text()
    _shot(arabic, "24-case-incident-ar-360px")
    arabic.goto(site["url"] + "/incidents")
    assert "لا يوجد أي شريك نشط من قطاع العدل" in arabic.locator("#open-incidents").inner_text()
    width = arabic.evaluate("document.documentElement.scrollWidth")
    assert width <= 370, f"readable at 360 px: no horizontal scrolling ({width})"
    _shot(arabic, "25-incidents-ar-360px")
    arabic.locator("#open-incidents a", has_text="تسجيل").click()
    arabic.wait_for_load_state()
    arabic.check("#via-letter")
    arabic.fill("#informed_at", "2099-01-01T10:00")
    arabic.click("#resolve-form button[type=submit]")
    arabic.wait_for_load_state()
    assert "هذا التاريخ في المستقبل." in arabic.locator("#informed_at-error").inner_text()
    _shot(arabic, "26-resolve-form-errors-ar-360px")
    wide = _page(browser)
    _login(wide, site, "cape.tanger")
    wide.goto(site["url"] + "/language/ar?next=/incidents")
    _shot(wide, "27-incidents-ar")
    wide.locator("#open-incidents a", has_text="تسجيل").click()
    wide.wait_for_load_state()
    _shot(wide, "28-resolve-form-ar")


def test_a_cape_social_worker_without_a_upe_reports_a_child_in_french_and_arabic(browser, site):
    """Chefchaouen has no UPE: its CAPE's social worker reports the child to the CAPE and takes the
    listening; the Arabic report page reads right to left at 360 px."""
    page = _page(browser)
    _login(page, site, "social.chaouen")
    page.goto(site["url"] + "/cases/new")
    assert page.locator("#unit option").all_inner_texts() == ["\u2068CAPE Chefchaouen\u2069"]
    assert page.input_value("#unit") == "cape-chefchaouen"
    page.fill("#first_name", "Hiba")
    page.fill("#last_name", "Navigateur")
    page.check("#sex-F")
    page.fill("#birth_date", "2014-06-12")
    page.check("#cat-out_of_school")
    page.select_option("#source", "school")
    _shot(page, "20-report-cape-fr")
    page.click("#open-case")
    page.wait_for_load_state()
    assert "/cases/" in page.url and "CHF-" in page.locator("h1").inner_text(), page.content()[:500]
    page.click("text=Accueil et écoute")
    page.wait_for_load_state()
    assert page.locator("form.step-form").is_visible(), "the CAPE's social worker takes the UPE's step"

    small = _page(browser, width=360)
    _login(small, site, "social.chaouen")
    small.click("a[lang=ar]")
    small.wait_for_load_state()
    small.goto(site["url"] + "/cases/new")
    assert small.get_attribute("html", "dir") == "rtl"
    assert "الوحدة التي تستقبل الطفل" in small.locator("label[for=unit]").inner_text()
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 370, f"readable at 360 px: no horizontal scrolling ({width})"
    _shot(small, "21-report-cape-ar-360px")


def test_a_sas_mobile_worker_reports_a_child_to_the_provinces_cape(browser, site):
    page = _page(browser)
    _login(page, site, "sas.tanger")
    page.goto(site["url"] + "/cases/new")
    assert page.input_value("#source") == "mobile_team"
    assert page.locator("#unit option").evaluate_all("options => options.map(o => o.value)") == [
        "", "upe-tanger-assilah", "cape-tanger-assilah"], "nothing chosen for the team; the UPE first"
    assert page.locator("#unit-hint").is_visible()
    page.fill("#first_name", "Rayan")
    page.fill("#last_name", "Rue")
    page.check("#sex-M")
    page.fill("#age_estimate", "11")
    page.check("#cat-street")
    page.select_option("#unit", "cape-tanger-assilah")
    _shot(page, "22-report-sas-fr")
    page.click("#open-case")
    page.wait_for_load_state()
    assert page.url.endswith("/cases/new")
    flash = page.locator(".flash").inner_text()
    assert "TNG-" in flash and "CAPE Tanger-Assilah" in flash, flash
    _shot(page, "23-report-sas-sent-fr")
    page.click("a[lang=ar]")
    page.wait_for_load_state()
    page.goto(site["url"] + "/cases/new")
    assert "فريقكم المتنقل" in page.locator("#unit-hint").inner_text()
    _shot(page, "24-report-sas-ar")


def test_finding_a_child_the_search_and_the_check_for_earlier_reports_in_french_and_arabic(browser, site):
    """The case list's search results and the report form's check for an earlier report of the same
    child, in French and Arabic, at 360 px and on a desktop: nothing overflows, names stay isolated."""
    engine = site["engine"]
    earlier = engine.start_case(report(engine, first_name="Karim", last_name="Bennani", sex="M",
                                       birth_date="2013-05-14", categories=["street"]), UPE)
    engine.start_case(report(engine, first_name="Salma", last_name="Bennani", birth_date="2015-02-03"), UPE)
    engine.start_case(report(engine, first_name=None, last_name=None, identity_known=False, sex="U",
                             alias="Garçon de la gare routière Bennani", birth_date=None, age_estimate=11), UPE)

    def narrow_enough(page: Page) -> None:
        width = page.evaluate("document.documentElement.scrollWidth")
        viewport = page.viewport_size
        assert viewport is not None and width <= viewport["width"] + 10, f"no horizontal scrolling ({width})"

    for language, width in (("fr", 1280), ("fr", 360), ("ar", 360), ("ar", 1280)):
        suffix = f"{language}-360px" if width == 360 else language
        page = _page(browser, width=width)
        _login(page, site, "upe.tanger")
        page.goto(site["url"] + f"/language/{language}?next=/cases")
        assert page.get_attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")
        page.fill("#q", "Bennani")
        page.click("#case-search .search-row button")
        page.wait_for_load_state()
        assert page.locator("#results tbody tr").count() == 3
        assert page.locator("#results bdi.child-name").first.is_visible()
        narrow_enough(page)
        _shot(page, f"30-case-search-{suffix}")

        page.goto(site["url"] + "/cases/new")
        page.fill("#first_name", "Karim")
        page.fill("#last_name", "Bennani")
        page.fill("#other_first_name", "كريم")
        page.check("#sex-M")
        page.fill("#birth_date", "2013-05-14")
        page.click("#check-earlier")
        page.wait_for_load_state()
        panel = page.locator("#earlier-reports")
        assert earlier.case_reference in panel.inner_text()
        assert panel.locator("a").get_attribute("target") == "_blank"
        assert page.input_value("#first_name") == "Karim", "the form keeps what was typed"
        narrow_enough(page)
        page.locator("#child").screenshot(path=str(ARTIFACTS / f"31-report-earlier-{suffix}.png"))
    page.check("#cat-street")
    page.select_option("#source", "phone_line")
    page.click("#open-case")
    page.wait_for_load_state()
    warning = page.locator("#earlier-warning")
    assert earlier.case_reference in warning.inner_text()
    _shot(page, "32-case-earlier-warning-ar")
    for language, width in (("fr", 1280), ("ar", 360)):
        coordinator = _page(browser, width=width)
        _login(coordinator, site, "cape.tanger")
        coordinator.goto(site["url"] + f"/language/{language}?next=/duplicates")
        assert coordinator.locator("article.review").count() == 1
        assert earlier.case_reference in coordinator.locator("article.review").inner_text()
        narrow_enough(coordinator)
        _shot(coordinator, f"33-duplicate-review-{language}" + ("-360px" if width == 360 else ""))


def test_a_case_worker_adds_a_note_and_a_contact_on_the_case_page_in_french_and_arabic(browser, site):
    """The case page's Notes and Contacts cards: a note and a do-not-contact mother in French, an
    Arabic note and an aunt in Arabic (right to left), a malformed phone refused next to its field at
    360 px; nothing overflows, every written text keeps its own direction."""
    engine = site["engine"]
    case_id = engine.start_case(report(engine, first_name="Salma", last_name="Notes"), UPE).case_id

    def narrow_enough(page: Page) -> None:
        width = page.evaluate("document.documentElement.scrollWidth")
        viewport = page.viewport_size
        assert viewport is not None and width <= viewport["width"] + 10, f"no horizontal scrolling ({width})"

    def add_note(page: Page, text: str, coordinators: bool = False) -> None:
        page.fill("#note-text", text)
        if coordinators:
            page.check("#note-visibility-coordinators")
        page.click("#add-note")
        page.wait_for_load_state()

    def add_contact(page: Page, relation: str, name: str, phone: str, *, do_not_contact: bool = False,
                    guardian: bool = False) -> None:
        if not page.locator("#contact-form").is_visible():
            page.click("#add-contact > summary")
        page.select_option("#contact-relation", relation)
        page.fill("#contact-name", name)
        page.fill("#contact-phone", phone)
        page.fill("#contact-address", "Derb Sidi Bouabid, n° 12\nTanger")
        if do_not_contact:
            page.check("#contact-do-not-contact")
        if guardian:
            page.check("#contact-guardian")
        page.click("#save-contact")
        page.wait_for_load_state()

    page = _page(browser)
    _login(page, site, "upe.tanger")
    page.goto(site["url"] + f"/cases/{case_id}")
    add_note(page, "Appel avec la tante :\nelle peut accueillir Salma à partir de lundi.")
    assert page.url.endswith("#notes")
    first = page.locator("#notes .note-text").first
    assert "elle peut accueillir" in first.inner_text() and first.get_attribute("dir") == "auto"
    assert page.locator("#timeline .note-text").first.inner_text().startswith("Appel avec la tante")
    add_contact(page, "mother", "Fatima Alami", "0661 23 45 67", do_not_contact=True)
    mother = page.locator("#contacts li.contact").first
    assert "Ne pas contacter" in mother.inner_text() and "Mère" in mother.inner_text()
    assert mother.locator("a[href^='tel:']").count() == 0, "a do-not-contact number is not a link to tap"
    _shot(page, "41-case-notes-contacts-fr")

    page.goto(site["url"] + f"/language/ar?next=/cases/{case_id}")
    assert page.get_attribute("html", "dir") == "rtl"
    add_note(page, "اتصلت الخالة: يمكنها استقبال الطفلة يوم الاثنين.\nموعد مع المدرسة يوم الثلاثاء.", coordinators=True)
    assert page.locator("#notes .note-restricted").first.is_visible()
    add_contact(page, "aunt_uncle", "خديجة العلمي", "+212 539 12 34 56", guardian=True)
    assert page.locator("#contacts li.contact").count() == 2
    aunt_phone = page.locator("#contacts li.contact").nth(1).locator("a[href='tel:+212539123456']")
    assert aunt_phone.get_attribute("dir") == "ltr"
    narrow_enough(page)
    _shot(page, "41-case-notes-contacts-ar")

    small = _page(browser, width=360)
    _login(small, site, "upe.tanger")
    small.goto(site["url"] + f"/language/ar?next=/cases/{case_id}")
    small.click("#add-contact > summary")
    small.select_option("#contact-relation", "school")
    small.fill("#contact-name", "مدرسة ابن بطوطة")
    small.fill("#contact-phone", "05 39 AB")
    small.click("#save-contact")
    small.wait_for_load_state()
    assert small.locator("#contact-phone-error").is_visible()
    assert small.input_value("#contact-name") == "مدرسة ابن بطوطة", "the form keeps what was typed"
    narrow_enough(small)
    _shot(small, "41-case-notes-contacts-ar-360px")
def test_a_step_forms_draft_survives_a_reload_and_the_task_list_reads_in_french_and_arabic(browser, site):
    engine = site["engine"]
    case_ids = [engine.start_case(report(engine, categories=categories, first_name=name), UPE).case_id
                for name, categories in (("Salma", ["victim_violence"]), ("Nour", None), ("سلمى", None))]
    tid = task_id(engine, case_ids[0], "reception_listening")
    page = _page(browser)
    _login(page, site, "upe.tanger")
    page.goto(site["url"] + f"/tasks/{tid}")
    page.fill("#f-listening_summary", "L'enfant a parlé de la nuit passée dehors.")
    page.wait_for_selector("#draft-status:has-text('Brouillon enregistré')", timeout=10000)
    page.reload()
    assert page.locator("#draft-restored").is_visible()
    assert page.input_value("#f-listening_summary") == "L'enfant a parlé de la nuit passée dehors."
    # errors: the summary links to each field, focus on the first one
    page.fill("#f-listening_summary", "")
    page.click("form.step-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#form-errors a[href='#f-listening_date']").is_visible()
    assert page.evaluate("document.activeElement.id") == "f-listening_date"
    _shot(page, "43-form-errors-fr")
    page.goto(site["url"] + "/language/ar?next=" + f"/tasks/{tid}")
    page.click("form.step-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#form-errors").is_visible() and "هذا الحقل إلزامي." in page.inner_text("#form-errors")
    _shot(page, "43-form-errors-ar")
    # the task list: claim from "available", the row moves to "mine"
    page.goto(site["url"] + "/language/fr?next=/tasks?scope=available")
    other = task_id(engine, case_ids[1], "reception_listening")
    page.click(f"#task-{other} form.claim button")
    page.wait_for_selector(f"#task-{other}", state="detached")
    assert page.inner_text("#count-mine") == "1" and page.locator("#claim-status").is_visible()
    page.goto(site["url"] + "/tasks?sort=risk")
    assert page.locator(f"#task-{other}").inner_text().count("upe.tanger") == 1
    _shot(page, "42-task-list-fr")
    page.goto(site["url"] + "/language/ar?next=/tasks?sort=risk")
    assert page.locator("html").get_attribute("dir") == "rtl"
    _shot(page, "42-task-list-ar")
    narrow = _page(browser, 360)
    _login(narrow, site, "upe.tanger")
    narrow.goto(site["url"] + "/language/ar?next=/tasks?sort=risk")
    assert narrow.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "no sideways scroll"
    _shot(narrow, "42-task-list-ar-360px")
