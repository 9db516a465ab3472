"""Delivery incidents: the messages nobody could receive, and the form that records how the
recipient (the prosecutor's office…) was informed instead."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import incidents
from engine.errors import Conflict, ValidationFailed

from .. import policy
from ..context import actor, client_address, engine, reader, settings
from ..i18n import translate_errors
from ..readers import incidents as incident_reader
from .forms import flat_errors, resolution_payload
from .session import login_required

SHOWN = 100  # incidents of each list on the page


def _audit(kind: str, items: list[dict[str, Any]]) -> None:
    if policy.sees_incident_details(g.principal):
        engine().record_access(actor(), kind, sorted({i["case_id"] for i in items if i.get("case_id")}))


@login_required
def incidents_page() -> ResponseReturnValue:
    if not policy.can_read_incidents(g.principal):
        abort(403)
    context = reader()
    shown = {status: incident_reader.incident_page(context, status, 1, SHOWN)
             for status in (incidents.OPEN, incidents.RESOLVED)}
    _audit("incidents_listed", [i for _total, items in shown.values() for i in items])
    return render_template("incidents.html", open_total=shown[incidents.OPEN][0], open=shown[incidents.OPEN][1],
                           resolved_total=shown[incidents.RESOLVED][0], resolved=shown[incidents.RESOLVED][1],
                           details=policy.sees_incident_details(g.principal))


@login_required
def incident_page(incident_id: int) -> ResponseReturnValue:
    p = g.principal
    if not policy.can_read_incidents(p):
        abort(403)
    context = reader()
    row = incident_reader.visible_incident(context, incident_id)  # 404 outside the reader's province
    may_resolve = policy.can_resolve_incident(p, row)
    himaya = engine()
    values: dict[str, Any] = {"informed_at": himaya.now().astimezone(settings().zone).strftime("%Y-%m-%dT%H:%M")}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        if not may_resolve:
            abort(403)
        values = request.form.to_dict()
        try:
            incidents.resolve(himaya.db, incident_id, resolution_payload(request.form, settings().timezone),
                              actor=p.username, source=client_address(), now=himaya.now())
        except ValidationFailed as error:
            errors = flat_errors(translate_errors(error.errors))
            status = 400
        except Conflict:
            flash(_("This incident is resolved already."), "error")
            status = 409
        else:
            flash(_("Recorded: the case's history says how the recipient was informed."), "success")
            return redirect(url_for("web.incidents_page"))
    view = incident_reader.incident(context, incident_id)
    if request.method == "GET":
        _audit("incident_viewed", [view])
    return render_template("incident.html", incident=view, may_resolve=may_resolve and view["status"] == incidents.OPEN,
                           values=values, errors=errors, details=policy.sees_incident_details(p),
                           choices=incidents.INFORMED_VIA), status
