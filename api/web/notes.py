"""The case page's notes and contacts: the cards' context, and their forms (adding a note; adding,
changing and removing a contact), each a plain POST with the CSRF token that works without
JavaScript. A form with bad fields shows the case page again with each message next to its field
(400) and nothing stored; the texts are checked by :mod:`engine.case_records`.
"""
from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import case_records
from engine.errors import Conflict, ValidationFailed
from engine.intake import without_controls
from engine.models import Case, CaseEvent

from .. import policy
from ..context import actor, engine, reader
from ..i18n import translate_errors, translate_message
from ..readers import cases as case_readers
from ..readers import notes as readers
from ..readers.context import ReadContext
from .forms import flat_errors
from .session import login_required

NOTES_PER_PAGE = 20
NOTE_FORM, CONTACT_FORM = "note_form", "contact_form"  # g: a form posted with errors, shown again


def case_page_context(context: ReadContext, case: Case, events: list[CaseEvent]) -> dict[str, Any]:
    """What the case page's "Notes" and "Contacts" cards and its timeline's notes need; records
    the reads (``notes_viewed``, ``contacts_viewed``) when something was shown."""
    principal = context.principal
    page = _page_number(request.args.get("notes_page"))
    reads_notes = policy.can_read_notes(principal)
    total, notes = readers.note_page(context, case, page, NOTES_PER_PAGE) if reads_notes else (0, [])
    in_timeline = readers.notes_by_id(context, case, [e.detail.get("note_id") for e in events
                                                      if e.kind == case_records.NOTE_ADDED and e.detail])
    shown = sorted({n["id"] for n in notes} | set(in_timeline))
    if shown:
        engine().record_access(actor(), "notes_viewed", [case.id], {"notes": shown})
    contacts = _contacts_shown(context, case)
    note_form = g.get(NOTE_FORM) or {"values": {"visibility": case_records.TEAM}, "errors": {}}
    contact_form = g.get(CONTACT_FORM) or {"values": {}, "errors": {}}
    return {"records": {
        "may_write": policy.can_write_case_records(principal, case), "reads_notes": reads_notes,
        "notes": notes, "notes_total": total, "notes_page": page,
        "notes_pages": max(1, -(-total // NOTES_PER_PAGE)), "timeline_notes": in_timeline,
        "contacts": contacts, "full_contacts": policy.reads_full_contacts(principal),
        "reads_contacts": policy.can_read_contacts(principal),
        "note_form": note_form, "contact_form": contact_form, "relations": case_records.RELATIONS,
        "note_max": case_records.NOTE_MAX, "visibilities": case_records.VISIBILITIES,
    }}


def task_page_context(context: ReadContext, case: Case) -> dict[str, Any]:
    """What a step's page shows of the case's contacts: the list the reader may see, without the
    forms (contacts are changed on the case page); records the read when one was shown."""
    principal = context.principal
    return {"records": {"may_write": False, "contacts": _contacts_shown(context, case), "on_step": True,
                        "full_contacts": policy.reads_full_contacts(principal),
                        "reads_contacts": policy.can_read_contacts(principal)}}


def _contacts_shown(context: ReadContext, case: Case) -> list[dict[str, Any]]:
    """The case's contacts the reader may see, the read recorded when there is one."""
    contacts = readers.contacts(context, case) if policy.can_read_contacts(context.principal) else []
    if contacts:
        engine().record_access(actor(), "contacts_viewed", [case.id], {"contacts": [c["id"] for c in contacts]})
    return contacts


def _page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or "1"), 100_000))
    except ValueError:
        return 1


def _writable(case_id: str) -> Case:
    """The case, if the user sees it (404) and is of its team (403)."""
    context = reader()
    case = case_readers.visible(context, str(case_id))
    if not policy.can_write_case_records(context.principal, case):
        abort(403)
    return case


def _field_errors(error: ValidationFailed) -> dict[str, list[str]]:
    return {key: messages for key, messages in flat_errors(translate_errors(error.errors)).items()}


def case_page_again(case_id: str) -> Response:
    """The case page with the form's errors (status 400)."""
    from .cases import case as case_page

    response = make_response(case_page(case_id=case_id))
    response.status_code = 400
    return response


