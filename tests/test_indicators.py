"""Indicators against independent counts of a generated dataset (400 cases, 8 quarterly reports);
suppression; exports; bad input."""
from __future__ import annotations

import csv
import io
import random
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine.clock import ManualClock
from engine.indicators import age_band
from engine.models import StatisticalReport
from engine.runtime import SYSTEM, Actor, Engine
from engine.statistical_reports import Quarter, open_quarter
from tests.conftest import START, ApiClient
from tests.helpers import ANSWERS, report, task_id

PROVINCES = {"tanger-assilah": "tanger", "casablanca": "casa"}
CATEGORIES = ["out_of_school", "street", "begging", "child_labour", "poor_family", "disability"]


@pytest.fixture
def dataset(api: ApiClient, clock):
    """Cases with known attributes; the expected figures are counted here, not read back."""
    engine = api.app.extensions["himaya"]
    rng = random.Random(7)
    expected: dict[str, Any] = {"served": Counter(), "unit": Counter(), "province": Counter(), "sex": Counter(),
                "category": Counter(), "age_band": Counter(), "late": 0, "completed": 0}
    expected["reports"] = _quarterly_reports(engine, clock)
    clock.set(START)
    cases = []
    for _ in range(400):  # enough for every reported cell (by one dimension) to pass the small-cell threshold
        province = rng.choice(list(PROVINCES))
        sex = rng.choice("FM")
        age = rng.randint(0, 17)
        categories = rng.sample(CATEGORIES, rng.randint(1, 2))
        born = (clock.now() - timedelta(days=365 * age + 200)).date().isoformat()
        payload = report(engine, province=province, categories=categories, sex=sex, birth_date=born)
        result = engine.start_case(payload, Actor(f"upe.{PROVINCES[province]}", "case_worker"))
        cases.append((result.case_id, province))
        expected["served"][province] += 1
        expected["unit"][f"upe-{province}"] += 1
        expected["province"][province] += 1
        expected["sex"][sex] += 1
        expected["age_band"][age_band(age)] += 1
        for category in categories:
            expected["category"][category] += 1
    # 40 reception steps completed: 25 on time, then 15 after their 7-day due date
    for index, (case_id, province) in enumerate(cases[:40]):
        if index == 25:
            clock.advance(timedelta(days=8))
        engine.complete(task_id(engine, case_id, "reception_listening"), ANSWERS["reception_listening"],
                        Actor(f"upe.{PROVINCES[province]}", "case_worker"))
        expected["completed"] += 1
        expected["late"] += index >= 25
    return expected


# What became of each unit's report of Q4 2025 … Q3 2026 (all due in 2026).
REPORT_OUTCOMES = {"tanger-assilah": ["on_time", "on_time", "late", "unpublished"],
                   "casablanca": ["on_time", "on_time", "on_time", "late"]}


def _quarterly_reports(engine: Engine, clock: ManualClock) -> dict[str, Counter[str]]:
    """Reports published before or after their due date, or not at all (pathway steps, not typed)."""
    quarters = [Quarter(2025, 4), Quarter(2026, 1), Quarter(2026, 2), Quarter(2026, 3)]
    counted: dict[str, Counter[str]] = {province: Counter() for province in REPORT_OUTCOMES}
    for index, quarter in enumerate(quarters):
        clock.set(datetime.combine(quarter.period.end + timedelta(days=1), time(8), UTC))
        open_quarter(engine, quarter, SYSTEM)
        for province, outcomes in REPORT_OUTCOMES.items():
            outcome = outcomes[index]
            counted[province][outcome] += 1
            if outcome == "unpublished":
                continue
            clock.set(quarter.due_at + (timedelta(days=-2) if outcome == "on_time" else timedelta(days=3)))
            with engine.db.reading() as session:
                case_id = session.execute(select(StatisticalReport.case_id).where(
                    StatisticalReport.unit == f"upe-{province}", StatisticalReport.year == quarter.year,
                    StatisticalReport.quarter == quarter.number)).scalar_one()
            short = PROVINCES[province]
            engine.complete(task_id(engine, case_id, "prepare_report"),
                            {"activities": "Écoute", "figures_checked": True}, Actor(f"upe.{short}", "case_worker"))
            engine.complete(task_id(engine, case_id, "validate_report"), {"decision": "validated"},
                            Actor(f"cape.{short}", "coordinator"))
    return counted


def _get(api: ApiClient, user: str, query: str = "") -> TestResponse:
    api.forget_tokens()
    return api.get(f"/api/v1/indicators?from=2026-01-01&to=2026-12-31{query}", user)


