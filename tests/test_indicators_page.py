"""The indicators page for people (issue 21), on SQLite and PostgreSQL: every code by its label,
shares as percentages, age bands in their order, totals apart from their breakdowns, a chart
beside each table; the exports keep their codes; in Chromium, French and Arabic."""
from __future__ import annotations

import html as html_module
import re

import pytest
from flask.testing import FlaskClient

from engine.runtime import Engine
from tests.helpers import ANSWERS, UPE, do, page_login, report
from tests.test_browser import browser, site  # noqa: F401  (the Chromium fixtures)

CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # what a code looks like: out_of_school, reception_listening


def _visible(page: str) -> str:
    """The text a reader sees in the indicators' part of the page."""
    part = page[page.index('id="indicators"'):page.index("</main>")]
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part)))


def _cases(engine: Engine) -> None:
    for birth, sex, categories in (("2021-01-01", "F", ["out_of_school"]), ("2014-03-01", "M", ["victim_violence"]),
                                   ("2010-06-01", "F", ["out_of_school", "poor_family"])):
        case_id = engine.start_case(report(engine, birth_date=birth, sex=sex, categories=categories), UPE).case_id
        do(engine, case_id, "reception_listening", **ANSWERS["reception_listening"])


def test_the_indicators_page_shows_labels_shares_and_ordered_bands(web: FlaskClient, engine: Engine):
    _cases(engine)
    page_login(web, "cape.tanger")
    page = web.get("/indicators").get_data(as_text=True)
    text = _visible(page)
    assert CODE.findall(text) == [], "no code reaches the page"
    assert not re.search(r"<th scope=\"row\">\s*(<bdi>)?total", page)  # no "total" row among the groups
    assert "Enfants pris en charge" in text and "Non scolarisé" in text and "UPE Tanger" in text
    assert "Accueil et écoute" in text or "Réception" in text  # a step by its title
    bands = [text.index(b) for b in ("0 à 5 ans", "12 à 14 ans", "15 à 17 ans")]
    assert bands == sorted(bands)
    assert re.search(r"Part des étapes terminées dans les délais \d+ %", text)
    assert "0.0" not in text and "Ensemble des enfants pris en charge 3" in text  # the total apart, as a footer
    assert page.count('class="bar"') >= 8  # a chart beside each breakdown


def test_the_exports_keep_their_codes(web: FlaskClient, engine: Engine):
    _cases(engine)
    page_login(web, "cape.tanger")
    exported = web.get("/indicators/export.csv").get_data(as_text=True)
    assert "children_served_by_category" in exported and "out_of_school" in exported


def test_the_national_page_hides_small_cells_as_x(web: FlaskClient, engine: Engine):
    _cases(engine)
    page_login(web, "national")
    text = _visible(web.get("/indicators").get_data(as_text=True))
    assert " x " in f" {text} " and CODE.findall(text) == []


@pytest.mark.parametrize("language, width", [("fr", 1280), ("ar", 360)])
def test_the_indicators_page_in_chromium(request: pytest.FixtureRequest, language: str, width: int):
    from tests.test_browser import ARTIFACTS, _login, _page

    chromium, live = request.getfixturevalue("browser"), request.getfixturevalue("site")
    _cases(live["engine"])
    page = _page(chromium, width)
    _login(page, live, "cape.tanger")
    if language == "ar":
        page.click("a[lang=ar]")
        page.wait_for_load_state()
    page.goto(live["url"] + "/indicators")
    text = page.locator("#indicators").inner_text()
    assert CODE.findall(text) == [] and "%" in text
    assert page.locator("#breakdown-by_age_band tbody tr").count() >= 3
    page.screenshot(path=str(ARTIFACTS / f"54-indicators-{language}-{width}px.png"), full_page=True)
    page.context.close()
