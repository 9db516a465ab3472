"""Outbox delivery: after commit, outside the command's transaction.

1. **Claim** a batch of due rows (``pending``, or ``sending`` whose lease ran out after a crash):
   ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a compare-and-set under ``BEGIN IMMEDIATE`` on
   SQLite; the rows become ``sending`` with a lease, so each row has one deliverer.
2. **Group rows** (``notify``, ``partner``) are expanded into the recipients' in-app
   notifications and one ``email`` / ``sms`` row per recipient, in one transaction that also
   marks the group row sent. A group with **no active user** (no active justice partner in the
   province…) is never "sent": the row becomes ``undeliverable`` and, in the same transaction,
   an incident is raised for the province's CAPE coordinators, with a case event and an alert
   to them (:mod:`engine.incidents`), which this same run delivers.
3. **Email / SMS rows** are sent (no transaction open); success marks them sent, failure puts
   them back with exponential backoff, and after the last attempt they become ``dead`` letters
   that an administrator can list and retry. Just before each send the deliverer renews its
   lease (compare-and-set); a row whose lease ran out is skipped, since another deliverer may
   hold it now, so a slow batch never sends what someone else is sending.

Delivery is at least once: a deliverer killed after the mail server accepted a message and before
it recorded "sent" leaves that one message to be sent again after the lease. Each email carries a
Message-ID fixed by its outbox row, so such a repeat is the same message to the receiving side.

Messages carry a case reference and a link, never the child's name or birth date.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update

from engine.incidents import raise_incident
from engine.models import Case, Notification, OutboxMessage, User
from engine.runtime import Engine

from .channels import EmailSender, LogSmsSender, SmsSender
from .templates import payload_values, render

log = logging.getLogger("himaya.notifications")

OUTBOX, USERS, NOTIFICATIONS, CASES = OutboxMessage.__table__, User.__table__, Notification.__table__, Case.__table__
GROUP_CHANNELS = ("notify", "partner")
MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(minutes=1)
# How long a deliverer holds the rows it claimed by default (HIMAYA_OUTBOX_LEASE_SECONDS); a
# crashed one's rows come back after it.
LEASE = timedelta(minutes=5)


class _LostClaim(Exception):
    """Another process took the row over (our lease ran out): undo and leave it to them."""


@dataclass
class DeliveryReport:
    expanded: int = 0
    undeliverable: int = 0  # group rows that had no active recipient (each an incident)
    sent: int = 0
    retried: int = 0
    dead: int = 0
    notifications: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after the 1st, 2nd, 3rd … failed attempt."""
    return BACKOFF_BASE * (2 ** max(attempts - 1, 0))


