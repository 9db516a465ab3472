"""The supervision dashboard (issue 21), on SQLite and PostgreSQL: the overdue list says whom to
call (unit, assignee, days late, escalation level) and sorts; the filters (unit, step, risk,
period) are kept in the URL and change the counts; each tile links to the list behind it, with
the same count; the trend compares with the period before; a negative step duration is left out
of the medians and reported by ``himaya check``; in Chromium, French and Arabic, 360 px."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from api.cli import main
from api.jobs import Jobs
from engine.clock import ManualClock
from engine.models import OpenTask, TaskRecord
from engine.runtime import Engine
from tests.helpers import ANSWERS, UPE, do, page_login, report, task_id
from tests.test_browser import browser, site  # noqa: F401  (the Chromium fixtures)


def _row(html: str, element_id: str) -> str:
    found = re.search(rf'<tr id="{element_id}">(.*?)</tr>', html, re.S)
    assert found, element_id
    return found.group(1)


def _tile(html: str, key: str) -> tuple[str, str]:
    """(its link, its value) of a tile."""
    found = re.search(rf'<a class="tile[^"]*" id="tile-{key}" href="([^"]*)">'
                      r'\s*<span class="tile-value">([^<]*)</span>', html)
    assert found, key
    return found.group(1).replace("&amp;", "&"), found.group(2).strip()


def _board(web: FlaskClient, query: str = "") -> str:
    response = web.get(f"/supervision{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_overdue_list_says_whom_to_call(web: FlaskClient, engine: Engine, clock: ManualClock):
    late = engine.start_case(report(engine, categories=["victim_violence"]), UPE).case_id
    waiting = engine.start_case(report(engine), UPE).case_id
    claimed = task_id(engine, late, "reception_listening")
    engine.claim(claimed, UPE)
    clock.advance(timedelta(days=12))
    Jobs(engine).escalate()
    with engine.db.reading() as session:
        task = session.get(OpenTask, claimed)
        assert task is not None and task.due_at is not None and task.escalation_level >= 1
        days_late = (clock.now() - task.due_at).days
    page_login(web, "cape.tanger")
    html = _board(web)
    row = _row(html, f"overdue-{claimed}")
    assert "UPE Tanger" in row and "upe.tanger" in row and f"<strong>{days_late}</strong>" in row
    assert ("Rappel envoyé" in row or "Coordinateurs du CAPE alertés" in row or "CPPE alerté" in row)
    assert "Réception" in row or "écoute" in row.lower()  # the step by its title, not its code
    unclaimed = _row(html, f"overdue-{task_id(engine, waiting, 'reception_listening')}")
    assert "personne" in unclaimed  # nobody holds it: the team's lane
    # sorted by assignee: the unclaimed first; by days late (the default): the longest late first
    by_assignee = _board(web, "?sort=assignee")
    assert by_assignee.index(f"overdue-{task_id(engine, waiting, 'reception_listening')}") < by_assignee.index(
        f"overdue-{claimed}")
    assert 'aria-sort="ascending"' in by_assignee


def test_filters_change_the_counts_and_stay_in_the_links(web: FlaskClient, engine: Engine):
    engine.start_case(report(engine, categories=["victim_violence"]), UPE)  # high risk
    engine.start_case(report(engine), UPE)
    page_login(web, "cape.tanger")
    everything = _board(web)
    assert _tile(everything, "open_cases")[1] == "2" and _tile(everything, "opened")[1] == "2"
    high = _board(web, "?risk_level=high&period=90d")
    link, value = _tile(high, "open_cases")
    assert value == "1" and "risk_level=high" in link
    # a bar of a chart narrows the board further, keeping the filters set
    assert 'href="/supervision?step=reception_listening&amp;risk_level=high&amp;period=90d"' in high
    assert _tile(_board(web, "?unit=sas-tanger-assilah"), "open_cases")[1] == "0"
    assert _tile(_board(web, "?step=reception_listening"), "open_cases")[1] == "2"
    assert _tile(_board(web, "?unit=not-a-unit&risk_level=purple&period=7y"), "open_cases")[1] == "2"  # ignored


def test_each_tile_links_to_its_list_with_the_same_count(web: FlaskClient, engine: Engine, clock: ManualClock):
    first = engine.start_case(report(engine), UPE).case_id
    engine.start_case(report(engine, categories=["victim_violence"]), UPE)
    clock.advance(timedelta(days=1))
    engine.close_case(first, "moved", None, _coordinator())
    page_login(web, "cape.tanger")
    html = _board(web)
    for key in ("open_cases", "opened", "closed"):
        link, value = _tile(html, key)
        listed = web.get(link).get_data(as_text=True)
        total = re.search(r'id="results-title">[^(]*\((\d+)\)', listed)
        assert total and total.group(1) == value, (key, link)
    assert _tile(html, "overdue_steps")[0] == "#overdue" and _tile(html, "stalled_cases")[0] == "#stalled"


def test_the_trend_compares_with_the_period_before(web: FlaskClient, engine: Engine, clock: ManualClock):
    engine.start_case(report(engine), UPE)
    clock.advance(timedelta(days=31))
    for _ in range(3):
        engine.start_case(report(engine), UPE)
    page_login(web, "cape.tanger")
    html = _board(web)
    opened = html[html.index('id="tile-opened"'):html.index('id="tile-closed"')]
    assert '<span class="tile-value">3</span>' in opened and "▲ +2" in opened and "(1)" in opened
    open_now = html[html.index('id="tile-open_cases"'):html.index('id="tile-overdue_steps"')]
    assert '<span class="tile-value">4</span>' in open_now and "▲ +3" in open_now  # 1 open 30 days ago


def test_a_negative_duration_is_left_out_and_reported(web: FlaskClient, engine: Engine, clock: ManualClock,
                                                      monkeypatch, capsys):
    case_id = engine.start_case(report(engine), UPE).case_id
    clock.advance(timedelta(days=2))
    do(engine, case_id, "reception_listening", **ANSWERS["reception_listening"])
    with engine.db.write_connection() as conn:  # a clock set wrong on the server that wrote it
        conn.execute(update(TaskRecord.__table__).where(TaskRecord.case_id == case_id)
                     .values(ended_at=clock.now() - timedelta(days=5)))
    page_login(web, "cape.tanger")
    durations = _board(web).split('id="median-days"')[1].split("</ul>")[0]
    assert "-" not in re.sub(r"<[^>]+>", "", durations).replace("—", "")
    monkeypatch.setenv("HIMAYA_DATABASE_URL", engine.db.engine.url.render_as_string(hide_password=False))
    assert main(["check"]) == 1
    assert "a negative duration" in capsys.readouterr().out


def _coordinator():
    from tests.helpers import CAPE
    return CAPE


@pytest.mark.parametrize("language, width", [("fr", 1280), ("ar", 360)])
def test_the_dashboard_in_chromium(request: pytest.FixtureRequest, language: str, width: int):
    from tests.test_browser import ARTIFACTS, _login, _page

    chromium, live = request.getfixturevalue("browser"), request.getfixturevalue("site")
    himaya: Engine = live["engine"]
    for categories in (["victim_violence"], ["out_of_school"], ["out_of_school"]):
        case_id = himaya.start_case(report(himaya, categories=categories), UPE).case_id
    with himaya.db.write_connection() as conn:  # three days late
        conn.execute(update(OpenTask.__table__).values(due_at=himaya.now() - timedelta(days=3)))
    page = _page(chromium, width)
    _login(page, live, "cape.tanger")
    if language == "ar":
        page.click("a[lang=ar]")
        page.wait_for_load_state()
    page.goto(live["url"] + "/supervision")
    assert page.locator("#overdue .overdue-days strong").first.inner_text() == "3"
    assert page.locator("#overdue .overdue-unit").first.inner_text().strip()
    total = page.locator("#tile-open_cases .tile-value").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"53-dashboard-{language}-{width}px.png"), full_page=True)
    page.select_option("#filter-risk", "high")
    page.click("#apply-filters")
    page.wait_for_load_state()
    assert "risk_level=high" in page.url
    assert page.locator("#tile-open_cases .tile-value").inner_text() != total
    page.screenshot(path=str(ARTIFACTS / f"53-dashboard-filtered-{language}-{width}px.png"), full_page=True)
    page.click("#tile-open_cases")
    page.wait_for_load_state()
    assert "/cases" in page.url and "risk_level=high" in page.url
    assert case_id
    page.context.close()
