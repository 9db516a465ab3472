"""Referrals: a child's case sent to a partner sector for one service, with a deadline to answer.

From the orientation (or any later step, or the case page) the case's team asks a partner sector
of the province — health, justice, education… or a named organisation of it — for a service of
that sector's list (:data:`SERVICES`: a medical examination, legal aid, school reinsertion…) and
says why. The sector's partners of the province **accept** it (with the date the service is due)
or **decline** it with a reason; once accepted they **record the service given** (what and when).
The requester or a coordinator may **cancel** it with a reason while it is open.

::

    requested ──accept──▶ accepted ──complete──▶ completed
        │                    │
        ├──decline──▶ declined
        └──cancel───▶ cancelled ◀──cancel──┘

Deadlines: a referral must be answered by ``respond_by`` (given, or by default
:data:`RESPONSE_TIME` of the case's risk level: high 2 days, medium 5, low 10), and once
accepted the service given by ``due_by`` (given at acceptance, or :data:`SERVICE_TIME`: 14, 30 and
60 days). Either deadline climbs the same ladder as an overdue step
(:meth:`engine.escalation.EscalationPolicy.next_rung_at`): a reminder to the sector's partners of
the province at the deadline, then the CAPE coordinators, then the CPPE supervisors; the
acceptance starts the ladder again from the service deadline, an answer or the end stops it.
:func:`escalate_overdue_referrals` runs in the escalation job and takes each rung once, by a
compare-and-set on ``escalation_level`` (and ``FOR UPDATE SKIP LOCKED`` on PostgreSQL).

Every command is one short transaction: the input is checked first, then the case's runtime row is
locked as the workflow commands lock it (so a referral and a step, or the case's closing, never
interleave), the referral row is written with a compare-and-set on its status (answering twice is a
:class:`Conflict`), and one ``case_events`` row (``referral_requested``, ``referral_accepted``…: the
referral's id, sector, service and deadlines, never the free texts) and the outbox notifications
are appended. Who may run each command is the API's policy (:mod:`api.policy`); a closed case is a
:class:`Conflict`.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import Connection, bindparam, insert, select, update

from .case_records import Line, Text
from .db import Database
from .errors import Conflict, NotFound, ValidationFailed
from .escalation import DEFAULT_POLICY, EscalationPolicy
from .models import Case, CaseEvent, CaseWorkflow, OpenTask, OutboxMessage, Referral, TaskRecord, new_id
from .vocabulary import COORDINATOR, HIGH, LOW, MEDIUM, PARTNER, SECTORS, SUPERVISOR, Lane

if TYPE_CHECKING:
    from .runtime import Actor, Engine

REFERRALS, CASES, STATES, EVENTS, OUTBOX = (Referral.__table__, Case.__table__, CaseWorkflow.__table__,
                                            CaseEvent.__table__, OutboxMessage.__table__)

# --- the vocabulary of a referral --------------------------------------------------------------
REQUESTED, ACCEPTED, DECLINED, COMPLETED, CANCELLED = "requested", "accepted", "declined", "completed", "cancelled"
STATES_OF_REFERRAL = (REQUESTED, ACCEPTED, DECLINED, COMPLETED, CANCELLED)
OPEN_STATES = (REQUESTED, ACCEPTED)  # the ladder runs; it may be cancelled

# The services a sector is asked for (FHIR ServiceRequest.code), "other" (said in the note) in each.
SERVICES: dict[str, tuple[str, ...]] = {
    "justice": ("protective_measure", "legal_proceedings", "legal_aid", "other"),
    "health": ("medical_exam", "medicolegal_exam", "medical_care", "psychological_care", "other"),
    "education": ("school_reinsertion", "school_support", "non_formal_education", "other"),
    "police": ("investigation", "protection", "other"),
    "gendarmerie": ("investigation", "protection", "other"),
    "youth": ("youth_activities", "other"),
    "employment": ("vocational_training", "job_placement", "other"),
    "social_action": ("shelter", "family_support", "material_aid", "other"),
    "civil_status": ("civil_registration", "other"),
    "other": ("other",),
}
assert set(SERVICES) == set(SECTORS), "every sector has its list of services"
ALL_SERVICES = tuple(dict.fromkeys(s for services in SERVICES.values() for s in services))

# The case's risk level → the referral's priority (FHIR request priority) and default deadlines.
PRIORITY = {HIGH: "asap", MEDIUM: "urgent", LOW: "routine"}
PRIORITIES = ("routine", "urgent", "asap")
RESPONSE_TIME = {HIGH: timedelta(days=2), MEDIUM: timedelta(days=5), LOW: timedelta(days=10)}
SERVICE_TIME = {HIGH: timedelta(days=14), MEDIUM: timedelta(days=30), LOW: timedelta(days=60)}
LONGEST = timedelta(days=366)  # a deadline set further than this is refused (a typo of the year)

ORGANISATION_MAX, REASON_MAX, NOTE_MAX = 200, 2_000, 2_000

# case_events kinds and outbox topics (the same words)
REFERRAL_REQUESTED, REFERRAL_ACCEPTED = "referral_requested", "referral_accepted"
REFERRAL_DECLINED = "referral_declined"
REFERRAL_COMPLETED, REFERRAL_CANCELLED = "referral_completed", "referral_cancelled"
REFERRAL_ESCALATED, REFERRAL_OVERDUE = "referral_escalated", "referral_overdue"
EVENT_KINDS = (REFERRAL_REQUESTED, REFERRAL_ACCEPTED, REFERRAL_DECLINED, REFERRAL_COMPLETED, REFERRAL_CANCELLED,
               REFERRAL_ESCALATED)

PARTNER_LINK = "/referrals"

# --- input ---------------------------------------------------------------------------------------

REASON_BLANK = "Say why the child is referred: the reason cannot be blank."
DECLINE_BLANK = "Say why the referral is declined: the reason cannot be blank."
CANCEL_BLANK = "Say why the referral is cancelled: the reason cannot be blank."
SERVICE_GIVEN_BLANK = "Say what service was given: it cannot be blank."
DEADLINE_FORMAT = "Give a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM)."


class Moment(fields.Field):
    """A deadline: a date (the end of that day in the installation's time zone) or a date and time
    (without an offset: in that zone). Loaded as given; :func:`_in_zone` places it in time."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or len(value) > 40:
            raise ValidationError(DEADLINE_FORMAT)
        try:
            return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(DEADLINE_FORMAT) from None


def _in_zone(value: date | datetime | None, zone: tzinfo) -> datetime | None:
    """A loaded :class:`Moment` as a UTC moment: a date is the end of that day in ``zone``."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime.combine(value, time(23, 59), zone).astimezone(UTC)
    return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)


class ReferralInput(Schema):
    """``POST /api/v1/cases/{id}/referrals``."""

    class Meta:
        unknown = RAISE

    sector = fields.String(required=True, validate=validate.OneOf(
        SECTORS, error="Choose the partner sector from the list (health, justice, education…)."),
        error_messages={"required": "Choose the partner sector.", "null": "Choose the partner sector."})
    organisation = Line(ORGANISATION_MAX, load_default=None, allow_none=True)
    service = fields.String(required=True, error_messages={"required": "Choose the service requested.",
                                                           "null": "Choose the service requested."})
    note = Text(NOTE_MAX, load_default=None, allow_none=True)
    reason = Text(REASON_MAX, blank=REASON_BLANK, required=True,
                  error_messages={"required": REASON_BLANK, "null": REASON_BLANK})
    respond_by = Moment(load_default=None, allow_none=True)
    task_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))

    @validates_schema
    def _service_of_sector(self, data: dict[str, Any], **_: Any) -> None:
        sector, service = data.get("sector"), data.get("service")
        if sector in SERVICES and service is not None and service not in SERVICES[sector]:
            raise ValidationError("Choose a service this sector gives (see the list offered for the sector).",
                                  "service")


class AcceptInput(Schema):
    class Meta:
        unknown = RAISE

    due_by = Moment(load_default=None, allow_none=True)
    note = Text(NOTE_MAX, load_default=None, allow_none=True)


class DeclineInput(Schema):
    class Meta:
        unknown = RAISE

    reason = Text(REASON_MAX, blank=DECLINE_BLANK, required=True,
                  error_messages={"required": DECLINE_BLANK, "null": DECLINE_BLANK})


class CancelInput(Schema):
    class Meta:
        unknown = RAISE

    reason = Text(REASON_MAX, blank=CANCEL_BLANK, required=True,
                  error_messages={"required": CANCEL_BLANK, "null": CANCEL_BLANK})


class CompleteInput(Schema):
    class Meta:
        unknown = RAISE

    service_given = Text(NOTE_MAX, blank=SERVICE_GIVEN_BLANK, required=True,
                         error_messages={"required": SERVICE_GIVEN_BLANK, "null": SERVICE_GIVEN_BLANK})
    occurrence = fields.Date(required=True, error_messages={
        "required": "Give the date the service was given.", "null": "Give the date the service was given.",
        "invalid": "Give the date as YYYY-MM-DD."})


def _load(schema: Schema, payload: Any, message: str, zone: tzinfo = UTC) -> dict[str, Any]:
    """The validated input (:class:`ValidationFailed` listing each bad field)."""
    if not isinstance(payload, dict):
        raise ValidationFailed(message, {"_schema": ["Expected a JSON object."]})
    try:
        loaded: dict[str, Any] = schema.load(payload)
    except ValidationError as exc:
        raise ValidationFailed(message, exc.messages) from None
    for key in ("respond_by", "due_by"):
        if key in loaded:
            loaded[key] = _in_zone(loaded[key], zone)
    return loaded


def _check_deadline(field: str, moment: datetime | None, now: datetime) -> None:
    if moment is None:
        return
    if moment <= now:
        raise ValidationFailed("The referral has invalid fields.", {field: ["The deadline is already past: "
                                                                            "give a later date."]})
    if moment > now + LONGEST:
        raise ValidationFailed("The referral has invalid fields.", {field: ["The deadline is more than a year "
                                                                            "away: check the year."]})


# --- the commands --------------------------------------------------------------------------------

_CASE_LOCKED = (select(CASES.c.id, CASES.c.reference, CASES.c.status, CASES.c.province, CASES.c.unit,
                       CASES.c.risk_level, CASES.c.subject_kind)
                .select_from(CASES.join(STATES, STATES.c.case_id == CASES.c.id))
                .where(CASES.c.id == bindparam("case_id")))


def _lock_case(database: Database, conn: Connection, case_id: str) -> Any:
    """The case, its runtime row locked as :meth:`engine.runtime.Engine._lock_case` locks it (on
    SQLite the write transaction is the lock); an unknown case is :class:`NotFound`, a closed one a
    :class:`Conflict`."""
    query = _CASE_LOCKED if database.is_sqlite else _CASE_LOCKED.with_for_update(of=STATES)
    case = conn.execute(query, {"case_id": case_id}).first()
    if case is None or case.subject_kind != "child":
        raise NotFound("No such case.")
    if case.status != "open":
        raise Conflict("The case is closed.")
    return case


def _locked_referral(database: Database, conn: Connection, referral_id: str) -> tuple[Any, Any]:
    """(the referral, its case) with the case locked; :class:`NotFound` for an unknown referral."""
    case_id = conn.execute(select(REFERRALS.c.case_id).where(REFERRALS.c.id == referral_id)).scalar()
    if case_id is None:
        raise NotFound("No such referral.")
    case = _lock_case(database, conn, case_id)
    row = conn.execute(select(REFERRALS).where(REFERRALS.c.id == referral_id)).first()
    assert row is not None  # referrals are never deleted
    return row, case


def _event(conn: Connection, case_id: str, actor: Actor, kind: str, now: datetime, detail: dict[str, Any],
           *, step: str | None = None, task_id: str | None = None) -> None:
    if actor.source:
        detail["source"] = actor.source
    conn.execute(insert(EVENTS).values(case_id=case_id, at=now, actor=actor.username, kind=kind, step=step,
                                       task_id=task_id, detail=detail))


def _message(case: Any, referral: Any, topic: str, recipient: dict[str, Any], now: datetime, link: str,
             **extra: Any) -> dict[str, Any]:
    """An outbox row about a referral: the case reference, sector, service and deadline, a link; no identity."""
    return {"created_at": now, "case_id": case.id, "topic": topic, "channel": "notify", "recipient": recipient,
            "payload": {"case_id": case.id, "case_reference": case.reference, "referral_id": referral.id,
                        "sector": referral.performer_sector, "service": referral.service, "link": link, **extra},
            "status": "pending", "attempts": 0, "next_attempt_at": now}


def _partners(referral: Any, case: Any) -> dict[str, Any]:
    return Lane(PARTNER, case.province, sector=referral.performer_sector).recipients()


def _the_requesting_side(referral: Any, case: Any, topic: str, now: datetime, **extra: Any) -> list[dict[str, Any]]:
    """An answer goes back to the requester and to the province's coordinators (once to a coordinator
    who asked)."""
    link = f"/cases/{case.id}#referrals"
    messages = [_message(case, referral, topic, Lane(COORDINATOR, case.province).recipients(), now, link, **extra)]
    if referral.requester_role != COORDINATOR:
        messages.insert(0, _message(case, referral, topic, {"usernames": [referral.requester]}, now, link, **extra))
    return messages


def _step_of(conn: Connection, case_id: str, task_id: str | None) -> str | None:
    """The step of an open or ended task of the case (the referral is made from it)."""
    if task_id is None:
        return None
    for table in (OpenTask.__table__, TaskRecord.__table__):
        step = conn.execute(select(table.c.step).where(table.c.id == task_id, table.c.case_id == case_id)).scalar()
        if step is not None:
            return str(step)
    raise ValidationFailed("The referral has invalid fields.", {"task_id": ["No such step on this case."]})


def request_referral(himaya: Engine, case_id: str, payload: Any, actor: Actor, *, requester_unit: str | None = None,
                     zone: tzinfo = UTC) -> Referral:
    """Refer the case to a partner sector (the caller has checked the actor may): the input checked
    first, then one transaction writing the referral, ``referral_requested`` and the notification
    to the sector's partners of the province."""
    values = _load(ReferralInput(), payload, "The referral has invalid fields.", zone)
    now = himaya.now()
    _check_deadline("respond_by", values["respond_by"], now)
    policy = himaya.escalation
    referral_id = new_id()
    with himaya.db.write_connection() as conn:
        case = _lock_case(himaya.db, conn, case_id)
        step = _step_of(conn, case.id, values["task_id"])
        respond_by = values["respond_by"] or now + RESPONSE_TIME.get(case.risk_level, RESPONSE_TIME[LOW])
        row = {"id": referral_id, "case_id": case.id, "province": case.province, "requested_at": now,
               "requester": actor.username, "requester_role": actor.role, "requester_unit": requester_unit,
               "task_id": values["task_id"] if step else None, "step": step, "performer_sector": values["sector"],
               "performer_organisation": values["organisation"], "service": values["service"],
               "service_note": values["note"], "reason": values["reason"],
               "priority": PRIORITY.get(case.risk_level, "routine"), "respond_by": respond_by, "status": REQUESTED,
               "escalation_level": 0, "next_escalation_at": policy.next_rung_at(0, now, respond_by),
               "updated_at": now}
        conn.execute(insert(REFERRALS).values(row))
        referral = conn.execute(select(REFERRALS).where(REFERRALS.c.id == referral_id)).one()
        _event(conn, case.id, actor, REFERRAL_REQUESTED, now,
               {"referral_id": referral_id, "sector": values["sector"], "service": values["service"],
                "priority": row["priority"], "respond_by": respond_by.isoformat()}, step=step, task_id=row["task_id"])
        conn.execute(insert(OUTBOX), [_message(case, referral, REFERRAL_REQUESTED, _partners(referral, case), now,
                                               PARTNER_LINK, due_at=respond_by.isoformat(),
                                               priority=row["priority"])])
    return read(himaya.db, referral_id)


