"""A case's notes and contacts, as their reader may see them (:mod:`engine.case_records`).

Notes: newest first, those of :func:`api.policy.note_scope` only (a note the reader may not read
is not listed, nor counted). Contacts: the active ones of :func:`api.policy.contact_scope`, each
with every field for the case's team and its supervisors, and for partners only the relation,
the name and the phone (:data:`PARTNER_CONTACT_FIELDS`).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from engine.errors import NotFound
from engine.models import Case, CaseContact, CaseNote

from .. import policy
from ..messages import N_
from .context import ReadContext
from .paging import page_rows

PARTNER_CONTACT_FIELDS = ("id", "case_id", "relation", "name", "phone")
CONTACT_FIELDS = ("id", "case_id", "relation", "name", "phone", "address", "guardian", "may_contact", "note",
                  "active", "created_at", "created_by", "updated_at", "updated_by")


def present_note(note: CaseNote) -> dict[str, Any]:
    return {"id": note.id, "case_id": note.case_id, "text": note.text, "visibility": note.visibility,
            "author": note.author, "author_role": note.author_role, "created_at": note.created_at}


def present_contact(contact: CaseContact, *, full: bool = True) -> dict[str, Any]:
    return {name: getattr(contact, name) for name in (CONTACT_FIELDS if full else PARTNER_CONTACT_FIELDS)}


def note_page(ctx: ReadContext, case: Case, page: int, per_page: int) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's notes) of a case the reader sees and may read notes of, newest first."""
    query = select(CaseNote).where(CaseNote.case_id == case.id, policy.note_scope(ctx.principal))
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, CaseNote.id.desc())
    return total, [present_note(note) for note, in rows]


def notes_by_id(ctx: ReadContext, case: Case, ids: Iterable[Any]) -> dict[int, dict[str, Any]]:
    """``{id: note}`` of these notes of the case that the reader may read (the timeline shows their text)."""
    wanted = {i for i in ids if isinstance(i, int) and not isinstance(i, bool)}
    if not wanted or not policy.can_read_notes(ctx.principal):
        return {}
    with ctx.engine.db.reading() as session:
        rows = session.scalars(select(CaseNote).where(CaseNote.case_id == case.id, CaseNote.id.in_(wanted),
                                                      policy.note_scope(ctx.principal)))
        return {note.id: present_note(note) for note in rows}


def contacts(ctx: ReadContext, case: Case) -> list[dict[str, Any]]:
    """The case's active contacts the reader may read, in the order they were recorded (none to a
    reader from whom the child's identity is masked: a parent's name names the child)."""
    full = policy.reads_full_contacts(ctx.principal)
    if not policy.sees_child_identity(ctx.principal, case.consent):
        return []
    with ctx.engine.db.reading() as session:
        rows = session.scalars(select(CaseContact).where(CaseContact.case_id == case.id,
                                                         policy.contact_scope(ctx.principal))
                               .order_by(CaseContact.id))
        return [present_contact(contact, full=full) for contact in rows]


def contact(ctx: ReadContext, case: Case, contact_id: int) -> dict[str, Any]:
    """One active contact of the case (:class:`NotFound` when there is none the reader may read)."""
    if not policy.sees_child_identity(ctx.principal, case.consent):
        raise NotFound(N_("No such contact."))
    with ctx.engine.db.reading() as session:
        row = session.scalar(select(CaseContact).where(CaseContact.case_id == case.id, CaseContact.id == contact_id,
                                                       policy.contact_scope(ctx.principal)))
        if row is None:
            raise NotFound(N_("No such contact."))
        return present_contact(row, full=policy.reads_full_contacts(ctx.principal))
