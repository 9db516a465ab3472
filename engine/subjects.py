"""Pathways whose subject is not a child: a unit's quarterly statistical report, a province's
action plan.

They run as cases (``cases.subject_kind``), so they share everything the engine gives a
child's pathway: task lists, due dates and escalation, claims, one transaction per command,
the audit trail. Their own tables (``statistical_reports``, ``action_plan_versions``) follow
the workflow through a *hook*: after each command on such a case, the runtime calls the
hook of its kind inside the same transaction with the steps completed by that command. A
hook may refuse the command (:class:`~engine.errors.ValidationFailed`): the whole command is
then rolled back.

The engine is given its hooks when it is built (:mod:`engine.assembly`). A case whose kind
has no hook cannot move (:class:`~engine.errors.PathwayFailure`): its own table would fall
behind its workflow.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from .vocabulary import CHILD

__all__ = ["CHILD", "Hook", "SubjectChange"]



@dataclass(frozen=True)
class SubjectChange:
    conn: Connection
    case_id: str
    actor: str
    now: datetime
    completed: list[dict[str, Any]]  # task-history rows completed by this command (step, data…)


Hook = Callable[[SubjectChange], None]
