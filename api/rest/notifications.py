"""``/api/v1/notifications`` (everyone: their in-app messages) and the outbox's dead letters (admins)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from notifications.delivery import retry_dead
from notifications.inbox import mark_read as mark_notification_read

from .. import policy
from ..readers import notifications as inbox
from ..schemas import PageArgs
from .common import Blueprint, abort, engine, load_principal, page_of, principal, reader, requires

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
    link = fields.String(allow_none=True)  # the page it points to, a path of this site


class NotificationPage(Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    total = fields.Integer()
    unread = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class OutboxArgs(PageArgs):
    status = fields.String(load_default="dead", validate=validate.OneOf(
        ["pending", "sending", "sent", "dead", "undeliverable"]))


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


@blp.route("/notifications", methods=["GET"])
@blp.arguments(NotificationArgs, location="query")
@blp.response(200, NotificationPage)
def list_notifications(args: dict[str, Any]) -> dict[str, Any]:
    """My in-app notifications, newest first, in my language."""
    total, unread, items = inbox.notification_page(reader(), args.get("unread"), args["page"], args["per_page"])
    return page_of(total, args["page"], args["per_page"], items, unread=unread)


@blp.route("/notifications/<int(max=9223372036854775807):notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
@blp.alt_response(404, description="Not one of my notifications")
def mark_read(notification_id: int) -> dict[str, Any]:
    """Mark one of my notifications read."""
    himaya = engine()
    row = mark_notification_read(himaya.db, principal().username, notification_id, himaya.now())
    if row is None:
        abort(404, message=_("No such notification."))
    return inbox.present_notification(reader(), row, {})


@blp.route("/admin/outbox", methods=["GET"])
@blp.arguments(OutboxArgs, location="query")
@blp.response(200, OutboxPage)
@blp.alt_response(403, description="Administrators only")
@requires(policy.is_admin)
def list_outbox(args: dict[str, Any]) -> dict[str, Any]:
    """Outbox messages by status (dead letters by default)."""
    total, items = inbox.outbox_page(reader(), args["status"], args["page"], args["per_page"])
    return page_of(total, args["page"], args["per_page"], items)


@blp.route("/admin/outbox/<int(max=9223372036854775807):outbox_id>/retry", methods=["POST"])
@blp.response(204)
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(409, description="Not a dead letter")
@requires(policy.is_admin)
def retry(outbox_id: int) -> None:
    """Put a dead letter back in the queue."""
    if not retry_dead(engine(), outbox_id):
        abort(409, message=_("Only dead letters can be retried."))
    return None
