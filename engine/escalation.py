"""Deadlines that pass: the escalation ladder and stalled cases.

The ladder of an overdue task (docs/engine.md, "Deadlines that pass"; its timing is set by
``HIMAYA_ESCALATION_*``, docs/configuration.md):

1. at the due date: a reminder to the assignee, or to the lane's users when unclaimed;
2. a further 25 % of the step's time later (at least 4 h): an alert to the province's CAPE
   coordinators;
3. a further 50 % of the step's time later: an alert to the province's CPPE supervisors.

``open_tasks.next_escalation_at`` holds when the next rung is due, so the sweep is one indexed
range query and never reads a workflow. Each rung is claimed by a compare-and-set on
``escalation_level`` (and ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so any number of
scheduler processes produce it exactly once; it is recorded in ``case_events`` and becomes an
outbox message in the same transaction. Completing the task deletes its row: the ladder stops.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from .db import Database
from .models import Case, CaseEvent, CaseWorkflow, OpenTask, OutboxMessage
from .stalling import stalled
from .vocabulary import COORDINATOR, SUPERVISOR, Lane

RUNGS = {1: "reminder", 2: "coordinator_alert", 3: "supervisor_alert"}
OPEN_TASKS, CASES, EVENTS, OUTBOX, STATES = (
    OpenTask.__table__, Case.__table__, CaseEvent.__table__, OutboxMessage.__table__, CaseWorkflow.__table__)


@dataclass(frozen=True)
class EscalationPolicy:
    """The ladder's timing and the stalled delay (``HIMAYA_ESCALATION_*``, ``HIMAYA_STALLED_DAYS``:
    :mod:`engine.settings`)."""

    coordinator_fraction: float = 0.25
    coordinator_minimum: timedelta = timedelta(hours=4)
    supervisor_fraction: float = 0.5
    stalled_after: timedelta = timedelta(days=14)

    def next_rung_at(self, level: int, created_at: datetime, due_at: datetime | None) -> datetime | None:
        """When rung ``level + 1`` is due for a task at escalation ``level`` (None: no more)."""
        if due_at is None or level >= 3:
            return None
        step_time = max(due_at - created_at, timedelta(0))
        coordinator_at = due_at + max(step_time * self.coordinator_fraction, self.coordinator_minimum)
        if level == 0:
            return due_at
        if level == 1:
            return coordinator_at
        return coordinator_at + step_time * self.supervisor_fraction


DEFAULT_POLICY = EscalationPolicy()


def recipients_for(rung: int, task: Any) -> dict[str, Any]:
    """Who a rung addresses: the assignee or the task's lane, then the province's coordinators,
    then its supervisors (a recipient group the delivery expands into users)."""
    if rung == 1:
        return {"usernames": [task.assignee]} if task.assignee else Lane.of(task).recipients()
    return Lane(COORDINATOR if rung == 2 else SUPERVISOR, task.province).recipients()


_SET_LEVEL = (update(OPEN_TASKS)
              .where(OPEN_TASKS.c.id == bindparam("key_id"), OPEN_TASKS.c.escalation_level == bindparam("key_level"))
              .values(escalation_level=bindparam("new_level"), next_escalation_at=bindparam("new_next")))


def escalate_overdue(database: Database, now: datetime, policy: EscalationPolicy = DEFAULT_POLICY,
                     *, batch: int = 2000) -> int:
    """Climb one rung for every task whose next rung is due; returns how many rungs were taken."""
    taken = 0
    while True:
        with database.write_connection() as conn:
            query = (select(OPEN_TASKS.c.id, OPEN_TASKS.c.case_id, OPEN_TASKS.c.step, OPEN_TASKS.c.role,
                            OPEN_TASKS.c.sector, OPEN_TASKS.c.province, OPEN_TASKS.c.unit, OPEN_TASKS.c.assignee,
                            OPEN_TASKS.c.created_at, OPEN_TASKS.c.due_at, OPEN_TASKS.c.escalation_level,
                            CASES.c.reference)
                     .join(CASES, CASES.c.id == OPEN_TASKS.c.case_id)
                     .where(OPEN_TASKS.c.next_escalation_at <= now)
                     .order_by(OPEN_TASKS.c.next_escalation_at).limit(batch))
            if not database.is_sqlite:
                query = query.with_for_update(of=OPEN_TASKS, skip_locked=True)
            rows = conn.execute(query).all()
            if not rows:
                return taken
            updates, events, messages = [], [], []
            for row in rows:
                level = row.escalation_level + 1
                rung = RUNGS[level]
                updates.append({"key_id": row.id, "key_level": row.escalation_level, "new_level": level,
                                "new_next": policy.next_rung_at(level, row.created_at, row.due_at)})
                events.append({"case_id": row.case_id, "at": now, "actor": "system", "kind": "escalated",
                               "step": row.step, "task_id": row.id,
                               "detail": {"level": level, "rung": rung, "due_at": row.due_at.isoformat()}})
                messages.append({
                    "created_at": now, "case_id": row.case_id, "topic": rung, "channel": "notify",
                    "recipient": recipients_for(level, row),
                    "payload": {"case_id": row.case_id, "case_reference": row.reference, "step": row.step,
                                "task_id": row.id, "level": level, "due_at": row.due_at.isoformat(),
                                "link": f"/tasks/{row.id}"},
                    "status": "pending", "attempts": 0, "next_attempt_at": now})
            written = conn.execute(_SET_LEVEL, updates).rowcount
            if written != len(updates):  # another process took some: give the whole batch back
                raise RuntimeError("escalation claim lost a race; retrying")
            conn.execute(insert(EVENTS), events)
            conn.execute(insert(OUTBOX), messages)
            taken += len(rows)


def flag_stalled(database: Database, now: datetime, policy: EscalationPolicy = DEFAULT_POLICY) -> int:
    """Flag open cases stalled for ``policy.stalled_after`` (:func:`engine.stalling.stalled`: no
    completed step, the wait on a scheduled visit not counted, or that visit overdue), once each."""
    with database.write_connection() as conn:
        flagged = conn.execute(
            update(STATES).where(STATES.c.stalled_since.is_(None), stalled(now, policy.stalled_after),
                                 STATES.c.case_id.in_(select(CASES.c.id).where(CASES.c.status == "open")))
            .values(stalled_since=now).returning(STATES.c.case_id, STATES.c.last_progress_at)).all()
        if not flagged:
            return 0
        cases = {row.id: row for row in conn.execute(
            select(CASES.c.id, CASES.c.reference, CASES.c.province).where(
                CASES.c.id.in_([f.case_id for f in flagged])))}
        conn.execute(insert(EVENTS), [{
            "case_id": f.case_id, "at": now, "actor": "system", "kind": "case_stalled", "step": None,
            "task_id": None, "detail": {"last_progress_at": f.last_progress_at.isoformat()}} for f in flagged])
        conn.execute(insert(OUTBOX), [{
            "created_at": now, "case_id": f.case_id, "topic": "case_stalled", "channel": "notify",
            "recipient": Lane(COORDINATOR, cases[f.case_id].province).recipients(),
            "payload": {"case_id": f.case_id, "case_reference": cases[f.case_id].reference,
                        "since": f.last_progress_at.isoformat(), "link": f"/cases/{f.case_id}"},
            "status": "pending", "attempts": 0, "next_attempt_at": now} for f in flagged])
    return len(flagged)
