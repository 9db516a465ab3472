"""A team that changes: the tasks a person held go back to their lanes when the account is
disabled, and the province's coordinators are told which ones (to reassign what cannot wait).

Each task is released by its own command (:meth:`engine.runtime.Engine.release`, one case
locked at a time); a task completed or released meanwhile is passed over.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import insert, select

from .errors import Conflict, NotFound
from .models import Case, OpenTask, OutboxMessage
from .vocabulary import COORDINATOR, Lane

if TYPE_CHECKING:
    from .runtime import Actor, Engine

USER_DISABLED = "user_disabled"


@dataclass(frozen=True)
class Released:
    task_id: str
    case_id: str
    case_reference: str
    step: str
    province: str


def held_by(himaya: Engine, username: str) -> list[Released]:
    """The open tasks ``username`` has claimed, oldest due first."""
    with himaya.db.reading() as session:
        rows = session.execute(select(OpenTask.id, OpenTask.case_id, Case.reference, OpenTask.step, Case.province)
                               .join(Case, Case.id == OpenTask.case_id)
                               .where(OpenTask.assignee == username, OpenTask.state == "claimed")
                               .order_by(OpenTask.due_at, OpenTask.id)).all()
    return [Released(*row) for row in rows]


def release_all_of(himaya: Engine, username: str, actor: Actor, *, reason: str = USER_DISABLED) -> list[Released]:
    """Every task ``username`` holds back to its lane; one notification per province to its
    coordinators, listing the references (never the children's names). Returns what was released."""
    released = []
    for task in held_by(himaya, username):
        try:
            himaya.release(task.task_id, actor, reason=reason)
        except (Conflict, NotFound):  # completed, cancelled or released since the list was read
            continue
        released.append(task)
    by_province: dict[str, list[Released]] = defaultdict(list)
    for task in released:
        by_province[task.province].append(task)
    if by_province:
        now = himaya.now()
        with himaya.db.write_connection() as conn:
            conn.execute(insert(OutboxMessage.__table__), [{
                "created_at": now, "case_id": None, "topic": "tasks_released", "channel": "notify",
                "recipient": Lane(COORDINATOR, province).recipients(),
                "payload": {"username": username, "reason": reason, "tasks": len(tasks),
                            "case_references": sorted({t.case_reference for t in tasks}),
                            "link": "/tasks?scope=available"},
                "status": "pending", "attempts": 0, "next_attempt_at": now} for province, tasks in by_province.items()])
    return released
