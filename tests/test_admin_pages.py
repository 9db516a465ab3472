"""The administrators' pages in Chromium, in French and in Arabic at 360 px: the users list, the
account form shown again with its errors, and the audit of changes (screenshots in test-artifacts/)."""
from __future__ import annotations

from tests.test_browser import browser, site  # noqa: F401  (the Chromium fixtures)


def test_users_form_errors_and_audit_in_chromium(request):
    from tests.test_browser import ARTIFACTS, _login, _page

    chromium, live = request.getfixturevalue("browser"), request.getfixturevalue("site")
    for language, width in (("fr", 1280), ("ar", 360)):
        page = _page(chromium, width)
        _login(page, live, "admin")
        page.goto(f"{live['url']}/admin/users")
        if language == "ar":
            page.click("a[lang=ar]")
            page.wait_for_load_state()
            assert page.get_attribute("html", "dir") == "rtl"
        assert page.locator("table.users tbody tr").count() >= 10
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(ARTIFACTS / f"60-admin-users-{language}-{width}px.png"), full_page=True)

        page.click("#new-user")
        page.fill("#f-username", "Salma Tanger")
        page.fill("#f-password", "court")
        page.select_option("#f-province", "tanger-assilah")
        page.select_option("#f-unit", "upe-casablanca")
        page.fill("#f-email", "salma@")
        page.fill("#f-phone", "appelez-moi")
        page.click("#save-user")
        page.wait_for_load_state()
        for field in ("username", "password", "unit", "email", "phone"):
            assert page.locator(f"#f-{field}-error").is_visible(), field
        assert page.locator("#form-errors li").count() == 5
        assert page.input_value("#f-email") == "salma@" and page.input_value("#f-password") == ""
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(ARTIFACTS / f"61-admin-user-errors-{language}-{width}px.png"), full_page=True)

        username = f"salma.{language}"
        page.fill("#f-username", username)
        page.fill("#f-password", "Salma-2026-upe")
        page.select_option("#f-unit", "upe-tanger-assilah")
        page.fill("#f-email", f"{username}@upe-tanger.example")
        page.fill("#f-phone", "+212 661 23 45 67")
        page.click("#save-user")
        page.wait_for_load_state()
        assert page.url.endswith(f"/admin/users/{username}")
        page.fill("#new-password", "Nouveau-mot-2026")
        page.click("#reset-password")
        page.wait_for_load_state()
        page.click("#disable-user")
        page.wait_for_load_state()
        assert page.locator("#enable-user").is_visible()
        page.goto(f"{live['url']}/admin/audit")
        assert page.locator("table.audit tbody tr").count() >= 3
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(ARTIFACTS / f"62-admin-audit-{language}-{width}px.png"), full_page=True)
        page.context.close()
