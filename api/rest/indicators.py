"""``/api/v1/indicators`` (JSON, CSV, XLSX), ``/api/v1/trainings`` and ``/api/v1/prevention-activities``."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import request
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from engine import prevention, trainings
from engine.indicators import Period

from .. import policy
from ..context import settings
from ..indicator_export import XLSX_TYPE, as_csv, as_xlsx
from ..readers import territory
from ..schemas import PageArgs
from .common import Blueprint, abort, engine, load_principal, page_of, principal, reader

blp = Blueprint("indicators", __name__, url_prefix="/api/v1",
                description="Indicators, trainings and prevention activities")
blp.before_request(load_principal)

EARLIEST = date(2000, 1, 1)
LONGEST = timedelta(days=366 * 20)


def _check_period(data: dict[str, Any]) -> None:
    start, end = data.get("from_"), data.get("to")
    if start and end and start > end:
        raise ValidationError("The period ends before it starts.", "to")
    for key in ("from_", "to"):
        if data.get(key) and not EARLIEST <= data[key] <= date.today() + timedelta(days=366):
            raise ValidationError("Choose a date between 2000 and next year.", key.rstrip("_"))
    if start and end and end - start > LONGEST:
        raise ValidationError("A period of at most 20 years.", "to")


class IndicatorArgs(Schema):
    province = fields.String(validate=validate.Length(min=1, max=64))
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    format = fields.String(validate=validate.OneOf(["json", "csv", "xlsx"]))

    @validates_schema
    def _period(self, data: dict[str, Any], **_: Any) -> None:
        _check_period(data)


class IndicatorResponse(Schema):
    period = fields.Dict()
    provinces = fields.List(fields.String(), allow_none=True)
    children_served = fields.Dict()
    cases_opened = fields.Integer(allow_none=True)
    cases_closed = fields.Integer(allow_none=True)
    steps = fields.Dict()
    trainings = fields.Dict()
    prevention = fields.Dict()
    statistical_reports = fields.Dict()
    suppressed_below = fields.Integer()


def _scope(province: str | None) -> list[str] | None:
    """The provinces the caller may count: their own, or any for the national level."""
    p = principal()
    if province is not None:
        territory.check_province(reader(), province)
    if not policy.can_read_indicators(p):
        abort(403, message=_("You are not allowed to do this."))
    if policy.reads_every_province(p):
        return [province] if province else None
    if province and province != p.province:
        abort(403, message=_("You may only see the indicators of your province."))
    return [p.province] if p.province else []


# The exports of the same figures (``format=csv|xlsx``, or ``Accept: text/csv``), beside the JSON.
EXPORTS = {"text/csv": {"schema": {"type": "string", "description": "indicator,breakdown,value rows"}},
           XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}


@blp.route("/indicators", methods=["GET"])
@blp.arguments(IndicatorArgs, location="query")
@blp.doc(responses={200: {"content": EXPORTS}})
@blp.response(200, IndicatorResponse)
@blp.alt_response(400, description="An inverted or absurd period")
@blp.alt_response(403, description="Another province, or a role without indicators")
@blp.alt_response(404, description="Unknown province")
def indicators(args: dict[str, Any]) -> Any:
    """Indicators for a period (default: the last 12 months). ``Accept: text/csv`` or ``format=csv|xlsx``."""
    provinces = _scope(args.get("province"))
    today = engine().now().date()
    period = Period(args.get("from_") or today - timedelta(days=365), args.get("to") or today)
    if period.start > period.end:
        abort(400, message=_("The request has invalid fields."),
              errors={"query": {"from": [_("The period ends before it starts.")]}})
    result = territory.indicators(reader(), period, provinces, max_age=settings().national_figures_max_age)
    wanted = args.get("format") or ("csv" if request.accept_mimetypes.best == "text/csv" else "json")
    if wanted == "csv":
        return as_csv(result)
    if wanted == "xlsx":
        return as_xlsx(result)
    return result


# --- trainings -----------------------------------------------------------------------

TrainingRequest = trainings.NewTraining


class TrainingSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    start_date = fields.Date()
    end_date = fields.Date()
    province = fields.String()
    units = fields.List(fields.String())
    participants = fields.List(fields.String())


class TrainingPage(Schema):
    items = fields.List(fields.Nested(TrainingSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class TrainingArgs(PageArgs):
    pass


@blp.route("/trainings", methods=["POST"])
@blp.arguments(TrainingRequest)
@blp.response(201, TrainingSchema)
@blp.alt_response(400, description="Invalid fields")
@blp.alt_response(403, description="Only the province's coordinators record trainings")
@blp.alt_response(404, description="Unknown province")
def record_training(body: dict[str, Any]) -> dict[str, Any]:
    """Record a training session for UPE staff (coordinators of the province)."""
    p = principal()
    territory.check_province(reader(), body["province"])
    if not policy.can_record_training(p, body["province"]):
        abort(403, message=_("Only the province's coordinators record trainings."))
    himaya = engine()
    return territory.present_training(trainings.record_training(himaya.db, request.get_json(), actor=p.username,
                                                                now=himaya.now()))


@blp.route("/trainings", methods=["GET"])
@blp.arguments(TrainingArgs, location="query")
@blp.response(200, TrainingPage)
def list_trainings(args: dict[str, Any]) -> dict[str, Any]:
    """Training sessions of the caller's province."""
    if not policy.can_read_trainings(principal()):
        abort(403, message=_("You are not allowed to do this."))
    total, items = territory.training_page(reader(), args["page"], args["per_page"])
    return page_of(total, args["page"], args["per_page"], items)


