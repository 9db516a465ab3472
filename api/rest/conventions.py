"""``/api/v1/conventions``: the units' partnership conventions and their milestones' follow-up.

The CAPE technical committee (the province's coordinators) records a convention with its
milestones and adds milestones to it; a milestone's follow-up is recorded by the unit's staff or
the committee (:mod:`engine.conventions`, which checks every field before its write transaction).
"""
from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from engine import conventions as engine_conventions

from .. import convention_export, policy
from ..readers import conventions
from ..schemas import PageArgs, ProgressEntry, ProgressUpdate
from .common import Blueprint, abort, engine, load_principal, page_of, principal, reader

blp = Blueprint("conventions", __name__, url_prefix="/api/v1/conventions",
                description="Units' partnership conventions and their milestones")
blp.before_request(load_principal)

ID = "int(max=2147483647)"
MILESTONE = f"/<{ID}:convention_id>/milestones/<{ID}:milestone_id>"


def _json_body(schema: type[Schema]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


class ConventionArgs(PageArgs):
    unit = fields.String(validate=validate.Length(min=1, max=100))


class ExportArgs(Schema):
    format = fields.String(required=True, validate=validate.OneOf(["xlsx", "pdf"]))
    unit = fields.String(validate=validate.Length(min=1, max=100))


class MilestoneSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    title = fields.String()
    due_on = fields.Date()
    state = fields.String(metadata={"description": "not_started | in_progress | done | dropped"})
    percent_done = fields.Integer()
    started_on = fields.Date(allow_none=True)
    ended_on = fields.Date(allow_none=True)
    note = fields.String()
    revision = fields.Integer(metadata={"description": "0 until its first follow-up"})
    late = fields.Boolean(metadata={"description": "due date passed, neither done nor dropped"})
    updated_at = fields.DateTime(allow_none=True)
    updated_by = fields.String(allow_none=True)
    history = fields.List(fields.Nested(ProgressEntry),
                          metadata={"description": "oldest first; not in the list of conventions"})


class ConventionSummary(Schema):
    milestones = fields.Integer()
    late = fields.Integer()
    not_started = fields.Integer()
    in_progress = fields.Integer()
    done = fields.Integer()
    dropped = fields.Integer()
    percent_done = fields.Integer(allow_none=True, metadata={"description": "mean of the milestones not dropped"})


class ConventionSchema(Schema):
    id = fields.Integer()
    province = fields.String()
    unit = fields.String()
    unit_name = fields.String()
    reference = fields.String()
    title = fields.String()
    partners = fields.List(fields.String())
    signed_on = fields.Date()
    starts_on = fields.Date()
    ends_on = fields.Date()
    period_state = fields.String(metadata={"description": "to_come | running | ended"})
    recorded_at = fields.DateTime()
    recorded_by = fields.String()
    revision = fields.Integer(metadata={"description": "send it back with a correction"})
    updated_at = fields.DateTime()
    updated_by = fields.String()
    summary = fields.Nested(ConventionSummary)
    milestones = fields.List(fields.Nested(MilestoneSchema))
    follows_as = fields.String(allow_none=True, metadata={"description": "committee | unit | null: may the caller "
                                                                          "record the milestones' follow-up"})
    may_add_milestones = fields.Boolean()


class ConventionPage(Schema):
    items = fields.List(fields.Nested(ConventionSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class NewMilestoneRequest(Schema):
    title = fields.String(required=True)
    due_on = fields.Date(required=True, metadata={"description": "within the convention's period"})


class ConventionRequest(Schema):
    unit = fields.String(required=True, metadata={"description": "a UPE or SAS mobile unit of the caller's province"})
    reference = fields.String(required=True, metadata={"description": "as on the signed convention; unique"})
    title = fields.String(required=True)
    partners = fields.List(fields.String(), required=True, metadata={"description": "1 to 30"})
    signed_on = fields.Date(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True, metadata={"description": "after the start, at most ten years"})
    milestones = fields.List(fields.Nested(NewMilestoneRequest), metadata={"description": "at most 60"})


class CorrectionRequest(Schema):
    reference = fields.String(required=True)
    title = fields.String(required=True)
    partners = fields.List(fields.String(), required=True)
    signed_on = fields.Date(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True, metadata={"description": "every milestone stays within the period"})
    revision = fields.Integer(required=True, metadata={"description": "the revision read (409 if it changed)"})


def _readable() -> None:
    if not policy.can_read_conventions(principal()):
        abort(403, message=_("You are not allowed to do this."))


def _committee() -> None:
    if not policy.can_record_convention(principal()):
        abort(403, message=_("Only the CAPE technical committee records conventions and their milestones."))


@blp.route("", methods=["GET"])
@blp.arguments(ConventionArgs, location="query")
@blp.response(200, ConventionPage)
def list_conventions(args: dict[str, Any]) -> dict[str, Any]:
    """The conventions the caller sees (the province's, or the caller's unit's), latest start first."""
    _readable()
    total, items = conventions.convention_page(reader(), args.get("unit"), args["page"], args["per_page"])
    return page_of(total, args["page"], args["per_page"], items)


@blp.route("", methods=["POST"])
@blp.doc(requestBody=_json_body(ConventionRequest))
@blp.response(201, ConventionSchema)
@blp.alt_response(400, description="Field errors: a period ending before it starts or over ten years, a milestone "
                                   "due outside the period, a reference already recorded, another province's unit")
@blp.alt_response(403, description="Only the CAPE technical committee (the province's coordinators)")
def record_convention() -> dict[str, Any]:
    """Record a unit's convention with its milestones."""
    _committee()
    p, himaya = principal(), engine()
    convention_id = engine_conventions.record_convention(himaya.db, request.get_json(silent=True),
                                                         province=str(p.province), actor=p.username, now=himaya.now())
    return conventions.load_convention(reader(), convention_id)


@blp.route("/export", methods=["GET"])
@blp.arguments(ExportArgs, location="query")
@blp.response(200, description="The follow-up table (XLSX or PDF), in the caller's language")
@blp.alt_response(503, description="No Unicode font for PDF on this server")
def export_conventions(args: dict[str, Any]) -> Response:
    """The conventions the caller sees, one row per milestone with where it stands, and the history."""
    _readable()
    body, mimetype, name = convention_export.export(reader(), args.get("unit"), args["format"])
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blp.route(f"/<{ID}:convention_id>", methods=["GET"])
@blp.response(200, ConventionSchema)
@blp.alt_response(404, description="No such convention, or not visible to the caller")
def get_convention(convention_id: int) -> dict[str, Any]:
    """A convention with its milestones and each milestone's follow-up history."""
    _readable()
    return conventions.load_convention(reader(), convention_id)


@blp.route(f"/<{ID}:convention_id>", methods=["PUT"])
@blp.doc(requestBody=_json_body(CorrectionRequest))
@blp.response(200, ConventionSchema)
@blp.alt_response(400, description="Field errors: as when recording it, or a milestone left outside the period")
@blp.alt_response(403, description="Only the CAPE technical committee")
@blp.alt_response(409, description="Corrected meanwhile by someone else")
def correct_convention(convention_id: int) -> dict[str, Any]:
    """Correct a convention's reference, title, partners, signature date or period (its unit and
    milestones stay)."""
    _committee()
    conventions.load_convention(reader(), convention_id)  # 404 out of scope
    p, himaya = principal(), engine()
    engine_conventions.correct_convention(himaya.db, convention_id, request.get_json(silent=True),
                                          province=p.province, actor=p.username, now=himaya.now())
    return conventions.load_convention(reader(), convention_id)


@blp.route(f"/<{ID}:convention_id>/milestones", methods=["POST"])
@blp.doc(requestBody=_json_body(NewMilestoneRequest))
@blp.response(201, ConventionSchema)
@blp.alt_response(400, description="Field errors: no title, due outside the period, 60 milestones already")
@blp.alt_response(403, description="Only the CAPE technical committee")
def add_milestone(convention_id: int) -> dict[str, Any]:
    """Add a milestone to a convention (an amendment); the convention as it now is."""
    _committee()
    conventions.load_convention(reader(), convention_id)  # 404 out of scope
    p, himaya = principal(), engine()
    engine_conventions.add_milestone(himaya.db, convention_id, request.get_json(silent=True), province=p.province,
                                     actor=p.username, now=himaya.now())
    return conventions.load_convention(reader(), convention_id)


@blp.route(f"{MILESTONE}/progress", methods=["PUT"])
@blp.doc(requestBody=_json_body(ProgressUpdate))
@blp.response(200, MilestoneSchema)
@blp.alt_response(400, description="Field errors: a percentage outside 0–100, done without an end date, dates to "
                                   "come, another province's convention, no such milestone")
@blp.alt_response(403, description="Only the unit's staff or the CAPE technical committee")
def put_progress(convention_id: int, milestone_id: int) -> dict[str, Any]:
    """Record where a milestone stands; the milestone with its history."""
    if not policy.may_follow_conventions(principal()):
        abort(403, message=_("Only the unit's staff or the CAPE technical committee follow up its convention."))
    p, himaya = principal(), engine()
    follower = engine_conventions.Follower(p.username, p.role, p.province, p.unit)
    engine_conventions.update_milestone(himaya.db, convention_id, milestone_id, request.get_json(silent=True),
                                        follower, now=himaya.now())
    return conventions.milestone_of(conventions.load_convention(reader(), convention_id), milestone_id)