def _refuse_answer(row: Any) -> None:
    if row.status == CANCELLED:
        raise Conflict("This referral was cancelled.")
    if row.status != REQUESTED:
        raise Conflict("This referral was answered already.")


def _set(conn: Connection, row: Any, **values: Any) -> None:
    """Write the referral if its status is still the one read (else someone answered meanwhile)."""
    written = conn.execute(update(REFERRALS).where(REFERRALS.c.id == row.id, REFERRALS.c.status == row.status)
                           .values(**values))
    if written.rowcount != 1:
        raise Conflict("The referral changed meanwhile: reload it and try again.")


def accept(himaya: Engine, referral_id: str, payload: Any, actor: Actor, *, zone: tzinfo = UTC) -> Referral:
    """The partner accepts; the service is due by ``due_by`` (given, or :data:`SERVICE_TIME` of the
    case's risk level), and the ladder starts again from that deadline."""
    values = _load(AcceptInput(), payload, "The answer has invalid fields.", zone)
    now = himaya.now()
    _check_deadline("due_by", values["due_by"], now)
    with himaya.db.write_connection() as conn:
        row, case = _locked_referral(himaya.db, conn, referral_id)
        _refuse_answer(row)
        due_by = values["due_by"] or now + SERVICE_TIME.get(case.risk_level, SERVICE_TIME[LOW])
        _set(conn, row, status=ACCEPTED, accepted_by=actor.username, accepted_at=now, accept_note=values["note"],
             due_by=due_by, escalation_level=0, next_escalation_at=himaya.escalation.next_rung_at(0, now, due_by),
             updated_at=now)
        _event(conn, case.id, actor, REFERRAL_ACCEPTED, now,
               {"referral_id": row.id, "sector": row.performer_sector, "service": row.service,
                "due_by": due_by.isoformat()}, step=row.step)
        conn.execute(insert(OUTBOX), _the_requesting_side(row, case, REFERRAL_ACCEPTED, now, due_at=due_by.isoformat()))
    return read(himaya.db, referral_id)


