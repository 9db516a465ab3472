"""``/api/v1/notifications`` (everyone: their in-app messages) and the outbox's dead letters (admins)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_smorest import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from engine.models import Case, Notification, OutboxMessage
from notifications.delivery import retry_dead
from notifications.templates import payload_values, render

from .. import policy
from ..i18n import current_language
from ..schemas import PageArgs
from .common import Blueprint, engine, load_principal, page_of, page_rows, principal, requires

blp = Blueprint("notifications", __name__, url_prefix="/api/v1", description="Notifications and outbox")
blp.before_request(load_principal)


class NotificationArgs(PageArgs):
    unread = fields.Boolean()


class NotificationSchema(Schema):
    id = fields.Integer()
    topic = fields.String()
    case_id = fields.String(allow_none=True)
    case_reference = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    subject = fields.String()
    body = fields.String()


class NotificationPage(Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    total = fields.Integer()
    unread = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class OutboxArgs(PageArgs):
    status = fields.String(load_default="dead", validate=validate.OneOf(["pending", "sending", "sent", "dead"]))


class OutboxSchema(Schema):
    id = fields.Integer()
    created_at = fields.DateTime()
    topic = fields.String()
    channel = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    case_id = fields.String(allow_none=True)


class OutboxPage(Schema):
    items = fields.List(fields.Nested(OutboxSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


def _view(row: Notification, versions: dict[str, int] | None = None) -> dict:
    """A notification in the reader's language (the step's title from its pathway version)."""
    payload = row.payload or {}
    language = current_language()
    title = None
    version_id = (versions or {}).get(row.case_id or "")
    if payload.get("step") and version_id:
        info = engine().definition(version_id).user_tasks.get(payload["step"])
        title = info.title(language) if info else None
    subject, body = render(row.topic, language, payload_values(payload, title))
    return {"id": row.id, "topic": row.topic, "case_id": row.case_id, "case_reference": payload.get("case_reference"),
            "created_at": row.created_at, "read_at": row.read_at, "subject": subject, "body": body}


@blp.route("/notifications", methods=["GET"])
@blp.arguments(NotificationArgs, location="query")
@blp.response(200, NotificationPage)
def list_notifications(args):
    """My in-app notifications, newest first, in my language."""
    me = principal().username
    query = select(Notification).where(Notification.username == me)
    if "unread" in args:
        query = query.where(Notification.read_at.is_(None) if args["unread"] else Notification.read_at.is_not(None))
    with engine().db.reading() as session:
        total, page = page_rows(session, query, args, Notification.id.desc())
        rows = [notification for (notification,) in page]
        unread = session.scalar(select(func.count()).select_from(Notification).where(
            Notification.username == me, Notification.read_at.is_(None)))
        versions = dict(session.execute(select(Case.id, Case.pathway_version_id).where(
            Case.id.in_({r.case_id for r in rows if r.case_id}))).all())
    return page_of(total, args["page"], args["per_page"], [_view(r, versions) for r in rows], unread=unread)


@blp.route("/notifications/<int(max=9223372036854775807):notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
@blp.alt_response(404, description="Not one of my notifications")
def mark_read(notification_id):
    """Mark one of my notifications read."""
    himaya = engine()
    with himaya.db.transaction() as session:
        row = session.scalar(select(Notification).where(Notification.id == notification_id,
                                                        Notification.username == principal().username))
        if row is None:
            abort(404, message=_("No such notification."))
        if row.read_at is None:
            row.read_at = himaya.now()
        session.flush()
        return _view(row)


@blp.route("/admin/outbox", methods=["GET"])
@blp.arguments(OutboxArgs, location="query")
@blp.response(200, OutboxPage)
@blp.alt_response(403, description="Administrators only")
@requires(policy.is_admin)
def list_outbox(args):
    """Outbox messages by status (dead letters by default)."""
    query = select(OutboxMessage).where(OutboxMessage.status == args["status"])
    with engine().db.reading() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(query.order_by(OutboxMessage.id).limit(args["per_page"])
                               .offset((args["page"] - 1) * args["per_page"])).all()
    return page_of(total, args["page"], args["per_page"], [
        {"id": r.id, "created_at": r.created_at, "topic": r.topic, "channel": r.channel, "status": r.status,
         "attempts": r.attempts, "next_attempt_at": r.next_attempt_at, "last_error": r.last_error,
         "case_id": r.case_id} for r in rows])


@blp.route("/admin/outbox/<int(max=9223372036854775807):outbox_id>/retry", methods=["POST"])
@blp.response(204)
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(409, description="Not a dead letter")
@requires(policy.is_admin)
def retry(outbox_id):
    """Put a dead letter back in the queue."""
    if not retry_dead(engine(), outbox_id):
        abort(409, message=_("Only dead letters can be retried."))
    return None
