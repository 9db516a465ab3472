"""The case file's own records: notes and contacts.

**Notes** are short entries of a case's timeline written by its team ("phone call with the aunt:
she can host the child from Monday"). Each has a visibility: ``team`` (the case's team reads it)
or ``coordinators`` (only the province's coordinators, and its author). :func:`add_note` is one
short transaction: the note row and the case event ``note_added``, whose detail names the note and
its visibility but never holds the text (so that the audit trail can later forget a text without
being rewritten).

**Contacts** are the people and places the team reaches about the child: family members, the
guardian, the school… with a phone, an address, whether they are the legal guardian, and whether
they **may be contacted** (``may_contact`` false: the child's safety says this person must not be
reached, e.g. a parent suspected of the violence). :func:`add_contact`, :func:`change_contact` and
:func:`remove_contact` (which marks the contact inactive) each write the row and one case event:
``contact_added`` (the contact's id and relation), ``contact_changed`` (the **names** of the
fields changed, never their values), ``contact_removed``.

Who may write or read either is the API's policy (:mod:`api.policy`); these commands check the
input and the case's existence only.

Texts: a note, an address and a contact's note may hold line breaks (``\\r\\n`` and ``\\r`` are
stored as ``\\n``) and tabs; every other control character and every text-direction control
(:data:`engine.intake.BIDI_CONTROLS`) is **refused** with a plain message, as for names (a page
offers the text back without them). A name is one plain line with letters; a phone number is
digits with spaces, dots or dashes and an optional leading ``+``, 6 to 20 digits (Arabic-Indic
digits are stored as 0-9).
"""
from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import Connection, insert, select, update

from .actor import Actor
from .db import Database
from .errors import Conflict, NotFound, ValidationFailed
from .intake import BIDI_CONTROLS, StrictBoolean, clean_line, has_letters, plain_line
from .models import Case, CaseContact, CaseEvent, CaseNote

NOTES, CONTACTS, EVENTS, CASES = CaseNote.__table__, CaseContact.__table__, CaseEvent.__table__, Case.__table__

TEAM, COORDINATORS = "team", "coordinators"
VISIBILITIES = (TEAM, COORDINATORS)
NOTE_MAX, ADDRESS_MAX, CONTACT_NOTE_MAX, NAME_MAX = 5_000, 500, 1_000, 200
PHONE_DIGITS = (6, 20)
RELATIONS = ("mother", "father", "guardian", "sibling", "grandparent", "aunt_uncle", "other_family", "school",
             "neighbour", "other")
CONTACT_FIELDS = ("relation", "name", "phone", "address", "guardian", "may_contact", "note")
NOTE_ADDED, CONTACT_ADDED, CONTACT_CHANGED, CONTACT_REMOVED = ("note_added", "contact_added", "contact_changed",
                                                               "contact_removed")
PHONE_EXAMPLE = ("Write the phone number with digits, spaces, dots or dashes: for example 0661 23 45 67 or "
                 "+212 661 23 45 67.")
KEPT_CONTROLS = frozenset("\n\t")
# A phone typed on an Arabic keyboard: Arabic-Indic and Persian digits are stored as 0-9 (a tel: link dials them).
ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def _refused(character: str) -> bool:
    if character in KEPT_CONTROLS:
        return False
    return character in BIDI_CONTROLS or character in "\u2028\u2029" or unicodedata.category(character) == "Cc"


def clean_text(value: str) -> str:
    """A text of several lines as stored: Unicode NFC, line breaks as ``\\n``, no blank around it."""
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def without_refused(value: str) -> str:
    """``value`` without the characters a text of several lines refuses (a page offers it back cleaned)."""
    return "".join(c for c in value if not _refused(c))


