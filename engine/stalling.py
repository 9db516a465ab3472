"""The stall clock: when a case counts as stalled.

PROTOCOL.md: a case is stalled when no step has been completed for the stalled delay
(``HIMAYA_STALLED_DAYS``, 14 days by default), not counting the time it spends waiting on a
scheduled visit. Two columns of ``case_workflows``, written by every command that moves the
workflow (:meth:`engine.runtime.Engine._advance`), say it without reading a workflow:

- ``idle_since``: when the clock started — the last completed step, or the moment a wait on a
  BPMN timer ended (the timer fired and opened the next visit). NULL while the case *waits*:
  at least one BPMN timer is waiting and no task of the case's own staff is open. Tasks of
  partners (the prosecutor's decision, a referral) run alongside care and do not make the clock
  run: a case whose only open tasks are partner tasks while care waits on its next follow-up
  visit is on track. A case waiting on nothing but a message or signal (no timer) is not
  waiting on a *scheduled* visit: its clock runs as before.
- ``visit_due_at``: once a wait ended, the earliest due date of the staff tasks it opened (the
  follow-up visit), until the next completed step clears it.

A case is stalled when ``idle_since`` is older than the stalled delay, or its visit is overdue
(``visit_due_at`` has passed), whichever comes first (:func:`stalled`). Both columns are
indexed, so the supervision list and the scheduler's flagging stay index scans.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, or_

from .models import CaseWorkflow
from .vocabulary import PARTNER

STATES = CaseWorkflow.__table__


class _Task(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def due_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class StallClock:
    """The two columns of a case's stall clock."""

    idle_since: datetime | None
    visit_due_at: datetime | None


def runs_the_clock(task: _Task) -> bool:
    """A task of the case's own staff (case workers, coordinators, supervisors): not a partner's."""
    return task.role != PARTNER


def after_command(previous: StallClock, *, now: datetime, progressed: bool, waiting_timers: int,
                  open_tasks: Iterable[_Task]) -> StallClock:
    """The stall clock once a command has moved the workflow.

    ``progressed``: the command completed a step (or opened the case); ``waiting_timers``: how
    many BPMN timers the workflow now waits on; ``open_tasks``: the case's open tasks now.
    """
    staff = [task for task in open_tasks if runs_the_clock(task)]
    if waiting_timers and not staff:
        return StallClock(None, None)  # waiting on a scheduled visit: on track
    if progressed:
        return StallClock(now, None)
    if previous.idle_since is None:  # a wait just ended: the visit it opened is due
        return StallClock(now, _earliest_due(staff))
    if previous.visit_due_at is None:
        return previous
    # still in the visit the wait opened (e.g. its due date moved with the risk level)
    since = previous.idle_since
    return StallClock(since, _earliest_due(task for task in staff if task.created_at >= since))


def _earliest_due(tasks: Iterable[_Task]) -> datetime | None:
    return min((task.due_at for task in tasks if task.due_at is not None), default=None)


def stalled(now: datetime, stalled_after: timedelta) -> ColumnElement[bool]:
    """The SQL condition on ``case_workflows`` (the case's status is the caller's to check)."""
    return or_(STATES.c.idle_since < now - stalled_after, STATES.c.visit_due_at < now)


__all__ = ["StallClock", "after_command", "runs_the_clock", "stalled"]
