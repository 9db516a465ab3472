"""Case pages: report a child, a child's file, its pathway diagram."""
from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine.errors import NotFound, ValidationFailed
from engine.intake import without_controls
from engine.vocabulary import RECEIVING_UNIT_KINDS, SAS_MOBILE

from .. import policy
from ..context import actor, engine, reader, settings
from ..i18n import translate_errors
from ..readers import cases, incidents, judicial, reports, territory
from .chrome import isolate
from .forms import REPORT_ERROR_FIELDS, REPORT_LINE_FIELDS, flat_errors, report_payload
from .session import login_required
from .tasks import subject_url

TIMELINE = 200  # newest events shown on the case page


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
                              "received_at": engine().now().astimezone(settings().zone).strftime("%Y-%m-%dT%H:%M")}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {**request.form.to_dict(), "categories": request.form.getlist("categories")}
        payload = report_payload(request.form, p.province or "", settings().timezone)
        if not payload["unit"]:
            errors = {"unit": [_("Choose the unit that receives the child.")]}
        elif not policy.can_report(p, payload["province"], payload["unit"], own_unit_kind=own_kind):
            errors = {"unit": [_("You may only report children in your own territory.")]}
        else:
            try:
                result = engine().start_case(payload, actor())
            except ValidationFailed as error:
                for key, messages in flat_errors(translate_errors(error.errors)).items():
                    errors.setdefault(REPORT_ERROR_FIELDS.get(key, key.split(".")[-1]), []).extend(messages)
            else:
                names = {u.code: u.name for u in units}
                return _reported(result.case_id, result.case_reference, names.get(payload["unit"], payload["unit"]))
        _offer_without_controls(values, errors)
    return render_template("report.html", values=values, errors=errors, units=units, outreach=outreach,
                           unit_kinds=[k for k in RECEIVING_UNIT_KINDS if any(u.kind == k for u in units)]), \
        400 if errors else 200


def _reported(case_id: str, reference: str, unit_name: str) -> ResponseReturnValue:
    """After a report: the child's file, or, for a reporter who does not follow the case (a SAS
    mobile team reports to the UPE or CAPE, which takes it on), a new form and where the case went."""
    try:
        case = cases.visible(reader(), case_id)
    except NotFound:
        flash(_("Case %(reference)s opened and sent to %(unit)s, which receives the child and takes its steps.",
                reference=reference, unit=isolate(unit_name)), "success")
        return redirect(url_for("web.report"))
    flash(_("Case %(reference)s opened.", reference=case.reference), "success")
    return redirect(url_for("web.case", case_id=case.id))


def _offer_without_controls(values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """A name pasted with invisible direction marks is refused; the form gives it back without
    them (the person sees the letters in the order they are stored) to check and send again."""
    for key in REPORT_LINE_FIELDS:
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
    events = cases.history(context, file.case.id, newest_first=True, limit=TIMELINE)[1] \
        if policy.can_read_history(context.principal) else []
    status = judicial.judicial_status(context, file.case)
    engine().record_access(actor(), "case_viewed", [file.case.id])
    return render_template("case.html", case=file.case, pathway=file.pathway, open_tasks=file.open_tasks,
                           completed=file.completed_steps, events=events, markers=file.markers(), full=file.full,
                           step_titles=file.step_titles, judicial=status,
                           open_incidents=incidents.case_open_incidents(context, file.case.id))


@login_required
def diagram(case_id: str) -> ResponseReturnValue:
    return Response(cases.diagram(reader(), str(case_id)), mimetype="application/xml")
