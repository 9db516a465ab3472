"""Quarterly statistical reports, and which report or plan a non-child case runs."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.errors import NotFound
from engine.models import ActionPlan, Case, StatisticalReport
from engine.statistical_reports import figure_rows

from .. import policy
from ..messages import N_
from .context import ReadContext
from .paging import page_rows
from .tasks import case_open_tasks, present_task

FILTERS = ("year", "quarter", "unit", "status")


def present_report(row: StatisticalReport, reference: str, tasks: list[dict[str, Any]] | None = None,
                   with_figures: bool = True) -> dict[str, Any]:
    body = {"id": row.id, "case_id": row.case_id, "reference": reference, "province": row.province,
            "unit": row.unit, "year": row.year, "quarter": row.quarter, "period_start": row.period_start,
            "period_end": row.period_end, "due_at": row.due_at, "status": row.status,
            "published_at": row.published_at,
            "on_time": None if row.published_at is None else row.published_at <= row.due_at}
    if with_figures:
        body["figures"] = row.figures
    if tasks is not None:
        body["open_tasks"] = tasks
    return body


def report_page(ctx: ReadContext, filters: dict[str, Any], page: int, per_page: int
                ) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's reports the caller may see, latest quarter first), without figures."""
    query = select(StatisticalReport, Case.reference).join(Case, Case.id == StatisticalReport.case_id).where(
        policy.report_scope(ctx.principal))
    for name in FILTERS:
        if filters.get(name) is not None:
            query = query.where(getattr(StatisticalReport, name) == filters[name])
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, StatisticalReport.year.desc(),
                                StatisticalReport.quarter.desc(), StatisticalReport.unit)
    return total, [present_report(row, reference, with_figures=False) for row, reference in rows]


def visible_report(ctx: ReadContext, report_id: int) -> tuple[StatisticalReport, str, list[dict[str, Any]]]:
    """The report, its case reference and its open tasks (:class:`NotFound` out of scope)."""
    with ctx.engine.db.reading() as session:
        found = session.execute(select(StatisticalReport, Case.reference, Case.pathway_version_id)
                                .join(Case, Case.id == StatisticalReport.case_id)
                                .where(StatisticalReport.id == report_id, policy.report_scope(ctx.principal))).first()
        if found is None:
            raise NotFound(N_("No such report."))
        row, reference, version_id = found
        tasks = case_open_tasks(session, row.case_id)
    return row, reference, [present_task(ctx, t, reference, version_id) for t in tasks]


def report_figures(ctx: ReadContext, case_id: str) -> list[tuple[str, str, Any]] | None:
    """The figures shown with a report's task (None when the case is not a report)."""
    with ctx.engine.db.reading() as session:
        figures = session.scalar(select(StatisticalReport.figures).where(StatisticalReport.case_id == case_id))
    return figure_rows(figures) if figures is not None else None


def subject_of(ctx: ReadContext, case_id: str) -> tuple[str, int] | None:
    """``("report", id)`` or ``("plan", id)`` when the case runs a report or plan the caller sees."""
    with ctx.engine.db.reading() as session:
        report = session.scalar(select(StatisticalReport.id).where(StatisticalReport.case_id == case_id,
                                                                   policy.report_scope(ctx.principal)))
        if report is not None:
            return "report", report
        plan = session.scalar(select(ActionPlan.id).where(ActionPlan.case_id == case_id,
                                                          policy.plan_scope(ctx.principal)))
    return ("plan", plan) if plan is not None else None
