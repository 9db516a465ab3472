"""The audit trail that can forget, and cannot be altered unseen.

*Forgetting.* An event references what changed instead of copying it: a completed step records
the names of the fields answered and a keyed digest of the answers (:func:`answers_reference`);
the answers themselves live, sealed, in the step's history row, which retention can anonymise.
The few events that carry a person's own words (a reason, a note, a document's title:
:data:`FREE_TEXT`) can have those words erased (:func:`erase_free_text`), which leaves in their
place the keyed digest of what was written.

*Tamper evidence.* Every event, of a case (``case_events``) or of the administration
(``admin_events``), is sealed into a hash chain (``audit_chain``): each link is the keyed hash
(:meth:`engine.crypto.Keyring.digest`, whose key never leaves the master key's holder) of the
event's facts chained to the previous link. The chain is extended by a scheduled job
(:func:`extend`), not by the commands, so the write path stays as cheap as it was; erased words
enter the chain as the digest that replaces them, so forgetting does not break it. Both event
tables refuse DELETE and any UPDATE but their ``detail``'s (database triggers), and
:func:`verify` recomputes the chain and names the first broken link: an event altered, deleted,
or inserted among chained ones.

An event committed after a later one was chained (a long transaction) is still found: each run
looks from the highest id chained by the run before it.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, Table, exists, func, insert, select, type_coerce, update

from . import crypto
from .db import Database
from .models import AdminEvent, AuditChainHead, AuditLink, CaseEvent

EVENTS, ADMIN, CHAIN, HEAD = (CaseEvent.__table__, AdminEvent.__table__, AuditLink.__table__,
                              AuditChainHead.__table__)
CASE, ADMINISTRATION = "case", "admin"
ANSWERS, TEXT, LINK = "answers", "audit text", "audit chain"
GENESIS = "0" * 64  # the link before the first
ERASED = "erased"
BATCH = 2000  # events chained per round of a run

# The keys of an event's detail that hold someone's own words, by kind of event: what retention
# erases. Everything else an event records is a code, a count, a date or a reference.
FREE_TEXT: dict[str, frozenset[str]] = {kind: frozenset(keys) for kind, keys in {
    "risk_changed": ("reason",),
    "identity_corrected": ("reason",),
    "task_released": ("reason",),
    "transfer_requested": ("reason",),
    "transfer_declined": ("reason",),
    "transfer_cancelled": ("reason",),
    "case_closed": ("note",),
    "case_reopened": ("reason",),
    "document_added": ("title",),
    "subject_access_exported": ("request_reference",),
}.items()}

_SEALED_DETAIL = crypto.Sealed("case_events.detail", "json")


def canonical(value: Any) -> bytes:
    """One byte string per value, whatever the order of its keys (what a digest is taken of)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def answers_reference(keyring: crypto.Keyring, values: Mapping[str, Any]) -> dict[str, Any]:
    """What a completed step's event records of its answers: the fields answered and a keyed
    digest of the values (which stay in the step's sealed history row)."""
    return {"fields": sorted(values), "digest": keyring.digest(ANSWERS, canonical(dict(values)))}


