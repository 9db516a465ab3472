"""The national figures resist differencing (issue 20, item 5): an attacker holding every figure
the national level can download — the country's and each province's, in JSON and in the CSV
export — tries every subtraction of published cells from published totals (a breakdown from its
total, the provinces from the country, a province's units, sexes and age bands from its total)
and recovers no hidden cell exactly."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import timedelta
from typing import Any

from engine.runtime import Actor
from tests.conftest import ApiClient
from tests.helpers import ANSWERS, report, task_id

PROVINCES = {"tanger-assilah": "tanger", "casablanca": "casa"}
ADDITIVE = ("by_unit", "by_province", "by_sex", "by_age_band")  # each sums to the total
UNBOUNDED = 10 ** 9

# (province, sex, age, categories, how many): small cells everywhere.
CHILDREN = [("tanger-assilah", "F", 8, ["out_of_school"], 6), ("tanger-assilah", "M", 16, ["street"], 3),
            ("tanger-assilah", "F", 3, ["disability"], 1), ("casablanca", "F", 8, ["out_of_school"], 5),
            ("casablanca", "M", 13, ["begging"], 5), ("casablanca", "M", 16, ["street"], 2),
            ("casablanca", "F", 13, ["begging", "street"], 6)]


def _dataset(api: ApiClient, clock) -> None:
    engine = api.app.extensions["himaya"]
    cases: list[tuple[str, str]] = []
    for province, sex, age, categories, count in CHILDREN:
        for _ in range(count):
            born = (clock.now() - timedelta(days=365 * age + 100)).date().isoformat()
            result = engine.start_case(report(engine, province=province, sex=sex, birth_date=born,
                                              categories=categories),
                                       Actor(f"upe.{PROVINCES[province]}", "case_worker"))
            cases.append((result.case_id, province))
    for index, (case_id, province) in enumerate(cases[:9]):  # 9 receptions done, 2 of them late
        if index == 7:
            clock.advance(timedelta(days=8))
        engine.complete(task_id(engine, case_id, "reception_listening"), ANSWERS["reception_listening"],
                        Actor(f"upe.{PROVINCES[province]}", "case_worker"))


def _get(api: ApiClient, query: str = "") -> Any:
    return api.get(f"/api/v1/indicators?from=2026-01-01&to=2026-12-31{query}", "national")


def _flat(body: dict[str, Any]) -> dict[tuple[str, ...], int | None]:
    """The published counts of one answer, by path (None: hidden)."""
    served = body["children_served"]
    cells: dict[tuple[str, ...], int | None] = {("served", "total"): served["total"]}
    for breakdown, values in served.items():
        if isinstance(values, dict):
            cells.update({("served", breakdown, str(key)): value for key, value in values.items()})
    steps = body["steps"]
    cells.update({("opened",): body["cases_opened"], ("closed",): body["cases_closed"],
                  ("steps", "completed"): steps["completed"], ("steps", "late"): steps["late"]})
    cells.update({("steps", "count", step): value["count"] for step, value in steps["median_days"].items()})
    cells.update({("trainings", key): value for key, value in body["trainings"].items()})
    cells.update({("reports", key): value for key, value in body["statistical_reports"].items()
                  if key != "on_time_share"})
    return cells


def _from_csv(text: str) -> dict[tuple[str, str], str]:
    return {(row["indicator"], row["breakdown"]): row["value"] for row in csv.DictReader(io.StringIO(text))}


def _relations(scopes: dict[str, dict[tuple[str, ...], int | None]]) -> list[tuple[Any, list[Any]]]:
    """Every (total, [cells that add up to it]) an attacker knows of; a cell missing from an
    answer is a known zero (None in the list)."""
    relations: list[tuple[Any, list[Any]]] = []
    for scope, cells in scopes.items():
        for breakdown in ADDITIVE:
            relations.append(((scope, ("served", "total")),
                              [(scope, path) for path in cells if path[:2] == ("served", breakdown)]))
        relations.append(((scope, ("steps", "completed")), [(scope, p) for p in cells if p[:2] == ("steps", "count")]))
        relations.append(((scope, ("reports", "due")), [(scope, ("reports", k)) for k in (
            "published_on_time", "published_late", "unpublished")]))
    provinces = [scope for scope in scopes if scope != "national"]
    paths = {path for scope in provinces for path in scopes[scope]} | set(scopes["national"])
    for path in paths:
        relations.append((("national", path), [(scope, path) for scope in provinces if path in scopes[scope]]))
    return relations


def _attack(scopes: dict[str, dict[tuple[str, ...], int | None]]) -> dict[Any, tuple[int, int]]:
    """Bounds of each hidden cell after every subtraction, repeated until nothing moves (a hidden
    cell is at least 1: zeros are published)."""
    values = {(scope, path): value for scope, cells in scopes.items() for path, value in cells.items()}
    low = {cell: (value if value is not None else 1) for cell, value in values.items()}
    high = {cell: (value if value is not None else UNBOUNDED) for cell, value in values.items()}
    relations = _relations(scopes)
    for _ in range(200):
        moved = False
        for total, members in relations:
            if total not in values:
                continue
            for cell in [total, *members]:
                if values[cell] is not None:
                    continue
                if cell == total:
                    lo, hi = sum(low[m] for m in members), sum(high[m] for m in members)
                else:
                    others = [m for m in members if m != cell]
                    lo = low[total] - sum(high[m] for m in others)
                    hi = high[total] - sum(low[m] for m in others)
                if lo > low[cell] or hi < high[cell]:
                    low[cell], high[cell] = max(low[cell], lo), min(high[cell], hi)
                    moved = True
        if not moved:
            break
    return {cell: (low[cell], high[cell]) for cell, value in values.items() if value is None}


def test_no_hidden_cell_is_recovered_by_subtraction(api: ApiClient, clock) -> None:
    _dataset(api, clock)
    answers = {"national": _get(api)} | {province: _get(api, f"&province={province}") for province in PROVINCES}
    scopes = {scope: _flat(answer.get_json()) for scope, answer in answers.items()}
    hidden = [(scope, path) for scope, cells in scopes.items() for path, value in cells.items() if value is None]
    assert hidden, "the dataset has small cells"
    bounds = _attack(scopes)
    recovered = {cell: bound for cell, bound in bounds.items() if bound[0] >= bound[1]}
    assert recovered == {}, f"recovered by subtraction: {recovered}"
    truth: dict[Any, int] = defaultdict(int)  # and what is published is true: the exact figures of the dataset
    for province, sex, _age, _categories, count in CHILDREN:
        truth[("national", ("served", "by_sex", sex))] += count
        truth[(province, ("served", "by_sex", sex))] += count
    for cell, value in truth.items():
        assert scopes[cell[0]][cell[1]] in (value, None)
    for scope, answer in answers.items():  # the export shows the same cells hidden, never their value
        query = "&format=csv" + (f"&province={scope}" if scope != "national" else "")
        exported = _from_csv(_get(api, query).get_data(as_text=True))
        body = answer.get_json()
        for breakdown in ADDITIVE:
            for key, value in body["children_served"][breakdown].items():
                assert exported[(f"children_served_{breakdown}", key)] == ("x" if value is None else str(value))
        assert exported[("children_served", "total")] == (
            "x" if body["children_served"]["total"] is None else str(body["children_served"]["total"]))


def test_every_provinces_figures_at_once_equal_each_provinces_own(api: ApiClient, clock) -> None:
    """The national table reads the provinces in grouped queries: the same figures as one by one."""
    from datetime import date

    from engine.indicators import Period, compute
    from engine.models import Training
    from engine.province_indicators import compute_provinces
    from tests.conftest import START
    from tests.test_indicators import _quarterly_reports

    engine = api.app.extensions["himaya"]
    _quarterly_reports(engine, clock)  # reports on time, late and unpublished, per province
    clock.set(START)
    _dataset(api, clock)
    period = Period(date(2026, 1, 1), date(2026, 12, 31))
    with engine.db.transaction() as session:  # trainings count per province too
        session.add(Training(title="Écoute", start_date=date(2026, 10, 1), end_date=date(2026, 10, 2),
                             province="casablanca", units=["upe-casablanca"], participants=["A. B", " a. b ", "C"],
                             recorded_by="cape.casa", recorded_at=engine.now()))
    with engine.db.reading() as session:
        together = compute_provinces(session, period, [*PROVINCES, "chefchaouen"])
        for province in [*PROVINCES, "chefchaouen"]:
            assert together[province] == compute(session, period, [province]), province
    assert together["casablanca"]["trainings"] == {"sessions": 1, "staff_trained": 2}
    assert together["tanger-assilah"]["statistical_reports"]["published_late"] == 1
