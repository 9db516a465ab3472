"""The national level's figures, robust to differencing: small counts hidden, and with them enough
other cells that no subtraction of published cells from a published total gives one back.

Hiding a count of 1 to 4 alone is not enough: a province's total minus its other cells, or the
country's figure minus the other provinces', recovers it. So the national level's figures are
always computed as one table — the country's result and every province's (:func:`national_figures`)
— whatever province the caller asks for, and hidden together:

1. **primary**: every count from 1 to 4 (:data:`SMALL_CELL`) is hidden; zeros are published;
2. **secondary** (complementary cells): a first pass settles every sum with one hidden cell
   (one subtraction would give it back: its smallest non-zero published cell is hidden too);
   then an auditor plays the attacker — for every known sum
   (a breakdown adds up to its total: units, provinces, sexes, age bands; the steps' counts to
   the steps completed; a report's outcomes to the reports due; each province's cells to the
   country's) it narrows each hidden cell's range (at least 1, since zeros are published) until
   nothing moves; a hidden cell whose range is one value is exposed, and the smallest non-zero
   published cell of the tightest sum it lies in is hidden too (the sum's total when every
   other cell is hidden already). Repeated until no hidden cell is exposed.
3. What is derived from a hidden count is hidden with it: a median of hidden count, the late
   share, the on-time share.

Every hidden cell is shown the same way (``null`` in JSON, ``x`` in the exports): whether it
was small or only hides a small one is not said, or the range would narrow again.

Not covered: differencing across periods (the same figures asked for two overlapping periods);
categories within one scope do not add up (a child may have several) and are protected across
provinces only. See docs/security.md.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from .indicators import Period, compute
from .models import Case, PreventionActivity, StatisticalReport, Training
from .province_indicators import compute_provinces
from .vocabulary import CHILD

SMALL_CELL = 5
NATIONAL = None  # the scope of the country's figures
ADDITIVE = ("by_unit", "by_province", "by_sex", "by_age_band")  # each adds up to the children served
PREVENTION_AUDIENCES = ("children", "parents", "professionals")  # add up to the participants
REPORT_PARTS = ("published_on_time", "published_late", "unpublished")  # add up to the reports due
_UNBOUNDED = 10 ** 12
_PASSES = 200

Path = tuple[str, ...]
Cell = tuple[str | None, Path]
Relation = tuple[Cell, list[Cell]]  # (total, the cells that add up to it)


def national_figures(session: Session, period: Period) -> dict[str | None, dict[str, Any]]:
    """The country's indicators (key None) and each active province's, hidden together."""
    provinces = sorted(_active_provinces(session, period))
    results: dict[str | None, dict[str, Any]] = {NATIONAL: compute(session, period, None)}
    results.update(compute_provinces(session, period, provinces))  # grouped: a few queries for all
    return protect(results)


def _active_provinces(session: Session, period: Period) -> set[str]:
    """Provinces with a case, a training or a quarterly report that the period may count (the
    others' figures are all zero: nothing to hide)."""
    query = union(
        select(Case.province).where(Case.subject_kind == CHILD, Case.opened_at <= period.end_at),
        select(Training.province).where(Training.start_date >= period.start, Training.start_date <= period.end),
        select(PreventionActivity.province).where(PreventionActivity.held_on >= period.start,
                                                  PreventionActivity.held_on <= period.end),
        select(StatisticalReport.province).where(StatisticalReport.due_at >= period.start_at,
                                                 StatisticalReport.due_at <= period.end_at))
    return {province for (province,) in session.execute(query) if province}


def protect(results: dict[str | None, dict[str, Any]]) -> dict[str | None, dict[str, Any]]:
    """The results with small cells and their complementary cells hidden (see the module)."""
    named = {(scope, path): value for scope, result in results.items() for path, value in _cells(result)}
    cells = sorted(named, key=_order)  # one order: the same figures always hide the same cells
    index = {cell: i for i, cell in enumerate(cells)}
    values = [named[cell] for cell in cells]
    relations = [(index[total], [index[m] for m in members]) for total, members in _relations(results, named)]
    hidden = [0 < value < SMALL_CELL for value in values]
    by_cell: dict[int, list[tuple[int, list[int]]]] = defaultdict(list)
    for relation in relations:
        for cell in (relation[0], *relation[1]):
            by_cell[cell].append(relation)
    _lone_cells(values, hidden, relations)
    while exposed := _exposed(values, hidden, relations):
        more = {chosen for cell in sorted(exposed)
                if (chosen := _complement(values, hidden, by_cell[cell])) is not None}
        if not more:
            break  # nothing left to hide: every cell around is zero or hidden
        for chosen in more:
            hidden[chosen] = True
    paths: dict[str | None, set[Path]] = defaultdict(set)
    for (scope, path), is_hidden in zip(cells, hidden, strict=True):
        if is_hidden:
            paths[scope].add(path)
    return {scope: _hide(result, paths[scope]) for scope, result in results.items()}


def _order(cell: Cell) -> tuple[str, tuple[str, ...]]:
    """A total order of cells (a breakdown's key may be None: a case without a unit)."""
    return (cell[0] or "", tuple("" if part is None else str(part) for part in cell[1]))


def _cells(result: dict[str, Any]) -> Iterable[tuple[Path, int]]:
    """Every count of one result, by its path in the result."""
    served = result["children_served"]
    yield ("children_served", "total"), served["total"]
    for breakdown, values in served.items():
        if isinstance(values, dict):
            for key, value in values.items():
                yield ("children_served", breakdown, key), value
    yield ("cases_opened",), result["cases_opened"]
    yield ("cases_closed",), result["cases_closed"]
    steps = result["steps"]
    yield ("steps", "completed"), steps["completed"]
    yield ("steps", "late"), steps["late"]
    for step, value in steps["median_days"].items():
        yield ("steps", "median_days", step, "count"), value["count"]
    for key, value in result["trainings"].items():
        yield ("trainings", key), value
    for key, value in result.get("prevention", {}).items():
        if isinstance(value, dict):
            for theme, n in value.items():
                yield ("prevention", key, theme), n
        else:
            yield ("prevention", key), value
    for key in ("due", *REPORT_PARTS):
        yield ("statistical_reports", key), result["statistical_reports"][key]


def _relations(results: dict[str | None, dict[str, Any]], values: dict[Cell, int]) -> list[Relation]:
    """The sums an attacker knows: within each scope, and the provinces' cells to the country's.
    A cell missing from a result is a published zero, so it is left out of its sums."""
    relations: list[Relation] = []
    for scope in results:
        paths = [path for cell_scope, path in values if cell_scope == scope]
        for breakdown in ADDITIVE:
            relations.append(((scope, ("children_served", "total")),
                              [(scope, path) for path in paths if path[:2] == ("children_served", breakdown)]))
        relations.append(((scope, ("steps", "completed")),
                          [(scope, path) for path in paths if path[:2] == ("steps", "median_days")]))
        relations.append(((scope, ("statistical_reports", "due")),
                          [(scope, ("statistical_reports", key)) for key in REPORT_PARTS]))
        if (scope, ("prevention", "sessions")) in values:
            relations.append(((scope, ("prevention", "sessions")),
                              [(scope, path) for path in paths if path[:2] == ("prevention", "by_theme")]))
            relations.append(((scope, ("prevention", "participants")),
                              [(scope, ("prevention", key)) for key in PREVENTION_AUDIENCES]))
    provinces = [scope for scope in results if scope is not NATIONAL]
    if NATIONAL in results and provinces:
        for scope, path in values:
            if scope is NATIONAL:
                relations.append(((NATIONAL, path), [(p, path) for p in provinces if (p, path) in values]))
    return relations


def _lone_cells(values: list[int], hidden: list[bool], relations: list[tuple[int, list[int]]]) -> None:
    """The quick first pass: a sum with exactly one hidden cell gives it back by one subtraction,
    so its smallest non-zero published cell (else its total) is hidden too, until no sum has a
    lone hidden cell. The auditor then finds what longer chains of subtractions pin."""
    changed = True
    while changed:
        changed = False
        for total, members in relations:
            cells = (total, *members)
            if sum(hidden[c] for c in cells) != 1:
                continue
            chosen = _complement(values, hidden, [(total, members)])
            if chosen is not None:
                hidden[chosen] = changed = True


def _exposed(values: list[int], hidden: list[bool], relations: list[tuple[int, list[int]]]) -> set[int]:
    """The hidden cells an attacker pins to one value by subtractions (interval propagation)."""
    low = [1 if hidden[i] else value for i, value in enumerate(values)]
    high = [_UNBOUNDED if hidden[i] else value for i, value in enumerate(values)]
    relevant = [(t, members) for t, members in relations if hidden[t] or any(hidden[m] for m in members)]
    for _ in range(_PASSES):
        moved = False
        for t, members in relevant:
            low_sum = sum(low[m] for m in members)
            high_sum = sum(high[m] for m in members)
            if hidden[t] and (low_sum > low[t] or high_sum < high[t]):
                low[t], high[t] = max(low[t], low_sum), min(high[t], high_sum)
                moved = True
            for m in members:
                if not hidden[m]:
                    continue
                lo = low[t] - (high_sum - high[m])
                hi = high[t] - (low_sum - low[m])
                if lo > low[m] or hi < high[m]:
                    new_low, new_high = max(low[m], lo), min(high[m], hi)
                    low_sum += new_low - low[m]
                    high_sum += new_high - high[m]
                    low[m], high[m] = new_low, new_high
                    moved = True
        if not moved:
            break
    return {i for i, is_hidden in enumerate(hidden) if is_hidden and low[i] >= high[i]}


def _complement(values: list[int], hidden: list[bool], relations: list[tuple[int, list[int]]]) -> int | None:
    """The cell to hide beside an exposed one: in the sum with the fewest hidden cells, its
    smallest non-zero published cell, else its total."""
    def hidden_in(relation: tuple[int, list[int]]) -> int:
        return hidden[relation[0]] + sum(hidden[m] for m in relation[1])

    for total, members in sorted(relations, key=hidden_in):
        published = sorted((values[m], m) for m in members if not hidden[m] and values[m] > 0)
        if published:
            return published[0][1]
        if not hidden[total] and values[total] > 0:
            return total
    return None


def _hide(result: dict[str, Any], paths: set[Path]) -> dict[str, Any]:
    """A copy of ``result`` with these counts None, and what derives from them."""
    def cell(path: Path, value: Any) -> Any:
        return None if path in paths else value

    out = dict(result)
    served = result["children_served"]
    out["children_served"] = {"total": cell(("children_served", "total"), served["total"])} | {
        breakdown: {key: cell(("children_served", breakdown, key), value) for key, value in values.items()}
        for breakdown, values in served.items() if isinstance(values, dict)}
    out["cases_opened"] = cell(("cases_opened",), result["cases_opened"])
    out["cases_closed"] = cell(("cases_closed",), result["cases_closed"])
    steps = dict(result["steps"])
    steps["completed"], steps["late"] = cell(("steps", "completed"), steps["completed"]), cell(("steps", "late"),
                                                                                           steps["late"])
    if steps["completed"] is None or steps["late"] is None:
        steps["late_share"] = None
    steps["median_days"] = {step: ({"median": None, "count": None}
                                   if ("steps", "median_days", step, "count") in paths else value)
                            for step, value in steps["median_days"].items()}
    out["steps"] = steps
    out["trainings"] = {key: cell(("trainings", key), value) for key, value in result["trainings"].items()}
    if "prevention" in result:
        out["prevention"] = {key: ({theme: cell(("prevention", key, theme), n) for theme, n in value.items()}
                                   if isinstance(value, dict) else cell(("prevention", key), value))
                             for key, value in result["prevention"].items()}
    reports = {key: cell(("statistical_reports", key), value) if key != "on_time_share" else value
               for key, value in result["statistical_reports"].items()}
    if reports["due"] is None or reports["published_on_time"] is None:
        reports["on_time_share"] = None
    out["statistical_reports"] = reports
    out["suppressed_below"] = SMALL_CELL
    return out
