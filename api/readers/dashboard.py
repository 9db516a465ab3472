"""The supervision dashboard of a province (the CAPE coordinators', the CPPE's): tiles with their
trend, the overdue list that says whom to call, the stalled cases, and the breakdowns — every
figure under the same filters (unit, step, risk level, period), every count read by the database.

A tile compares the period (the last 30, 90 or 365 days) with the one before it, of the same
length: cases opened and closed, the share of steps completed on time; the open cases and the
overdue steps now against the period's first day (rebuilt from the tasks' dates: a task was
overdue then if it was open then and its due date had passed). Stalled cases have no past to
compare with (a flag, not a history). The late actions of the province's validated action plans
(deadline passed, neither done nor dropped: :mod:`engine.plan_progress`) are listed for the CPPE,
and so are the late milestones of the units' conventions (:mod:`engine.conventions`).

A step's duration is its completion minus its creation; one below zero is a data error: left out
of the medians here and reported by ``himaya check`` (:func:`engine.consistency.negative_durations`).
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, distinct, func, or_, select, union_all

from engine import conventions, plan_progress
from engine.models import Case, OpenTask, PathwayVersion, TaskRecord

from .. import policy
from .cases import WITHIN_DAYS
from .children import BRIEF_COLUMNS
from .context import ReadContext
from .supervision import stalled_page
from .tasks import overdue, present_task

PERIODS = WITHIN_DAYS
DEFAULT_PERIOD = "30d"
# The overdue list's orders: the longest late first, or by unit, step, assignee, escalation level.
SORTS: dict[str, tuple[Any, ...]] = {
    "late": (OpenTask.due_at, OpenTask.id),
    "unit": (OpenTask.unit, OpenTask.due_at, OpenTask.id),
    "step": (OpenTask.step, OpenTask.due_at, OpenTask.id),
    "assignee": (OpenTask.assignee.is_(None).desc(), OpenTask.assignee, OpenTask.due_at, OpenTask.id),
    "level": (OpenTask.escalation_level.desc(), OpenTask.due_at, OpenTask.id),
}
SHOWN = 100  # rows of each list on the page


@dataclass(frozen=True)
class Filters:
    unit: str | None = None
    step: str | None = None
    risk_level: str | None = None
    period: str = DEFAULT_PERIOD
    sort: str = "late"

    @property
    def days(self) -> int:
        return PERIODS[self.period]

    def query(self, **changes: Any) -> dict[str, str]:
        """The filters as a query string's values (what a link keeps), with ``changes``."""
        values = {"unit": self.unit, "step": self.step, "risk_level": self.risk_level, "period": self.period,
                  "sort": self.sort, **changes}
        defaults = {"period": DEFAULT_PERIOD, "sort": "late"}
        return {k: str(v) for k, v in values.items() if v and defaults.get(k) != v}


@dataclass(frozen=True)
class Tile:
    key: str
    value: float | None  # None: nothing to count (a share of no step)
    before: float | None  # the previous period (None: no comparison)
    share: bool = False  # a percentage

    @property
    def change(self) -> float | None:
        if self.value is None or self.before is None:
            return None
        return round(self.value - self.before, 1)


@dataclass
class Board:
    filters: Filters
    start: datetime
    tiles: list[Tile]
    overdue_total: int
    overdue: list[dict[str, Any]]
    stalled_total: int
    stalled: list[dict[str, Any]]
    by_step: list[tuple[str, str, int]]  # (code, title, open cases)
    by_unit: list[tuple[str, int]]
    by_risk: list[tuple[str, int]]
    median_days: list[tuple[str, str, float, int]]  # (code, title, median days, steps) over the period
    months: list[dict[str, Any]]
    step_titles: dict[str, str] = field(default_factory=dict)
    # The province's validated plans' actions whose deadline passed, neither done nor dropped.
    late_actions: list[dict[str, Any]] = field(default_factory=list)
    # The milestones of the units' conventions due and neither done nor dropped (engine.conventions).
    late_milestones: list[dict[str, Any]] = field(default_factory=list)


