"""A user's in-app inbox: marking a notification read (the one write on it)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from engine.db import Database
from engine.models import Notification


def mark_read(database: Database, username: str, notification_id: int, now: datetime) -> Notification | None:
    """Mark one of ``username``'s notifications read (once); None when it is not theirs."""
    with database.transaction() as session:
        row = session.scalar(select(Notification).where(Notification.id == notification_id,
                                                        Notification.username == username))
        if row is None:
            return None
        if row.read_at is None:
            row.read_at = now
        session.flush()
        return row
