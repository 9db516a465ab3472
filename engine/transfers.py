"""A case that moves: transfers to another unit, of the province or of another one, with acceptance.

A coordinator of the case's province asks for the move with a reason (:meth:`Engine.request_transfer`);
the receiving province's coordinators are told and have until ``respond_by`` to accept or
decline it with a reason (:meth:`Engine.answer_transfer`); the sending team keeps working the
case meanwhile. On acceptance :func:`move` files the case, its open tasks (back in the new
unit's lanes: whoever held them in the sending unit no longer reads the file), its search keys
and duplicate reviews to the new unit: its history follows the case id, so the sending province
reads it no more and its own audit (who read the file while it was theirs) stays with the file.

``respond_by`` climbs a ladder like a step's due date (:func:`escalate_overdue`, run with the
steps' sweep): a reminder to the receiving coordinators, then the receiving province's CPPE
supervisors, then the sending coordinators (who may cancel the transfer and keep the case).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from . import referrals
from .db import Database
from .errors import Conflict, NotFound, ValidationFailed
from .escalation import DEFAULT_POLICY, EscalationPolicy
from .models import (
    Case,
    CaseEvent,
    CaseTransfer,
    ChildNameKey,
    DuplicateReview,
    OpenTask,
    OutboxMessage,
    TaskDraft,
    Unit,
    new_id,
)
from .vocabulary import CASE_WORKER, COORDINATOR, SUPERVISOR, Lane, receives_children

TRANSFERS, OPEN_TASKS, CASES = CaseTransfer.__table__, OpenTask.__table__, Case.__table__
EVENTS, OUTBOX = CaseEvent.__table__, OutboxMessage.__table__

PENDING, ACCEPTED, DECLINED, CANCELLED = "pending", "accepted", "declined", "cancelled"
STATES = (PENDING, ACCEPTED, DECLINED, CANCELLED)
# How long the receiving coordinators have to answer, by the case's risk level.
RESPONSE_TIME = {"high": timedelta(days=1), "medium": timedelta(days=3), "low": timedelta(days=5)}
MAX_REASON = 2000
CASE_CLOSED = "case_closed"  # why a pending transfer was cancelled with the case


@dataclass(frozen=True)
class Request:
    """A transfer request checked before the write transaction."""

    province: str
    unit: str
    reason: str


def check_request(conn: Connection, payload: Any) -> Request:
    """The request's fields, and the receiving unit: an active unit of that province that
    receives children (a UPE or the CAPE, not a SAS mobile team)."""
    if not isinstance(payload, dict):
        raise ValidationFailed("Invalid transfer.", {"_schema": ["Expected a JSON object."]})
    errors: dict[str, list[str]] = {}
    province, unit_code = payload.get("province"), payload.get("unit")
    reason = check_reason(payload.get("reason"), errors)
    if not isinstance(province, str) or not province.strip():
        errors["province"] = ["Choose the receiving province."]
    if not isinstance(unit_code, str) or not unit_code.strip():
        errors["unit"] = ["Choose the receiving unit."]
    elif isinstance(province, str):
        found = conn.execute(select(Unit.province, Unit.kind, Unit.active).where(Unit.code == unit_code)).first()
        if found is None or found.province != province or not found.active:
            errors["unit"] = ["Unknown unit for this province."]
        elif not receives_children(found.kind):
            errors["unit"] = ["This unit does not receive children: choose a UPE or the CAPE of the province."]
    if errors or not isinstance(province, str) or not isinstance(unit_code, str):
        raise ValidationFailed("Invalid transfer.", errors)
    return Request(province, unit_code, reason)


def check_reason(value: Any, errors: dict[str, list[str]], field: str = "reason") -> str:
    """A reason given in words (at most :data:`MAX_REASON` characters); adds the field's error."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        errors[field] = ["Give a reason."]
    elif len(text) > MAX_REASON:
        errors[field] = ["Keep the reason to 2000 characters at most."]
    return text


def pending_of(conn: Connection, case_id: str) -> Any:
    return conn.execute(select(TRANSFERS).where(TRANSFERS.c.case_id == case_id,
                                                TRANSFERS.c.state == PENDING)).first()


