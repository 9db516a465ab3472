"""Idempotent commands: a retried report or completion answers what the first one did.

An outreach worker's phone sends what was done offline when the network comes back, and may send
it again when an answer is lost on the way. Each such command carries a key the client made
(``Idempotency-Key``, or ``client_id`` in the body): the first command with a key runs and its
answer (status and JSON body) is stored **in the command's own transaction**
(:class:`Recorder`, which the runtime calls before its commit), keyed by (user, key) with the
endpoint and a digest of the body. Then:

- the same key, endpoint and body again → the stored answer, nothing run again (:func:`run`);
- the same key with another body or endpoint → :class:`KeyReused` (422): a client bug, never a
  silent second command;
- two copies at once → one commits; the other's insert hits the unique (user, key) constraint
  (or its command finds the task ended) and rolls back whole; it answers the stored answer.

Only commands that succeeded are stored: a refused one (bad fields, a conflict) changed nothing,
and the client may send it corrected under the same key. Keys are kept
``HIMAYA_IDEMPOTENCY_HOURS`` (:attr:`engine.settings.Settings.idempotency_lifetime`) and purged by
the scheduled ``idempotency`` job (:func:`purge`). No Flask here: the API builds the answer.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from .db import Database
from .errors import Conflict, EngineError, ValidationFailed
from .models import IdempotencyKey

KEYS = IdempotencyKey.__table__
DEFAULT_LIFETIME = timedelta(hours=72)
# A client-made key: a UUID, a ULID or any token of URL-safe characters, 8 to 128 long.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:~-]{8,128}$")
HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

Result = TypeVar("Result")


class KeyReused(EngineError):
    """The key was used for another request (another body, or another endpoint)."""

    status = 422


def check_key(key: Any, field_name: str = HEADER) -> str:
    """The key, or :class:`ValidationFailed` naming the field it came in."""
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise ValidationFailed("Invalid idempotency key.", {field_name: [
            "Give a key of 8 to 128 letters, digits or . _ : ~ - (a UUID made on the device, for example)."]})
    return key


def digest(body: Any) -> str:
    """The SHA-256 of the body as canonical JSON (keys sorted, no spaces): the same request gives
    the same digest however its keys were ordered."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Attempt:
    """One command sent with a key: whose, which key, where to, and the digest of its body."""

    user_id: int
    key: str
    endpoint: str
    request_digest: str


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False
    case_id: str | None = None


def find(database: Database, attempt: Attempt, now: datetime) -> Answer | None:
    """The stored answer of this key (not expired), or None; :class:`KeyReused` when the key
    holds another request."""
    with database.reading() as session:
        row = session.scalar(select(IdempotencyKey).where(
            IdempotencyKey.user_id == attempt.user_id, IdempotencyKey.key == attempt.key,
            IdempotencyKey.expires_at > now))
        if row is None:
            return None
        if row.endpoint != attempt.endpoint or row.request_digest != attempt.request_digest:
            raise KeyReused("This idempotency key was used for another request.", {HEADER: [
                "This key was already used for another request: make a new key for each new action "
                "(the same key is only for sending the very same request again)."]})
        return Answer(row.status, row.answer, replayed=True, case_id=row.case_id)


def answers(database: Database, user_id: int, keys: list[str], endpoint: str, now: datetime) -> dict[str, Answer]:
    """The stored answers (not expired) of these keys of this user, for this endpoint."""
    if not keys:
        return {}
    with database.reading() as session:
        rows = session.scalars(select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.key.in_(keys), IdempotencyKey.endpoint == endpoint,
            IdempotencyKey.expires_at > now)).all()
        return {row.key: Answer(row.status, row.answer, replayed=True, case_id=row.case_id) for row in rows}


@dataclass
class Recorder:
    """What the runtime calls inside a command's transaction, once the command has run:
    ``present`` turns the command's result into the answer, which is stored there and then."""

    attempt: Attempt
    present: Callable[[Any], tuple[int, dict[str, Any]]]
    lifetime: timedelta = DEFAULT_LIFETIME
    answer: Answer | None = field(default=None, init=False)

    def __call__(self, conn: Connection, now: datetime, result: Any) -> None:
        status, body = self.present(result)
        case_id = getattr(result, "case_id", None)
        # A key that expired but was not purged yet makes way (the unique constraint holds live ones).
        conn.execute(delete(KEYS).where(KEYS.c.user_id == self.attempt.user_id, KEYS.c.key == self.attempt.key,
                                        KEYS.c.expires_at <= now))
        conn.execute(insert(KEYS).values(
            user_id=self.attempt.user_id, key=self.attempt.key, endpoint=self.attempt.endpoint,
            request_digest=self.attempt.request_digest, status=status, answer=body, case_id=case_id,
            created_at=now, expires_at=now + self.lifetime))
        self.answer = Answer(status, body, case_id=case_id)


def run(database: Database, attempt: Attempt, now: datetime, command: Callable[[Recorder], object],
        present: Callable[[Any], tuple[int, dict[str, Any]]], lifetime: timedelta = DEFAULT_LIFETIME) -> Answer:
    """The stored answer of ``attempt`` if there is one; otherwise run ``command`` with a
    :class:`Recorder` it hands to the runtime, and answer what it stored. A twin that committed
    first (the unique constraint, or the task it ended) makes this one answer the twin's answer."""
    stored = find(database, attempt, now)
    if stored is not None:
        return stored
    recorder = Recorder(attempt, present, lifetime)
    try:
        command(recorder)
    except (IntegrityError, Conflict):
        stored = find(database, attempt, now)
        if stored is None:
            raise
        return stored
    if recorder.answer is None:  # the command did not call its recorder: a programming error
        raise RuntimeError("the command ran without recording its answer")
    return recorder.answer


def purge(database: Database, now: datetime) -> int:
    """Delete the keys whose time has passed; how many."""
    with database.transaction() as session:
        result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)
