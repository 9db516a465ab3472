"""``/api/v1/cases/{id}/notes`` and ``/api/v1/cases/{id}/contacts``: the case file's notes and contacts.

A case the caller does not see is 404 before anything else; then the policy (:mod:`api.policy`):
the case's team writes (403 otherwise), partners read no note (403) and only the contacts who may
be contacted (relation, name, phone). Every read is audited (``notes_viewed``, ``contacts_viewed``).
"""
from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _

from engine import case_records

from .. import policy
from ..readers import cases as case_readers
from ..readers import notes as readers
from ..schemas import (
    ContactChangeRequest,
    ContactList,
    ContactRequest,
    ContactSchema,
    NotePage,
    NoteRequest,
    NoteSchema,
    PageArgs,
)
from .common import Blueprint, abort, actor, engine, load_principal, page_of, reader

blp = Blueprint("case_notes", __name__, url_prefix="/api/v1/cases", description="A case's notes")
blp.before_request(load_principal)
contacts_blp = Blueprint("case_contacts", __name__, url_prefix="/api/v1/cases", description="A case's contacts")
contacts_blp.before_request(load_principal)
CONTACT = "/<uuid:case_id>/contacts/<int(max=9223372036854775807):contact_id>"


def _writable(case_id: str) -> Any:
    """The case, if the caller sees it (404) and is of its team (403)."""
    context = reader()
    case = case_readers.visible(context, str(case_id))
    if not policy.can_write_case_records(context.principal, case):
        abort(403, message=_("Only the case's team writes its notes and contacts."))
    return case


@blp.route("/<uuid:case_id>/notes", methods=["POST"])
@blp.arguments(NoteRequest)
@blp.response(201, NoteSchema)
@blp.alt_response(400, description="Invalid fields (each listed)")
@blp.alt_response(403, description="Only the case's team writes notes")
@blp.alt_response(404, description="Unknown or not visible")
def add_note(_body: dict[str, Any], case_id: str) -> dict[str, Any]:
    """Add a note to the case's timeline (``team`` or ``coordinators`` only); the history gets ``note_added``."""
    case = _writable(case_id)
    himaya = engine()
    note = case_records.add_note(himaya.db, case.id, request.get_json(), actor=actor(), now=himaya.now())
    return readers.present_note(note)


@blp.route("/<uuid:case_id>/notes", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, NotePage)
@blp.alt_response(403, description="Partners read no note")
@blp.alt_response(404, description="Unknown or not visible")
def list_notes(args: dict[str, Any], case_id: str) -> dict[str, Any]:
    """The notes the caller may read, newest first (audited: ``notes_viewed``)."""
    context = reader()
    case = case_readers.visible(context, str(case_id))
    if not policy.can_read_notes(context.principal):
        abort(403, message=_("You are not allowed to read this case's notes."))
    total, items = readers.note_page(context, case, args["page"], args["per_page"])
    engine().record_access(actor(), "notes_viewed", [case.id], {"notes": [n["id"] for n in items]})
    return page_of(total, args["page"], args["per_page"], items)


@contacts_blp.route("/<uuid:case_id>/contacts", methods=["POST"])
@contacts_blp.arguments(ContactRequest)
@contacts_blp.response(201, ContactSchema)
@contacts_blp.alt_response(400, description="Invalid fields (each listed)")
@contacts_blp.alt_response(403, description="Only the case's team records contacts")
@contacts_blp.alt_response(404, description="Unknown or not visible")
def add_contact(_body: dict[str, Any], case_id: str) -> dict[str, Any]:
    """Record a family member, the guardian, the school… (audited: ``contact_added``)."""
    case = _writable(case_id)
    himaya = engine()
    contact = case_records.add_contact(himaya.db, case.id, request.get_json(), actor=actor(), now=himaya.now())
    return readers.present_contact(contact)


@contacts_blp.route("/<uuid:case_id>/contacts", methods=["GET"])
@contacts_blp.response(200, ContactList)
@contacts_blp.alt_response(403, description="A role that reads no contact")
@contacts_blp.alt_response(404, description="Unknown or not visible")
def list_contacts(case_id: str) -> dict[str, Any]:
    """The case's active contacts (partners: those who may be contacted, relation, name and phone only;
    audited: ``contacts_viewed``)."""
    context = reader()
    case = case_readers.visible(context, str(case_id))
    if not policy.can_read_contacts(context.principal):
        abort(403, message=_("You are not allowed to read this case's contacts."))
    items = readers.contacts(context, case)
    engine().record_access(actor(), "contacts_viewed", [case.id], {"contacts": [c["id"] for c in items]})
    return {"items": items}


@contacts_blp.route(CONTACT, methods=["PATCH"])
@contacts_blp.arguments(ContactChangeRequest)
@contacts_blp.response(200, ContactSchema)
@contacts_blp.alt_response(400, description="Invalid fields (each listed)")
@contacts_blp.alt_response(403, description="Only the case's team changes contacts")
@contacts_blp.alt_response(404, description="Unknown or not visible")
@contacts_blp.alt_response(409, description="The contact was removed")
def change_contact(_body: dict[str, Any], case_id: str, contact_id: int) -> dict[str, Any]:
    """Change the fields given (audited: ``contact_changed`` names the fields, never their values)."""
    case = _writable(case_id)
    himaya = engine()
    contact = case_records.change_contact(himaya.db, case.id, contact_id, request.get_json(), actor=actor(),
                                          now=himaya.now())
    return readers.present_contact(contact)


@contacts_blp.route(CONTACT, methods=["DELETE"])
@contacts_blp.response(200, ContactSchema)
@contacts_blp.alt_response(403, description="Only the case's team removes contacts")
@contacts_blp.alt_response(404, description="Unknown or not visible")
@contacts_blp.alt_response(409, description="The contact was removed already")
def remove_contact(case_id: str, contact_id: int) -> dict[str, Any]:
    """Remove the contact: marked inactive, no longer listed (audited: ``contact_removed``)."""
    case = _writable(case_id)
    himaya = engine()
    contact = case_records.remove_contact(himaya.db, case.id, contact_id, actor=actor(), now=himaya.now())
    return readers.present_contact(contact)
