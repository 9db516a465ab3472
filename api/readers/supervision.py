"""Supervision of a province: overdue tasks, stalled cases, counts, and the dashboard page.

The CPPE's supervisors read these lists by the case's reference, the child's age and sex, never
the child's name (:func:`api.policy.names_children_in_lists`): the name is in the file they open,
and each opening is logged (``case_viewed``). Counts and medians carry no name at all.

"Overdue" has one meaning everywhere (:func:`api.readers.tasks.overdue`); "stalled" too
(:func:`engine.stalling.stalled`): an open case without a completed step for the stalled delay
(``HIMAYA_STALLED_DAYS`` by default), the wait on a scheduled visit not counted, or whose visit
is overdue.
"""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, distinct, func, select

from engine.models import Case, CaseWorkflow, OpenTask, PathwayVersion, TaskRecord
from engine.stalling import stalled

from .. import policy
from .cases import PATHWAY_REF, PathwayRef, summary, with_pathway
from .children import BRIEF_COLUMNS
from .context import ReadContext
from .paging import page_rows
from .tasks import overdue, present_task

FILTERS = ("unit", "risk_level", "step")


def _filtered(query: Select, filters: dict[str, Any], *, task_table: bool) -> Select:
    if filters.get("unit"):
        query = query.where(Case.unit == filters["unit"])
    if filters.get("risk_level"):
        query = query.where(Case.risk_level == filters["risk_level"])
    if filters.get("step"):
        query = query.where(OpenTask.step == filters["step"]) if task_table else query.where(
            Case.id.in_(select(OpenTask.case_id).where(OpenTask.step == filters["step"])))
    return query


def overdue_page(ctx: ReadContext, filters: dict[str, Any], page: int, per_page: int
                 ) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's overdue tasks in the caller's territory, oldest due date first)."""
    # Filters on open_tasks only (the risk level through a subquery): counted without a join, and
    # the first page read in due-date order from ix_open_tasks_province_due.
    where = [policy.task_scope(ctx.principal), overdue(ctx.now)]
    if filters.get("unit"):
        where.append(OpenTask.unit == filters["unit"])
    if filters.get("step"):
        where.append(OpenTask.step == filters["step"])
    if filters.get("risk_level"):
        where.append(OpenTask.case_id.in_(select(Case.id).where(Case.risk_level == filters["risk_level"])))
    with ctx.engine.db.reading() as session:
        total = session.scalar(select(func.count()).select_from(OpenTask).where(*where)) or 0
        rows = session.execute(select(OpenTask, Case.reference, Case.pathway_version_id, *BRIEF_COLUMNS)
                               .join(Case, Case.id == OpenTask.case_id).where(*where)
                               .order_by(OpenTask.due_at, OpenTask.id).limit(per_page)
                               .offset((page - 1) * per_page)).all()
    return total, [present_task(ctx, row[0], row[1], row[2], child=row) for row in rows]


def stalled_page(ctx: ReadContext, stalled_after: timedelta, filters: dict[str, Any], page: int, per_page: int
                 ) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's open cases without a completed step for ``stalled_after``), longest
    stalled first."""
    query = _filtered(with_pathway(select(Case, *PATHWAY_REF, CaseWorkflow))
                      .where(policy.case_scope(ctx.principal), Case.status == "open",
                             stalled(ctx.now, stalled_after)), filters, task_table=False)
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, CaseWorkflow.idle_since, Case.id)
    return total, [_stalled_row(ctx, case, PathwayRef(key, version), runtime) for case, key, version, runtime in rows]


def _stalled_row(ctx: ReadContext, case: Case, pathway: PathwayRef, runtime: CaseWorkflow) -> dict[str, Any]:
    """A stalled case: since when its clock runs, and whether a visit a timer opened is overdue."""
    idle_since = runtime.idle_since or runtime.last_progress_at
    visit_overdue = runtime.visit_due_at is not None and runtime.visit_due_at < ctx.now
    masked = not policy.names_children_in_lists(ctx.principal, case.consent)  # supervisors: by reference
    return {**summary(case, pathway, runtime.version, masked=masked), "last_progress_at": runtime.last_progress_at,
            "days_without_progress": (ctx.now - runtime.last_progress_at).days,
            "idle_since": idle_since, "days_idle": (ctx.now - idle_since).days,
            "visit_due_at": runtime.visit_due_at, "reason": "visit_overdue" if visit_overdue else "no_progress"}


