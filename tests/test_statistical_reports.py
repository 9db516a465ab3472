"""Quarterly statistical reports: opened at quarter end, figures from the indicators,
UPE prepares → CAPE returns / validates, "published on time" measured from the pathway."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from api.jobs import Jobs
from engine.clock import ManualClock
from engine.errors import ValidationFailed
from engine.models import Case, OpenTask, StatisticalReport
from engine.runtime import SYSTEM, Actor, Engine
from engine.statistical_reports import Quarter, open_quarter, parse_quarter, quarters_due
from tests.conftest import ApiClient
from tests.helpers import complete_by_api, report, task_id

PREPARED = {"activities": "Séances d'écoute, visites à domicile.", "figures_checked": True}


def test_quarters_and_their_due_dates():
    assert Quarter(2026, 1).period.start == date(2026, 1, 1) and Quarter(2026, 1).period.end == date(2026, 3, 31)
    assert Quarter(2026, 4).period.end == date(2026, 12, 31)
    assert Quarter(2026, 3).due_at == datetime(2026, 10, 15, 23, 59, 59, tzinfo=UTC)
    assert Quarter(2026, 4).due_at == datetime(2027, 1, 15, 23, 59, 59, tzinfo=UTC)
    assert Quarter.last_ended(datetime(2026, 1, 1, 0, 5, tzinfo=UTC)) == Quarter(2025, 4)
    assert Quarter.last_ended(datetime(2026, 3, 31, 23, 0, tzinfo=UTC)) == Quarter(2025, 4)
    assert parse_quarter("2026-T3") == Quarter(2026, 3) == parse_quarter("2026-q3")
    for bad in ("2026-T5", "2026", "T3-2026", "1999-T1", "2026-T3x", ""):
        with pytest.raises(ValueError):
            parse_quarter(bad)


def test_the_quarters_due_start_with_the_first_deployment_and_are_bounded():
    deployed = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert quarters_due(None, datetime(2027, 6, 1, tzinfo=UTC)) == []
    assert quarters_due(deployed, datetime(2026, 12, 31, 12, tzinfo=UTC)) == [], "Q4 has not ended"
    assert quarters_due(deployed, datetime(2027, 1, 1, 0, 1, tzinfo=UTC)) == [Quarter(2026, 4)]
    assert quarters_due(deployed, datetime(2027, 7, 2, tzinfo=UTC)) == [Quarter(2026, 4), Quarter(2027, 1),
                                                                         Quarter(2027, 2)]
    assert len(quarters_due(deployed, datetime(2035, 1, 2, tzinfo=UTC))) == 8


def _reports(engine: Engine) -> dict[str, StatisticalReport]:
    with engine.db.reading() as session:
        return {r.unit: r for r in session.scalars(select(StatisticalReport))}


def test_the_job_opens_one_report_per_upe_unit_with_the_quarters_figures(api: ApiClient, engine, clock):
    counts = {"tanger-assilah": 3, "casablanca": 2}
    for province, number in counts.items():
        for n in range(number):
            engine.start_case(report(engine, province=province, sex="M" if n else "F"),
                              Actor(f"upe.{'tanger' if province == 'tanger-assilah' else 'casa'}", "case_worker"))
    jobs = Jobs(engine)
    assert jobs.open_reports() == 0, "Q4 2026 has not ended"
    clock.set(datetime(2027, 1, 1, 2, 0, tzinfo=UTC))
    assert jobs.open_reports() == 2
    assert jobs.open_reports() == 0, "once per unit and quarter"
    assert open_quarter(engine, Quarter(2026, 4), SYSTEM) == []
    reports = _reports(engine)
    assert set(reports) == {"upe-tanger-assilah", "upe-casablanca"}
    for province, number in counts.items():
        found = reports[f"upe-{province}"]
        assert (found.year, found.quarter, found.status) == (2026, 4, "preparing")
        assert found.due_at == datetime(2027, 1, 15, 23, 59, 59, tzinfo=UTC)
        assert found.figures["children_served"]["total"] == number
        assert found.figures["cases_opened"] == number
        assert "first_name" not in str(found.figures) and "Amina" not in str(found.figures)
    assert reports["upe-tanger-assilah"].figures["children_served"]["by_sex"] == {"F": 1, "M": 2}
    with engine.db.reading() as session:
        tasks = session.execute(select(OpenTask.step, OpenTask.unit, OpenTask.role, OpenTask.due_at)
                                .where(OpenTask.step == "prepare_report")).all()
    assert sorted(t.unit for t in tasks) == ["upe-casablanca", "upe-tanger-assilah"]
    assert {(t.role, t.due_at) for t in tasks} == {("case_worker", datetime(2027, 1, 15, 23, 59, 59, tzinfo=UTC))}


def _open_q4(engine: Engine, clock: ManualClock) -> dict[str, StatisticalReport]:
    clock.set(datetime(2027, 1, 2, 8, 0, tzinfo=UTC))
    open_quarter(engine, Quarter(2026, 4), SYSTEM)
    return _reports(engine)


def test_prepare_return_prepare_validate_and_published_on_time(api: ApiClient, engine, clock):
    engine.start_case(report(engine), Actor("upe.tanger", "case_worker"))
    report_case = _open_q4(engine, clock)["upe-tanger-assilah"].case_id
    listed = api.get("/api/v1/tasks", "upe.tanger").get_json()["items"]
    prepare = next(t for t in listed if t["name"] == "prepare_report")
    assert prepare["title"].startswith("Préparer") and prepare["overdue"] is False
    # a unit does not see another unit's report task
    assert all(t["name"] != "prepare_report" for t in api.get("/api/v1/tasks", "upe.casa").get_json()["items"]
               if t["province"] == "tanger-assilah")

    incomplete = complete_by_api(api, "upe.tanger", prepare["id"], {"activities": "x"})
    assert incomplete.status_code == 400 and "figures_checked" in incomplete.get_json()["errors"]["json"]["data"]
    # one more case in the quarter, then the submission recomputes the figures
    clock.set(datetime(2026, 12, 30, 8, 0, tzinfo=UTC))
    engine.start_case(report(engine), Actor("upe.tanger", "case_worker"))
    clock.set(datetime(2027, 1, 5, 8, 0, tzinfo=UTC))
    assert complete_by_api(api, "upe.tanger", prepare["id"], PREPARED).status_code == 200
    found = _reports(engine)["upe-tanger-assilah"]
    assert found.status == "submitted" and found.figures["children_served"]["total"] == 2

    validate = task_id(engine, report_case, "validate_report")
    refused = complete_by_api(api, "cape.tanger", validate, {"decision": "returned"})
    assert refused.status_code == 400 and "comments" in refused.get_json()["errors"]["json"]["data"]
    assert _reports(engine)["upe-tanger-assilah"].status == "submitted", "a refused command changes nothing"
    assert complete_by_api(api, "cape.tanger", validate, {"decision": "returned",
                                                    "comments": "Détaillez les visites."}).status_code == 200
    assert _reports(engine)["upe-tanger-assilah"].status == "returned"
    again = task_id(engine, report_case, "prepare_report")
    assert complete_by_api(api, "upe.tanger", again, PREPARED).status_code == 200
    clock.set(datetime(2027, 1, 12, 8, 0, tzinfo=UTC))
    validate = task_id(engine, report_case, "validate_report")
    assert complete_by_api(api, "upe.tanger", validate, {"decision": "validated"}).status_code == 404, "not its lane"
    assert complete_by_api(api, "cape.tanger", validate, {"decision": "validated"}).status_code == 200

    api.forget_tokens()
    published = api.get(f"/api/v1/statistical-reports/{found.id}", "cape.tanger").get_json()
    assert published["status"] == "published" and published["on_time"] is True
    assert published["published_at"].startswith("2027-01-12") and published["open_tasks"] == []
    with engine.db.reading() as session:
        assert session.get(Case, report_case).status == "closed"


def test_published_on_time_is_measured_from_the_pathway(api: ApiClient, engine, clock):
    reports = _open_q4(engine, clock)
    for unit, user, when in (("upe-tanger-assilah", "upe.tanger", datetime(2027, 1, 10, tzinfo=UTC)),
                             ("upe-casablanca", "upe.casa", datetime(2027, 1, 20, tzinfo=UTC))):
        clock.set(when)
        case_id = reports[unit].case_id
        assert complete_by_api(api, user, task_id(engine, case_id, "prepare_report"), PREPARED).status_code == 200
        coordinator = "cape.tanger" if user == "upe.tanger" else "cape.casa"
        assert complete_by_api(api, coordinator, task_id(engine, case_id, "validate_report"),
                         {"decision": "validated"}).status_code == 200
    api.forget_tokens()
    for user, province, expected in (("cape.tanger", "tanger-assilah", (1, 1, 0, 0)),
                                     ("cape.casa", "casablanca", (1, 0, 1, 0))):
        figures = api.get("/api/v1/indicators?from=2027-01-01&to=2027-03-31", user).get_json()
        timeliness = figures["statistical_reports"]
        assert (timeliness["due"], timeliness["published_on_time"], timeliness["published_late"],
                timeliness["unpublished"]) == expected, province
    national = api.get("/api/v1/indicators?from=2027-01-01&to=2027-03-31", "national").get_json()
    assert national["statistical_reports"]["due"] is None, "counts below 5 are suppressed nationally"
    response = api.get("/api/v1/indicators?from=2027-01-01&to=2027-03-31&format=csv", "cape.casa")
    csv_text = response.get_data(as_text=True)
    assert "statistical_reports_published_late,,1" in csv_text


def test_reports_are_not_childrens_files_and_are_scoped(api: ApiClient, engine, clock):
    child = engine.start_case(report(engine), Actor("upe.tanger", "case_worker"))
    reports = _open_q4(engine, clock)
    tanger = reports["upe-tanger-assilah"]
    cases = api.get("/api/v1/cases", "cape.tanger").get_json()
    assert [c["id"] for c in cases["items"]] == [child.case_id], "the case list holds children only"
    assert api.get(f"/api/v1/cases/{tanger.case_id}", "cape.tanger").status_code == 404
    summary = api.get("/api/v1/supervision/summary", "cppe.tanger").get_json()
    assert summary["open_cases"] == 1
    indicators = api.get("/api/v1/indicators?from=2026-01-01&to=2027-06-30", "cape.tanger").get_json()
    assert indicators["children_served"]["total"] == 1 and indicators["cases_opened"] == 1
    assert api.get(f"/api/v1/statistical-reports/{tanger.id}", "upe.casa").status_code == 404
    assert api.get(f"/api/v1/statistical-reports/{tanger.id}", "cape.casa").status_code == 404
    assert api.get(f"/api/v1/statistical-reports/{tanger.id}", "upe.tanger").status_code == 200
    assert api.get("/api/v1/statistical-reports", "national").status_code == 403
    listed = api.get("/api/v1/statistical-reports?year=2026&quarter=4", "cppe.tanger").get_json()
    assert [r["unit"] for r in listed["items"]] == ["upe-tanger-assilah"]
    assert api.get("/api/v1/statistical-reports?quarter=5", "cppe.tanger").status_code == 400


def test_a_report_pathway_cannot_be_started_as_a_childs_case(api: ApiClient, engine):
    body = report(engine)
    body["pathway"] = "statistical_report"
    response = api.post("/api/v1/cases", "upe.tanger", json=body)
    assert response.status_code == 400 and "pathway" in response.get_json()["errors"]["json"]
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0
    with pytest.raises(ValidationFailed):
        engine.start_case(body, SYSTEM)
