"""Messages nobody could receive: delivery incidents.

A group message of the outbox (``notify``, ``partner``) is expanded by the delivery into its
recipients' inboxes, e-mails and SMS (:mod:`notifications.delivery`). When the group holds **no
active user** — no active justice partner in the province for a prosecutor notification, no
partner of the sector for a referral, a deactivated assignee for a reminder — the message is
not "sent": the outbox row becomes ``undeliverable`` and, in the same transaction,
:func:`raise_incident` records

1. an incident (``delivery_incidents``: the case, its province, the message, its topic, the group
   that had nobody), open until a coordinator resolves it;
2. the case event ``notification_undeliverable`` (the case's history says the prosecutor
   notification could not be delivered);
3. an alert to the province's CAPE coordinators (topic ``prosecutor_undeliverable`` for a
   prosecutor notification, ``delivery_incident`` otherwise), itself an outbox message that the
   same delivery run expands into their inboxes, e-mails and SMS.

An alert that finds no coordinator either is ``undeliverable`` too but raises no incident about
an incident: the first one is listed for the administrators, who see every province's.

A group with active users is delivered even if none of them has an e-mail address or a phone:
the in-app inbox (and, for a partner, the task in the task list) is a channel every active
account has, so somebody can receive the message; a failed e-mail or SMS is a dead letter for
the administrators, as before.

:func:`resolve` records how the recipient was informed instead (phone, fax, letter, in person,
other), when, a note and the acknowledgment's reference, by whom; it appends the case event
``incident_resolved``. Resolving twice is a :class:`Conflict`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import Connection, insert, select, update

from .db import Database
from .errors import Conflict, NotFound, ValidationFailed
from .intake import CLOCK_SKEW, EARLIEST_REPORT, plain_line
from .models import Case, CaseEvent, DeliveryIncident, OutboxMessage, Province
from .vocabulary import COORDINATOR, Lane

INCIDENTS, CASES, EVENTS, OUTBOX, PROVINCES = (DeliveryIncident.__table__, Case.__table__, CaseEvent.__table__,
                                               OutboxMessage.__table__, Province.__table__)

PROSECUTOR_TOPIC = "prosecutor_notification"
# The coordinators' alert of an incident, by the topic of the message that could not be delivered.
PROSECUTOR_ALERT, GENERIC_ALERT = "prosecutor_undeliverable", "delivery_incident"
ALERT_TOPICS = frozenset({PROSECUTOR_ALERT, GENERIC_ALERT})
NO_ACTIVE_RECIPIENT = "no_active_recipient"  # what was missing: the group had no active user
OPEN, RESOLVED = "open", "resolved"
STATUSES = (OPEN, RESOLVED)
INFORMED_VIA = ("phone", "fax", "letter", "in_person", "other")
UNDELIVERABLE_EVENT, RESOLVED_EVENT = "notification_undeliverable", "incident_resolved"


def alert_topic(topic: str) -> str:
    """The topic of the coordinators' alert about an undelivered message of ``topic``."""
    return PROSECUTOR_ALERT if topic == PROSECUTOR_TOPIC else GENERIC_ALERT


def raise_incident(conn: Connection, row: Any, now: datetime) -> int | None:
    """Record the incident of the outbox row ``row`` that reached nobody, its case event and the
    alert to the province's coordinators, on the deliverer's connection (its transaction).

    Returns the incident's id; None for an alert about an incident (no incident about an incident)."""
    if row.topic in ALERT_TOPICS:
        return None
    group = dict(row.recipient or {})
    case = conn.execute(select(CASES.c.reference, CASES.c.province).where(CASES.c.id == row.case_id)).first() \
        if row.case_id else None
    province = case.province if case is not None else group.get("province")
    incident_id = conn.execute(insert(INCIDENTS).values(
        outbox_id=row.id, case_id=row.case_id, province=province, topic=row.topic, channel=row.channel,
        recipient=group, missing=NO_ACTIVE_RECIPIENT, raised_at=now, status=OPEN).returning(INCIDENTS.c.id)
    ).scalar_one()
    if row.case_id:
        conn.execute(insert(EVENTS).values(
            case_id=row.case_id, at=now, actor="system", kind=UNDELIVERABLE_EVENT, step=None, task_id=None,
            detail={"incident_id": incident_id, "outbox_id": row.id, "topic": row.topic, "missing": NO_ACTIVE_RECIPIENT,
                    "recipient": group, "step": (row.payload or {}).get("step")}))
    if province:
        reference = case.reference if case is not None else (row.payload or {}).get("case_reference")
        names = conn.execute(select(PROVINCES.c.name_fr, PROVINCES.c.name_ar)
                             .where(PROVINCES.c.code == province)).first()
        conn.execute(insert(OUTBOX).values(
            created_at=now, case_id=row.case_id, topic=alert_topic(row.topic), channel="notify",
            recipient=Lane(COORDINATOR, province).recipients(),
            payload={"case_id": row.case_id, "case_reference": reference, "incident_id": incident_id,
                     "province": province, "undelivered_topic": row.topic,
                     "province_names": {"fr": names.name_fr, "ar": names.name_ar} if names else {},
                     "sector": group.get("sector"), "link": f"/incidents/{incident_id}"},
            status="pending", attempts=0, next_attempt_at=now))
    return incident_id


