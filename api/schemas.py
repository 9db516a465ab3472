"""Marshmallow schemas of the REST API (requests are strict: unknown fields are errors)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from engine.intake import CATEGORIES, RISK_LEVELS, CaseIntakeSchema  # noqa: F401  (re-exported)


def decimal_bounds_as_numbers(converter: Any, field: fields.Field, ret: dict[str, Any], **_: Any) -> dict[str, Any]:
    """An OpenAPI attribute function: the bounds of a Decimal field are Decimals, which JSON writes
    as strings (``"minimum": "0.00"``), but JSON Schema wants numbers there (a plan's ``budget_mad``)."""
    if not isinstance(field, fields.Decimal):
        return {}
    return {key: float(ret[key]) for key in ("minimum", "maximum") if isinstance(ret.get(key), (str, Decimal))}


class Strict(Schema):
    class Meta:
        unknown = RAISE


# --- requests ------------------------------------------------------------------------

class TokenRequest(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class CompleteRequest(Strict):
    data = fields.Dict(keys=fields.String(), required=True)


class AssignRequest(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))


class RiskChangeRequest(Strict):
    risk_level = fields.String(required=True, validate=validate.OneOf(RISK_LEVELS))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class CaseListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(["open", "closed"]))
    province = fields.String(validate=validate.Length(min=1, max=64))
    unit = fields.String(validate=validate.Length(min=1, max=100))
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    risk_level = fields.String(validate=validate.OneOf(RISK_LEVELS))


class TaskListArgs(PageArgs):
    scope = fields.String(load_default="all", validate=validate.OneOf(["mine", "available", "all"]))
    state = fields.String(validate=validate.OneOf(["ready", "claimed"]))
    overdue = fields.Boolean()
    case_id = fields.UUID()
    step = fields.String(validate=validate.Length(min=1, max=100))


class UnitListArgs(Schema):
    province = fields.String(validate=validate.Length(min=1, max=64))
    receives_children = fields.Boolean()


class SupervisionArgs(Schema):
    unit = fields.String(validate=validate.Length(min=1, max=100))
    step = fields.String(validate=validate.Length(min=1, max=100))
    risk_level = fields.String(validate=validate.OneOf(RISK_LEVELS))


class OverdueArgs(SupervisionArgs, PageArgs):
    pass


class StalledArgs(SupervisionArgs, PageArgs):
    days = fields.Integer(validate=validate.Range(min=1, max=3650))  # default: HIMAYA_STALLED_DAYS (14)


class ActivateArgs(Schema):
    activate = fields.Boolean(load_default=True)


# --- responses -----------------------------------------------------------------------

class TokenResponse(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True)


class UnitSchema(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String(metadata={"description": "upe | cape | sas_mobile"})
    province = fields.String()
    receives_children = fields.Boolean(metadata={"description": "a child is reported to it (UPE, CAPE)"})
    can_report = fields.Boolean(metadata={"description": "the caller may report a child to it"})


class UnitList(Schema):
    province = fields.String()
    items = fields.List(fields.Nested(UnitSchema))


class MeResponse(Schema):
    username = fields.String()
    role = fields.String()
    province = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    sector = fields.String(allow_none=True)
    language = fields.String()


class TaskSchema(Schema):
    id = fields.String(required=True)
    case_id = fields.String(required=True)
    case_reference = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "BPMN id of the step"})
    title = fields.String(required=True)
    role = fields.String(required=True)
    sector = fields.String(allow_none=True)
    province = fields.String(required=True)
    unit = fields.String(required=True)
    state = fields.String(required=True)
    assignee = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean(required=True)
    escalation_level = fields.Integer(required=True)
    form = fields.Dict(metadata={"description": "form-js schema, labels in the caller's language"})