class Text(fields.String):
    """A text of several lines: line breaks and tabs kept, other controls refused, at most ``maximum``
    characters once cleaned (:func:`clean_text`); blank is None unless the field is ``required``."""

    def __init__(self, maximum: int, *, blank: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.maximum, self.blank = maximum, blank

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = clean_text(super()._deserialize(value, attr, data, **kwargs))
        if len(text) > self.maximum:  # first: a 100,000-character paste costs one length check
            raise ValidationError(f"Keep it to {self.maximum} characters at most.")
        if any(_refused(c) for c in text):
            raise ValidationError("This text contains invisible control characters (such as direction marks): "
                                  "type it again without them. Line breaks are kept.")
        if not text:
            if self.blank:
                raise ValidationError(self.blank)
            return None
        return text


class Line(fields.String):
    """One plain line (a name): spaces tidied, no control character, letters required when given."""

    def __init__(self, maximum: int, *, blank: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.maximum, self.blank = maximum, blank

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        raw = super()._deserialize(value, attr, data, **kwargs)
        if len(raw) > self.maximum * 2:
            raise ValidationError(f"Keep it to {self.maximum} characters at most.")
        plain_line(raw)
        line = clean_line(raw)
        if line is None:
            if self.blank:
                raise ValidationError(self.blank)
            return None
        if len(line) > self.maximum:
            raise ValidationError(f"Keep it to {self.maximum} characters at most.")
        has_letters(line)
        return line


class Phone(fields.String):
    """A Moroccan or international number: digits, spaces, dots, dashes, an optional leading ``+``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        raw = super()._deserialize(value, attr, data, **kwargs)
        phone = " ".join(raw.translate(ARABIC_DIGITS).split())
        if not phone:
            return None
        body = phone[1:] if phone.startswith("+") else phone
        if len(phone) > 40 or not body or not all(c.isascii() and (c.isdigit() or c in " .-") for c in body):
            raise ValidationError(PHONE_EXAMPLE)
        digits = sum(c.isdigit() for c in body)
        if not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
            raise ValidationError("A phone number has 6 to 20 digits: for example 0661 23 45 67 or +212 661 23 45 67.")
        return phone


class NoteInput(Schema):
    """``POST /api/v1/cases/{id}/notes``."""

    class Meta:
        unknown = RAISE

    text = Text(NOTE_MAX, blank="Write the note: it cannot be blank.", required=True,
                error_messages={"required": "Write the note: it cannot be blank.",
                                "null": "Write the note: it cannot be blank."})
    visibility = fields.String(load_default=TEAM, validate=validate.OneOf(
        VISIBILITIES, error="Choose who reads the note: team or coordinators."))


class ContactInput(Schema):
    """``POST /api/v1/cases/{id}/contacts`` (and, every field optional, ``PATCH …/contacts/{id}``)."""

    class Meta:
        unknown = RAISE

    relation = fields.String(required=True, validate=validate.OneOf(
        RELATIONS, error="Choose the relation from the list (mother, father, guardian, school…)."),
        error_messages={"required": "Say who this contact is to the child (mother, school…).",
                        "null": "Say who this contact is to the child (mother, school…)."})
    name = Line(NAME_MAX, blank="Give the contact's name.", required=True,
                error_messages={"required": "Give the contact's name.", "null": "Give the contact's name."})
    phone = Phone(load_default=None, allow_none=True)
    address = Text(ADDRESS_MAX, load_default=None, allow_none=True)
    guardian = StrictBoolean(load_default=False)
    may_contact = StrictBoolean(load_default=True)
    note = Text(CONTACT_NOTE_MAX, load_default=None, allow_none=True)


def load_note(payload: Any) -> dict[str, Any]:
    """The validated note (:class:`ValidationFailed` with each bad field)."""
    if not isinstance(payload, dict):
        raise ValidationFailed("The note has invalid fields.", {"_schema": ["Expected a JSON object."]})
    try:
        loaded: dict[str, Any] = NoteInput().load(payload)
    except ValidationError as exc:
        raise ValidationFailed("The note has invalid fields.", exc.messages) from None
    return loaded


def load_contact(payload: Any, *, partial: bool = False) -> dict[str, Any]:
    """The validated contact, or (``partial``) the fields given to change."""
    if not isinstance(payload, dict):
        raise ValidationFailed("The contact has invalid fields.", {"_schema": ["Expected a JSON object."]})
    try:
        loaded: dict[str, Any] = ContactInput().load(payload, partial=partial)
    except ValidationError as exc:
        raise ValidationFailed("The contact has invalid fields.", exc.messages) from None
    if partial and not loaded:
        raise ValidationFailed("The contact has invalid fields.", {"_schema": ["Give at least one field to change."]})
    return loaded


def _case_exists(conn: Connection, case_id: str) -> None:
    if conn.execute(select(CASES.c.id).where(CASES.c.id == case_id)).first() is None:
        raise NotFound("No such case.")


def _event(conn: Connection, case_id: str, actor: Actor, kind: str, now: datetime, detail: dict[str, Any]) -> None:
    if actor.source:
        detail["source"] = actor.source
    conn.execute(insert(EVENTS).values(case_id=case_id, at=now, actor=actor.username, kind=kind, step=None,
                                       task_id=None, detail=detail))


def add_note(database: Database, case_id: str, payload: Any, *, actor: Actor, now: datetime) -> CaseNote:
    """Write a note on the case (the caller has checked the actor may): validated first, then one
    short transaction writing the note and the event ``note_added`` (the note's id and visibility)."""
    values = load_note(payload)
    with database.write_connection() as conn:
        _case_exists(conn, case_id)
        note_id = conn.execute(insert(NOTES).values(
            case_id=case_id, visibility=values["visibility"], text=values["text"], author=actor.username,
            author_role=actor.role, created_at=now).returning(NOTES.c.id)).scalar_one()
        _event(conn, case_id, actor, NOTE_ADDED, now, {"note_id": note_id, "visibility": values["visibility"]})
    with database.reading() as session:
        note = session.get(CaseNote, note_id)
    assert note is not None
    return note


def add_contact(database: Database, case_id: str, payload: Any, *, actor: Actor, now: datetime) -> CaseContact:
    """Record a contact of the case, and the event ``contact_added`` (its id and relation)."""
    values = load_contact(payload)
    with database.write_connection() as conn:
        _case_exists(conn, case_id)
        contact_id = conn.execute(insert(CONTACTS).values(
            case_id=case_id, **values, active=True, created_at=now, created_by=actor.username, updated_at=now,
            updated_by=actor.username).returning(CONTACTS.c.id)).scalar_one()
        _event(conn, case_id, actor, CONTACT_ADDED, now, {"contact_id": contact_id, "relation": values["relation"]})
    return _read_contact(database, contact_id)


def _locked_contact(database: Database, conn: Connection, case_id: str, contact_id: int) -> Any:
    query = select(CONTACTS).where(CONTACTS.c.id == contact_id, CONTACTS.c.case_id == case_id)
    if not database.is_sqlite:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound("No such contact.")
    if not row.active:
        raise Conflict("This contact was removed.")
    return row


def change_contact(database: Database, case_id: str, contact_id: int, payload: Any, *, actor: Actor,
                   now: datetime) -> CaseContact:
    """Change the fields given; the event ``contact_changed`` names the fields that changed (never
    their values). Nothing changed: no write, no event. A removed contact is a :class:`Conflict`."""
    values = load_contact(payload, partial=True)
    with database.write_connection() as conn:
        row = _locked_contact(database, conn, case_id, contact_id)
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        if changed:
            conn.execute(update(CONTACTS).where(CONTACTS.c.id == contact_id)
                         .values(**changed, updated_at=now, updated_by=actor.username))
            _event(conn, case_id, actor, CONTACT_CHANGED, now,
                   {"contact_id": contact_id, "fields": [f for f in CONTACT_FIELDS if f in changed]})
    return _read_contact(database, contact_id)


def remove_contact(database: Database, case_id: str, contact_id: int, *, actor: Actor, now: datetime) -> CaseContact:
    """Mark the contact inactive (it is no longer listed; the events stay), with ``contact_removed``."""
    with database.write_connection() as conn:
        _locked_contact(database, conn, case_id, contact_id)
        conn.execute(update(CONTACTS).where(CONTACTS.c.id == contact_id)
                     .values(active=False, updated_at=now, updated_by=actor.username))
        _event(conn, case_id, actor, CONTACT_REMOVED, now, {"contact_id": contact_id})
    return _read_contact(database, contact_id)


def _read_contact(database: Database, contact_id: int) -> CaseContact:
    with database.reading() as session:
        contact = session.get(CaseContact, contact_id)
    assert contact is not None
    return contact