# --- prevention and awareness activities -------------------------------------------------

ActivityRequest = prevention.NewActivity


class ParticipantCounts(Schema):
    children = fields.Integer()
    parents = fields.Integer()
    professionals = fields.Integer()


class ActivitySchema(Schema):
    id = fields.Integer()
    held_on = fields.Date()
    province = fields.String()
    unit = fields.String()
    place_kind = fields.String()
    place_name = fields.String()
    theme = fields.String()
    audience = fields.String()
    participants = fields.Nested(ParticipantCounts)
    participants_total = fields.Integer()
    partners = fields.List(fields.String())
    recorded_at = fields.DateTime()
    recorded_by = fields.String()


class ActivityPage(Schema):
    items = fields.List(fields.Nested(ActivitySchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ActivityArgs(PageArgs):
    unit = fields.String(validate=validate.Length(min=1, max=100))


@blp.route("/prevention-activities", methods=["POST"])
@blp.arguments(ActivityRequest)
@blp.response(201, ActivitySchema)
@blp.alt_response(400, description="Invalid fields (a negative or absurd count, a date to come, another unit)")
@blp.alt_response(403, description="Only the staff of a UPE or the CAPE, and the province's coordinators")
def record_activity(body: dict[str, Any]) -> dict[str, Any]:
    """Record a prevention or awareness activity of a UPE or the CAPE of the caller's province."""
    p, context = principal(), reader()
    allowed = policy.prevention_units(p, territory.own_unit_kind(context))
    if allowed is False or not p.province:
        abort(403, message=_("Only the staff of a UPE or the CAPE record prevention activities."))
    himaya = engine()
    row = prevention.record_activity(himaya.db, request.get_json(), province=p.province, actor=p.username,
                                     now=himaya.now(), allowed_units=allowed if isinstance(allowed, set) else None)
    return territory.present_activity(row)


@blp.route("/prevention-activities", methods=["GET"])
@blp.arguments(ActivityArgs, location="query")
@blp.response(200, ActivityPage)
def list_activities(args: dict[str, Any]) -> dict[str, Any]:
    """Prevention activities: the caller's unit's (its staff), the province's (CAPE coordinators, CPPE)."""
    if not policy.can_read_prevention(principal()):
        abort(403, message=_("You are not allowed to do this."))
    total, items = territory.activity_page(reader(), args["page"], args["per_page"], args.get("unit"))
    return page_of(total, args["page"], args["per_page"], items)
