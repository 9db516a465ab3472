"""A user's in-app notifications (in the reader's language) and the outbox (administrators)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.models import Case, Notification, OutboxMessage
from notifications.templates import payload_values, render

from .context import ReadContext
from .paging import page_rows


def present_notification(ctx: ReadContext, row: Notification, versions: dict[str, int]) -> dict[str, Any]:
    """A notification rendered in the reader's language (the step's title from the pathway
    version of its case, when ``versions`` knows it)."""
    payload = row.payload or {}
    title = None
    version_id = versions.get(row.case_id or "")
    if payload.get("step") and version_id:
        info = ctx.definition(version_id).user_tasks.get(payload["step"])
        title = info.title(ctx.language) if info else None
    subject, body = render(row.topic, ctx.language, payload_values(payload, title, ctx.language))
    return {"id": row.id, "topic": row.topic, "case_id": row.case_id, "case_reference": payload.get("case_reference"),
            "created_at": row.created_at, "read_at": row.read_at, "subject": subject, "body": body,
            "link": _page_link(payload.get("link"))}


def _page_link(link: Any) -> str | None:
    """The page a notification points to: a path of this site only (``/duplicates``), never
    another site's address."""
    if isinstance(link, str) and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return None


def unread_count(ctx: ReadContext) -> int:
    """How many of the reader's notifications are unread (one indexed count)."""
    with ctx.engine.db.reading() as session:
        return _unread(session, ctx.principal.username)


def _unread(session: Session, username: str) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.username == username, Notification.read_at.is_(None))) or 0


def notification_page(ctx: ReadContext, unread: bool | None, page: int, per_page: int
                      ) -> tuple[int, int, list[dict[str, Any]]]:
    """(total, unread in all, the page's notifications of the reader, newest first)."""
    me = ctx.principal.username
    query = select(Notification).where(Notification.username == me)
    if unread is not None:
        query = query.where(Notification.read_at.is_(None) if unread else Notification.read_at.is_not(None))
    with ctx.engine.db.reading() as session:
        total, found = page_rows(session, query, page, per_page, Notification.id.desc())
        rows = [notification for (notification,) in found]
        unread_total = _unread(session, me)
        versions = {case_id: version_id for case_id, version_id in session.execute(
            select(Case.id, Case.pathway_version_id).where(Case.id.in_({r.case_id for r in rows if r.case_id})))}
    return total, unread_total, [present_notification(ctx, r, versions) for r in rows]


def outbox_page(ctx: ReadContext, status: str, page: int, per_page: int) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's outbox messages of that status, oldest first)."""
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, select(OutboxMessage).where(OutboxMessage.status == status), page, per_page,
                                OutboxMessage.id)
    return total, [{"id": r.id, "created_at": r.created_at, "topic": r.topic, "channel": r.channel,
                    "status": r.status, "attempts": r.attempts, "next_attempt_at": r.next_attempt_at,
                    "last_error": r.last_error, "case_id": r.case_id} for (r,) in rows]