def _offer_cleaned(values: dict[str, Any], errors: dict[str, list[str]], keys: tuple[str, ...]) -> None:
    """A text pasted with invisible controls is refused; the form gives it back without them."""
    for key in keys:
        typed = values.get(key)
        if key in errors and isinstance(typed, str):
            cleaned = without_controls(typed) if key == "name" else case_records.without_refused(typed)
            if cleaned != typed:
                values[key] = cleaned
                errors[key].append(_("The invisible characters have been taken out of the box: check the text "
                                     "and send the form again."))


@login_required
def add_note(case_id: str) -> ResponseReturnValue:
    case = _writable(case_id)
    values = {"text": request.form.get("text", ""), "visibility": request.form.get("visibility") or "team"}
    himaya = engine()
    try:
        case_records.add_note(himaya.db, case.id, values, actor=actor(), now=himaya.now())
    except ValidationFailed as error:
        errors = _field_errors(error)
        _offer_cleaned(values, errors, ("text",))
        g.note_form = {"values": values, "errors": errors}
        return case_page_again(case.id)
    flash(_("Note added."), "success")
    return redirect(url_for("web.case", case_id=case.id, _anchor="notes"))


def _contact_payload(form: Any) -> dict[str, Any]:
    """The contact form as the engine takes it (boxes ticked or not; "do not contact" is the reverse
    of ``may_contact``)."""
    return {"relation": form.get("relation") or None, "name": form.get("name", ""),
            "phone": form.get("phone") or None, "address": form.get("address") or None,
            "guardian": form.get("guardian") == "on", "may_contact": form.get("do_not_contact") != "on",
            "note": form.get("note") or None}


def _form_values(payload: dict[str, Any]) -> dict[str, Any]:
    return {**{k: v or "" for k, v in payload.items() if k not in ("guardian", "may_contact")},
            "guardian": payload["guardian"], "do_not_contact": not payload["may_contact"]}


@login_required
def add_contact(case_id: str) -> ResponseReturnValue:
    case = _writable(case_id)
    payload = _contact_payload(request.form)
    himaya = engine()
    try:
        case_records.add_contact(himaya.db, case.id, payload, actor=actor(), now=himaya.now())
    except ValidationFailed as error:
        values, errors = _form_values(payload), _field_errors(error)
        _offer_cleaned(values, errors, ("name", "address", "note"))
        g.contact_form = {"values": values, "errors": errors}
        return case_page_again(case.id)
    flash(_("Contact added."), "success")
    return redirect(url_for("web.case", case_id=case.id, _anchor="contacts"))


@login_required
def edit_contact(case_id: str, contact_id: int) -> ResponseReturnValue:
    """Change a contact (its own page: the form at full width, also at 360 px)."""
    case = _writable(case_id)
    context = reader()
    recorded = readers.contact(context, case, contact_id)  # 404: no such active contact
    values: dict[str, Any] = _form_values({k: recorded[k] for k in case_records.CONTACT_FIELDS})
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        payload = _contact_payload(request.form)
        changes = {k: v for k, v in payload.items() if v != recorded[k]}
        if not changes:
            flash(_("Nothing was changed."), "success")
            return redirect(url_for("web.case", case_id=case.id, _anchor="contacts"))
        himaya = engine()
        try:
            case_records.change_contact(himaya.db, case.id, contact_id, changes, actor=actor(), now=himaya.now())
        except ValidationFailed as error:
            values, errors, status = _form_values(payload), _field_errors(error), 400
            _offer_cleaned(values, errors, ("name", "address", "note"))
        except Conflict as conflict:
            values, errors, status = _form_values(payload), {"_schema": [translate_message(str(conflict))]}, 409
        else:
            flash(_("Contact changed."), "success")
            return redirect(url_for("web.case", case_id=case.id, _anchor="contacts"))
    return render_template("contact.html", case=case, contact=recorded, values=values, errors=errors,
                           relations=case_records.RELATIONS), status


@login_required
def remove_contact(case_id: str, contact_id: int) -> ResponseReturnValue:
    case = _writable(case_id)
    himaya = engine()
    try:
        case_records.remove_contact(himaya.db, case.id, contact_id, actor=actor(), now=himaya.now())
    except Conflict:
        flash(_("This contact was removed already."), "warning")
    else:
        flash(_("Contact removed."), "success")
    return redirect(url_for("web.case", case_id=case.id, _anchor="contacts"))
