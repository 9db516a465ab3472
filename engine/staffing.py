"""A team that changes: the tasks a person held go back to their lanes when the account is
disabled, or while the person is out of office (from the first day of the absence), and the
province's coordinators are told which ones (to reassign what cannot wait).

Each task is released by its own command (:meth:`engine.runtime.Engine.release`, one case
locked at a time); a task completed or released meanwhile is passed over.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import insert, or_, select

from .errors import Conflict, NotFound
from .models import Case, OpenTask, OutboxMessage, User
from .vocabulary import COORDINATOR, Lane

if TYPE_CHECKING:
    from .runtime import Actor, Engine

USER_DISABLED = "user_disabled"
COORDINATOR_DECISION = "coordinator_decision"  # a bulk release without a reason given
OUT_OF_OFFICE = "out_of_office"  # the holder is away (users.away_from … away_until)
LANE_CHANGED = "lane_changed"  # the holder's role, province, unit or sector changed: not their lane any more
# what the coordinators are told
TOPICS = {USER_DISABLED: "tasks_released", OUT_OF_OFFICE: "tasks_released_away", LANE_CHANGED: "tasks_released_lane"}


@dataclass(frozen=True)
class Released:
    task_id: str
    case_id: str
    case_reference: str
    step: str
    province: str


def held(himaya: Engine, *, username: str | None = None, unit: str | None = None,
         province: str | None = None) -> list[Released]:
    """The claimed open tasks held by ``username``, or held by anyone in ``unit``'s lanes, within
    ``province`` when given; oldest due first."""
    query = (select(OpenTask.id, OpenTask.case_id, Case.reference, OpenTask.step, Case.province)
             .join(Case, Case.id == OpenTask.case_id).where(OpenTask.state == "claimed"))
    if username is not None:
        query = query.where(OpenTask.assignee == username)
    if unit is not None:
        query = query.where(OpenTask.unit == unit)
    if province is not None:
        query = query.where(OpenTask.province == province)
    with himaya.db.reading() as session:
        rows = session.execute(query.order_by(OpenTask.due_at, OpenTask.id)).all()
    return [Released(*row) for row in rows]


def release(himaya: Engine, tasks: list[Released], actor: Actor, *, reason: str, told: str | None) -> list[Released]:
    """Each task back to its lane (its own command); the coordinators of each province told in
    one notification when ``told`` names whose tasks they were (topic ``tasks_released``, or
    ``tasks_released_away`` for an absence). Returns what was released."""
    released = []
    for task in tasks:
        try:
            himaya.release(task.task_id, actor, reason=reason)
        except (Conflict, NotFound):  # completed, cancelled or released since the list was read
            continue
        released.append(task)
    by_province: dict[str, list[Released]] = defaultdict(list)
    for task in released:
        by_province[task.province].append(task)
    if by_province and told is not None:
        now = himaya.now()
        with himaya.db.write_connection() as conn:
            conn.execute(insert(OutboxMessage.__table__), [{
                "created_at": now, "case_id": None, "topic": TOPICS.get(reason, "tasks_released"), "channel": "notify",
                "recipient": Lane(COORDINATOR, province).recipients(),
                "payload": {"username": told, "reason": reason, "tasks": len(theirs),
                            "case_references": sorted({t.case_reference for t in theirs}),
                            "link": "/tasks?scope=available"},
                "status": "pending", "attempts": 0, "next_attempt_at": now}
                for province, theirs in by_province.items()])
    return released


def release_all_of(himaya: Engine, username: str, actor: Actor, *, reason: str = USER_DISABLED) -> list[Released]:
    """Every task ``username`` holds back to its lane, in every province (an account disabled);
    the coordinators are told which cases (references, never the children's names)."""
    return release(himaya, held(himaya, username=username), actor, reason=reason, told=username)


def away_on(himaya: Engine, today: date, username: str | None = None) -> list[str]:
    """The active users out of office on ``today`` (their first day passed, their last day not);
    only ``username`` when given."""
    query = select(User.username).where(User.username == username) if username else select(User.username)
    query = query.where(
        User.active.is_(True), User.away_from.is_not(None), User.away_from <= today,
        or_(User.away_until.is_(None), User.away_until >= today)).order_by(User.username)
    with himaya.db.reading() as session:
        return list(session.scalars(query))


def release_of_away(himaya: Engine, today: date, actor: Actor, *, username: str | None = None) -> list[Released]:
    """Every task held by someone out of office on ``today`` back to its lane (reason
    ``out_of_office``), the coordinators told whose; run by the scheduler and as an absence is set.
    The person may still claim tasks (on return, or to take one back meanwhile): the next run
    offers again to the lane what they hold while the absence lasts."""
    released: list[Released] = []
    for away in away_on(himaya, today, username):
        released += release(himaya, held(himaya, username=away), actor, reason=OUT_OF_OFFICE, told=away)
    return released
