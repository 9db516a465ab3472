"""``/api/v1/incidents``: messages nobody could receive (coordinators, supervisors, administrators)."""
from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from engine import incidents

from .. import policy
from ..readers import incidents as incident_reader
from ..schemas import PageArgs
from .common import (
    Blueprint,
    abort,
    actor,
    client_address,
    engine,
    load_principal,
    page_of,
    principal,
    reader,
    requires,
)

blp = Blueprint("incidents", __name__, url_prefix="/api/v1", description="Delivery incidents")
blp.before_request(load_principal)

ID = "<int(max=9223372036854775807):incident_id>"


class IncidentArgs(PageArgs):
    status = fields.String(load_default=incidents.OPEN, validate=validate.OneOf([*incidents.STATUSES, "all"]))


class IncidentSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    case_id = fields.String(allow_none=True)
    case_reference = fields.String(allow_none=True)
    province = fields.String(allow_none=True)
    province_name = fields.String()
    topic = fields.String()
    channel = fields.String()
    missing = fields.String()
    recipient = fields.Dict()
    description = fields.String()
    raised_at = fields.DateTime()
    outbox_id = fields.Integer()
    resolved_by = fields.String(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    informed_via = fields.String(allow_none=True)
    informed_at = fields.DateTime(allow_none=True)
    note = fields.String(allow_none=True)
    acknowledgment_reference = fields.String(allow_none=True)


class IncidentPage(Schema):
    items = fields.List(fields.Nested(IncidentSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


def _audit(kind: str, items: list[dict[str, Any]]) -> None:
    """Who read which child's incidents (coordinators and supervisors read the file's link)."""
    if policy.sees_incident_details(principal()):
        engine().record_access(actor(), kind, sorted({i["case_id"] for i in items if i.get("case_id")}))


@blp.route("/incidents", methods=["GET"])
@blp.arguments(IncidentArgs, location="query")
@blp.response(200, IncidentPage)
@blp.alt_response(403, description="Partners, case workers and the national level see no incident")
@requires(policy.can_read_incidents)
def list_incidents(args: dict[str, Any]) -> dict[str, Any]:
    """Messages nobody could receive (open ones by default): the province's for coordinators and
    supervisors, all of them for administrators (without the file's content)."""
    status = None if args["status"] == "all" else args["status"]
    total, items = incident_reader.incident_page(reader(), status, args["page"], args["per_page"])
    _audit("incidents_listed", items)
    return page_of(total, args["page"], args["per_page"], items)


@blp.route(f"/incidents/{ID}", methods=["GET"])
@blp.response(200, IncidentSchema)
@blp.alt_response(403, description="Partners, case workers and the national level see no incident")
@blp.alt_response(404, description="No such incident, or another province's")
@requires(policy.can_read_incidents)
def get_incident(incident_id: int) -> dict[str, Any]:
    """One incident."""
    found = incident_reader.incident(reader(), incident_id)
    _audit("incident_viewed", [found])
    return found


@blp.route(f"/incidents/{ID}/resolve", methods=["POST"])
@blp.arguments(incidents.ResolveIncident)
@blp.response(200, IncidentSchema)
@blp.alt_response(400, description="Invalid fields")
@blp.alt_response(403, description="Only the province's coordinators resolve incidents")
@blp.alt_response(404, description="No such incident, or another province's")
@blp.alt_response(409, description="Resolved already")
@requires(policy.can_read_incidents)
def resolve_incident(body: dict[str, Any], incident_id: int) -> dict[str, Any]:
    """Record how the recipient was informed instead (phone, fax, letter, in person, other), when,
    a note and the acknowledgment's reference: the incident is resolved and the case's history says so."""
    context = reader()
    row = incident_reader.visible_incident(context, incident_id)
    if not policy.can_resolve_incident(context.principal, row):
        abort(403, message=_("Only the province's coordinators resolve incidents."))
    himaya = engine()
    incidents.resolve(himaya.db, incident_id, request.get_json(), actor=context.principal.username,
                      source=client_address(), now=himaya.now())
    return incident_reader.incident(context, incident_id)
