"""Subject access (law 09-08, art. 7): a child, a guardian or a legal representative asks in
writing for the child's file; a coordinator of the case's province exports it (the ZIP is built
by :mod:`api.subject_access`) and the export is recorded here, in one short transaction once the
ZIP is built: the event ``subject_access_exported`` with who asked (``requested_by``), the
reference of the written request (free text: sealed with the event's detail and erased by
retention, :data:`engine.audit.FREE_TEXT`), the language and the number of documents handed over.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates
from sqlalchemy import insert, select

from .actor import Actor
from .db import Database
from .errors import Conflict, NotFound, ValidationFailed
from .intake import clean_line, plain_line
from .models import Case, CaseEvent

EXPORTED = "subject_access_exported"
REQUESTERS = ("child", "guardian", "legal_representative")
LANGUAGES = ("fr", "ar", "en")  # those of the pages (api.i18n.LANGUAGES)
REFERENCE_MAX = 120
BLANK = "Write the reference of the written request (the letter or form received)."
ANONYMISED = "This file was anonymised when its retention period ended: there is no personal data left to export."

CASES, EVENTS = Case.__table__, CaseEvent.__table__


class SubjectAccessRequest(Schema):
    """The written request an export answers (unknown fields refused)."""

    class Meta:
        unknown = RAISE

    request_reference = fields.String(required=True, validate=[validate.Length(max=REFERENCE_MAX), plain_line],
                                      metadata={"description": "the reference of the written request (1 to 120 "
                                                               "characters, no control character)"})
    requested_by = fields.String(required=True, validate=validate.OneOf(REQUESTERS),
                                 metadata={"description": "who asked: child | guardian | legal_representative"})
    language = fields.String(load_default=None, validate=validate.OneOf(LANGUAGES),
                             metadata={"description": "fr | ar | en (default: the request's language)"})

    @validates("request_reference")
    def _not_blank(self, value: str, **_: Any) -> None:
        if not (value or "").strip():
            raise ValidationError(BLANK)


def load_request(payload: Any) -> dict[str, Any]:
    """The validated request, its reference as stored (NFC, single spaces); :class:`ValidationFailed`
    with each bad field otherwise."""
    if not isinstance(payload, Mapping):
        raise ValidationFailed("The request has invalid fields.", {"_schema": ["Expected a JSON object."]})
    try:
        loaded: dict[str, Any] = SubjectAccessRequest().load(dict(payload))
    except ValidationError as exc:
        raise ValidationFailed("The request has invalid fields.", exc.messages) from None
    return cleaned(loaded)


def cleaned(loaded: dict[str, Any]) -> dict[str, Any]:
    return {**loaded, "request_reference": clean_line(loaded["request_reference"]) or ""}


def record_export(database: Database, case_id: str, request: Mapping[str, Any], *, language: str, documents: int,
                  actor: Actor, now: datetime) -> None:
    """Record that the file was exported for this request (:class:`NotFound` for an unknown case,
    :class:`Conflict` when it was anonymised meanwhile): one insert, nothing slow inside."""
    detail: dict[str, Any] = {"request_reference": request["request_reference"],
                              "requested_by": request["requested_by"], "language": language,
                              "documents": documents, "role": actor.role}
    if actor.source:
        detail["source"] = actor.source
    with database.write_connection() as conn:
        row = conn.execute(select(CASES.c.id, CASES.c.anonymised_at).where(CASES.c.id == case_id)).first()
        if row is None:
            raise NotFound("No such case.")
        if row.anonymised_at is not None:
            raise Conflict(ANONYMISED)
        conn.execute(insert(EVENTS).values(case_id=case_id, at=now, actor=actor.username, kind=EXPORTED, step=None,
                                           task_id=None, detail=detail))