def counts(ctx: ReadContext, filters: dict[str, Any]) -> dict[str, Any]:
    """Open cases in the caller's territory: in all, by current step, by risk level, by unit."""
    principal = ctx.principal
    scope = [policy.case_scope(principal), Case.status == "open"]
    with ctx.engine.db.reading() as session:
        def grouped(column: Any, *, with_tasks: bool = False) -> list[dict[str, Any]]:
            query = select(column, func.count(distinct(Case.id))).select_from(Case)
            if with_tasks:  # the task side filtered by the same territory, so its index serves
                query = query.join(OpenTask, OpenTask.case_id == Case.id).where(policy.task_scope(principal))
            query = _filtered(query.where(*scope), filters, task_table=with_tasks).group_by(column).order_by(column)
            return [{"key": key, "count": number} for key, number in session.execute(query)]

        total = session.scalar(_filtered(select(func.count(distinct(Case.id))).select_from(Case).where(*scope),
                                         filters, task_table=False))
        return {"open_cases": total, "by_step": grouped(OpenTask.step, with_tasks=True),
                "by_risk_level": grouped(Case.risk_level), "by_unit": grouped(Case.unit)}


@dataclass
class Dashboard:
    """What the supervision page shows."""

    overdue_total: int
    overdue: list[dict[str, Any]]
    stalled_total: int
    stalled: list[dict[str, Any]]
    counts: dict[str, Any]
    months: list[dict[str, Any]]  # the last twelve calendar months, oldest first: opened, closed
    median_days: list[tuple[str, float]]  # per step title, over the last twelve months
    step_titles: dict[str, str]


SHOWN = 100  # rows of each list on the page


def dashboard(ctx: ReadContext, stalled_after: timedelta) -> Dashboard:
    overdue_total, overdue_tasks = overdue_page(ctx, {}, 1, SHOWN)
    stalled_total, stalled_cases = stalled_page(ctx, stalled_after, {}, 1, SHOWN)
    now, since = ctx.now, ctx.now - timedelta(days=366)
    with ctx.engine.db.reading() as session:
        cases = session.execute(select(Case.opened_at, Case.closed_at).where(
            policy.case_scope(ctx.principal), (Case.opened_at >= since) | (Case.closed_at >= since))).all()
        durations = session.execute(select(TaskRecord.step, TaskRecord.created_at, TaskRecord.ended_at)
                                    .join(Case, Case.id == TaskRecord.case_id)
                                    .where(policy.case_scope(ctx.principal), TaskRecord.outcome == "completed",
                                           TaskRecord.ended_at >= since)).all()
        version_id = session.scalar(select(PathwayVersion.id).where(PathwayVersion.key == "child_protection",
                                                                    PathwayVersion.is_active.is_(True)))
    compiled = ctx.definition(version_id) if version_id else None
    titles = {step: info.title(ctx.language) for step, info in compiled.user_tasks.items()} if compiled else {}
    months = [f"{(now.year * 12 + now.month - 1 - i) // 12:04d}-{(now.month - 1 - i) % 12 + 1:02d}"
              for i in range(11, -1, -1)]
    opened: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    for opened_at, closed_at in cases:
        opened[opened_at.strftime("%Y-%m")] += 1
        if closed_at:
            closed[closed_at.strftime("%Y-%m")] += 1
    per_step: dict[str, list[float]] = defaultdict(list)
    for step, created_at, ended_at in durations:
        per_step[step].append((ended_at - created_at).total_seconds() / 86400)
    return Dashboard(
        overdue_total, overdue_tasks, stalled_total, stalled_cases, counts(ctx, {}),
        [{"month": m, "opened": opened[m], "closed": closed[m]} for m in months],
        [(titles.get(step, step), round(statistics.median(days), 1)) for step, days in per_step.items()],
        titles)
