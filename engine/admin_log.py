"""The audit of administrative changes: units and user accounts created, changed, disabled.

One append-only row per change (``admin_events``; the database refuses UPDATE and DELETE, as for
``case_events``): when, who, what, on which unit or account, and the *names* of the fields
changed. Values are never copied: not a password (its reset is an action of its own), not an
e-mail address or a phone number.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from .models import AdminEvent

UNIT, USER, CATEGORY = "unit", "user", "category"
UNIT_CREATED, UNIT_CHANGED = "unit_created", "unit_changed"
USER_CREATED, USER_CHANGED = "user_created", "user_changed"
USER_DISABLED, USER_ENABLED = "user_disabled", "user_enabled"
PASSWORD_RESET = "password_reset"
AWAY_CHANGED = "away_changed"  # out-of-office dates set or cleared (by the user, a coordinator, an admin)
CATEGORY_CREATED, CATEGORY_CHANGED = "category_created", "category_changed"  # reference data (engine.categories)
ACTIONS = (UNIT_CREATED, UNIT_CHANGED, USER_CREATED, USER_CHANGED, USER_DISABLED, USER_ENABLED, PASSWORD_RESET,
           AWAY_CHANGED, CATEGORY_CREATED, CATEGORY_CHANGED)
CLI = "cli"  # the actor of a change made on the command line (with the OS user when known: "cli:alice")


def record(session: Session, *, at: datetime, actor: str, action: str, target_kind: str, target: str,
           fields: Iterable[str] = ()) -> AdminEvent:
    """Append one change to the audit, in the transaction that makes it."""
    assert action in ACTIONS, action
    event = AdminEvent(at=at, actor=actor[:100], action=action, target_kind=target_kind, target=target[:100],
                       fields=sorted(set(fields)))
    session.add(event)
    return event