def decline(himaya: Engine, referral_id: str, payload: Any, actor: Actor) -> Referral:
    """The partner declines, with a reason; the ladder stops and the requesting side is told."""
    values = _load(DeclineInput(), payload, "The answer has invalid fields.")
    now = himaya.now()
    with himaya.db.write_connection() as conn:
        row, case = _locked_referral(himaya.db, conn, referral_id)
        _refuse_answer(row)
        _set(conn, row, status=DECLINED, status_reason=values["reason"], declined_by=actor.username,
             declined_at=now, next_escalation_at=None, updated_at=now)
        _event(conn, case.id, actor, REFERRAL_DECLINED, now,
               {"referral_id": row.id, "sector": row.performer_sector, "service": row.service}, step=row.step)
        conn.execute(insert(OUTBOX), _the_requesting_side(row, case, REFERRAL_DECLINED, now))
    return read(himaya.db, referral_id)


def complete(himaya: Engine, referral_id: str, payload: Any, actor: Actor, *, zone: tzinfo = UTC) -> Referral:
    """The partner records the service given (what, and on which day) on an accepted referral."""
    values = _load(CompleteInput(), payload, "The service given has invalid fields.", zone)
    now = himaya.now()
    with himaya.db.write_connection() as conn:
        row, case = _locked_referral(himaya.db, conn, referral_id)
        if row.status != ACCEPTED:
            raise Conflict("Only an accepted referral can be recorded as served.")
        today = now.astimezone(zone).date()
        asked = row.requested_at.astimezone(zone).date()
        if not asked <= values["occurrence"] <= today:
            raise ValidationFailed("The service given has invalid fields.", {"occurrence": [
                "The date must be between the day of the referral and today."]})
        _set(conn, row, status=COMPLETED, service_given=values["service_given"], occurrence=values["occurrence"],
             completed_by=actor.username, completed_at=now, next_escalation_at=None, updated_at=now)
        _event(conn, case.id, actor, REFERRAL_COMPLETED, now,
               {"referral_id": row.id, "sector": row.performer_sector, "service": row.service,
                "occurrence": values["occurrence"].isoformat()}, step=row.step)
        conn.execute(insert(OUTBOX), _the_requesting_side(row, case, REFERRAL_COMPLETED, now))
    return read(himaya.db, referral_id)