def create(conn: Connection, *, case: Any, request: Request, actor: str, now: datetime,
           policy: EscalationPolicy = DEFAULT_POLICY) -> dict[str, Any]:
    """Insert the pending transfer (the case locked by the caller) and tell the receiving coordinators."""
    respond_by = now + RESPONSE_TIME.get(case.risk_level, RESPONSE_TIME["medium"])
    row = {"id": new_id(), "case_id": case.id, "from_province": case.province, "from_unit": case.unit,
           "to_province": request.province, "to_unit": request.unit, "reason": request.reason, "state": PENDING,
           "requested_by": actor, "requested_at": now, "respond_by": respond_by, "decided_by": None,
           "decided_at": None, "decision_reason": None, "escalation_level": 0,
           "next_escalation_at": policy.next_rung_at(0, now, respond_by)}
    conn.execute(insert(TRANSFERS), row)
    _tell(conn, now, case, "transfer_requested", Lane(COORDINATOR, request.province).recipients(), row,
          link="/transfers")
    return row


def decide(conn: Connection, transfer_id: str, state: str, *, actor: str, now: datetime,
           reason: str | None) -> bool:
    """Answer a pending transfer (compare-and-set on its state): False when it was answered meanwhile."""
    written = conn.execute(update(TRANSFERS).where(TRANSFERS.c.id == transfer_id, TRANSFERS.c.state == PENDING)
                           .values(state=state, decided_by=actor, decided_at=now, decision_reason=reason,
                                   next_escalation_at=None))
    return written.rowcount == 1


def addressed(conn: Connection, transfer_id: str, province: str | None, *, sending: bool = False) -> Any:
    """The transfer, when addressed to ``province`` (or sent from it, ``sending``); else NotFound."""
    column = TRANSFERS.c.from_province if sending else TRANSFERS.c.to_province
    row = conn.execute(select(TRANSFERS).where(TRANSFERS.c.id == transfer_id, column == province)).first()
    if row is None:
        raise NotFound("No such transfer.")
    if row.state != PENDING:
        raise Conflict("This transfer has been answered already.")
    return row


def move(conn: Connection, case_id: str, transfer: Any) -> int:
    """File the case's open tasks, search keys, duplicate reviews and open referrals to the new unit and province
    (the case row itself is written by the command). Claimed tasks go back to the new unit's
    lanes, and their unsent drafts are dropped (they were the sending team's). Returns how many
    open tasks moved."""
    task_ids = list(conn.scalars(select(OPEN_TASKS.c.id).where(OPEN_TASKS.c.case_id == case_id)))
    if task_ids:
        conn.execute(update(OPEN_TASKS).where(OPEN_TASKS.c.case_id == case_id).values(
            province=transfer.to_province, unit=transfer.to_unit, state="ready", assignee=None))
        conn.execute(delete(TaskDraft).where(TaskDraft.task_id.in_(task_ids)))
    conn.execute(update(ChildNameKey).where(ChildNameKey.case_id == case_id).values(province=transfer.to_province))
    referrals.follow_transfer(conn, case_id, transfer.to_province)
    conn.execute(update(DuplicateReview).where(DuplicateReview.case_id == case_id)
                 .values(case_province=transfer.to_province))
    conn.execute(update(DuplicateReview).where(DuplicateReview.match_id == case_id)
                 .values(match_province=transfer.to_province))
    return len(task_ids)


def tell_answer(conn: Connection, now: datetime, case: Any, transfer: Any, topic: str) -> None:
    """The sending coordinators learn the answer; on acceptance the new unit's team learns the
    case is theirs."""
    _tell(conn, now, case, topic, Lane(COORDINATOR, transfer.from_province).recipients(), transfer._mapping,
          link=f"/cases/{case.id}" if topic == "transfer_declined" else "/transfers?side=sent")
    if topic == "transfer_accepted":
        _tell(conn, now, case, "case_transferred_in",
              Lane(CASE_WORKER, transfer.to_province, transfer.to_unit).recipients(), transfer._mapping,
              link=f"/cases/{case.id}")


