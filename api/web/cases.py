"""Case pages: the case list and its search, reporting a child (with the check for earlier
reports of the same child), a child's file, the correction of the child's identity, the diagram."""
from __future__ import annotations

import uuid
from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import idempotency
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.idempotency import KeyReused
from engine.intake import without_controls
from engine.runtime import identity_of
from engine.vocabulary import RECEIVING_UNIT_KINDS, RISK_LEVELS, SAS_MOBILE

from .. import idempotent, policy
from ..context import actor, engine, reader, settings
from ..i18n import translate_errors, translate_message
from ..readers import cases, duplicates, incidents, judicial, pathways, reports, territory
from ..readers.context import ReadContext
from . import case_print, moving, notes, referrals
from .chrome import isolate
from .forms import (
    CHILD_ERROR_FIELDS,
    IDENTITY_LINE_FIELDS,
    REPORT_LINE_FIELDS,
    child_payload,
    flat_errors,
    identity_values,
    report_errors,
    report_payload,
)
from .session import login_required
from .tasks import subject_url

TIMELINE = 50  # events on a page of the case's timeline (and of its access log), newest first
PER_PAGE = 25  # cases on a page of the list
SEARCH_MAX = 200  # characters of a search (the API's limit)
SORTS = ("newest", "oldest", "updated", "risk", "reference")
EARLIER = "earlier_reports"  # session key: the earlier reports to name on the new case's page, once


def _list_filters(args: Any, steps: dict[str, str]) -> dict[str, Any]:
    """The list's filters from the query string (a value not offered is left out)."""
    filters: dict[str, Any] = {"q": " ".join((args.get("q") or "").split())}
    if args.get("status") in ("open", "closed"):
        filters["status"] = args["status"]
    if args.get("risk_level") in RISK_LEVELS:
        filters["risk_level"] = args["risk_level"]
    if args.get("step") in steps:
        filters["step"] = args["step"]
    if args.get("assigned") == "me":
        filters["assigned"] = "me"
    if args.get("overdue") == "1":
        filters["overdue"] = True
    if args.get("unit") and len(args["unit"]) <= 100:
        filters["unit"] = args["unit"]
    for name in ("opened_within", "closed_within"):  # the dashboard's tiles link here
        if args.get(name) in cases.WITHIN_DAYS:
            filters[name] = args[name]
    filters["sort"] = args.get("sort") if args.get("sort") in SORTS else "newest"
    return filters