def cancel(himaya: Engine, referral_id: str, payload: Any, actor: Actor) -> Referral:
    """The requester or a coordinator withdraws an open referral, with a reason; the partners are told."""
    values = _load(CancelInput(), payload, "The cancellation has invalid fields.")
    now = himaya.now()
    with himaya.db.write_connection() as conn:
        row, case = _locked_referral(himaya.db, conn, referral_id)
        if row.status not in OPEN_STATES:
            raise Conflict("This referral is closed already: it cannot be cancelled.")
        _set(conn, row, status=CANCELLED, status_reason=values["reason"], cancelled_by=actor.username,
             cancelled_at=now, next_escalation_at=None, updated_at=now)
        _event(conn, case.id, actor, REFERRAL_CANCELLED, now,
               {"referral_id": row.id, "sector": row.performer_sector, "service": row.service}, step=row.step)
        conn.execute(insert(OUTBOX), [_message(case, row, REFERRAL_CANCELLED, _partners(row, case), now,
                                               PARTNER_LINK)])
    return read(himaya.db, referral_id)


def cancel_open_of_case(conn: Connection, case: Any, actor: Actor, now: datetime, *, reason: str) -> int:
    """Cancel every open referral of a case closed early (in the closing command's transaction,
    the case locked by it): the ladder stops and the partners are told. Returns how many."""
    rows = conn.execute(select(REFERRALS).where(REFERRALS.c.case_id == case.id,
                                                REFERRALS.c.status.in_(OPEN_STATES))).all()
    for row in rows:
        _set(conn, row, status=CANCELLED, status_reason=reason, cancelled_by=actor.username, cancelled_at=now,
             next_escalation_at=None, updated_at=now)
        _event(conn, case.id, actor, REFERRAL_CANCELLED, now, {
            "referral_id": row.id, "sector": row.performer_sector, "service": row.service, "reason": reason},
            step=row.step)
    if rows:
        conn.execute(insert(OUTBOX), [_message(case, row, REFERRAL_CANCELLED, _partners(row, case), now,
                                               PARTNER_LINK) for row in rows])
    return len(rows)


