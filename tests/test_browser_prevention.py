"""Issue 24's pages in Chromium, in French and in Arabic (the UPE's phone width for the unit's
own pages): a prevention session recorded, a plan action's follow-up with its history, the case
categories an administrator extends. Screenshots in test-artifacts/ (``80-…`` to ``82-…``)."""
from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine import action_plans, plan_progress
from engine.models import ActionPlan
from engine.runtime import Actor
from tests.helpers import CAPE, do, task_id
from tests.test_action_plans import CONTENT, PLAN
from tests.test_browser import ARTIFACTS, _login, _page, browser, site  # noqa: F401

CPPE = Actor("cppe.tanger", "supervisor")
FIRST = "0.0.0.0"  # "Former deux équipes mobiles"
FIRST_NOTE, SECOND_NOTE = "Première équipe formée à Tanger", "Deuxième équipe formée à Assilah"


def _arabic(page) -> None:
    page.click("a[lang=ar]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "dir") == "rtl"


def _overflows(page) -> bool:
    """Whether the page is wider than its window (a form a worker would have to scroll sideways)."""
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"))


@pytest.mark.parametrize("language, width", [("fr", 1280), ("ar", 360)])
def test_a_prevention_session_is_recorded_on_the_page(browser, site, language, width):  # noqa: F811
    page = _page(browser, width)
    _login(page, site, "upe.tanger")
    page.goto(site["url"] + "/prevention")
    if language == "ar":
        _arabic(page)
    place = "Mosquée Al Andalous" if language == "fr" else "مسجد الأندلس"
    page.fill("[name=held_on]", "2026-11-12")
    page.select_option("[name=place_kind]", "mosque")
    page.fill("[name=place_name]", place)
    page.select_option("[name=theme]", "online_risks")
    page.fill("[name=audience]", "Parents d'élèves" if language == "fr" else "آباء التلاميذ")
    page.fill("[name=parents]", "-4")
    page.fill("[name=children]", "30")
    if page.locator("select#unit").count():
        page.select_option("select#unit", "upe-tanger-assilah")
    page.click("#activity-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#parents-error").is_visible(), "a negative count is refused next to its field"
    assert page.input_value("[name=place_name]") == place, "what was typed is kept"
    page.screenshot(path=str(ARTIFACTS / f"80-prevention-error-{language}-{width}px.png"), full_page=True)
    page.fill("[name=parents]", "12")
    page.click("#activity-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".flash.success").is_visible()
    assert page.locator(f"bdi:has-text('{place}')").count() >= 1, "the place is listed, isolated"
    assert not _overflows(page)
    page.screenshot(path=str(ARTIFACTS / f"80-prevention-{language}-{width}px.png"), full_page=True)
    page.context.close()


def _validated_plan(live) -> int:
    himaya = live["engine"]
    content = copy.deepcopy(CONTENT)
    case = action_plans.create_plan(himaya, {**PLAN, "content": content}, CAPE)
    do(himaya, case, "draft_plan", consultation="Atelier")
    himaya.complete(task_id(himaya, case, "validate_plan"), {"decision": "validated"}, CPPE)
    with himaya.db.reading() as session:
        plan_id = session.scalar(select(ActionPlan.id).where(ActionPlan.case_id == case))
    assert plan_id is not None
    updater = plan_progress.Updater("cape.tanger", "coordinator", "tanger-assilah")
    plan_progress.update_progress(himaya.db, plan_id, FIRST, {
        "state": "in_progress", "percent_done": 40, "started_on": "2026-11-02", "note": FIRST_NOTE},
        updater, now=datetime(2026, 11, 10, tzinfo=UTC))
    plan_progress.update_progress(himaya.db, plan_id, FIRST, {
        "state": "done", "percent_done": 100, "started_on": "2026-11-02", "ended_on": "2026-11-19",
        "note": SECOND_NOTE}, updater, now=datetime(2026, 11, 20, tzinfo=UTC))
    return plan_id


@pytest.mark.parametrize("language, width", [("fr", 1280), ("ar", 360)])
def test_a_plan_actions_follow_up_and_its_history(browser, site, language, width):  # noqa: F811
    plan_id = _validated_plan(site)
    page = _page(browser, width)
    _login(page, site, "cape.tanger")
    page.goto(f"{site['url']}/plans/{plan_id}")
    if language == "ar":
        _arabic(page)
    assert page.locator(f"text={SECOND_NOTE}").count() >= 1, "the plan shows the action's latest follow-up"
    decision = page.locator("#plan-comments li").first.inner_text()
    assert ("Validé" if language == "fr" else "مصادق عليه") in decision and not decision.rstrip().endswith(":"), \
        "the CPPE's decision is named, with no empty comment"
    page.screenshot(path=str(ARTIFACTS / f"81-plan-progress-{language}-{width}px.png"), full_page=True)
    page.goto(f"{site['url']}/plans/{plan_id}/progress?path={FIRST}")
    history = page.locator("table").last
    assert history.locator(f"text={FIRST_NOTE}").count() == 1 and history.locator(f"text={SECOND_NOTE}").count() == 1
    assert page.locator("[name=percent_done]").input_value() == "100"
    page.fill("[name=percent_done]", "140")
    page.click("#progress-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#percent_done-error").is_visible(), "a percentage over 100 is refused next to its field"
    page.screenshot(path=str(ARTIFACTS / f"81-plan-action-{language}-{width}px.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_an_administrator_adds_a_case_category_offered_at_once(browser, site, language):  # noqa: F811
    code = f"sextortion_{language}"
    page = _page(browser, 1280)
    _login(page, site, "admin")
    page.goto(site["url"] + "/admin/categories")
    if language == "ar":
        _arabic(page)
    assert page.locator("#category-online_sexual_exploitation").count() == 1, "the online risks are shipped"
    page.fill("#f-code", "Sextorsion!")
    page.fill("#f-label_fr", "Victime de sextorsion")
    page.fill("#f-label_ar", "ضحية الابتزاز الجنسي")
    page.fill("#f-label_en", "Victim of sextortion")
    page.click("#add-category")
    page.wait_for_load_state()
    assert page.locator("#f-code-error").is_visible(), "a code that is not a code is refused next to its field"
    page.screenshot(path=str(ARTIFACTS / f"82-category-error-{language}.png"), full_page=True)
    page.fill("#f-code", code)
    page.select_option("#f-risk_level", "high")
    page.check("#f-inform_prosecutor")
    page.click("#add-category")
    page.wait_for_load_state()
    row = page.locator(f"#category-{code}")
    label = "ضحية الابتزاز الجنسي" if language == "ar" else "Victime de sextorsion"
    assert row.count() == 1 and label in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / f"82-categories-{language}.png"), full_page=True)
    page.context.close()
    worker = _page(browser, 360)
    _login(worker, site, "upe.tanger")
    worker.goto(site["url"] + "/cases/new")
    assert worker.locator(f"[value={code}]").count() == 1, "the new category is offered in the next report"
    worker.context.close()