@login_required
def case_list() -> ResponseReturnValue:
    """The cases the user may see: search by reference, name or alias, birth date or year; filters
    and sort kept in the URL (a GET form), a page at a time."""
    if g.principal.role not in policy.CASE_ROLES:
        abort(403)
    context = reader()
    steps = dict(pathways.child_steps(context))
    filters = _list_filters(request.args, steps)
    try:
        page = max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    errors: list[str] = []
    total, items = 0, list[dict[str, Any]]()
    if len(filters["q"]) > SEARCH_MAX:
        errors = [_("Keep the search to %(max)s characters at most.", max=SEARCH_MAX)]
    else:
        try:
            total, items = cases.case_page(context, {k: v for k, v in filters.items() if v}, page, PER_PAGE)
        except cases.SearchRefused as refused:
            errors = [_(str(refused))]
    if not errors:
        engine().record_access(actor(), "case_listed", [i["id"] for i in items],
                               {"searched": True} if filters["q"] else None)
    pages = max(1, -(-total // PER_PAGE))
    # the filters as the URL of another page of the list keeps them
    query = {k: ("1" if v is True else v) for k, v in filters.items() if v and not (k == "sort" and v == "newest")}
    unit_names = {u.code: u.name for u in territory.units(context, g.principal.province)}
    return render_template("cases.html", filters=filters, unit_names=unit_names, items=items, total=total,
                           page=page, pages=pages, per_page=PER_PAGE, errors=errors,
                           steps=list(steps.items()), sorts=SORTS, query=query, search_max=SEARCH_MAX), \
        400 if errors else 200


def report_units() -> list[Any]:
    """The units the signed-in user may report a child to (none: the menu hides the report page,
    as for a care institution's social mediator); read once per request."""
    if "report_units" not in g:
        p = g.get("principal")
        if p is not None and policy.reports_children(p):
            context = reader()
            g.own_unit_kind = territory.own_unit_kind(context)
            g.report_units = territory.report_units(context, g.own_unit_kind)
        else:
            g.own_unit_kind, g.report_units = None, []
    units: list[Any] = g.report_units
    return units


@login_required
def report() -> ResponseReturnValue:
    p = g.principal
    units = report_units()
    if not policy.reports_children(p):
        abort(403)
    own_kind = g.own_unit_kind
    codes = [u.code for u in units]
    outreach = own_kind == SAS_MOBILE  # a street team reports to the UPE or CAPE that receives the child
    # A street team chooses where the child goes (nothing preselected); the others file at their unit.
    values: dict[str, Any] = {"unit": p.unit if p.unit in codes else ("" if outreach or not codes else codes[0]),
                              "legal_basis": "protection_mandate", "source": "mobile_team" if outreach else "",
                              "received_at": engine().now().astimezone(settings().zone).strftime("%Y-%m-%dT%H:%M"),
                              "client_id": _new_form_key()}
    errors: dict[str, list[str]] = {}
    checked: list[dict[str, Any]] | None = None  # earlier reports found by the check button
    if request.method == "POST":
        values = {**request.form.to_dict(), "categories": request.form.getlist("categories")}
        payload = report_payload(request.form, p.province or "", settings().timezone)
        if request.form.get("action") == "check":
            checked, errors = _check(payload["child"])
        elif not payload["unit"]:
            errors = {"unit": [_("Choose the unit that receives the child.")]}
        elif not policy.can_report(p, payload["province"], payload["unit"], own_unit_kind=own_kind):
            errors = {"unit": [_("You may only report children in your own territory.")]}
        else:
            try:
                opened = _open_once(payload)
            except ValidationFailed as error:
                errors = report_errors(translate_errors(error.errors))
            except KeyReused:
                errors = {"client_id": [_("This form was sent already and opened a case; the changes made to it "
                                          "since were not sent. To report another child, open a new form.")]}
                values["client_id"] = _new_form_key()
            else:
                names = {u.code: u.name for u in units}
                return _reported(opened["case_id"], opened["reference"], names.get(payload["unit"], payload["unit"]),
                                 opened["earlier"])
        _offer_without_controls(values, errors)
    return report_form(values, errors, checked=checked)


def report_form(values: dict[str, Any], errors: dict[str, list[str]], *,
                checked: list[dict[str, Any]] | None = None, kept_offline: bool = False) -> ResponseReturnValue:
    """The report page with these values and errors (400 with errors). ``kept_offline``: a report
    made offline and refused when it was sent, given back to be corrected (api/web/outreach.py)."""
    units = report_units()
    return render_template("report.html", values=values, errors=errors, units=units,
                           outreach=g.own_unit_kind == SAS_MOBILE, checked=checked, kept_offline=kept_offline,
                           unit_kinds=[k for k in RECEIVING_UNIT_KINDS if any(u.kind == k for u in units)]), \
        400 if errors else 200


REPORT_PAGE = "POST /report"  # the report page's idempotent command (its answers are looked up by key)


def _new_form_key() -> str:
    """The key a new report form carries (a hidden field): the form sent twice (a double click, a
    resend after a lost answer) opens one case."""
    return str(uuid.uuid4())


def _open_once(payload: dict[str, Any]) -> dict[str, Any]:
    """Open the case of the report form, once per form: with the form's key, a second sending of
    the same form answers the first case (:mod:`engine.idempotency`); the same key with other
    answers is :class:`KeyReused`. A form without a valid key (an old page) opens its case as before."""
    def opened(result: Any) -> dict[str, Any]:
        earlier = duplicates.visible_matches(reader(), result.possible_duplicates)
        # References and scores only, no identity: kept with the answer and in the session cookie.
        return {"case_id": result.case_id, "reference": result.case_reference, "earlier": [
            {key: m[key] for key in ("case_id", "reference", "score", "reasons")} for m in earlier]}

    sent = request.form.get("client_id", "")
    key = sent if idempotency.KEY_PATTERN.match(sent) else None
    if key is None:
        return opened(engine().start_case(payload, actor()))
    body = {name: request.form.getlist(name) for name in sorted(request.form) if name not in ("csrf_token", "action")}
    answer = idempotent.run(key, REPORT_PAGE, body,
                            lambda record: engine().start_case(payload, actor(), record=record),
                            lambda result: (201, opened(result)), user_id=g.principal.user_id)
    return answer.body


def _check(child: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, dict[str, list[str]]]:
    """The earlier reports of this child the user may read (the others are never named or counted),
    or the identity's errors next to their fields."""
    try:
        return duplicates.check(reader(), child), {}
    except ValidationFailed as error:
        return None, report_errors(translate_errors(error.errors))


def _reported(case_id: str, reference: str, unit_name: str, earlier: list[dict[str, Any]]) -> ResponseReturnValue:
    """After a report: the child's file (naming the earlier reports of the child the user may read),
    or, for a reporter who does not follow the case (a SAS mobile team reports to the UPE or CAPE,
    which takes it on), a new form and where the case went. ``earlier``: the earlier reports'
    references and scores (:func:`_open_once`), no identity."""
    try:
        case = cases.visible(reader(), case_id)
    except NotFound:
        flash(_("Case %(reference)s opened and sent to %(unit)s, which receives the child and takes its steps.",
                reference=reference, unit=isolate(unit_name)), "success")
        if earlier:
            flash(_("This child may have been reported before (%(references)s): the CAPE coordinators will "
                    "review whether it is the same child.", references=", ".join(m["reference"] for m in earlier)),
                  "warning")
        return redirect(url_for("web.report"))
    flash(_("Case %(reference)s opened.", reference=case.reference), "success")
    if earlier:  # the session is a signed cookie the browser can read: references and scores, no identity
        session[EARLIER] = {"case_id": case.id, "matches": earlier}
    return redirect(url_for("web.case", case_id=case.id))


def _offer_without_controls(values: dict[str, Any], errors: dict[str, list[str]],
                            fields: tuple[str, ...] = REPORT_LINE_FIELDS) -> None:
    """A name pasted with invisible direction marks is refused; the form gives it back without
    them (the person sees the letters in the order they are stored) to check and send again."""
    for key in fields:
        typed = values.get(key)
        if key in errors and isinstance(typed, str) and without_controls(typed) != typed:
            values[key] = without_controls(typed)
            errors[key].append(_("The invisible characters have been taken out of the box: check the text "
                                 "and send the form again."))


@login_required
def case(case_id: str) -> ResponseReturnValue:
    context = reader()
    try:
        file = cases.case_file(context, str(case_id))
    except NotFound:
        target = subject_url(reports.subject_of(context, str(case_id)))  # a report's or a plan's: its page
        if target is None:
            raise
        return redirect(target)
    events_page = _page_number(request.args.get("events"))
    events_total, events = cases.event_page(context, file.case.id, "timeline", events_page, TIMELINE)[1:] \
        if policy.can_read_history(context.principal) else (0, [])
    linked = [{**c, "visible": _sees(context, c["case_id"])} for c in duplicates.linked_cases(context, file.case)] \
        if file.full else []
    status = judicial.judicial_status(context, file.case)
    engine().record_access(actor(), "case_viewed", [file.case.id])
    earlier = session.get(EARLIER)
    if earlier and earlier.get("case_id") == file.case.id:
        session.pop(EARLIER)
    else:
        earlier = None
    return render_template("case.html", case=file.case, pathway=file.pathway, open_tasks=file.open_tasks,
                           completed=file.completed_steps, events=events, markers=file.markers(), full=file.full,
                           events_page=events_page, events_pages=max(1, -(-events_total // TIMELINE)),
                           may_read_access_log=policy.can_read_access_log(context.principal, file.case),
                           step_titles=file.step_titles, element_names=file.element_names, judicial=status,
                           child=file.child_brief(context.now.date()), consent_notes=file.consent_notes,
                           unit_name={u.code: u.name for u in territory.units(context, file.case.province)
                                      }.get(file.case.unit, file.case.unit),
                           linked=linked, linked_references={c["case_id"]: c["reference"] for c in linked},
                           earlier=earlier["matches"] if earlier else [],
                           may_correct=policy.can_correct_identity(context.principal, file.case),
                           open_incidents=incidents.case_open_incidents(context, file.case.id),
                           # the "Notes" and "Contacts" cards, and the notes of the timeline
                           **notes.case_page_context(context, file.case, events),
                           # the "Referrals" card and its form
                           **referrals.case_page_context(context, file.case),
                           # the coordinators' card: risk level, transfer, closing early, reopening
                           **moving.case_page_context(context, file.case),
                           # the coordinators' export of the whole file for a subject-access request
                           **case_print.subject_access_context(context, file.case))


def _page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or "1"), 100_000))
    except ValueError:
        return 1


@login_required
def access_log(case_id: str) -> ResponseReturnValue:
    """Who read the child's file, when and from where (the province's coordinators): kept out of the
    timeline, which says what happened to the child."""
    context = reader()
    case = cases.visible(context, str(case_id))
    if not policy.can_read_access_log(context.principal, case):
        abort(403)
    page = _page_number(request.args.get("page"))
    _, total, events = cases.event_page(context, case.id, "access", page, TIMELINE)
    engine().record_access(actor(), "access_log_viewed", [case.id])
    return render_template("case_access.html", case=case, events=events, page=page,
                           pages=max(1, -(-total // TIMELINE)), total=total)


def _sees(context: ReadContext, case_id: str) -> bool:
    try:
        cases.visible(context, case_id)
    except NotFound:
        return False
    return True


def _changes(posted: dict[str, Any], recorded: dict[str, Any]) -> dict[str, Any]:
    """The identity fields the form changes (an unticked box is the recorded "not said")."""
    def same(key: str) -> bool:
        if key == "civil_status_registered":
            return bool(posted[key]) == bool(recorded.get(key))
        return posted[key] == recorded.get(key)
    return {key: value for key, value in posted.items() if not same(key)}


@login_required
def correct_child(case_id: str) -> ResponseReturnValue:
    """Correct the child's identity, with a reason (the case's team: its unit's case workers and the
    province's coordinators)."""
    context = reader()
    case = cases.visible(context, str(case_id))  # 404 when not visible
    if case.subject_kind != "child" or not policy.can_correct_identity(context.principal, case):
        abort(403)
    recorded = identity_of(case)
    values: dict[str, Any] = identity_values(recorded)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = {**request.form.to_dict(), "name_unknown": request.form.get("name_unknown") == "on",
                  "civil_status_registered": request.form.get("civil_status_registered") == "on"}
        reason = (request.form.get("reason") or "").strip()
        changes = _changes(child_payload(request.form), recorded)
        try:
            engine().correct_identity(case.id, {**changes, "reason": reason}, actor())
        except ValidationFailed as error:
            for key, messages in flat_errors(translate_errors(error.errors)).items():
                field = "_schema" if key == "_schema" else CHILD_ERROR_FIELDS.get(key, key)
                errors.setdefault(field, []).extend(messages)
            _offer_without_controls(values, errors, IDENTITY_LINE_FIELDS)
            status = 400
        except Conflict as conflict:
            errors = {"_schema": [translate_message(str(conflict))]}
            status = 409
        else:
            flash(_("The child's identity is corrected; the case's history keeps the reason."), "success")
            return redirect(url_for("web.case", case_id=case.id))
    return render_template("case_child.html", case=case, values=values, errors=errors), status


@login_required
def diagram(case_id: str) -> ResponseReturnValue:
    return Response(cases.diagram(reader(), str(case_id)), mimetype="application/xml")
