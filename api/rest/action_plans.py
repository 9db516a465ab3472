"""``/api/v1/action-plans``: the CPPE provincial action plans.

A plan is opened by the province's CAPE coordinators (the technical committee), who edit the
content of its draft version here; submitting, validating, returning and reviewing are the
steps of its pathway, done through ``/api/v1/tasks`` like any other step.
"""
from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from engine import action_plans, plan_progress
from engine.errors import ValidationFailed

from .. import plan_export, policy
from ..context import settings
from ..readers import plans
from ..readers.territory import check_province
from ..schemas import PageArgs, ProgressEntry, ProgressUpdate
from .common import Blueprint, abort, actor, engine, load_principal, page_of, principal, reader

blp = Blueprint("action_plans", __name__, url_prefix="/api/v1/action-plans",
                description="Provincial child-protection action plans (CPPE)")
blp.before_request(load_principal)


class PlanContent(action_plans.ContentSchema):
    """The guide's structure (documentation of the bodies: ``engine.action_plans`` validates them,
    with field errors by path)."""


# The body of ``POST /api/v1/action-plans`` as documented: NewPlanSchema, with the content's structure.
PlanRequest = Schema.from_dict({**action_plans.NewPlanSchema._declared_fields,
                                "content": fields.Nested(PlanContent, load_default=None)}, name="PlanRequest")