class TaskPage(Schema):
    items = fields.List(fields.Nested(TaskSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class PathwayRef(Schema):
    key = fields.String(required=True)
    version = fields.Integer(required=True)


class CompletedStep(Schema):
    task_id = fields.String()
    name = fields.String()
    title = fields.String()
    completed_by = fields.String(allow_none=True)
    completed_at = fields.DateTime()
    data = fields.Dict()


class CaseSummary(Schema):
    id = fields.String(required=True)
    reference = fields.String(required=True)
    status = fields.String(required=True)
    risk_level = fields.String(required=True)
    province = fields.String(required=True)
    unit = fields.String(required=True)
    categories = fields.List(fields.String())
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    pathway = fields.Nested(PathwayRef)
    version = fields.Integer(metadata={"description": "case version: changes at every command"})


class JudicialNotification(Schema):
    at = fields.DateTime()
    recorded_at = fields.String(metadata={"description": "'report', or the title of the step that recorded the facts"})
    concerns = fields.List(fields.String(), metadata={"description": "what the office was told of (labels)"})
    status = fields.String(metadata={"description": "delivery status of the message"})
    incident = fields.Dict(allow_none=True, metadata={
        "description": "when nobody could receive it: {id, status, informed_via, informed_at}"})


class JudicialDecision(Schema):
    at = fields.DateTime()
    by = fields.String(allow_none=True)
    measure = fields.String(allow_none=True)
    decision_date = fields.String(allow_none=True)
    court_reference = fields.String(allow_none=True)


class JudicialSchema(Schema):
    notifications = fields.List(fields.Nested(JudicialNotification))
    decisions = fields.List(fields.Nested(JudicialDecision))
    pending = fields.Integer(metadata={"description": "decisions asked for and not recorded yet"})
    pending_due = fields.DateTime(allow_none=True)


class CaseSchema(CaseSummary):
    judicial = fields.Nested(JudicialSchema, allow_none=True, metadata={
        "description": "the judicial branch: null for partners other than justice"})
    child = fields.Dict()
    report = fields.Dict()
    emergency = fields.Dict()
    consent = fields.Dict()
    open_tasks = fields.List(fields.Nested(TaskSchema))
    completed_steps = fields.List(fields.Nested(CompletedStep))


class CasePage(Schema):
    items = fields.List(fields.Nested(CaseSummary), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class CommandResponse(Schema):
    id = fields.String(required=True)
    reference = fields.String(required=True)
    status = fields.String(required=True)
    risk_level = fields.String(required=True)
    version = fields.Integer(required=True)
    pathway = fields.Nested(PathwayRef)
    open_tasks = fields.List(fields.Nested(TaskSchema), required=True)


class EventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    kind = fields.String()
    step = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    detail = fields.Dict()


class HistoryResponse(Schema):
    case_id = fields.String()
    reference = fields.String()
    events = fields.List(fields.Nested(EventSchema))


class CountSchema(Schema):
    key = fields.String(allow_none=True)
    count = fields.Integer()


class SummaryResponse(Schema):
    open_cases = fields.Integer()
    by_step = fields.List(fields.Nested(CountSchema))
    by_risk_level = fields.List(fields.Nested(CountSchema))
    by_unit = fields.List(fields.Nested(CountSchema))


class StalledCase(CaseSummary):
    last_progress_at = fields.DateTime()
    days_without_progress = fields.Integer()
    idle_since = fields.DateTime(metadata={"description": "When the stall clock started: the last completed "
                                           "step, or the end of a wait on a scheduled visit"})
    days_idle = fields.Integer()
    visit_due_at = fields.DateTime(allow_none=True, metadata={
        "description": "Due date of the visit a fired timer opened (null once a step is completed)"})
    reason = fields.String(metadata={"description": "no_progress | visit_overdue"})


class StalledPage(Schema):
    items = fields.List(fields.Nested(StalledCase))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    days = fields.Integer()


class PathwayVersionSchema(Schema):
    key = fields.String()
    version = fields.Integer()
    name = fields.String()
    active = fields.Boolean()
    deployed_at = fields.DateTime()
    deployed_by = fields.String()
    content_hash = fields.String()
    properties = fields.Dict()
    forms = fields.List(fields.String())
    steps = fields.List(fields.String())
    open_cases = fields.Integer()


class PathwayListItem(Schema):
    key = fields.String()
    name = fields.String()
    active_version = fields.Integer(allow_none=True)
    versions = fields.List(fields.Nested(PathwayVersionSchema))


class DeployResponse(Schema):
    key = fields.String()
    version = fields.Integer()
    created = fields.Boolean()
    active = fields.Boolean()
    warnings = fields.List(fields.Dict())