def test_every_indicator_equals_an_independent_count(api: ApiClient, dataset):
    body = _get(api, "national").get_json()
    served = body["children_served"]
    assert served["total"] == sum(dataset["served"].values())
    assert served["by_province"] == dict(dataset["province"])
    assert served["by_unit"] == dict(dataset["unit"])
    assert served["by_sex"] == dict(dataset["sex"])
    assert served["by_category"] == dict(dataset["category"])
    assert served["by_age_band"].keys() == dataset["age_band"].keys()
    for band, value in dataset["age_band"].items():  # small ones hidden, and others with them (test_differencing)
        assert served["by_age_band"][band] == (None if value < 5 else served["by_age_band"][band])
        assert served["by_age_band"][band] in (value, None)
    assert body["cases_opened"] == sum(dataset["served"].values()) and body["cases_closed"] == 0
    assert body["steps"]["completed"] == dataset["completed"] and body["steps"]["late"] == dataset["late"]
    assert body["steps"]["late_share"] == round(dataset["late"] / dataset["completed"], 4)
    tanger = _get(api, "cape.tanger").get_json()
    assert tanger["children_served"]["total"] == dataset["province"]["tanger-assilah"]
    reports = dataset["reports"]  # counted as the fixture drove each report
    assert tanger["statistical_reports"] == {
        "due": 4, "published_on_time": reports["tanger-assilah"]["on_time"],
        "published_late": reports["tanger-assilah"]["late"],
        "unpublished": reports["tanger-assilah"]["unpublished"],
        "on_time_share": round(reports["tanger-assilah"]["on_time"] / 4, 4)}
    on_time = sum(r["on_time"] for r in reports.values())
    assert body["statistical_reports"]["due"] == 8
    assert body["statistical_reports"]["published_on_time"] in (on_time, None), "hidden beside a small cell"
    late = sum(r["late"] for r in reports.values())
    assert body["statistical_reports"]["published_late"] == (late if late >= 5 else None), "small cells hidden"


def test_small_cells_are_suppressed_for_the_national_level(api: ApiClient, clock):
    engine = api.app.extensions["himaya"]
    for _ in range(3):
        engine.start_case(report(engine, categories=["disability"]), Actor("upe.tanger", "case_worker"))
    national = _get(api, "national").get_json()
    assert national["children_served"]["total"] is None and national["children_served"]["by_category"] == {
        "disability": None}
    assert national["suppressed_below"] == 5
    local = _get(api, "cppe.tanger").get_json()
    assert local["children_served"]["total"] == 3, "the province's own supervisors see exact counts"
    exported = _get(api, "national", "&format=csv").get_data(as_text=True)
    assert "children_served,total,x" in exported and "Amina" not in exported


def test_exports_open(api: ApiClient, clock):
    engine = api.app.extensions["himaya"]
    engine.start_case(report(engine), Actor("upe.tanger", "case_worker"))
    as_csv = api.get("/api/v1/indicators", "cape.tanger", headers={"Accept": "text/csv"})
    assert as_csv.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(as_csv.get_data(as_text=True))))
    assert table[0] == ["indicator", "breakdown", "value"] and ["children_served", "total", "1"] in table
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(api.get("/api/v1/indicators?format=xlsx", "cape.tanger").get_data()))
    values = [row for row in book.active.iter_rows(values_only=True)]
    assert ("children_served", "total", 1) in values


def test_trainings_feed_the_training_indicators(api: ApiClient):
    body = {"title": "Écoute de l'enfant", "start_date": "2026-10-01", "end_date": "2026-10-03",
            "province": "tanger-assilah", "units": ["upe-tanger-assilah"], "participants": ["A. Idrissi", "B. Alami"]}
    assert api.post("/api/v1/trainings", "cape.tanger", json=body).status_code == 201
    second = {**body, "title": "Protocole territorial", "participants": ["a. idrissi", "C. Bennani"]}
    assert api.post("/api/v1/trainings", "cape.tanger", json=second).status_code == 201
    assert _get(api, "cape.tanger").get_json()["trainings"] == {"sessions": 2, "staff_trained": 3}
    assert api.get("/api/v1/trainings", "cppe.tanger").get_json()["total"] == 2
    assert api.get("/api/v1/trainings", "national").status_code == 403


@pytest.mark.parametrize("body, field", [
    ({"end_date": "2026-09-01"}, "end_date"), ({"units": ["upe-nowhere"]}, "units"),
    ({"participants": []}, "participants"), ({"title": ""}, "title"),
    ({"start_date": "1850-01-01", "end_date": "1850-01-02"}, "start_date")])
def test_bad_trainings_are_refused(api: ApiClient, body, field):
    base = {"title": "x", "start_date": "2026-10-01", "end_date": "2026-10-03", "province": "tanger-assilah",
            "units": ["upe-tanger-assilah"], "participants": ["A"]}
    response = api.post("/api/v1/trainings", "cape.tanger", json={**base, **body})
    assert response.status_code == 400 and field in response.get_json()["errors"]["json"]


