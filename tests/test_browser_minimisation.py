"""Minimisation in a real Chromium at 360 px, in French and Arabic: the CPPE's supervision page
lists overdue steps by reference, and a partner of a sector that does not need the child's
identity reads the case by reference, age and sex (screenshots in test-artifacts/)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from engine.models import OpenTask
from tests.helpers import UPE, report
from tests.test_browser import _login, _page, _shot, browser, site  # noqa: F401 (fixtures)
from tests.test_minimisation import EDUCATION, MANDATE, _education_partner, _referred


def test_the_supervisor_and_an_education_partner_read_by_reference_in_french_and_arabic(browser, site):  # noqa: F811
    engine = site["engine"]
    late = engine.start_case(report(engine, first_name="Nour", last_name="Squalli", categories=["victim_violence"],
                                    medical=True), UPE).case_id
    with engine.db.transaction() as session:  # the real clock runs here: its steps made overdue
        session.execute(update(OpenTask).where(OpenTask.case_id == late).values(
            due_at=engine.now() - timedelta(days=1)))
    _education_partner(engine)
    case_id = _referred(engine, "Benjelloun", MANDATE)
    for language in ("fr", "ar"):
        page = _page(browser, width=360)
        _login(page, site, "cppe.tanger")
        if language == "ar":
            page.click("a[lang=ar]")
            page.wait_for_load_state()
        page.goto(site["url"] + "/supervision")
        assert "Squalli" not in page.content() and "Benjelloun" not in page.content()
        assert page.locator("#overdue .identity-masked").count() >= 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 370
        _shot(page, f"20-supervision-by-reference-{language}-360px")
        partner = _page(browser, width=360)
        _login(partner, site, EDUCATION)
        if language == "ar":
            partner.click("a[lang=ar]")
            partner.wait_for_load_state()
        partner.goto(site["url"] + f"/cases/{case_id}")
        text = partner.locator("#identity").inner_text()
        assert "Benjelloun" not in partner.content() and ("nom non affiché" in text or "الاسم غير معروض" in text)
        assert partner.evaluate("document.documentElement.scrollWidth") <= 370
        _shot(partner, f"21-partner-masked-case-{language}-360px")
