"""Indicators of the UPE programme, computed from the facts Himaya holds (never typed in).

- children served: children whose case was open at some moment of the period, by unit, province,
  category, sex and age band (age at the report date), each child once (reports linked as the same
  child are one);
- cases opened and closed in the period;
- median days per step and the share of steps completed after their due date;
- trainings organised for UPE staff and distinct staff trained;
- prevention and awareness activities held, with the children, parents and professionals reached
  (by the unit that held them: :mod:`engine.prevention`);
- quarterly statistical reports due in the period, published on time or not (from their pathway).

Statistics for the national level carry no personal data and hide small cells, with the cells
that would give them back by subtraction (:mod:`engine.disclosure`).
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import and_, distinct, func, or_, select, true
from sqlalchemy.orm import Session

from .models import Case, PreventionActivity, StatisticalReport, TaskRecord, Training
from .vocabulary import CHILD

# Which child a case is about: itself, or the case it was linked into as the same child.
CHILD_OF_CASE = func.coalesce(Case.duplicate_of, Case.id)
AGE_BANDS = ((0, 5, "0-5"), (6, 11, "6-11"), (12, 14, "12-14"), (15, 17, "15-17"), (18, 99, "18+"))


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, UTC)

    @property
    def end_at(self) -> datetime:  # exclusive
        return datetime.combine(self.end, time.max, UTC)


def age_band(age: int | None) -> str:
    if age is None:
        return "unknown"
    return next((label for low, high, label in AGE_BANDS if low <= age <= high), "unknown")


def age_expression_sql(dialect: str) -> Any:
    """The child's age at the report date (:func:`engine.intake.check_age`, kept in clear on the case
    since the birth date is sealed); else the estimate. ``dialect`` is kept for the callers."""
    return func.coalesce(Case.child_age_at_report, Case.child_age_estimate)


def _median_days(session: Session, step_where: list[Any]) -> dict[str, dict[str, Any]]:
    """Median days from a step's start to its completion, per step (PostgreSQL: in the database)."""
    if session.get_bind().dialect.name == "postgresql":
        days = func.extract("epoch", TaskRecord.ended_at - TaskRecord.created_at) / 86400
        rows = session.execute(
            select(TaskRecord.step, func.percentile_cont(0.5).within_group(days), func.count())
            .join(Case, Case.id == TaskRecord.case_id).where(*step_where).group_by(TaskRecord.step)).all()
        return {step: {"median": round(float(median), 2), "count": n} for step, median, n in sorted(rows)}
    durations: dict[str, list[float]] = defaultdict(list)
    for step, days in session.execute(
            select(TaskRecord.step, func.julianday(TaskRecord.ended_at) - func.julianday(TaskRecord.created_at))
            .join(Case, Case.id == TaskRecord.case_id).where(*step_where)).all():
        durations[step].append(days)
    return {step: {"median": round(statistics.median(values), 2), "count": len(values)}
            for step, values in sorted(durations.items())}


def _served(session: Session, served_where: list[Any]) -> dict[str, Any]:
    """Children served: counted by the database (grouped), never read case by case. A child is
    counted once however many reports were linked as the same child (a confirmed duplicate counts
    with the case it continues in: :data:`CHILD_OF_CASE`)."""
    dialect = session.get_bind().dialect.name
    children = func.count(distinct(CHILD_OF_CASE))

    def grouped(column: Any) -> dict[str, int]:
        return {key: n for key, n in session.execute(
            select(column.label("key"), children).where(*served_where).group_by(column)).all()}

    if dialect == "postgresql":
        categories = func.jsonb_array_elements_text(Case.categories).table_valued("value").render_derived()
    else:
        categories = func.json_each(Case.categories).table_valued("value")
    by_category = {key: n for key, n in session.execute(
        select(categories.c.value, children).select_from(Case).join(categories, true())
        .where(*served_where).group_by(categories.c.value)).all()}
    by_age_band: dict[str, int] = defaultdict(int)
    for age, n in session.execute(select(age_expression := age_expression_sql(dialect), children)
                                  .where(*served_where).group_by(age_expression)).all():
        by_age_band[age_band(age)] += n  # a hundred ages at most: the bands are summed here
    return {"total": session.scalar(select(children).select_from(Case).where(*served_where)) or 0,
            "by_unit": grouped(Case.unit), "by_province": grouped(Case.province), "by_category": by_category,
            "by_sex": grouped(Case.child_sex), "by_age_band": by_age_band}


def compute(session: Session, period: Period, provinces: list[str] | None, *,
            units: list[str] | None = None) -> dict[str, Any]:
    """Every indicator for the period, in the given provinces (None: the whole country),
    optionally of some units only (a unit's quarterly report)."""
    where_province = [Case.subject_kind == CHILD]
    if provinces is not None:
        where_province.append(Case.province.in_(provinces))
    if units is not None:
        where_province.append(Case.unit.in_(units))
    served = _served(session, [Case.opened_at <= period.end_at,
                               or_(Case.closed_at.is_(None), Case.closed_at >= period.start_at), *where_province])

    def count(condition: Any) -> int:
        return session.scalar(select(func.count()).select_from(Case).where(condition, *where_province)) or 0

    opened = count(and_(Case.opened_at >= period.start_at, Case.opened_at <= period.end_at))
    closed = count(and_(Case.closed_at >= period.start_at, Case.closed_at <= period.end_at))

    step_where = [TaskRecord.outcome == "completed", TaskRecord.ended_at >= period.start_at,
                  TaskRecord.ended_at <= period.end_at, *where_province]
    completed, late = session.execute(
        select(func.count(), func.count().filter(TaskRecord.ended_at > TaskRecord.due_at))
        .select_from(TaskRecord).join(Case, Case.id == TaskRecord.case_id).where(*step_where)).one()
    medians = _median_days(session, step_where)

    trainings = [row for row in session.execute(
        select(Training.participants, Training.units).where(
            Training.start_date >= period.start, Training.start_date <= period.end,
            *([Training.province.in_(provinces)] if provinces is not None else []))).all()
        if units is None or set(row.units or []) & set(units)]
    staff = {name.strip().lower() for (participants, _) in trainings for name in participants or [] if name.strip()}

    return {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "provinces": provinces,
        "children_served": {"total": served["total"], **{key: dict(sorted(value.items()))
                                                          for key, value in served.items() if key != "total"}},
        "cases_opened": opened,
        "cases_closed": closed,
        "steps": {
            "completed": completed, "late": late, "late_share": round(late / completed, 4) if completed else None,
            "median_days": medians,
        },
        "trainings": {"sessions": len(trainings), "staff_trained": len(staff)},
        "prevention": prevention_figures(session, period, provinces, units),
        "statistical_reports": report_timeliness(session, period, provinces, units),
    }


