"""Tasks: one task, the task lists, a case's open tasks, and how a task is shown."""
from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, or_, select
from sqlalchemy.orm import Session

from engine.errors import Conflict, NotFound
from engine.models import Case, CaseTransfer, OpenTask, TaskRecord, User
from engine.runtime import CommandResult, TaskRow, is_overdue
from engine.vocabulary import RISK_LEVELS

from .. import policy
from ..auth import Principal
from ..messages import N_
from .children import BRIEF_COLUMNS, child_brief
from .context import ReadContext
from .paging import count, total_of

# An open task, its case's reference and its pathway version.
FoundTask = tuple[Any, str, int]  # (the task's columns as a plain row, case reference, pathway version)
_TASK_COLUMNS = tuple(OpenTask.__table__.c)


def overdue(now: datetime) -> ColumnElement[bool]:
    """The one meaning of "overdue" (:func:`engine.runtime.is_overdue`) in SQL: the due date has
    passed, or a rung of the escalation ladder was taken. Lists, counts and pages all use it."""
    return or_(OpenTask.due_at < now, OpenTask.escalation_level > 0)


def on_time(now: datetime) -> ColumnElement[bool]:
    """Not overdue (a task without a due date is on time)."""
    return and_(or_(OpenTask.due_at >= now, OpenTask.due_at.is_(None)), OpenTask.escalation_level == 0)


def present_task(ctx: ReadContext, row: OpenTask | TaskRow | Any, case_reference: str, pathway_version_id: int, *,
                 with_form: bool = False, child: Any = None) -> dict[str, Any]:
    """A task as the API and the pages show it (title and form in the reader's language; with the
    child's name or alias, age and the case's risk when ``child`` holds the case's brief columns)."""
    compiled = ctx.definition(pathway_version_id)
    info = compiled.user_tasks.get(row.step)
    body: dict[str, Any] = {
        "id": row.id, "case_id": row.case_id, "case_reference": case_reference, "name": row.step,
        "title": info.title(ctx.language) if info else row.step, "role": row.role, "sector": row.sector,
        "province": row.province, "unit": row.unit, "state": row.state, "assignee": row.assignee,
        "created_at": row.created_at, "due_at": row.due_at,
        "overdue": is_overdue(row, ctx.now), "escalation_level": row.escalation_level,
    }
    if child is not None:
        masked = not policy.names_children_in_lists(ctx.principal, child.consent)
        brief = child_brief(child, ctx.now.date(), masked=masked)
        body.update(child_name=brief["display_name"], child_age=brief["age"], risk_level=child.risk_level,
                    child_masked=masked)
    if with_form and info is not None:
        body["form"] = compiled.forms[info.form].localized(ctx.language)
    return body


def present_command(ctx: ReadContext, result: CommandResult) -> dict[str, Any]:
    """What a command (report, completion, risk change) answers: the case and its open tasks."""
    compiled = ctx.definition(result.pathway_version_id)
    return {
        "id": result.case_id, "reference": result.case_reference, "status": result.case_status,
        "risk_level": result.risk_level, "version": result.case_version,
        "pathway": {"key": compiled.key, "version": compiled.versions[result.pathway_version_id]},
        "open_tasks": [present_task(ctx, t, result.case_reference, result.pathway_version_id)
                       for t in result.open_tasks],
    }


def case_open_tasks(session: Session, case_id: str) -> list[OpenTask]:
    """The tasks a case is at, oldest first (tasks opened together, by step)."""
    return list(session.scalars(select(OpenTask).where(OpenTask.case_id == case_id)
                                .order_by(OpenTask.created_at, OpenTask.step)))