class Deliverer:
    def __init__(self, engine: Engine, *, email: EmailSender | None = None, sms: SmsSender | None = None,
                 lease: timedelta = LEASE) -> None:
        self.engine = engine
        self.lease = lease
        self.email = email
        self.sms = sms or LogSmsSender()

    def run(self, *, batch: int = 200) -> DeliveryReport:
        """Deliver everything due now (several claims until nothing is left)."""
        report = DeliveryReport()
        while True:
            claimed = self._claim(batch)
            if not claimed:
                return report
            for row in claimed:
                if row.channel in GROUP_CHANNELS:
                    self._expand(row, report)
                else:
                    self._send(row, report)

    # -- claiming --------------------------------------------------------------------

    def _claim(self, batch: int) -> Sequence[Any]:
        now = self.engine.now()
        db = self.engine.db
        due = or_(and_(OUTBOX.c.status == "pending", OUTBOX.c.next_attempt_at <= now),
                  and_(OUTBOX.c.status == "sending", OUTBOX.c.claimed_until < now))
        with db.write_connection() as conn:
            query = select(OUTBOX.c.id).where(due).order_by(OUTBOX.c.id).limit(batch)
            if not db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            ids = list(conn.execute(query).scalars())
            if not ids:
                return []
            return conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids), due)
                                .values(status="sending", claimed_until=now + self.lease)
                                .returning(*OUTBOX.c)).all()

    def _finish(self, conn: Any, row: Any, held_until: datetime | None = None, **values: Any) -> bool:
        """Write the outcome of a claimed row, if this process still holds it."""
        held = held_until or row.claimed_until
        written = conn.execute(update(OUTBOX).where(OUTBOX.c.id == row.id, OUTBOX.c.status == "sending",
                                                    OUTBOX.c.claimed_until == held)
                               .values(claimed_until=None, **values))
        return written.rowcount == 1

    def _renew(self, row: Any) -> datetime | None:
        """Extend this process's hold on a row just before sending it.

        None when the lease has already run out: another deliverer may have claimed the row (or
        may at any moment), so sending it here could send it twice."""
        now = self.engine.now()
        held_until = now + self.lease
        with self.engine.db.write_connection() as conn:
            written = conn.execute(update(OUTBOX).where(
                OUTBOX.c.id == row.id, OUTBOX.c.status == "sending",
                OUTBOX.c.claimed_until == row.claimed_until, OUTBOX.c.claimed_until > now)
                .values(claimed_until=held_until))
        return held_until if written.rowcount == 1 else None

    # -- group rows → per-recipient messages -------------------------------------------

    def _recipients(self, conn: Any, spec: dict[str, Any]) -> list[Any]:
        query = select(USERS.c.username, USERS.c.language, USERS.c.email, USERS.c.phone).where(
            USERS.c.active.is_(True))
        if spec.get("usernames"):
            query = query.where(USERS.c.username.in_(spec["usernames"]))
        else:
            for key in ("role", "province", "unit", "sector"):
                if spec.get(key):
                    query = query.where(USERS.c[key] == spec[key])
            if not spec.get("role") or not spec.get("province"):
                return []  # a group is always a role of a province: never "everyone"
        return conn.execute(query.order_by(USERS.c.username)).all()

    def _expand(self, row: Any, report: DeliveryReport) -> None:
        now = self.engine.now()
        try:
            recipients = self._expand_in_transaction(row, now)
        except _LostClaim:
            return
        if not recipients:
            report.undeliverable += 1
            log.warning("outbox row %s (%s) has no active recipient: undeliverable", row.id, row.topic)
            return
        report.expanded += 1
        report.notifications += len(recipients)

    def _expand_in_transaction(self, row: Any, now: datetime) -> list[Any]:
        with self.engine.db.write_connection() as conn:
            recipients = self._recipients(conn, row.recipient or {})
            if not recipients:  # nobody can receive it: an incident, never a silent "sent"
                if not self._finish(conn, row, status="undeliverable", last_error="no active recipient"):
                    raise _LostClaim()
                raise_incident(conn, row, now)
                return recipients
            conn.execute(insert(NOTIFICATIONS), [{
                "username": r.username, "created_at": now, "read_at": None, "topic": row.topic,
                "case_id": row.case_id, "outbox_id": row.id, "payload": row.payload} for r in recipients])
            personal = []
            for r in recipients:
                target = {"username": r.username, "language": r.language}
                if self.email is not None and r.email:
                    personal.append(("email", {**target, "email": r.email}))
                if r.phone:
                    personal.append(("sms", {**target, "phone": r.phone}))
            if personal:
                conn.execute(insert(OUTBOX), [{
                    "created_at": now, "case_id": row.case_id, "topic": row.topic, "channel": channel,
                    "recipient": target, "payload": row.payload, "status": "pending", "attempts": 0,
                    "next_attempt_at": now} for channel, target in personal])
            if not self._finish(conn, row, status="sent", sent_at=now):
                raise _LostClaim()
        return recipients

    # -- email and sms -----------------------------------------------------------------

    def _values(self, row: Any, language: str) -> dict[str, Any]:
        payload = row.payload or {}
        title = self._step_title(row.case_id, payload["step"], language) if payload.get("step") and row.case_id \
            else None
        return payload_values(payload, title, language)

    def _step_title(self, case_id: str, step: str, language: str) -> str:
        with self.engine.db.reading() as session:
            version_id = session.scalar(select(CASES.c.pathway_version_id).where(CASES.c.id == case_id))
            if version_id is None:
                return step
            info = self.engine.compiled(session, version_id).user_tasks.get(step)
        return info.title(language) if info else step

    def _send(self, row: Any, report: DeliveryReport) -> None:
        held_until = self._renew(row)
        if held_until is None:
            return  # our lease ran out while earlier rows of the batch went out: not ours any more
        now = self.engine.now()
        target = row.recipient or {}
        subject, body = render(row.topic, target.get("language", "fr"), self._values(row, target.get("language", "fr")))
        try:
            if row.channel == "email":
                if self.email is None:
                    raise RuntimeError("no SMTP server configured (HIMAYA_SMTP_URL)")
                self.email.send(target["email"], subject, body, key=f"outbox-{row.id}-{row.created_at:%Y%m%d%H%M%S%f}")
            elif row.channel == "sms":
                self.sms.send(target["phone"], f"{subject}\n{body}")
            else:
                raise RuntimeError(f"unknown channel {row.channel!r}")
        except Exception as error:  # a channel failed: retry later, never lose the message
            attempts = row.attempts + 1
            dead = attempts >= MAX_ATTEMPTS
            problem = f"{type(error).__name__}: {str(error)[:200]}"
            with self.engine.db.write_connection() as conn:
                self._finish(conn, row, held_until, status="dead" if dead else "pending", attempts=attempts,
                             next_attempt_at=now + backoff(attempts), last_error=problem)
            log.warning("delivery of outbox row %s failed (attempt %d): %s", row.id, attempts, type(error).__name__)
            if dead:
                report.dead += 1
            else:
                report.retried += 1
            report.errors.append(problem)
            return
        with self.engine.db.write_connection() as conn:
            recorded = self._finish(conn, row, held_until, status="sent", sent_at=now, attempts=row.attempts + 1)
        if recorded:
            report.sent += 1


def retry_dead(engine: Engine, outbox_id: int) -> bool:
    """Put a dead letter back in the queue (administrators)."""
    with engine.db.write_connection() as conn:
        written = conn.execute(update(OUTBOX).where(OUTBOX.c.id == outbox_id, OUTBOX.c.status == "dead")
                               .values(status="pending", attempts=0, next_attempt_at=engine.now(),
                                       claimed_until=None))
    return written.rowcount == 1
