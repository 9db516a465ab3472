"""The case diagram in Chromium: readable labels, zoom and fit, Arabic labels, the waiting timer's
date (screenshots 44-case-diagram-*.png in test-artifacts/)."""
from __future__ import annotations

from typing import Any

from tests.test_browser import ARTIFACTS, _login, _page, browser, site  # noqa: F401  (fixtures)
from tests.test_case_diagram import waiting_for_follow_up

# The on-screen size of a label's text: its font size times the SVG's scale on screen.
LABEL_SIZE = """(id) => {
  const text = document.querySelector(`[data-element-id="${id}"] text`);
  const size = parseFloat(getComputedStyle(text).fontSize) * text.getScreenCTM().a;
  return {size, height: text.getBoundingClientRect().height, text: text.textContent};
}"""


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#diagram[data-ready]", timeout=15000)
    assert page.get_attribute("#diagram", "data-ready") == "true"


def _shot(page: Any, name: str) -> None:
    page.locator("#pathway").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def test_the_case_diagram_is_readable_zooms_and_speaks_the_page_language(browser, site):  # noqa: F811
    case_id = waiting_for_follow_up(site["engine"])
    url = site["url"] + f"/cases/{case_id}"
    page = _page(browser)
    _login(page, site, "upe.tanger")
    _open(page, url)
    label = page.evaluate(LABEL_SIZE, "follow_up")
    assert label["size"] >= 10 and label["height"] >= 10, label
    timer = page.locator(".diagram-timer")
    assert timer.is_visible() and "En attente jusqu'au" in timer.inner_text()
    assert page.locator(".diagram-badge.waiting").count() == 1 and page.locator(".diagram-badge.completed").count() >= 3
    assert page.evaluate("document.querySelector('[data-element-id=\"wait_follow_up\"]').classList"
                         ".contains('waiting')")
    # the timer is in view: the diagram opens on where the case stands
    box, view = page.locator(".diagram-timer").bounding_box(), page.locator(".diagram-scroll").bounding_box()
    assert box and view and view["x"] <= box["x"] and box["x"] + box["width"] <= view["x"] + view["width"] + 1
    _shot(page, "44-case-diagram-fr")

    scale = float(page.get_attribute("#diagram", "data-scale") or 0)
    page.click("button[data-zoom=in]")
    assert float(page.get_attribute("#diagram", "data-scale") or 0) > scale
    assert page.evaluate(LABEL_SIZE, "follow_up")["size"] > label["size"]
    page.click("button[data-zoom=fit]")
    whole = page.evaluate("""() => {
      const s = document.querySelector('.diagram-scroll'), d = document.getElementById('diagram');
      return {fits: d.offsetWidth <= s.clientWidth + 1 && d.offsetHeight <= s.clientHeight + 1};
    }""")
    assert whole["fits"], "the whole pathway fits the box"
    page.click("button[data-zoom=reset]")
    assert float(page.get_attribute("#diagram", "data-scale") or 0) == scale
    page.focus("button[data-zoom=out]")
    page.keyboard.press("Enter")
    assert float(page.get_attribute("#diagram", "data-scale") or 0) < scale, "the buttons work from the keyboard"
    # a plain wheel scrolls the page, Ctrl + wheel zooms the diagram
    page.click("button[data-zoom=reset]")
    page.locator(".diagram-scroll").hover()
    before = page.evaluate("window.scrollY")
    page.mouse.wheel(0, 300)
    page.wait_for_timeout(300)
    assert page.evaluate("window.scrollY") > before, "the page scrolled"
    assert float(page.get_attribute("#diagram", "data-scale") or 0) == scale

    page.click("a[lang=ar]")
    page.wait_for_load_state()
    _open(page, url)
    assert page.get_attribute("html", "dir") == "rtl" and page.get_attribute(".diagram-scroll", "dir") == "ltr"
    arabic = page.evaluate(LABEL_SIZE, "follow_up")
    assert "زيارة التتبع" in arabic["text"] and arabic["size"] >= 10, arabic
    assert "في الانتظار إلى غاية" in page.locator(".diagram-timer").inner_text()
    assert page.get_attribute("button[data-zoom=in]", "aria-label") == "تكبير"
    _shot(page, "44-case-diagram-ar")

    small = _page(browser, width=360)
    _login(small, site, "upe.tanger")
    small.click("a[lang=ar]")
    small.wait_for_load_state()
    _open(small, url)
    assert small.evaluate(LABEL_SIZE, "follow_up")["size"] >= 10
    assert small.evaluate("document.documentElement.scrollWidth") <= 370, "the page itself does not scroll sideways"
    assert small.locator(".diagram-timer").is_visible()
    small.locator("#pathway").scroll_into_view_if_needed()
    small.screenshot(path=str(ARTIFACTS / "44-case-diagram-ar-360px.png"), full_page=False)