def test_indicator_bad_input(api: ApiClient):
    assert api.get("/api/v1/indicators?from=2026-12-01&to=2026-01-01", "cape.tanger").status_code == 400
    assert api.get("/api/v1/indicators?from=1900-01-01&to=2026-01-01", "cape.tanger").status_code == 400
    assert api.get("/api/v1/indicators?province=atlantis", "national").status_code == 404
    assert api.get("/api/v1/indicators?province=casablanca", "cape.tanger").status_code == 403
    assert api.get("/api/v1/indicators", "upe.tanger").status_code == 403
    assert api.post("/api/v1/trainings", "cape.tanger", json={
        "title": "x", "start_date": "2026-10-01", "end_date": "2026-10-03", "province": "atlantis",
        "units": ["u"], "participants": ["A"]}).status_code == 404
    assert api.post("/api/v1/trainings", "cape.casa", json={
        "title": "x", "start_date": "2026-10-01", "end_date": "2026-10-03", "province": "tanger-assilah",
        "units": ["upe-tanger-assilah"], "participants": ["A"]}).status_code == 403


def test_age_bands_at_the_report_date_on_birthday_boundaries(api: ApiClient):
    """Counted by the database: a birthday on the report date counts, the day after does not."""
    engine = api.app.extensions["himaya"]
    received = (engine.now() - timedelta(hours=1)).date()  # the helper's report date
    expected: Counter[str] = Counter()
    for years, days_after, band in ((6, 0, "6-11"), (6, 1, "0-5"), (12, 0, "12-14"), (12, 1, "6-11"),
                                    (15, 0, "15-17"), (18, 1, "15-17")):
        born = received.replace(year=received.year - years) + timedelta(days=days_after)
        engine.start_case(report(engine, birth_date=born.isoformat()), Actor("upe.tanger", "case_worker"))
        expected[band] += 1
    engine.start_case(report(engine, birth_date=None, age_estimate=4), Actor("upe.tanger", "case_worker"))
    expected["0-5"] += 1
    served = _get(api, "cape.tanger").get_json()["children_served"]
    assert served["by_age_band"] == dict(expected)
    assert served["by_sex"] == {"F": 7} and served["by_category"] == {"out_of_school": 7}


def test_median_days_per_step_and_late_share(api: ApiClient, clock):
    """Four reception steps done after 1, 2, 4 and 7.5 days (due after 7): median 3, one late."""
    engine = api.app.extensions["himaya"]
    start = clock.now()
    cases = [engine.start_case(report(engine), Actor("upe.tanger", "case_worker")).case_id for _ in range(4)]
    for case_id, days in zip(cases, (1, 2, 4, 7.5)):
        clock.set(start + timedelta(days=days))
        engine.complete(task_id(engine, case_id, "reception_listening"), ANSWERS["reception_listening"],
                        Actor("upe.tanger", "case_worker"))
    steps = _get(api, "cape.tanger").get_json()["steps"]
    assert steps["median_days"]["reception_listening"] == {"median": 3.0, "count": 4}
    assert (steps["completed"], steps["late"], steps["late_share"]) == (4, 1, 0.25)
    national = _get(api, "national").get_json()["steps"]
    assert national["median_days"]["reception_listening"] == {"median": None, "count": None}, "fewer than 5 steps"


def test_exports_write_formula_like_text_as_text(api: ApiClient):
    """A breakdown comes from data (a unit's or a province's code): the CSV neutralises what a
    spreadsheet would run, the XLSX writes it as a text cell."""
    from openpyxl import load_workbook

    from api.indicator_export import as_csv, as_xlsx

    engine = api.app.extensions["himaya"]
    engine.start_case(report(engine), Actor("upe.tanger", "case_worker"))
    result = _get(api, "cape.tanger").get_json()
    hostile = ["=cmd|' /C calc'!A0", "=1+2", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"]
    result["children_served"]["by_unit"] = {code: 1 for code in hostile}
    result["provinces"] = ["=1+2"]
    table = list(csv.reader(io.StringIO(as_csv(result).get_data(as_text=True))))
    breakdowns = [row[1] for row in table if row[0] == "children_served_by_unit"]
    assert breakdowns == [f"'{code}" for code in hostile]
    assert ["children_served", "total", "1"] in table, "numbers stay numbers"
    book = load_workbook(io.BytesIO(as_xlsx(result).get_data()))
    cells = [cell for row in book.active.iter_rows() for cell in row if cell.value is not None]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"], "no cell may be a formula"
    assert set(hostile) <= {cell.value for cell in cells}
    assert ("children_served", "total", 1) in [tuple(c.value for c in row) for row in book.active.iter_rows()]