def _json_body(schema: type[Schema]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


class PlanListArgs(PageArgs):
    province = fields.String(validate=validate.Length(min=1, max=64))


class VersionArgs(Schema):
    version = fields.Integer(validate=validate.Range(min=1, max=10_000))


class ExportArgs(VersionArgs):
    format = fields.String(required=True, validate=validate.OneOf(["xlsx", "pdf"]))


class VersionSummary(Schema):
    number = fields.Integer()
    status = fields.String()
    version_date = fields.Date()
    validated_at = fields.DateTime(allow_none=True)
    validated_by = fields.String(allow_none=True)


class PlanSchema(Schema):
    id = fields.Integer()
    case_id = fields.String()
    reference = fields.String()
    province = fields.String()
    title = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    status = fields.String()
    version = fields.Nested(VersionSummary)
    content = fields.Dict()
    comments = fields.List(fields.Dict())
    versions = fields.List(fields.Nested(VersionSummary))
    open_tasks = fields.List(fields.Dict())
    followed = fields.Boolean(metadata={"description": "the version is validated: its actions are followed up"})
    progress = fields.Dict(metadata={"description": "action path (p.g.s.a) → its follow-up with its history"})
    late = fields.List(fields.String(), metadata={"description": "paths of the late actions"})
    progress_summary = fields.Dict(metadata={"description": "progress per priority and for the plan"})
    action_titles = fields.Dict(metadata={"description": "action path → its title"})


class PlanPage(Schema):
    items = fields.List(fields.Nested(PlanSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


@blp.route("", methods=["POST"])
@blp.doc(requestBody=_json_body(PlanRequest))
@blp.response(201, PlanSchema)
@blp.alt_response(400, description="Invalid fields (e.g. an action without pilot, a negative budget)")
@blp.alt_response(403, description="Only the province's coordinators open its plan")
@blp.alt_response(404, description="Unknown province")
@blp.alt_response(409, description="The province already has a plan starting on that date")
def create_plan(*args: Any) -> dict[str, Any]:
    """Open a plan: ``{province, title, period_start, period_end, content?}``; version 1 is a draft."""
    payload = request.get_json(silent=True)
    if isinstance(payload, dict) and isinstance(payload.get("province"), str):
        check_province(reader(), payload["province"])
        if not policy.can_draft_plan(principal(), payload["province"]):
            abort(403, message=_("Only the province's coordinators draft its action plan."))
    elif not policy.can_draft_plan(principal(), principal().province or ""):
        abort(403, message=_("Only the province's coordinators draft its action plan."))
    case_id = action_plans.create_plan(engine(), payload, actor())
    context = reader()
    return plans.load_plan(context, plans.plan_of_case(context, case_id))


@blp.route("", methods=["GET"])
@blp.arguments(PlanListArgs, location="query")
@blp.response(200, PlanPage)
def list_plans(args: dict[str, Any]) -> dict[str, Any]:
    """The plans the caller may see (its province's; every province for the national level)."""
    total, items = plans.plan_page(reader(), args.get("province"), args["page"], args["per_page"])
    return page_of(total, args["page"], args["per_page"], items)


@blp.route("/<int(max=2147483647):plan_id>", methods=["GET"])
@blp.arguments(VersionArgs, location="query")
@blp.response(200, PlanSchema)
@blp.alt_response(404, description="No such plan (or version), or not visible to the caller")
def get_plan(args: dict[str, Any], plan_id: int) -> dict[str, Any]:
    """A plan with one version's content (``version``: the latest by default) and its history."""
    return plans.load_plan(reader(), plan_id, args.get("version"))


@blp.route("/<int(max=2147483647):plan_id>/content", methods=["PUT"])
@blp.doc(requestBody=_json_body(PlanContent))
@blp.response(200, PlanSchema)
@blp.alt_response(400, description="Field errors, by path (priorities.0.general_objectives.0…)")
@blp.alt_response(403, description="Only the province's coordinators edit the plan")
@blp.alt_response(409, description="The version is submitted or validated: no longer editable")
def put_content(plan_id: int) -> dict[str, Any]:
    """Replace the content of the version being drafted (draft or returned)."""
    plan = plans.load_plan(reader(), plan_id)
    if not policy.can_draft_plan(principal(), plan["province"]):
        abort(403, message=_("Only the province's coordinators draft its action plan."))
    payload = request.get_json(silent=True)
    if payload is None:
        raise ValidationFailed("The plan has invalid fields.", {"_schema": ["Expected a JSON object."]})
    action_plans.save_content(engine(), plan_id, payload, actor())
    return plans.load_plan(reader(), plan_id)


@blp.route("/<int(max=2147483647):plan_id>/export", methods=["GET"])
@blp.arguments(ExportArgs, location="query")
@blp.doc(responses={200: {"content": {plan_export.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
                                      "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
@blp.response(200, description="The plan as XLSX or PDF")
@blp.alt_response(404, description="No such plan (or version)")
def export_plan(args: dict[str, Any], plan_id: int) -> Response:
    """The plan in the guide's canvas: ``format=xlsx`` or ``format=pdf``."""
    plan = plans.load_plan(reader(), plan_id, args.get("version"))
    name = f"plan-{plan['province']}-{plan['period_start']}-v{plan['version']['number']}.{args['format']}"
    if args["format"] == "xlsx":
        body, mimetype = plan_export.xlsx(plan), plan_export.XLSX_TYPE
    else:
        body, mimetype = plan_export.pdf(plan, settings().pdf_font), "application/pdf"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


ACTION = "/<int(max=2147483647):plan_id>/actions/<string(maxlength=32):path>/progress"


class ActionProgress(Schema):
    action_path = fields.String()
    title = fields.String()
    pilot = fields.String()
    deadline = fields.String(allow_none=True)
    late = fields.Boolean()
    current = fields.Nested(ProgressEntry, allow_none=True)
    history = fields.List(fields.Nested(ProgressEntry))


def _action_progress(plan_id: int, path: str) -> dict[str, Any]:
    plan, action, _follows = plans.action_follow_up(reader(), plan_id, path)
    current = plan["progress"].get(path)
    return {"action_path": path, "title": action.content.get("title", ""), "pilot": action.content.get("pilot", ""),
            "deadline": None if action.content.get("ongoing") else action.content.get("deadline"),
            "late": path in plan["late"], "current": current, "history": (current or {}).get("history", [])}


@blp.route(ACTION, methods=["GET"])
@blp.response(200, ActionProgress)
@blp.alt_response(404, description="No such plan or action, or not visible to the caller")
def get_progress(plan_id: int, path: str) -> dict[str, Any]:
    """An action's follow-up (of the plan's latest version) and its history, oldest first (those who
    see the plan, and the action's pilot)."""
    return _action_progress(plan_id, path)


@blp.route(ACTION, methods=["PUT"])
@blp.doc(requestBody=_json_body(ProgressUpdate))
@blp.response(200, ActionProgress)
@blp.alt_response(400, description="Field errors: a percentage outside 0–100, done without an end date, dates to "
                                   "come, a plan not validated or of another province, no such action")
@blp.alt_response(403, description="Only the action's pilot or the CAPE technical committee")
def put_progress(plan_id: int, path: str) -> dict[str, Any]:
    """Record where an action of the validated plan stands (its pilot, or the province's coordinators)."""
    p = principal()
    plan_progress.update_progress(engine().db, plan_id, path, request.get_json(silent=True),
                                  plan_progress.Updater(p.username, p.role, p.province), now=engine().now())
    return _action_progress(plan_id, path)