def answers_match(keyring: crypto.Keyring, reference: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Whether these answers are the ones an event referenced."""
    return bool(reference.get("digest") == keyring.digest(ANSWERS, canonical(dict(values))))


def is_erased(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {ERASED}


def erase_free_text(keyring: crypto.Keyring, kind: str, detail: Mapping[str, Any]) -> dict[str, Any] | None:
    """The detail with its free text replaced by its digest (``{"erased": …}``), or None when it
    holds none left to erase."""
    keys = [k for k in FREE_TEXT.get(kind, ()) if isinstance(detail.get(k), str) and detail[k]]
    if not keys:
        return None
    return {**detail, **{k: {ERASED: keyring.digest(TEXT, canonical(detail[k]))} for k in keys}}


def _chain_form(keyring: crypto.Keyring, kind: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    """The detail as the chain sees it: free text by its digest, erased or not."""
    form = dict(detail)
    for key in FREE_TEXT.get(kind, ()):
        value = form.get(key)
        if isinstance(value, dict) and is_erased(value):
            form[key] = "h:" + str(value[ERASED])
        elif isinstance(value, str) and value:
            form[key] = "h:" + keyring.digest(TEXT, canonical(value))
    return form


def _case_record(keyring: crypto.Keyring, row: Any, detail: Mapping[str, Any]) -> list[Any]:
    return [CASE, row.id, row.case_id, row.at.isoformat(), row.actor, row.kind, row.step, row.task_id,
            _chain_form(keyring, row.kind, detail)]


def _admin_record(row: Any) -> list[Any]:
    return [ADMINISTRATION, row.id, row.at.isoformat(), row.actor, row.action, row.target_kind, row.target,
            list(row.fields or [])]


def _link(keyring: crypto.Keyring, previous: str, record: list[Any]) -> str:
    return keyring.digest(LINK, previous.encode() + canonical(record))


class _Unreadable(Exception):
    """An event's detail that does not open (altered or truncated ciphertext)."""


def _open_detail(database: Database, raw: bytes | None) -> dict[str, Any]:
    try:
        value = _SEALED_DETAIL.process_result_value(raw, database.engine.dialect)
    except crypto.SealedValueError as exc:
        raise _Unreadable(str(exc)) from None
    return dict(value or {})


@dataclass(frozen=True)
class _Source:
    name: str
    table: Table
    low: str  # the head's columns for this source
    seen: str

    def columns(self) -> list[Any]:
        if self.name == CASE:
            return [self.table.c.id, self.table.c.case_id, self.table.c.at, self.table.c.actor, self.table.c.kind,
                    self.table.c.step, self.table.c.task_id,
                    type_coerce(self.table.c.detail, LargeBinary).label("raw_detail")]
        return [self.table.c.id, self.table.c.at, self.table.c.actor, self.table.c.action, self.table.c.target_kind,
                self.table.c.target, self.table.c.fields]

    def record(self, database: Database, row: Any) -> list[Any]:
        if self.name == CASE:
            return _case_record(database.keys, row, _open_detail(database, row.raw_detail))
        return _admin_record(row)


SOURCES = (_Source(CASE, EVENTS, "case_low", "case_seen"), _Source(ADMINISTRATION, ADMIN, "admin_low", "admin_seen"))


def _unchained(source: _Source, low: int) -> Any:
    chained = exists().where(CHAIN.c.source == source.name, CHAIN.c.event_id == source.table.c.id)
    return select(*source.columns()).where(source.table.c.id > low, ~chained).order_by(source.table.c.id)


def extend(database: Database, now: datetime, *, full: bool = False) -> int:
    """Chain the events not chained yet (``full``: look through every event, not only the recent
    ones); the number chained. The links are computed in a read; each write only appends them,
    and gives up if another process extended the chain meanwhile (its next run goes on)."""
    with database.reading() as session:
        head = session.execute(select(HEAD).where(HEAD.c.id == 1)).one()
    seen_at_start = {s.name: int(getattr(head, s.seen)) for s in SOURCES}
    lows = {s.name: 0 if full else int(getattr(head, s.low)) for s in SOURCES}
    total = 0
    while True:
        with database.reading() as session:
            last = session.execute(select(CHAIN.c.seq, CHAIN.c.link).order_by(CHAIN.c.seq.desc()).limit(1)).first()
            rows = [(source, row) for source in SOURCES
                    for row in session.execute(_unchained(source, lows[source.name]).limit(BATCH))]
        if not rows:
            break
        previous, links, seen = last.link if last else GENESIS, [], dict(seen_at_start)
        for source, row in rows:
            try:
                record = source.record(database, row)
            except _Unreadable:
                record = [source.name, row.id, "unreadable"]  # chained as such: verify reports it
            previous = _link(database.keys, previous, record)
            links.append({"source": source.name, "event_id": row.id, "link": previous, "chained_at": now})
            seen[source.name] = max(seen[source.name], int(row.id))
        with database.write_connection() as conn:
            current = conn.execute(select(HEAD).where(HEAD.c.id == 1).with_for_update()).one()
            if conn.execute(select(func.max(CHAIN.c.seq))).scalar() != (last.seq if last else None):
                return total
            conn.execute(insert(CHAIN), links)
            conn.execute(update(HEAD).where(HEAD.c.id == 1).values(**{
                s.seen: max(int(getattr(current, s.seen)), seen[s.name]) for s in SOURCES}))
        total += len(links)
        if len(rows) < BATCH:
            break
    with database.write_connection() as conn:  # the next run looks from where this one started
        conn.execute(update(HEAD).where(HEAD.c.id == 1).values(**{
            s.low: max(lows[s.name], seen_at_start[s.name]) for s in SOURCES}))
    return total


@dataclass(frozen=True)
class Problem:
    seq: int | None  # the chain's link, when the problem is at one
    source: str
    event_id: int
    what: str  # altered | deleted | unchained | unreadable

    def describe(self) -> str:
        where = f"link {self.seq}: " if self.seq is not None else ""
        event = f"{'case' if self.source == CASE else 'administration'} event {self.event_id}"
        return where + {
            "altered": f"{event} was altered since it was chained (or its link was)",
            "deleted": f"{event} was deleted",
            "unchained": f"{event} is missing from the chain although later events are in it (inserted afterwards?)",
            "unreadable": f"{event}'s detail does not open with the data keys (altered or truncated)",
        }[self.what]


@dataclass
class Verification:
    links: int = 0
    problems: list[Problem] = field(default_factory=list)
    waiting: int = 0  # recent events the next run chains

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def first_broken(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def verify(database: Database) -> Verification:
    """Recompute the whole chain from the events as they are now (a page of links at a time, their
    events read in one query per source)."""
    result = Verification()
    previous = GENESIS
    with database.reading() as session:
        head = session.execute(select(HEAD).where(HEAD.c.id == 1)).one()
        for page in _pages(session):
            rows: dict[tuple[str, int], Any] = {}
            for source in SOURCES:
                ids = [link.event_id for link in page if link.source == source.name]
                if ids:
                    rows.update(((source.name, int(row.id)), row) for row in session.execute(
                        select(*source.columns()).where(source.table.c.id.in_(ids))))
            for link in page:
                source = next(s for s in SOURCES if s.name == link.source)
                row = rows.get((link.source, int(link.event_id)))
                result.links += 1
                if row is None:
                    result.problems.append(Problem(link.seq, link.source, link.event_id, "deleted"))
                else:
                    try:
                        record = source.record(database, row)
                    except _Unreadable:
                        result.problems.append(Problem(link.seq, link.source, link.event_id, "unreadable"))
                        record = [source.name, row.id, "unreadable"]
                    if _link(database.keys, previous, record) != link.link and not (
                            result.problems and result.problems[-1].seq == link.seq):
                        result.problems.append(Problem(link.seq, link.source, link.event_id, "altered"))
                previous = link.link  # each link is checked on its own: one altered row breaks one link
        for source in SOURCES:
            low = int(getattr(head, source.low))  # below it, the runs no longer look
            chained = exists().where(CHAIN.c.source == source.name, CHAIN.c.event_id == source.table.c.id)
            for (event_id,) in session.execute(select(source.table.c.id).where(
                    source.table.c.id <= low, ~chained).order_by(source.table.c.id)):
                result.problems.append(Problem(None, source.name, int(event_id), "unchained"))
            result.waiting += int(session.execute(select(func.count()).select_from(source.table).where(
                source.table.c.id > low, ~chained)).scalar_one())
    result.problems.sort(key=lambda p: (p.seq is None, p.seq or 0, p.event_id))
    return result


def _pages(session: Any) -> Iterator[list[Any]]:
    after = 0
    while True:
        batch = session.execute(select(CHAIN.c.seq, CHAIN.c.source, CHAIN.c.event_id, CHAIN.c.link).where(
            CHAIN.c.seq > after).order_by(CHAIN.c.seq).limit(BATCH)).all()
        if not batch:
            return
        yield batch
        after = batch[-1].seq
