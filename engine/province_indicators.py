"""Every province's indicators at once: the figures of :func:`engine.indicators.compute` for one
province, for all of them, in one grouped query per indicator (``GROUP BY province``) instead of
one :func:`~engine.indicators.compute` per province. The national level's table
(:mod:`engine.disclosure`) needs them all on every request: 75 provinces computed one by one took
seconds.

The result of a province is the same, key for key, as ``compute(session, period, [province])``
(a test compares them on SQLite and PostgreSQL).
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, distinct, func, or_, select, true
from sqlalchemy.orm import Session

from .indicators import CHILD_OF_CASE, Period, age_band, age_expression_sql, empty_prevention, prevention_by_province
from .models import Case, StatisticalReport, TaskRecord, Training
from .vocabulary import CHILD

BREAKDOWNS = ("by_unit", "by_province", "by_category", "by_sex", "by_age_band")  # compute's order


def _nested() -> defaultdict[str, dict[Any, int]]:
    return defaultdict(dict)


def compute_provinces(session: Session, period: Period, provinces: list[str]) -> dict[str, dict[str, Any]]:
    """``{province: its indicators}`` for these provinces (each as :func:`engine.indicators.compute`)."""
    dialect = session.get_bind().dialect.name
    child = [Case.subject_kind == CHILD, Case.province.in_(provinces)]
    served_where = [Case.opened_at <= period.end_at,
                    or_(Case.closed_at.is_(None), Case.closed_at >= period.start_at), *child]
    children = func.count(distinct(CHILD_OF_CASE))

    def grouped(column: Any) -> defaultdict[str, dict[Any, int]]:
        found = _nested()
        for province, key, n in session.execute(select(Case.province, column, children).where(*served_where)
                                                .group_by(Case.province, column)).all():
            found[province][key] = n
        return found

    totals = dict(session.execute(select(Case.province, children).where(*served_where)
                                  .group_by(Case.province)).all())
    by = {"by_unit": grouped(Case.unit), "by_province": grouped(Case.province), "by_sex": grouped(Case.child_sex)}
    if dialect == "postgresql":
        categories = func.jsonb_array_elements_text(Case.categories).table_valued("value").render_derived()
    else:
        categories = func.json_each(Case.categories).table_valued("value")
    by["by_category"] = _nested()
    for province, key, n in session.execute(
            select(Case.province, categories.c.value, children).select_from(Case).join(categories, true())
            .where(*served_where).group_by(Case.province, categories.c.value)).all():
        by["by_category"][province][key] = n
    by["by_age_band"] = _nested()
    age = age_expression_sql(dialect)
    for province, years, n in session.execute(select(Case.province, age, children).where(*served_where)
                                              .group_by(Case.province, age)).all():
        band = age_band(years)
        by["by_age_band"][province][band] = by["by_age_band"][province].get(band, 0) + n

    def counted(condition: Any) -> dict[str, int]:
        return dict(session.execute(select(Case.province, func.count()).where(condition, *child)
                                    .group_by(Case.province)).all())

    opened = counted(and_(Case.opened_at >= period.start_at, Case.opened_at <= period.end_at))
    closed = counted(and_(Case.closed_at >= period.start_at, Case.closed_at <= period.end_at))
    step_where = [TaskRecord.outcome == "completed", TaskRecord.ended_at >= period.start_at,
                  TaskRecord.ended_at <= period.end_at, *child]
    steps = {province: (completed, late) for province, completed, late in session.execute(
        select(Case.province, func.count(), func.count().filter(TaskRecord.ended_at > TaskRecord.due_at))
        .select_from(TaskRecord).join(Case, Case.id == TaskRecord.case_id).where(*step_where)
        .group_by(Case.province)).all()}
    medians = _medians(session, step_where)
    trainings = _trainings(session, period, provinces)
    reports = _reports(session, period, provinces)
    prevention = prevention_by_province(session, period, provinces)

    results: dict[str, dict[str, Any]] = {}
    for province in provinces:
        completed, late = steps.get(province, (0, 0))
        results[province] = {
            "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
            "provinces": [province],
            "children_served": {"total": totals.get(province, 0),
                                **{key: dict(sorted(by[key].get(province, {}).items(), key=_key))
                                   for key in BREAKDOWNS}},
            "cases_opened": opened.get(province, 0),
            "cases_closed": closed.get(province, 0),
            "steps": {"completed": completed, "late": late,
                      "late_share": round(late / completed, 4) if completed else None,
                      "median_days": medians.get(province, {})},
            "trainings": trainings.get(province, {"sessions": 0, "staff_trained": 0}),
            "prevention": prevention.get(province) or empty_prevention(),
            "statistical_reports": reports.get(province) or _timeliness([]),
        }
    return results


def _key(item: tuple[Any, Any]) -> tuple[bool, str]:
    return (item[0] is not None, "" if item[0] is None else str(item[0]))


def _medians(session: Session, step_where: list[Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{province: {step: {"median", "count"}}}`` as :func:`engine.indicators._median_days`."""
    found: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    if session.get_bind().dialect.name == "postgresql":
        days = func.extract("epoch", TaskRecord.ended_at - TaskRecord.created_at) / 86400
        for province, step, median, n in sorted(session.execute(
                select(Case.province, TaskRecord.step, func.percentile_cont(0.5).within_group(days), func.count())
                .join(Case, Case.id == TaskRecord.case_id).where(*step_where)
                .group_by(Case.province, TaskRecord.step)).all()):
            found[province][step] = {"median": round(float(median), 2), "count": n}
        return found
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    for province, step, days in session.execute(
            select(Case.province, TaskRecord.step,
                   func.julianday(TaskRecord.ended_at) - func.julianday(TaskRecord.created_at))
            .join(Case, Case.id == TaskRecord.case_id).where(*step_where)).all():
        durations[(province, step)].append(days)
    for (province, step), values in sorted(durations.items()):
        found[province][step] = {"median": round(statistics.median(values), 2), "count": len(values)}
    return found


def _trainings(session: Session, period: Period, provinces: list[str]) -> dict[str, dict[str, int]]:
    sessions: dict[str, int] = defaultdict(int)
    staff: dict[str, set[str]] = defaultdict(set)
    for province, participants in session.execute(
            select(Training.province, Training.participants).where(
                Training.start_date >= period.start, Training.start_date <= period.end,
                Training.province.in_(provinces))).all():
        sessions[province] += 1
        staff[province] |= {name.strip().lower() for name in participants or [] if name.strip()}
    return {province: {"sessions": n, "staff_trained": len(staff[province])} for province, n in sessions.items()}


def _reports(session: Session, period: Period, provinces: list[str]) -> dict[str, dict[str, Any]]:
    due: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
    for province, due_at, published_at in session.execute(
            select(StatisticalReport.province, StatisticalReport.due_at, StatisticalReport.published_at).where(
                StatisticalReport.due_at >= period.start_at, StatisticalReport.due_at <= period.end_at,
                StatisticalReport.province.in_(provinces))).all():
        due[province].append((due_at, published_at))
    return {province: _timeliness(rows) for province, rows in due.items()}


def _timeliness(due: list[tuple[Any, Any]]) -> dict[str, Any]:
    """As :func:`engine.indicators.report_timeliness`, from its rows."""
    on_time = sum(1 for d, published in due if published is not None and published <= d)
    late = sum(1 for d, published in due if published is not None and published > d)
    return {"due": len(due), "published_on_time": on_time, "published_late": late,
            "unpublished": len(due) - on_time - late,
            "on_time_share": round(on_time / len(due), 4) if due else None}