PREVENTION_COUNTS = ("sessions", "participants", "children", "parents", "professionals")


def empty_prevention() -> dict[str, Any]:
    return {**{key: 0 for key in PREVENTION_COUNTS}, "by_theme": {}}


def prevention_figures(session: Session, period: Period, provinces: list[str] | None,
                       units: list[str] | None = None) -> dict[str, Any]:
    """Prevention activities held in the period: sessions, people reached (children, parents,
    professionals) and sessions by theme — grouped by the database."""
    return prevention_by_province(session, period, provinces, units, by_province=False).get(None, empty_prevention())


def prevention_by_province(session: Session, period: Period, provinces: list[str] | None,
                           units: list[str] | None = None, *, by_province: bool = True
                           ) -> dict[str | None, dict[str, Any]]:
    """``{province (None when not by province): prevention figures}`` of the period."""
    activity = PreventionActivity
    where = [activity.held_on >= period.start, activity.held_on <= period.end]
    if provinces is not None:
        where.append(activity.province.in_(provinces))
    if units is not None:
        where.append(activity.unit.in_(units))
    key = activity.province if by_province else None
    found: dict[str | None, dict[str, Any]] = {}
    for province, theme, sessions, children, parents, professionals in session.execute(
            select(key if key is not None else func.min(activity.province), activity.theme, func.count(),
                   func.sum(activity.children), func.sum(activity.parents), func.sum(activity.professionals))
            .where(*where).group_by(*([key] if key is not None else []), activity.theme)).all():
        scope = province if by_province else None
        figures = found.setdefault(scope, empty_prevention())
        children, parents, professionals = int(children or 0), int(parents or 0), int(professionals or 0)
        figures["sessions"] += sessions
        figures["children"] += children
        figures["parents"] += parents
        figures["professionals"] += professionals
        figures["participants"] += children + parents + professionals
        figures["by_theme"][theme] = sessions
    for figures in found.values():
        figures["by_theme"] = dict(sorted(figures["by_theme"].items()))
    return found


def report_timeliness(session: Session, period: Period, provinces: list[str] | None,
                      units: list[str] | None = None) -> dict[str, Any]:
    """Quarterly reports due in the period: published on time, late, or still unpublished.

    Read from the report pathway (published when the CAPE validated it), never typed in.
    """
    query = select(StatisticalReport.due_at, StatisticalReport.published_at).where(
        StatisticalReport.due_at >= period.start_at, StatisticalReport.due_at <= period.end_at)
    if provinces is not None:
        query = query.where(StatisticalReport.province.in_(provinces))
    if units is not None:
        query = query.where(StatisticalReport.unit.in_(units))
    due = session.execute(query).all()
    on_time = sum(1 for d, published in due if published is not None and published <= d)
    late = sum(1 for d, published in due if published is not None and published > d)
    return {"due": len(due), "published_on_time": on_time, "published_late": late,
            "unpublished": len(due) - on_time - late,
            "on_time_share": round(on_time / len(due), 4) if due else None}


def rows(indicators: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """Flat (indicator, breakdown, value) rows for CSV and spreadsheets."""
    out: list[tuple[str, str, Any]] = [("children_served", "total", indicators["children_served"]["total"])]
    for key, value in indicators["children_served"].items():
        if isinstance(value, dict):
            out.extend((f"children_served_{key}", k, v) for k, v in value.items())
    out += [("cases_opened", "", indicators["cases_opened"]), ("cases_closed", "", indicators["cases_closed"]),
            ("steps_completed", "", indicators["steps"]["completed"]), ("steps_late", "", indicators["steps"]["late"]),
            ("steps_late_share", "", indicators["steps"]["late_share"])]
    out.extend(("median_days_per_step", step, value["median"])
               for step, value in indicators["steps"]["median_days"].items())
    out += [("trainings_organised", "", indicators["trainings"]["sessions"]),
            ("staff_trained", "", indicators["trainings"]["staff_trained"])]
    out.extend(prevention_rows(indicators.get("prevention") or empty_prevention()))
    out.extend((f"statistical_reports_{key}", "", value) for key, value in indicators["statistical_reports"].items())
    return out


def prevention_rows(prevention: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """The prevention figures as (indicator, breakdown, value) rows."""
    out: list[tuple[str, str, Any]] = [(f"prevention_{key}", "", prevention.get(key)) for key in PREVENTION_COUNTS]
    out.extend(("prevention_sessions_by_theme", theme, n) for theme, n in (prevention.get("by_theme") or {}).items())
    return out
