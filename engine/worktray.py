"""A user's own work tray: task-list views saved under a name, and drafts of step forms.

Neither is part of a case: a saved view is a user's filters of the task list, a draft what a
user typed in a step's form and has not submitted (kept as they type, or when a submit meets
an expired session), so that no text is lost. A draft is personal: only its author reads it
back, it never enters the case's history, it is deleted when the task ends (completed by
anyone) and purged after ``keep`` days (``HIMAYA_DRAFT_DAYS``) by the scheduler.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from .db import Database
from .errors import NotFound, ValidationFailed
from .models import OpenTask, TaskDraft, TaskView

MAX_VIEWS = 20  # saved views per user
MAX_VIEW_NAME = 60
MAX_DRAFT_BYTES = 200_000  # a step form's text fields, generously (each is at most 10 000 characters)
DEFAULT_DRAFT_DAYS = 14


@dataclass(frozen=True)
class Draft:
    data: dict[str, Any]
    saved_at: datetime


def view_name(name: Any) -> str:
    """A view's name, trimmed; :class:`ValidationFailed` when empty, too long or not one line."""
    text = " ".join(str(name or "").split())
    if not text:
        raise ValidationFailed("Invalid view.", {"name": ["Give the view a name."]})
    if len(text) > MAX_VIEW_NAME:
        raise ValidationFailed("Invalid view.", {"name": ["Keep it to 60 characters at most."]})
    return text


def list_views(database: Database, user_id: int) -> list[TaskView]:
    with database.reading() as session:
        return list(session.scalars(select(TaskView).where(TaskView.user_id == user_id)
                                    .order_by(TaskView.name, TaskView.id)))


def save_view(database: Database, user_id: int, name: Any, filters: dict[str, Any], now: datetime) -> TaskView:
    """Save the filters under ``name`` (the same name again replaces them); at most
    :data:`MAX_VIEWS` views per user."""
    name = view_name(name)
    with database.transaction() as session:
        row = session.scalar(select(TaskView).where(TaskView.user_id == user_id, TaskView.name == name))
        if row is None:
            held = session.scalar(select(func.count()).select_from(TaskView).where(TaskView.user_id == user_id))
            if (held or 0) >= MAX_VIEWS:
                raise ValidationFailed("Invalid view.", {"name": ["Keep it to 20 saved views: delete one first."]})
            row = TaskView(user_id=user_id, name=name, filters=dict(filters), created_at=now)
            session.add(row)
        else:
            row.filters = dict(filters)
        session.flush()
        session.expunge(row)
    return row


def delete_view(database: Database, user_id: int, view_id: int) -> None:
    """Delete one of the user's views (:class:`NotFound` for another user's, or none)."""
    with database.transaction() as session:
        done = session.execute(delete(TaskView).where(TaskView.id == view_id, TaskView.user_id == user_id))
        if not getattr(done, "rowcount", 0):
            raise NotFound("No such view.")


def save_draft(database: Database, user_id: int, task_id: str, data: dict[str, Any], now: datetime) -> Draft:
    """Keep ``data`` (the form's fields as the API would receive them) as the user's draft of
    the open task; :class:`NotFound` when the task is not open, :class:`ValidationFailed` when
    the draft is too large."""
    if len(json.dumps(data, ensure_ascii=False).encode()) > MAX_DRAFT_BYTES:
        raise ValidationFailed("The draft is too large.")
    for attempt in (1, 2):
        try:
            with database.transaction() as session:
                if session.get(OpenTask, str(task_id)) is None:
                    raise NotFound("No such open task.")
                row = session.scalar(select(TaskDraft).where(TaskDraft.user_id == user_id,
                                                             TaskDraft.task_id == str(task_id)))
                if row is None:
                    session.add(TaskDraft(user_id=user_id, task_id=str(task_id), data=data, saved_at=now))
                else:
                    row.data, row.saved_at = data, now
            break
        except IntegrityError:  # two saves of the same draft at once: the second updates
            if attempt == 2:
                raise
    return Draft(data, now)


def load_draft(database: Database, user_id: int, task_id: str, *, newer_than: datetime | None = None) -> Draft | None:
    """The user's draft of the task (None when there is none, or it is older than ``newer_than``)."""
    with database.reading() as session:
        row = session.scalar(select(TaskDraft).where(TaskDraft.user_id == user_id, TaskDraft.task_id == str(task_id)))
    if row is None or (newer_than is not None and row.saved_at < newer_than):
        return None
    return Draft(row.data, row.saved_at)


def discard_drafts(database: Database, task_id: str, user_id: int | None = None) -> int:
    """Delete the drafts of a task (everyone's, once it has ended; or one user's)."""
    query = delete(TaskDraft).where(TaskDraft.task_id == str(task_id))
    if user_id is not None:
        query = query.where(TaskDraft.user_id == user_id)
    with database.transaction() as session:
        return int(getattr(session.execute(query), "rowcount", 0) or 0)


def purge_drafts(database: Database, now: datetime, keep: timedelta = timedelta(days=DEFAULT_DRAFT_DAYS)) -> int:
    """Delete the drafts older than ``keep`` and those of tasks no longer open; how many."""
    still_open = select(OpenTask.id).where(OpenTask.id == TaskDraft.task_id).exists()
    with database.transaction() as session:
        old = session.execute(delete(TaskDraft).where(TaskDraft.saved_at < now - keep))
        ended = session.execute(delete(TaskDraft).where(~still_open))
        return int(getattr(old, "rowcount", 0) or 0) + int(getattr(ended, "rowcount", 0) or 0)