def _case_filters(filters: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.unit:
        where.append(Case.unit == filters.unit)
    if filters.risk_level:
        where.append(Case.risk_level == filters.risk_level)
    return where


def _open_at(ctx: ReadContext, session: Any, filters: Filters, when: datetime | None) -> int:
    """Open cases now (``when`` None), or on a past day (opened by then, not closed yet then)."""
    where = [policy.case_scope(ctx.principal), *_case_filters(filters)]
    if when is None:
        where.append(Case.status == "open")
    else:
        where += [Case.opened_at <= when, or_(Case.closed_at.is_(None), Case.closed_at > when)]
    if filters.step and when is None:
        where.append(Case.id.in_(select(OpenTask.case_id).where(OpenTask.step == filters.step)))
    return int(session.scalar(select(func.count()).select_from(Case).where(*where)) or 0)


def _overdue_then(ctx: ReadContext, session: Any, filters: Filters, when: datetime) -> int:
    """Steps overdue on a past day: open then (still open, or ended since) with their due date passed."""
    def part(table: Any, ended: Any) -> Any:
        where = [table.case_id == Case.id, policy.case_scope(ctx.principal), *_case_filters(filters),
                 table.created_at <= when, table.due_at < when, ended]
        if filters.step:
            where.append(table.step == filters.step)
        return select(table.id).select_from(table).join(Case, Case.id == table.case_id).where(*where)
    both = union_all(part(OpenTask, OpenTask.id.is_not(None)), part(TaskRecord, TaskRecord.ended_at > when))
    return int(session.scalar(select(func.count()).select_from(both.subquery())) or 0)


def _counted(ctx: ReadContext, session: Any, filters: Filters, column: Any, low: datetime, high: datetime) -> int:
    where = [policy.case_scope(ctx.principal), *_case_filters(filters), column > low, column <= high]
    return int(session.scalar(select(func.count()).select_from(Case).where(*where)) or 0)


def _on_time_share(ctx: ReadContext, session: Any, filters: Filters, low: datetime, high: datetime
                   ) -> float | None:
    where = [policy.case_scope(ctx.principal), *_case_filters(filters), TaskRecord.outcome == "completed",
             TaskRecord.due_at.is_not(None), TaskRecord.ended_at > low, TaskRecord.ended_at <= high]
    if filters.step:
        where.append(TaskRecord.step == filters.step)
    total, on_time = session.execute(
        select(func.count(), func.count().filter(TaskRecord.ended_at <= TaskRecord.due_at))
        .select_from(TaskRecord).join(Case, Case.id == TaskRecord.case_id).where(*where)).one()
    return round(100 * on_time / total, 1) if total else None


def overdue_rows(ctx: ReadContext, filters: Filters, limit: int = SHOWN) -> tuple[int, list[dict[str, Any]]]:
    """(total, the overdue steps in the filters' order): each with its unit, assignee, escalation
    level and days late."""
    where = [policy.task_scope(ctx.principal), overdue(ctx.now)]
    if filters.unit:
        where.append(OpenTask.unit == filters.unit)
    if filters.step:
        where.append(OpenTask.step == filters.step)
    if filters.risk_level:
        where.append(OpenTask.case_id.in_(select(Case.id).where(Case.risk_level == filters.risk_level)))
    with ctx.engine.db.reading() as session:
        total = int(session.scalar(select(func.count()).select_from(OpenTask).where(*where)) or 0)
        rows = session.execute(select(OpenTask, Case.reference, Case.pathway_version_id, *BRIEF_COLUMNS)
                               .join(Case, Case.id == OpenTask.case_id).where(*where)
                               .order_by(*SORTS[filters.sort]).limit(limit)).all()
    items = []
    for row in rows:
        item = present_task(ctx, row[0], row[1], row[2], child=row)
        due = row[0].due_at
        item["days_late"] = max(0, (ctx.now - due).days) if due else 0
        items.append(item)
    return total, items


def board(ctx: ReadContext, filters: Filters, stalled_after: timedelta) -> Board:
    now = ctx.now
    start, before = now - timedelta(days=filters.days), now - timedelta(days=2 * filters.days)
    overdue_total, overdue_items = overdue_rows(ctx, filters)
    stalled_total, stalled_cases = stalled_page(
        ctx, stalled_after, {"unit": filters.unit, "risk_level": filters.risk_level, "step": filters.step}, 1, SHOWN)
    scope = [policy.case_scope(ctx.principal), *_case_filters(filters)]
    with ctx.engine.db.reading() as session:
        tiles = [
            Tile("open_cases", _open_at(ctx, session, filters, None), _open_at(ctx, session, filters, start)),
            Tile("overdue_steps", overdue_total, _overdue_then(ctx, session, filters, start)),
            Tile("stalled_cases", stalled_total, None),
            Tile("opened", _counted(ctx, session, filters, Case.opened_at, start, now),
                 _counted(ctx, session, filters, Case.opened_at, before, start)),
            Tile("closed", _counted(ctx, session, filters, Case.closed_at, start, now),
                 _counted(ctx, session, filters, Case.closed_at, before, start)),
            Tile("on_time", _on_time_share(ctx, session, filters, start, now),
                 _on_time_share(ctx, session, filters, before, start), share=True),
        ]
        open_scope = [*scope, Case.status == "open"]
        if filters.step:
            open_scope.append(Case.id.in_(select(OpenTask.case_id).where(OpenTask.step == filters.step)))
        by_step = session.execute(
            select(OpenTask.step, func.count(distinct(Case.id))).select_from(Case)
            .join(OpenTask, OpenTask.case_id == Case.id)
            .where(*open_scope, policy.task_scope(ctx.principal)).group_by(OpenTask.step)).all()
        by_unit = session.execute(select(Case.unit, func.count()).where(*open_scope).group_by(Case.unit)).all()
        by_risk = session.execute(select(Case.risk_level, func.count()).where(*open_scope)
                                  .group_by(Case.risk_level)).all()
        step_where = [*scope, TaskRecord.outcome == "completed", TaskRecord.ended_at > start,
                      TaskRecord.ended_at >= TaskRecord.created_at]  # a negative duration is a data error
        if filters.step:
            step_where.append(TaskRecord.step == filters.step)
        durations = session.execute(select(TaskRecord.step, TaskRecord.created_at, TaskRecord.ended_at)
                                    .join(Case, Case.id == TaskRecord.case_id).where(*step_where)).all()
        months_since = now - timedelta(days=366)
        month_rows = session.execute(select(Case.opened_at, Case.closed_at).where(
            *scope, or_(Case.opened_at >= months_since, and_(Case.closed_at.is_not(None),
                                                                Case.closed_at >= months_since)))).all()
        version_id = session.scalar(select(PathwayVersion.id).where(PathwayVersion.key == "child_protection",
                                                                    PathwayVersion.is_active.is_(True)))
        late = plan_progress.late_actions(session, ctx.principal.province, now.date()) if ctx.principal.province else []
        late_milestones = conventions.late_milestones(session, ctx.principal.province, now.date()) \
            if ctx.principal.province else []
    compiled = ctx.definition(version_id) if version_id else None
    titles = {step: info.title(ctx.language) for step, info in compiled.user_tasks.items()} if compiled else {}
    per_step: dict[str, list[float]] = defaultdict(list)
    for step, created_at, ended_at in durations:
        per_step[step].append((ended_at - created_at).total_seconds() / 86400)
    return Board(
        filters=filters, start=start, tiles=tiles, overdue_total=overdue_total, overdue=overdue_items,
        stalled_total=stalled_total, stalled=stalled_cases,
        by_step=sorted(((s, titles.get(s, s), n) for s, n in by_step), key=lambda r: (-r[2], r[1])),
        by_unit=sorted(((u, n) for u, n in by_unit), key=lambda r: (-r[1], r[0])),
        by_risk=[(level, n) for level, n in sorted(by_risk, key=lambda r: ("high", "medium", "low").index(r[0])
                                                   if r[0] in ("high", "medium", "low") else 9)],
        median_days=sorted(((s, titles.get(s, s), round(statistics.median(d), 1), len(d))
                            for s, d in per_step.items()), key=lambda r: (-r[2], r[1])),
        months=_months(now, list(month_rows)), step_titles=titles, late_actions=late,
        late_milestones=late_milestones)


def _months(now: datetime, rows: list[Any]) -> list[dict[str, Any]]:
    """The last twelve calendar months, oldest first: cases opened and closed in each."""
    months = [f"{(now.year * 12 + now.month - 1 - i) // 12:04d}-{(now.month - 1 - i) % 12 + 1:02d}"
              for i in range(11, -1, -1)]
    opened: dict[str, int] = defaultdict(int)
    closed: dict[str, int] = defaultdict(int)
    for opened_at, closed_at in rows:
        opened[opened_at.strftime("%Y-%m")] += 1
        if closed_at:
            closed[closed_at.strftime("%Y-%m")] += 1
    return [{"month": m, "opened": opened[m], "closed": closed[m]} for m in months]
