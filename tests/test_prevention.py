"""Prevention and awareness activities: recorded by a UPE's staff or the CAPE, scoped to the
unit or the province, refused with field errors when absurd, counted in the indicators, the
national table and the unit's quarterly report."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from engine.models import PreventionActivity, StatisticalReport
from engine.runtime import SYSTEM
from engine.statistical_reports import Quarter, figure_rows, open_quarter
from tests.conftest import ApiClient
from tests.helpers import page_csrf, page_login

URL = "/api/v1/prevention-activities"


def activity(**changes):
    body = {"held_on": "2026-11-10", "unit": "upe-tanger-assilah", "place_kind": "school",
            "place_name": "École Ibn Batouta", "theme": "online_risks", "audience": "Élèves de 6e année",
            "participants": {"children": 42, "parents": 5, "professionals": 3},
            "partners": ["Direction provinciale de l'éducation"]}
    body.update(changes)
    return body


def _count(api: ApiClient) -> int:
    engine = api.app.extensions["himaya"]
    with engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(PreventionActivity)) or 0


def test_an_awareness_session_is_counted_in_the_indicators_and_the_quarterly_report(api: ApiClient, web, clock):
    created = api.post(URL, "upe.tanger", json=activity())
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["participants"] == {"children": 42, "parents": 5, "professionals": 3}
    assert body["participants_total"] == 50 and body["province"] == "tanger-assilah"
    # the CAPE records one of its own, and one for the UPE (a joint campaign on the radio)
    assert api.post(URL, "cape.tanger", json=activity(unit="cape-tanger-assilah", place_kind="media",
                                                      place_name="Radio Tanger", theme="begging",
                                                      participants={"professionals": 2})).status_code == 201
    assert api.post(URL, "cape.tanger", json=activity(theme="violence", held_on="2026-10-02",
                                                      participants={"parents": 30})).status_code == 201
    indicators = api.get("/api/v1/indicators?from=2026-10-01&to=2026-12-31", "cape.tanger").get_json()
    assert indicators["prevention"] == {
        "sessions": 3, "participants": 82, "children": 42, "parents": 35, "professionals": 5,
        "by_theme": {"begging": 1, "online_risks": 1, "violence": 1}}
    assert api.get("/api/v1/indicators?from=2026-11-01&to=2026-11-30", "cppe.tanger").get_json()[
        "prevention"]["sessions"] == 2, "only the period's"
    casa = api.get("/api/v1/indicators?from=2026-10-01&to=2026-12-31", "cape.casa").get_json()
    assert casa["prevention"]["sessions"] == 0, "another province's are not counted"
    national = api.get("/api/v1/indicators?from=2026-10-01&to=2026-12-31", "national").get_json()
    assert national["prevention"]["participants"] in (82, None) and national["prevention"]["sessions"] is None, \
        "three sessions: a small cell, hidden for the national level"
    csv_text = api.get("/api/v1/indicators?from=2026-10-01&to=2026-12-31&format=csv", "cape.tanger").get_data(
        as_text=True)
    assert "prevention_sessions,,3" in csv_text and "prevention_sessions_by_theme,online_risks,1" in csv_text

    engine = api.app.extensions["himaya"]
    clock.set(datetime(2027, 1, 2, 8, 0, tzinfo=UTC))
    open_quarter(engine, Quarter(2026, 4), SYSTEM)
    with engine.db.reading() as session:
        reports = {r.unit: r for r in session.scalars(select(StatisticalReport))}
    upe = reports["upe-tanger-assilah"].figures["prevention"]
    assert (upe["sessions"], upe["participants"], upe["parents"]) == (2, 80, 35), "the UPE's two, not the CAPE's"
    assert ("prevention_sessions", "", 2) in figure_rows(reports["upe-tanger-assilah"].figures)
    assert reports["upe-casablanca"].figures["prevention"]["sessions"] == 0
    page_login(web, "upe.tanger")
    page = web.get(f"/reports/{reports['upe-tanger-assilah'].id}")
    assert page.status_code == 200
    assert "Activités de prévention et de sensibilisation" in page.get_data(as_text=True)


def test_each_sees_its_own_territory(api: ApiClient):
    assert api.post(URL, "upe.tanger", json=activity()).status_code == 201
    assert api.post(URL, "cape.tanger", json=activity(unit="cape-tanger-assilah")).status_code == 201
    assert api.post(URL, "upe.casa", json=activity(unit="upe-casablanca")).status_code == 201
    assert api.get(URL, "upe.tanger").get_json()["total"] == 1, "a unit sees its own"
    assert api.get(URL, "cape.tanger").get_json()["total"] == 2, "the CAPE its province's"
    assert api.get(URL, "cppe.tanger").get_json()["total"] == 2
    assert api.get(URL + "?unit=cape-tanger-assilah", "cape.tanger").get_json()["total"] == 1
    assert api.get(URL, "national").status_code == 403
    assert api.post(URL, "sas.tanger", json=activity(unit="sas-tanger-assilah")).status_code == 403
    assert api.post(URL, "cppe.tanger", json=activity()).status_code == 403
    refused = api.post(URL, "upe.tanger", json=activity(unit="cape-tanger-assilah"))
    assert refused.status_code == 400 and "unit" in refused.get_json()["errors"]["json"], "another unit"
    refused = api.post(URL, "cape.tanger", json=activity(unit="upe-casablanca"))
    assert refused.status_code == 400 and "unit" in refused.get_json()["errors"]["json"], "another province"
    assert _count(api) == 3


@pytest.mark.parametrize("changes, path", [
    ({"participants": {"children": -3}}, ("participants", "children")),
    ({"participants": {"parents": 5_000_000}}, ("participants", "parents")),
    ({"participants": {"children": 2.5}}, ("participants", "children")),
    ({"participants": {"children": "many"}}, ("participants", "children")),
    ({"participants": {"children": 0, "parents": 0}}, ("participants", "children")),
    ({"place_kind": "beach"}, ("place_kind",)),
    ({"theme": "anything"}, ("theme",)),
    ({"place_name": "   "}, ("place_name",)),
    ({"held_on": "1850-01-01"}, ("held_on",)),
    ({"held_on": "2027-06-01"}, ("held_on",)),
    ({"held_on": "soon"}, ("held_on",)),
    ({"unit": "upe-nowhere"}, ("unit",)),
])
def test_absurd_activities_are_refused_with_field_errors(api: ApiClient, changes, path):
    response = api.post(URL, "upe.tanger" if path != ("unit",) else "cape.tanger", json=activity(**changes))
    assert response.status_code == 400, response.get_json()
    errors = response.get_json()["errors"]["json"]
    for key in path:
        assert key in errors, errors
        errors = errors[key]
    assert _count(api) == 0


def test_the_page_records_an_activity_and_shows_field_errors(web, api: ApiClient):
    page_login(web, "upe.tanger")
    csrf = page_csrf(web, "/prevention")
    form = {"csrf_token": csrf, "held_on": "2026-11-12", "place_kind": "mosque", "place_name": "Mosquée Al Andalous",
            "theme": "begging", "audience": "Fidèles du vendredi", "children": "", "parents": "-4",
            "professionals": "1", "unit": "upe-tanger-assilah", "partners": "Conseil des oulémas"}
    refused = web.post("/prevention", data=form)
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'id="parents-error"' in html and 'aria-invalid="true"' in html and "Mosquée Al Andalous" in html
    assert _count(api) == 0
    done = web.post("/prevention", data={**form, "parents": "12"}, follow_redirects=True)
    assert done.status_code == 200 and "Mosquée Al Andalous" in done.get_data(as_text=True)
    assert _count(api) == 1
    assert web.get("/indicators").status_code == 403, "a UPE does not read the province's indicators"
    page_login(web, "cape.tanger")
    html = web.get("/indicators?from=2026-10-01&to=2026-12-31").get_data(as_text=True)
    assert "Activités de prévention et de sensibilisation" in html and "Mendicité" in html