def visible_task(ctx: ReadContext, task_id: str, *, ended_is_conflict: bool = False) -> FoundTask:
    """The open task if the caller sees it; :class:`NotFound` otherwise.

    With ``ended_is_conflict`` (an action on the task, or a page about it), a task that has
    ended in a case the caller sees is a :class:`Conflict` instead: it existed, it is done.
    """
    with ctx.engine.db.reading() as session:
        # A plain row of the task's columns (read as an OpenTask's attributes), not an ORM object.
        found = session.execute(select(*_TASK_COLUMNS, Case.reference.label("case_reference"),
                                       Case.pathway_version_id)
                                .join(Case, Case.id == OpenTask.case_id)
                                .where(OpenTask.id == str(task_id), policy.task_scope(ctx.principal))).first()
        if found is not None:
            return found, found.case_reference, found.pathway_version_id
        ended = ended_is_conflict and session.scalar(
            select(TaskRecord.id).join(Case, Case.id == TaskRecord.case_id)
            .where(TaskRecord.id == str(task_id), policy.case_scope(ctx.principal))) is not None
    if ended:
        raise Conflict(N_("This task is no longer open."))
    raise NotFound(N_("No such open task."))


def why_not_open(ctx: ReadContext, task_id: str) -> str | None:
    """Why the caller cannot act on this task any more (an outreach phone syncing a step done
    offline): ``completed`` or ``cancelled`` (it ended, in a case the caller sees), ``claimed``
    (someone else holds it), ``transferred`` (its case moved away from the caller's unit or
    province by an accepted transfer: the caller knew the case), or None (no such task)."""
    task_id = str(task_id)
    with ctx.engine.db.reading() as session:
        ended = session.execute(select(TaskRecord.outcome).join(Case, Case.id == TaskRecord.case_id).where(
            TaskRecord.id == task_id, policy.case_scope(ctx.principal))).first()
        if ended is not None:
            return "completed" if ended.outcome == "completed" else "cancelled"
        held = session.execute(select(OpenTask.state, OpenTask.assignee).where(
            OpenTask.id == task_id, policy.task_scope(ctx.principal))).first()
        if held is not None:
            return "claimed" if held.state == "claimed" and held.assignee != ctx.principal.username else None
        case_id = session.scalar(select(OpenTask.case_id).where(OpenTask.id == task_id)) or session.scalar(
            select(TaskRecord.case_id).where(TaskRecord.id == task_id))
        if case_id is None:
            return None
        p = ctx.principal
        sender = (CaseTransfer.from_unit == p.unit) if p.unit else (CaseTransfer.from_province == p.province)
        moved = session.scalar(select(CaseTransfer.id).where(
            CaseTransfer.case_id == case_id, CaseTransfer.state == "accepted", sender).limit(1))
    return "transferred" if moved is not None else None


SORTS = ("due", "risk", "oldest", "step")  # the task list's orders (due date first by default)
SCOPES = ("mine", "available", "all")


def due_in_days(due_at: datetime | None, now: datetime, zone: tzinfo = UTC) -> int | None:
    """Calendar days from today to the due date in ``zone`` (negative: late by that many days)."""
    if due_at is None:
        return None
    return (due_at.astimezone(zone).date() - now.astimezone(zone).date()).days


def _risk_rank() -> ColumnElement[int]:
    return case({level: rank for rank, level in enumerate(RISK_LEVELS)}, value=Case.risk_level,
                else_=len(RISK_LEVELS))


def _order(sort: str) -> list[Any]:
    # NULLS LAST is PostgreSQL's default order of an ascending index: (unit|province, role,
    # state, due_at) indexes then give the first page by due date without sorting every matching task.
    due = OpenTask.due_at.asc().nulls_last()
    if sort == "risk":
        return [_risk_rank(), due, OpenTask.id]
    if sort == "oldest":
        return [OpenTask.created_at, OpenTask.id]
    if sort == "step":
        return [OpenTask.step, due, OpenTask.id]
    return [due, OpenTask.id]


def _task_query(ctx: ReadContext, scope: str, *, state: str | None = None, case_id: str | None = None,
                step: str | None = None, overdue_only: bool | None = None, unit: str | None = None) -> Select[Any]:
    return _filtered(ctx.principal, ctx.now, scope, state=state, case_id=case_id, step=step,
                     overdue_only=overdue_only, unit=unit)