def follow_transfer(conn: Connection, case_id: str, province: str) -> None:
    """A case accepted by another province: its open referrals are the new province's partners' to
    answer (the answered ones keep the province they were made in)."""
    conn.execute(update(REFERRALS).where(REFERRALS.c.case_id == case_id, REFERRALS.c.status.in_(OPEN_STATES))
                 .values(province=province))


def read(database: Database, referral_id: str) -> Referral:
    with database.reading() as session:
        referral = session.get(Referral, referral_id)
    if referral is None:
        raise NotFound("No such referral.")
    return referral


# --- the ladder ----------------------------------------------------------------------------------

def deadline_of(row: Any) -> tuple[datetime, datetime | None]:
    """(when the running deadline's clock started, the deadline): the answer's, or once accepted the service's."""
    if row.status == ACCEPTED:
        return row.accepted_at, row.due_by
    return row.requested_at, row.respond_by


def rung_recipients(rung: int, referral: Any, province: str) -> dict[str, Any]:
    """Who a rung addresses: the sector's partners of the province, then its coordinators, then its supervisors."""
    if rung == 1:
        return Lane(PARTNER, province, sector=referral.performer_sector).recipients()
    return Lane(COORDINATOR if rung == 2 else SUPERVISOR, province).recipients()


_SET_LEVEL = (update(REFERRALS)
              .where(REFERRALS.c.id == bindparam("key_id"), REFERRALS.c.escalation_level == bindparam("key_level"),
                     REFERRALS.c.status == bindparam("key_status"))
              .values(escalation_level=bindparam("new_level"), next_escalation_at=bindparam("new_next")))


