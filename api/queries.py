"""Reads shared by the REST API and the web pages, always filtered by the policy in SQL."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.models import Case, OpenTask, TaskRecord

from . import policy
from .auth import Principal


def visible_case(session: Session, principal: Principal, case_id: str) -> Case | None:
    return session.scalar(select(Case).where(Case.id == str(case_id), policy.case_scope(principal)))


def visible_task(session: Session, principal: Principal, task_id: str) -> tuple[OpenTask, str, int] | None:
    """The open task with its case reference and pathway version, if the principal sees it."""
    found = session.execute(select(OpenTask, Case.reference, Case.pathway_version_id)
                            .join(Case, Case.id == OpenTask.case_id)
                            .where(OpenTask.id == str(task_id), policy.task_scope(principal))).first()
    return (found[0], found[1], found[2]) if found else None


def ended_in_visible_case(session: Session, principal: Principal, task_id: str) -> bool:
    """The task has ended, in a case the principal sees (an action on it is a conflict)."""
    return session.scalar(select(TaskRecord.id).join(Case, Case.id == TaskRecord.case_id)
                          .where(TaskRecord.id == str(task_id), policy.case_scope(principal))) is not None


def task_page(session: Session, principal: Principal, *, scope: str, now: datetime, page: int, per_page: int,
              state: str | None = None, case_id: str | None = None, step: str | None = None,
              overdue: bool | None = None) -> tuple[int, list[Any]]:
    """(total, rows of (OpenTask, reference, pathway_version_id)), by due date."""
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
    if overdue is not None:
        query = query.where(OpenTask.due_at < now) if overdue else query.where(
            (OpenTask.due_at >= now) | OpenTask.due_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    query = query.with_only_columns(OpenTask, Case.reference, Case.pathway_version_id).join(
        Case, Case.id == OpenTask.case_id)
    # NULLS LAST is PostgreSQL's default order of an ascending index: (unit|province, role, state,
    # due_at) indexes then give the first page without sorting every matching task.
    rows = session.execute(query.order_by(OpenTask.due_at.asc().nulls_last(), OpenTask.id)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return total, [tuple(r) for r in rows]
