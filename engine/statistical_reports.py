"""Quarterly statistical reports: a unit's figures for a quarter, as a small pathway.

At the end of each quarter the scheduler opens one report per active UPE unit
(:func:`open_quarter`; the unique key unit + quarter makes it idempotent across processes).
The figures are the unit's indicators for the quarter, computed by :mod:`engine.indicators`
when the report opens and again when the UPE submits it — never typed in. The UPE prepares
(comments on the quarter), the CAPE validates or returns it; the report is *published*
when validated, and it is due 15 days after the quarter ends: "published on time" is
``published_at <= due_at``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import subjects
from .errors import ValidationFailed
from .indicators import Period, compute, prevention_rows
from .models import PathwayVersion, StatisticalReport, Unit
from .vocabulary import STATISTICAL_REPORT, UPE

if TYPE_CHECKING:
    from .runtime import Actor, CaseState, Engine

log = logging.getLogger("himaya.reports")

PATHWAY = "statistical_report"
KIND = STATISTICAL_REPORT
DUE_AFTER_QUARTER = timedelta(days=15)
REPORTING_UNIT_KINDS = (UPE,)
REPORTS = StatisticalReport.__table__


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int  # 1–4

    @classmethod
    def containing(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def last_ended(cls, now: datetime) -> Quarter:
        """The latest quarter whose last day is before ``now``'s day."""
        current = cls.containing(now.date())
        return current.previous()

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    @property
    def period(self) -> Period:
        start = date(self.year, 3 * self.number - 2, 1)
        after = date(self.year + 1, 1, 1) if self.number == 4 else date(self.year, 3 * self.number + 1, 1)
        return Period(start, after - timedelta(days=1))

    @property
    def due_at(self) -> datetime:
        """The end of the 15th day after the quarter."""
        return datetime.combine(self.period.end + DUE_AFTER_QUARTER, time(23, 59, 59), UTC)

    @property
    def label(self) -> str:
        return f"{self.year}-T{self.number}"


def unit_figures(session: Session, province: str, unit: str, quarter: Quarter) -> dict[str, Any]:
    """The unit's indicators for the quarter (no personal data: counts and medians only)."""
    figures = compute(session, quarter.period, [province], units=[unit])
    served = {key: value for key, value in figures["children_served"].items() if key not in ("by_unit", "by_province")}
    return {"children_served": served, "cases_opened": figures["cases_opened"],
            "cases_closed": figures["cases_closed"], "steps": figures["steps"], "trainings": figures["trainings"],
            "prevention": figures["prevention"]}


def open_report(engine: Engine, unit: Unit, quarter: Quarter, actor: Actor) -> str | None:
    """Open the unit's report for the quarter; None when it already exists."""
    with engine.db.reading() as session:
        if session.scalar(select(REPORTS.c.id).where(REPORTS.c.unit == unit.code, REPORTS.c.year == quarter.year,
                                                     REPORTS.c.quarter == quarter.number)) is not None:
            return None
        figures = unit_figures(session, unit.province, unit.code, quarter)

    def create(conn: Connection, case: CaseState, now: datetime) -> None:
        conn.execute(insert(REPORTS).values(
            case_id=case.id, province=unit.province, unit=unit.code, year=quarter.year, quarter=quarter.number,
            period_start=quarter.period.start, period_end=quarter.period.end, due_at=quarter.due_at,
            figures=figures, status="preparing", published_at=None))

    try:
        result = engine.start_subject(PATHWAY, kind=KIND, province=unit.province, unit_code=unit.code, actor=actor,
                                      create=create, data={"report_due_at": quarter.due_at.isoformat(),
                                                           "report_quarter": quarter.label})
    except IntegrityError:  # another process opened it meanwhile
        return None
    return result.case_id


def open_quarter(engine: Engine, quarter: Quarter, actor: Actor) -> list[str]:
    """Open the quarter's report of every active reporting unit that has none yet."""
    with engine.db.reading() as session:
        units = session.scalars(select(Unit).where(Unit.active.is_(True), Unit.kind.in_(REPORTING_UNIT_KINDS))
                                .order_by(Unit.code)).all()
    opened = [case_id for unit in units if (case_id := open_report(engine, unit, quarter, actor)) is not None]
    if opened:
        log.info("opened %d statistical report(s) for %s", len(opened), quarter.label)
    return opened