def _filtered(principal: Principal, now: datetime, scope: str, *, state: str | None = None,
              case_id: str | None = None, step: str | None = None, overdue_only: bool | None = None,
              unit: str | None = None) -> Select[Any]:
    where = {"mine": policy.task_scope(principal), "available": policy.actionable_scope(principal),
             "all": policy.task_scope(principal)}[scope]
    query = select(OpenTask.id).where(where)  # the filters read open_tasks only: count without the join
    if scope == "mine":
        query = query.where(OpenTask.assignee == principal.username)
    if scope == "available":
        query = query.where(OpenTask.state == "ready")
    if state:
        query = query.where(OpenTask.state == state)
    if case_id:
        query = query.where(OpenTask.case_id == str(case_id))
    if step:
        query = query.where(OpenTask.step == step)
    if unit:
        query = query.where(OpenTask.unit == unit)
    if overdue_only is not None:
        query = query.where(overdue(now) if overdue_only else on_time(now))
    return query


def page_statements(principal: Principal, now: datetime, scope: str, *, page: int = 1, per_page: int = 20,
                    sort: str = "due", **filters: Any) -> tuple[Select[Any], Select[Any]]:
    """(the filter query, the page's statement) of the task list, as :func:`task_page` runs them
    (``bench/api_bench.py`` explains these very statements)."""
    query = _filtered(principal, now, scope, **filters)
    statement = (query.with_only_columns(*_TASK_COLUMNS, Case.reference.label("case_reference"),
                                         Case.pathway_version_id, *BRIEF_COLUMNS)
                 .join(Case, Case.id == OpenTask.case_id)
                 .order_by(*_order(sort))
                 .limit(per_page).offset((page - 1) * per_page))
    return query, statement


def task_page(ctx: ReadContext, *, scope: str, page: int, per_page: int, state: str | None = None,
              case_id: str | None = None, step: str | None = None, overdue_only: bool | None = None,
              unit: str | None = None, sort: str = "due", zone: tzinfo = UTC) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's tasks): ``mine`` (claimed by me), ``available`` (ready, mine to take)
    or ``all`` (visible); by due date (``sort``: also ``risk``, high first, ``oldest`` or ``step``)."""
    query, statement = page_statements(ctx.principal, ctx.now, scope, page=page, per_page=per_page, sort=sort,
                                       state=state, case_id=case_id, step=step, overdue_only=overdue_only, unit=unit)
    with ctx.engine.db.reading() as session:
        # Plain rows of the task's columns, not ORM objects: a page is shown, never changed.
        rows = session.execute(statement).all()
        total = total_of(session, query, page, per_page, len(rows))
    items = []
    for row in rows:
        item = present_task(ctx, row, row.case_reference, row.pathway_version_id, child=row)
        item["due_in_days"] = due_in_days(row.due_at, ctx.now, zone)
        items.append(item)
    return total, items


def scope_counts(ctx: ReadContext, *, step: str | None = None, overdue_only: bool | None = None,
                 unit: str | None = None) -> dict[str, int]:
    """How many tasks each scope of the task list holds, under the same filters."""
    with ctx.engine.db.reading() as session:
        return {scope: count(session, _task_query(ctx, scope, step=step, overdue_only=overdue_only, unit=unit))
                for scope in SCOPES}


def task_steps(ctx: ReadContext) -> list[tuple[str, str]]:
    """The steps of the tasks the reader sees, (step, title in the reader's language) by title:
    the choices of the task list's step filter."""
    with ctx.engine.db.reading() as session:
        found = session.execute(select(OpenTask.step, Case.pathway_version_id).distinct()
                                .join(Case, Case.id == OpenTask.case_id)
                                .where(policy.task_scope(ctx.principal)).limit(500)).all()
    titles: dict[str, str] = {}
    for step, version_id in found:
        info = ctx.definition(version_id).user_tasks.get(step)
        titles.setdefault(step, info.title(ctx.language) if info else step)
    return sorted(titles.items(), key=lambda item: item[1].casefold())


def assignable_user(ctx: ReadContext, username: str, task: Any) -> User | None:
    """The active user of that name who may take the task on (its lane and territory), if any."""
    with ctx.engine.db.reading() as session:
        user = session.scalar(select(User).where(User.username == username))
    return user if user is not None and policy.may_be_assigned(user, task) else None


def province_user(ctx: ReadContext, username: str, province: str) -> User | None:
    """The user of that name who works in ``province`` (active or not: a leaver's tasks are
    released after the account is disabled), if any."""
    with ctx.engine.db.reading() as session:
        return session.scalar(select(User).where(User.username == username, User.province == province))
