"""A coordinator's decisions in the pages (on SQLite and PostgreSQL, and in Chromium): the risk level
changed with a reason, a transfer asked from Tanger, answered on Casablanca's transfers page, a
case closed early and reopened; every refused form comes back with its field's error."""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.models import Case, CaseTransfer, OpenTask
from engine.runtime import Engine
from tests.helpers import UPE, csrf_of, events, page_login, report, task_id
from tests.test_browser import browser, site  # noqa: F401  (the Chromium fixtures)


def _logout(web: FlaskClient) -> None:
    web.post("/logout", data={"csrf_token": csrf_of(web.get("/tasks").get_data(as_text=True))})


def _case(engine: Engine, case_id: str) -> Case:
    with engine.db.reading() as session:
        return session.get_one(Case, case_id)


def _due(engine: Engine, tid: str):
    with engine.db.reading() as session:
        return session.get_one(OpenTask, tid).due_at


def test_the_coordinator_changes_the_risk_level_from_the_case_page(web: FlaskClient, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id  # low risk
    tid = task_id(engine, case_id, "reception_listening")
    before = _due(engine, tid)
    page_login(web, "upe.tanger")
    assert 'id="coordination"' not in web.get(f"/cases/{case_id}").get_data(as_text=True)  # workers do not decide
    _logout(web)
    page_login(web, "cape.tanger")
    html = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="coordination"' in html and 'id="risk-form"' in html
    refused = web.post(f"/cases/{case_id}/risk-level", data={"csrf_token": csrf_of(html), "risk_level": "high"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert 'id="risk-errors"' in page and 'id="risk-reason-error"' in page
    assert '<details id="risk-change" open' in page
    assert _case(engine, case_id).risk_level == "low"  # nothing changed
    done = web.post(f"/cases/{case_id}/risk-level", data={"csrf_token": csrf_of(html), "risk_level": "high",
                                                          "reason": "Menaces répétées du voisin"})
    assert done.status_code == 302 and done.headers["Location"].endswith("#coordination")
    assert _case(engine, case_id).risk_level == "high"
    assert _due(engine, tid) < before  # reception within 24 h now
    shown = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Menaces répétées du voisin" in shown  # the reason in the timeline


def test_a_transfer_asked_and_accepted_in_the_pages(web: FlaskClient, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    page_login(web, "cape.tanger")
    html = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert '<option value="upe-casablanca">' in html and '<option value="upe-tanger-assilah">' not in html
    assert 'value="sas-tanger-assilah"' not in html  # a SAS team does not receive children
    refused = web.post(f"/cases/{case_id}/transfer", data={"csrf_token": csrf_of(html), "unit": "upe-casablanca"})
    assert refused.status_code == 400 and 'id="transfer-reason-error"' in refused.get_data(as_text=True)
    unknown = web.post(f"/cases/{case_id}/transfer", data={"csrf_token": csrf_of(html), "unit": "upe-mars",
                                                           "reason": "x"})
    assert unknown.status_code == 400 and 'id="transfer-unit-error"' in unknown.get_data(as_text=True)
    asked = web.post(f"/cases/{case_id}/transfer", data={"csrf_token": csrf_of(html), "unit": "upe-casablanca",
                                                         "reason": "La famille s'installe à Casablanca"})
    assert asked.status_code == 302
    page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="pending-transfer"' in page and 'id="transfer-form"' not in page
    _logout(web)

    page_login(web, "cape.casa")
    listed = web.get("/transfers").get_data(as_text=True)
    with engine.db.reading() as session:
        transfer = session.scalars(select(CaseTransfer)).one()
    assert f'id="transfer-{transfer.id}"' in listed and "La famille s&#39;installe à Casablanca" in listed
    assert 'id="menu-transfers"' in listed and 'class="count">1<' in listed
    assert "Amina" not in listed  # the child's file opens once the case is theirs
    declined = web.post(f"/transfers/{transfer.id}", data={"csrf_token": csrf_of(listed), "decision": "decline"})
    assert declined.status_code == 400 and f'id="decline-error-{transfer.id}"' in declined.get_data(as_text=True)
    accepted = web.post(f"/transfers/{transfer.id}", data={"csrf_token": csrf_of(listed), "decision": "accept"})
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith(f"/cases/{case_id}")
    assert web.get(f"/cases/{case_id}").status_code == 200
    again = web.post(f"/transfers/{transfer.id}", data={"csrf_token": csrf_of(listed), "decision": "accept"})
    assert again.status_code == 409
    assert 'id="transfer-problem"' in again.get_data(as_text=True)  # said, though no longer listed
    _logout(web)
    page_login(web, "cape.tanger")
    assert web.get(f"/cases/{case_id}").status_code == 404
    sent = web.get("/transfers?side=sent&state=accepted").get_data(as_text=True)
    assert f'id="transfer-{transfer.id}"' in sent


def test_a_case_closed_early_and_reopened_in_the_pages(web: FlaskClient, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    page_login(web, "cape.tanger")
    html = web.get(f"/cases/{case_id}").get_data(as_text=True)
    other = web.post(f"/cases/{case_id}/close", data={"csrf_token": csrf_of(html), "reason": "other"})
    assert other.status_code == 400 and 'id="close-note-error"' in other.get_data(as_text=True)
    assert _case(engine, case_id).status == "open"
    closed = web.post(f"/cases/{case_id}/close", data={"csrf_token": csrf_of(html), "reason": "deceased",
                                                       "note": "Décès signalé par l'hôpital"})
    assert closed.status_code == 302
    page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Clôturé (décès)" in page and 'id="reopen-form"' in page and 'id="close-form"' not in page
    twice = web.post(f"/cases/{case_id}/close", data={"csrf_token": csrf_of(html), "reason": "moved"})
    assert twice.status_code == 409
    empty = web.post(f"/cases/{case_id}/reopen", data={"csrf_token": csrf_of(page), "reason": " "})
    assert empty.status_code == 400 and 'id="reopen-reason-error"' in empty.get_data(as_text=True)
    reopened = web.post(f"/cases/{case_id}/reopen", data={"csrf_token": csrf_of(page),
                                                          "reason": "Erreur : l'enfant est vivant"})
    assert reopened.status_code == 302
    assert _case(engine, case_id).status == "open"
    assert task_id(engine, case_id, "reception_listening")
    assert events(engine, case_id, "case_reopened")


def test_the_coordination_card_and_the_transfers_page_in_chromium(request: pytest.FixtureRequest):
    from tests.test_browser import ARTIFACTS, _login, _page

    chromium, live = request.getfixturevalue("browser"), request.getfixturevalue("site")
    himaya = live["engine"]
    for language, width in (("fr", 1280), ("ar", 360)):
        case_id = himaya.start_case(report(himaya), UPE).case_id
        page = _page(chromium, width)
        _login(page, live, "cape.tanger")
        page.goto(f"{live['url']}/cases/{case_id}#coordination")
        if language == "ar":
            page.click("a[lang=ar]")
            page.wait_for_load_state()
            assert page.get_attribute("html", "dir") == "rtl"
        page.click("#transfer summary")
        page.select_option("#transfer-unit", "upe-casablanca")
        page.click("#ask-transfer")  # no reason: refused, the form open again with its error
        page.wait_for_load_state()
        assert page.locator("#transfer-reason-error").is_visible()
        page.fill("#transfer-reason", "La famille s'installe à Casablanca" if language == "fr"
                  else "انتقلت الأسرة إلى الدار البيضاء")
        page.locator("#coordination").screenshot(path=str(ARTIFACTS / f"47-transfer-form-{language}-{width}px.png"))
        page.click("#ask-transfer")
        page.wait_for_load_state()
        assert page.locator("#pending-transfer").is_visible()
        page.locator("#coordination").screenshot(path=str(ARTIFACTS / f"47-transfer-pending-{language}-{width}px.png"))
        page.click("#close-early summary")
        page.locator("#coordination").screenshot(path=str(ARTIFACTS / f"47-close-form-{language}-{width}px.png"))
        page.context.close()

        page = _page(chromium, width)
        _login(page, live, "cape.casa")
        if language == "ar":
            page.click("a[lang=ar]")
            page.wait_for_load_state()
        page.goto(f"{live['url']}/transfers")
        assert page.locator("#menu-transfers .count").inner_text().startswith("1")
        page.screenshot(path=str(ARTIFACTS / f"47-transfers-{language}-{width}px.png"), full_page=True)
        page.click("button[id^=accept-]")
        page.wait_for_load_state()
        assert page.url.endswith(f"/cases/{case_id}")
        assert page.locator(".flash.success").is_visible()
        # Casablanca's coordinator closes it early (the family left the country), then reopens it.
        page.click("#close-early summary")
        page.check("#close-moved")
        page.fill("#close-note", "Départ à l'étranger" if language == "fr" else "سافرت الأسرة إلى الخارج")
        page.click("#close-case")
        page.wait_for_load_state()
        assert page.locator("#reopen-form").is_visible()
        page.fill("#reopen-reason", "Revenue à Casablanca" if language == "fr" else "عادت إلى الدار البيضاء")
        page.locator("#coordination").screenshot(path=str(ARTIFACTS / f"47-reopen-form-{language}-{width}px.png"))
        page.click("#reopen-case")
        page.wait_for_load_state()
        assert page.locator("#close-form").count() == 1 and page.locator(".flash.success").is_visible()
        page.context.close()
        with himaya.db.reading() as session:
            assert (session.get_one(Case, case_id).province, session.get_one(Case, case_id).status) == (
                "casablanca", "open")
        assert [e.detail["reason"] for e in events(himaya, case_id, "case_closed")] == ["moved"]