def parse_quarter(text: str) -> Quarter:
    """``2026-T3`` (or ``2026-Q3``) → Quarter(2026, 3); ValueError otherwise."""
    year, sep, number = text.strip().upper().partition("-")
    if not sep or not year.isdigit() or len(number) != 2 or number[0] not in "TQ" or number[1] not in "1234":
        raise ValueError(f"'{text}' is not a quarter such as 2026-T3")
    if not 2000 <= int(year) <= 2100:
        raise ValueError(f"'{text}': the year must be between 2000 and 2100")
    return Quarter(int(year), int(number[1]))


def quarters_due(first_deployed: datetime | None, now: datetime, limit: int = 8) -> list[Quarter]:
    """The quarters whose reports should exist by ``now``: each that ended after the report
    pathway was first deployed (at most the last ``limit``), oldest first."""
    if first_deployed is None:
        return []
    due: list[Quarter] = []
    quarter = Quarter.last_ended(now)
    while len(due) < limit and datetime.combine(quarter.period.end, time.max, UTC) >= first_deployed:
        due.append(quarter)
        quarter = quarter.previous()
    return due[::-1]


def open_due_reports(engine: Engine, actor: Actor) -> int:
    """The scheduled job: open every missing report of the quarters due (idempotent)."""
    with engine.db.reading() as session:
        first = session.scalar(select(func.min(PathwayVersion.deployed_at)).where(PathwayVersion.key == PATHWAY))
    return sum(len(open_quarter(engine, quarter, actor)) for quarter in quarters_due(first, engine.now()))


def follow_pathway(change: subjects.SubjectChange) -> None:
    """Keep the report's status (and figures) in step with its pathway."""
    for task in change.completed:
        values: dict[str, Any] = {}
        if task["step"] == "prepare_report":
            report = change.conn.execute(select(REPORTS).where(REPORTS.c.case_id == change.case_id)).one()
            quarter = Quarter(report.year, report.quarter)
            values = {"status": "submitted",
                      "figures": unit_figures(Session(bind=change.conn), report.province, report.unit, quarter)}
        elif task["step"] == "validate_report":
            if task["data"].get("decision") == "returned":
                if not str(task["data"].get("comments") or "").strip():
                    raise ValidationFailed("The form has invalid fields.", {
                        "comments": ["Say what to correct when returning the report."]})
                values = {"status": "returned"}
            elif task["data"].get("decision") == "validated":
                values = {"status": "published", "published_at": change.now}
        if values:
            change.conn.execute(update(REPORTS).where(REPORTS.c.case_id == change.case_id).values(**values))


def figure_rows(figures: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """A report's figures as (indicator, breakdown, value) rows, named as the indicators' rows."""
    served = figures.get("children_served") or {}
    rows: list[tuple[str, str, Any]] = [("children_served", "", served.get("total"))]
    for key in ("by_category", "by_sex", "by_age_band"):
        rows.extend((f"children_served_{key}", k, v) for k, v in (served.get(key) or {}).items())
    steps = figures.get("steps") or {}
    rows += [("cases_opened", "", figures.get("cases_opened")), ("cases_closed", "", figures.get("cases_closed")),
             ("steps_completed", "", steps.get("completed")), ("steps_late", "", steps.get("late")),
             ("steps_late_share", "", steps.get("late_share"))]
    rows.extend(("median_days_per_step", step, value.get("median"))
                for step, value in (steps.get("median_days") or {}).items())
    trainings = figures.get("trainings") or {}
    rows += [("trainings_organised", "", trainings.get("sessions")),
             ("staff_trained", "", trainings.get("staff_trained"))]
    if "prevention" in figures:  # reports opened before prevention activities were recorded have none
        rows += prevention_rows(figures["prevention"])
    return rows