def cancel_pending(conn: Connection, case_id: str, *, actor: str, now: datetime, reason: str) -> Any:
    """Cancel the case's pending transfer, if any (the case closed meanwhile); returns it."""
    pending = pending_of(conn, case_id)
    if pending is not None:
        decide(conn, pending.id, CANCELLED, actor=actor, now=now, reason=reason)
    return pending


def summary(transfer: Mapping[Any, Any]) -> dict[str, Any]:
    """What a case event records of a transfer (where from and where to, never the child)."""
    return {"transfer": transfer["id"], **{name: transfer[name] for name in (
        "from_province", "from_unit", "to_province", "to_unit")}}


def _tell(conn: Connection, now: datetime, case: Any, topic: str, recipient: dict[str, Any],
          transfer: Mapping[Any, Any], *, link: str, extra: dict[str, Any] | None = None) -> None:
    conn.execute(insert(OUTBOX), {
        "created_at": now, "case_id": case.id, "topic": topic, "channel": "notify", "recipient": recipient,
        "payload": {"case_id": case.id, "case_reference": case.reference, "transfer_id": transfer["id"],
                    "from_unit": transfer["from_unit"], "to_unit": transfer["to_unit"],
                    "respond_by": transfer["respond_by"].isoformat(), "link": link, **(extra or {})},
        "status": "pending", "attempts": 0, "next_attempt_at": now})


# --- the deadline's ladder ----------------------------------------------------------------------

_SET_LEVEL = (update(TRANSFERS)
              .where(TRANSFERS.c.id == bindparam("key_id"), TRANSFERS.c.state == PENDING,
                     TRANSFERS.c.escalation_level == bindparam("key_level"))
              .values(escalation_level=bindparam("new_level"), next_escalation_at=bindparam("new_next")))


def recipients_for(rung: int, transfer: Any) -> dict[str, Any]:
    """Rung 1: the receiving coordinators; 2: the receiving province's CPPE supervisors; 3: the
    sending coordinators, who still hold the case."""
    if rung == 1:
        return Lane(COORDINATOR, transfer.to_province).recipients()
    if rung == 2:
        return Lane(SUPERVISOR, transfer.to_province).recipients()
    return Lane(COORDINATOR, transfer.from_province).recipients()


def escalate_overdue(database: Database, now: datetime, policy: EscalationPolicy = DEFAULT_POLICY) -> int:
    """Climb one rung for every pending transfer whose next rung is due; each rung exactly once
    (compare-and-set on ``escalation_level``), recorded on the case and sent in the same
    transaction. Returns how many rungs were climbed."""
    with database.write_connection() as conn:
        rows = conn.execute(
            select(TRANSFERS, CASES.c.reference).join(CASES, CASES.c.id == TRANSFERS.c.case_id)
            .where(TRANSFERS.c.state == PENDING, TRANSFERS.c.next_escalation_at <= now)
            .order_by(TRANSFERS.c.next_escalation_at).limit(500)).all()
        climbed = 0
        for row in rows:
            level = row.escalation_level + 1
            written = conn.execute(_SET_LEVEL, {
                "key_id": row.id, "key_level": row.escalation_level, "new_level": level,
                "new_next": policy.next_rung_at(level, row.requested_at, row.respond_by)})
            if written.rowcount != 1:  # another process climbed it
                continue
            conn.execute(insert(EVENTS), {
                "case_id": row.case_id, "at": now, "actor": "system", "kind": "transfer_escalated", "step": None,
                "task_id": None, "detail": {"transfer": row.id, "level": level,
                                            "respond_by": row.respond_by.isoformat()}})
            _tell(conn, now, _CaseRef(row.case_id, row.reference), "transfer_overdue", recipients_for(level, row),
                  row._mapping, link="/transfers" if level < 3 else "/transfers?side=sent", extra={"level": level})
            climbed += 1
    return climbed


@dataclass(frozen=True)
class _CaseRef:
    id: str
    reference: str