# --- resolving -------------------------------------------------------------------------------

class ResolveIncident(Schema):
    """How the recipient was informed instead (``POST /api/v1/incidents/{id}/resolve``)."""

    class Meta:
        unknown = RAISE

    informed_via = fields.String(required=True, validate=validate.OneOf(INFORMED_VIA),
                                 error_messages={"required": "Choose how the recipient was informed."})
    informed_at = fields.AwareDateTime(required=True, validate=validate.Range(
        min=EARLIEST_REPORT, error="The date must be in 2000 or later."),
        error_messages={"required": "Give the date and time the recipient was informed."})
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))
    acknowledgment_reference = fields.String(allow_none=True, validate=[validate.Length(max=100), plain_line])

    @validates_schema
    def _other_says_how(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("informed_via") == "other" and not (data.get("note") or "").strip():
            raise ValidationError("Say in the note how the recipient was informed.", "note")


def load_resolution(payload: Any, now: datetime) -> dict[str, Any]:
    """The validated resolution (:class:`ValidationFailed` with each bad field)."""
    try:
        values = ResolveIncident().load(payload if isinstance(payload, dict) else {})
    except ValidationError as exc:
        raise ValidationFailed("The request has invalid fields.", exc.messages) from None
    if values["informed_at"] > now + CLOCK_SKEW:
        raise ValidationFailed("The request has invalid fields.",
                               {"informed_at": ["This date is in the future."]})
    values["note"] = (values.get("note") or "").strip() or None
    values["acknowledgment_reference"] = (values.get("acknowledgment_reference") or "").strip() or None
    return values


def resolve(database: Database, incident_id: int, payload: Any, *, actor: str, source: str | None,
            now: datetime) -> DeliveryIncident:
    """Resolve an open incident (the caller has checked the actor may): one short transaction
    after the validation. :class:`Conflict` when it is resolved already, :class:`NotFound` when
    there is no such incident."""
    values = load_resolution(payload, now)
    with database.write_connection() as conn:
        query = select(INCIDENTS).where(INCIDENTS.c.id == incident_id)
        if not database.is_sqlite:
            query = query.with_for_update()
        found = conn.execute(query).first()
        if found is None:
            raise NotFound("No such incident.")
        written = conn.execute(update(INCIDENTS).where(INCIDENTS.c.id == incident_id, INCIDENTS.c.status == OPEN)
                               .values(status=RESOLVED, resolved_by=actor, resolved_at=now,
                                       informed_via=values["informed_via"], informed_at=values["informed_at"],
                                       note=values["note"],
                                       acknowledgment_reference=values["acknowledgment_reference"]))
        if written.rowcount != 1:
            raise Conflict("This incident is resolved already.")
        if found.case_id:
            detail: dict[str, Any] = {"incident_id": incident_id, "topic": found.topic,
                                      "informed_via": values["informed_via"],
                                      "informed_at": values["informed_at"].isoformat(),
                                      "acknowledgment_reference": values["acknowledgment_reference"]}
            if source:
                detail["source"] = source
            conn.execute(insert(EVENTS).values(case_id=found.case_id, at=now, actor=actor, kind=RESOLVED_EVENT,
                                               step=None, task_id=None, detail=detail))
    with database.reading() as session:
        row = session.get(DeliveryIncident, incident_id)
    assert row is not None
    return row

