"""A unit's convention in Chromium, in French and Arabic: the CAPE technical committee records one
(a milestone line it cannot read is named), the UPE follows a milestone on its phone (a done
milestone without its end date refused next to the field, then recorded with its history), and
the CPPE sees the late milestone on its dashboard. Screenshots in test-artifacts/ (``83-…`` to
``85-…``)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from engine import conventions
from tests.test_browser import ARTIFACTS, _login, _page, browser, site  # noqa: F401
from tests.test_browser_prevention import _arabic, _overflows

TODAY = date.today()
START, END = TODAY - timedelta(days=400), TODAY + timedelta(days=700)
LATE_TITLE, COMING_TITLE = "Équipe recrutée et formée", "Rapport final de la convention"
NOTE = "Deux éducatrices recrutées, la troisième en cours"


def _convention(live, reference: str) -> tuple[int, int]:
    """A running convention of Tanger-Assilah's UPE: (its id, its late milestone's id)."""
    himaya = live["engine"]
    convention_id = conventions.record_convention(himaya.db, {
        "unit": "upe-tanger-assilah", "reference": reference, "title": "Convention de l'UPE de Tanger-Assilah",
        "partners": ["Entraide Nationale", "Ministère de la Solidarité"], "signed_on": START.isoformat(),
        "starts_on": START.isoformat(), "ends_on": END.isoformat(),
        "milestones": [{"title": LATE_TITLE, "due_on": (TODAY - timedelta(days=30)).isoformat()},
                       {"title": COMING_TITLE, "due_on": END.isoformat()}],
    }, province="tanger-assilah", actor="cape.tanger", now=datetime.now(UTC))
    with himaya.db.reading() as session:
        late = conventions.milestones_of(session, [convention_id], TODAY)[convention_id][0]["id"]
    return convention_id, late


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_the_committee_records_a_convention_on_the_page(browser, site, language):  # noqa: F811
    page = _page(browser, 1280)
    _login(page, site, "cape.tanger")
    page.goto(site["url"] + "/conventions")
    if language == "ar":
        _arabic(page)
    page.select_option("#unit", "upe-tanger-assilah")
    page.fill("#reference", f"CONV-UPE-2023-0{language}")
    page.fill("#title", "Convention de partenariat" if language == "fr" else "اتفاقية شراكة وحدة حماية الطفولة")
    page.fill("#partners", "Entraide Nationale\nProvince de Tanger-Assilah")
    page.fill("#signed_on", START.isoformat())
    page.fill("#starts_on", START.isoformat())
    page.fill("#ends_on", END.isoformat())
    page.fill("#milestones", f"{START + timedelta(days=60)} Local ouvert\n31/13/2025 Équipe recrutée")
    page.click("#convention-form button[type=submit]")
    page.wait_for_load_state()
    error = page.locator("#milestones-error")
    assert error.is_visible() and ("Ligne 2" if language == "fr" else "السطر 2") in error.inner_text()
    assert "31/13/2025" in page.input_value("#milestones"), "what was typed is kept"
    page.screenshot(path=str(ARTIFACTS / f"83-convention-error-{language}.png"), full_page=True)
    page.fill("#milestones", f"{START + timedelta(days=60)} Local ouvert\n{START + timedelta(days=200)} Équipe "
                             f"recrutée\n{END} Rapport final")
    page.click("#convention-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".flash.success").is_visible()
    assert page.locator("#milestones tbody tr").count() == 3
    assert page.locator("#milestones .badge.warning").count() == 2, "the two milestones already due are late"
    page.screenshot(path=str(ARTIFACTS / f"83-convention-{language}.png"), full_page=True)
    page.click("#correct-convention summary")
    page.fill("#c-ends_on", (START + timedelta(days=100)).isoformat())
    page.click("#save-correction")
    page.wait_for_load_state()
    assert page.locator("#c-ends_on-error").is_visible(), "a period that would leave a milestone out is refused"
    page.locator("#correct-convention").screenshot(path=str(ARTIFACTS / f"83-convention-correction-{language}.png"))
    page.fill("#c-ends_on", (END + timedelta(days=365)).isoformat())
    page.click("#save-correction")
    page.wait_for_load_state()
    assert page.locator(".flash.success").is_visible() and str(END + timedelta(days=365)) in page.inner_text(
        "#convention-summary")
    page.context.close()


@pytest.mark.parametrize("language, width", [("fr", 360), ("ar", 360)])
def test_the_unit_follows_a_milestone_on_its_phone(browser, site, language, width):  # noqa: F811
    convention_id, late = _convention(site, f"CONV-PHONE-{language}")
    page = _page(browser, width)
    _login(page, site, "upe.tanger")
    page.goto(site["url"] + "/conventions")
    if language == "ar":
        _arabic(page)
    assert not _overflows(page)
    page.screenshot(path=str(ARTIFACTS / f"84-conventions-{language}-{width}px.png"), full_page=True)
    page.goto(f"{site['url']}/conventions/{convention_id}/milestones/{late}")
    assert page.locator("#late-badge").is_visible()
    page.select_option("#state", "done")
    page.fill("#percent_done", "100")
    page.fill("#started_on", (TODAY - timedelta(days=90)).isoformat())
    page.click("#progress-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#ended_on-error").is_visible(), "a done milestone needs its end date, next to the field"
    page.screenshot(path=str(ARTIFACTS / f"84-milestone-error-{language}-{width}px.png"), full_page=True)
    page.select_option("#state", "in_progress")
    page.fill("#percent_done", "60")
    page.fill("#note", NOTE)
    page.click("#progress-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".flash.success").is_visible()
    assert page.locator("#progress-history").locator(f"text={NOTE}").count() == 1
    assert not _overflows(page)
    page.screenshot(path=str(ARTIFACTS / f"84-milestone-{language}-{width}px.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_the_cppe_sees_the_late_milestone_on_its_dashboard(browser, site, language):  # noqa: F811
    convention_id, late = _convention(site, f"CONV-CPPE-{language}")
    page = _page(browser, 360)
    _login(page, site, "cppe.tanger")
    page.goto(site["url"] + "/supervision")
    if language == "ar":
        _arabic(page)
    row = page.locator(f"#late-milestone-{late}")
    assert row.count() == 1 and LATE_TITLE in row.inner_text() and "30" in row.inner_text()
    assert page.locator("#late-milestones").locator(f"text={COMING_TITLE}").count() == 0
    page.locator("#late-milestones").screenshot(path=str(ARTIFACTS / f"85-late-milestones-{language}-360px.png"))
    row.locator("a").click()
    page.wait_for_load_state()
    assert f"/conventions/{convention_id}/milestones/{late}" in page.url
    assert page.locator("#progress-form").count() == 0, "the CPPE reads, the unit and the committee record"
    page.context.close()