def escalate_overdue_referrals(database: Database, now: datetime, policy: EscalationPolicy = DEFAULT_POLICY,
                               *, batch: int = 2000) -> int:
    """Climb one rung for every open referral (of an open case) whose next rung is due; returns how many."""
    taken = 0
    while True:
        with database.write_connection() as conn:
            query = (select(REFERRALS.c.id, REFERRALS.c.case_id, REFERRALS.c.status, REFERRALS.c.step,
                            REFERRALS.c.requested_at, REFERRALS.c.respond_by, REFERRALS.c.accepted_at,
                            REFERRALS.c.due_by, REFERRALS.c.escalation_level, REFERRALS.c.performer_sector,
                            REFERRALS.c.service, CASES.c.reference, CASES.c.province)
                     .join(CASES, CASES.c.id == REFERRALS.c.case_id)
                     .where(REFERRALS.c.next_escalation_at <= now, REFERRALS.c.status.in_(OPEN_STATES),
                            CASES.c.status == "open")
                     .order_by(REFERRALS.c.next_escalation_at).limit(batch))
            if not database.is_sqlite:
                query = query.with_for_update(of=REFERRALS, skip_locked=True)
            rows = conn.execute(query).all()
            if not rows:
                return taken
            updates, events, messages = [], [], []
            for row in rows:
                level = row.escalation_level + 1
                started, due = deadline_of(row)
                assert due is not None
                stage = "service" if row.status == ACCEPTED else "response"
                updates.append({"key_id": row.id, "key_level": row.escalation_level, "key_status": row.status,
                                "new_level": level, "new_next": policy.next_rung_at(level, started, due)})
                events.append({"case_id": row.case_id, "at": now, "actor": "system", "kind": REFERRAL_ESCALATED,
                               "step": row.step, "task_id": None,
                               "detail": {"referral_id": row.id, "level": level, "stage": stage,
                                          "sector": row.performer_sector, "due_at": due.isoformat()}})
                link = PARTNER_LINK if level == 1 else f"/cases/{row.case_id}#referrals"
                messages.append({
                    "created_at": now, "case_id": row.case_id, "topic": REFERRAL_OVERDUE, "channel": "notify",
                    "recipient": rung_recipients(level, row, row.province),
                    "payload": {"case_id": row.case_id, "case_reference": row.reference, "referral_id": row.id,
                                "sector": row.performer_sector, "service": row.service, "level": level,
                                "stage": stage, "due_at": due.isoformat(), "link": link},
                    "status": "pending", "attempts": 0, "next_attempt_at": now})
            written = conn.execute(_SET_LEVEL, updates).rowcount
            if written != len(updates):  # another process took some: give the whole batch back
                raise RuntimeError("referral escalation claim lost a race; retrying")
            conn.execute(insert(EVENTS), events)
            conn.execute(insert(OUTBOX), messages)
            taken += len(rows)


def is_overdue(referral: Any, now: datetime) -> bool:
    """Whether the running deadline (answer, or service once accepted) has passed."""
    if referral.status not in OPEN_STATES:
        return False
    due = deadline_of(referral)[1]
    return due is not None and due <= now
