"""Marshmallow schemas of the REST API (requests are strict: unknown fields are errors)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from engine.intake import CATEGORIES, RISK_LEVELS  # noqa: F401  (re-exported)
from engine.intake import CaseIntakeSchema as _IntakeSchema


def decimal_bounds_as_numbers(converter: Any, field: fields.Field, ret: dict[str, Any], **_: Any) -> dict[str, Any]:
    """An OpenAPI attribute function: the bounds of a Decimal field are Decimals, which JSON writes
    as strings (``"minimum": "0.00"``), but JSON Schema wants numbers there (a plan's ``budget_mad``)."""
    if not isinstance(field, fields.Decimal):
        return {}
    return {key: float(ret[key]) for key in ("minimum", "maximum") if isinstance(ret.get(key), (str, Decimal))}




class CaseIntakeSchema(_IntakeSchema):
    """The body of ``POST /api/v1/cases``: the engine's intake, its categories checked against
    their reference data (``GET /api/v1/categories``) as the engine does, so every field's error
    comes in one answer."""

    @property
    def known_categories(self) -> tuple[str, ...]:  # type: ignore[override]
        from .context import engine
        from .readers.categories import category_rules

        return category_rules(engine()).codes

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


class ReleaseRequest(Strict):
    reason = fields.String(load_default=None, validate=validate.Length(min=1, max=500))


class ReleaseAllRequest(Strict):
    """Whose tasks go back to their lanes: one person's, or everyone's in one unit."""

    username = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    unit = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    reason = fields.String(load_default=None, validate=validate.Length(min=1, max=500))


class ReleaseAllResult(Schema):
    count = fields.Integer(required=True)
    released = fields.List(fields.Dict(), required=True)


class RiskChangeRequest(Strict):
    risk_level = fields.String(required=True, validate=validate.OneOf(RISK_LEVELS))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class CaseListArgs(PageArgs):
    q = fields.String(validate=validate.Length(max=200, error="Keep the search to 200 characters at most."),
                      metadata={"description": "reference, name or alias (either script, spelling variants), "
                                               "birth date YYYY-MM-DD or year of birth"})
    step = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "has an open task at"})
    assigned = fields.String(validate=validate.OneOf(["me"]), metadata={"description": "me: a task of mine is open"})
    overdue = fields.Boolean(metadata={"description": "true: an open task is overdue"})
    sort = fields.String(validate=validate.OneOf(["newest", "oldest", "reference", "risk", "updated"]))
    status = fields.String(validate=validate.OneOf(["open", "closed"]))
    province = fields.String(validate=validate.Length(min=1, max=64))
    unit = fields.String(validate=validate.Length(min=1, max=100))
    category = fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,63}$"),
                             metadata={"description": "a category code (GET /api/v1/categories)"})
    risk_level = fields.String(validate=validate.OneOf(RISK_LEVELS))


class TaskListArgs(PageArgs):
    scope = fields.String(load_default="all", validate=validate.OneOf(["mine", "available", "all"]))
    state = fields.String(validate=validate.OneOf(["ready", "claimed"]))
    overdue = fields.Boolean()
    case_id = fields.UUID()
    step = fields.String(validate=validate.Length(min=1, max=100))
    unit = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "the task's unit"})
    sort = fields.String(load_default="due", validate=validate.OneOf(["due", "risk", "oldest", "step"]),
                         metadata={"description": "due: due date first (default); risk: high first; "
                                                  "oldest: opened first; step: by step"})


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
    child_name = fields.String(metadata={"description": "task lists: the child's name, or alias"})
    child_age = fields.Integer(allow_none=True, metadata={"description": "task lists: the child's age today"})
    child_masked = fields.Boolean(metadata={"description": "task lists: true when the reader is not told the "
                                                           "child's name (child_name is then empty)"})
    risk_level = fields.String(metadata={"description": "task lists: the case's risk level"})
    due_in_days = fields.Integer(allow_none=True, metadata={
        "description": "task lists: calendar days until the due date in the installation's time zone "
                       "(negative: late by that many days; null: no due date)"})
    form = fields.Dict(metadata={"description": "form-js schema, labels in the caller's language"})


class TaskPage(Schema):
    items = fields.List(fields.Nested(TaskSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class PathwayRef(Schema):
    key = fields.String(required=True)
    version = fields.Integer(required=True)


class Answer(Schema):
    key = fields.String()
    label = fields.String(metadata={"description": "the form's label, in the caller's language"})
    value = fields.Raw(allow_none=True, metadata={"description": "as recorded"})
    display = fields.String(metadata={"description": "as a person reads it: a choice by its label, yes/no…"})


class CompletedStep(Schema):
    task_id = fields.String()
    name = fields.String()
    title = fields.String()
    role = fields.String()
    sector = fields.String(allow_none=True)
    completed_by = fields.String(allow_none=True)
    completed_at = fields.DateTime()
    readable = fields.Boolean(metadata={"description": "false: the caller may not read what it recorded"})
    data = fields.Dict()
    answers = fields.List(fields.Nested(Answer))


class ChildBrief(Schema):
    display_name = fields.String(metadata={"description": "first and family name, or the alias when not known"})
    identity_known = fields.Boolean()
    alias = fields.String(allow_none=True)
    sex = fields.String(allow_none=True, metadata={"description": "F | M | U (not known)"})
    age = fields.Integer(allow_none=True, metadata={"description": "today (estimated when age_estimated)"})
    age_estimated = fields.Boolean()
    identity_masked = fields.Boolean(metadata={"description": "true: the reader is not told who the child is "
                                                              "(display_name and alias empty)"})


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
    closed_reason = fields.String(allow_none=True, metadata={"description": "duplicate | … (null: the pathway ended)"})
    anonymised_at = fields.DateTime(allow_none=True, metadata={
        "description": "when the file was anonymised, its retention period over (null: it was not)"})
    duplicate_of = fields.String(allow_none=True, metadata={"description": "the case this report continues in"})
    duplicate_of_reference = fields.String(metadata={"description": "lists: that case's reference"})
    duplicate_of_visible = fields.Boolean(metadata={"description": "lists: whether the caller may open it"})
    child = fields.Nested(ChildBrief)
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


class LinkedCase(Schema):
    case_id = fields.String()
    reference = fields.String()
    province = fields.String()
    status = fields.String()
    relation = fields.String(metadata={"description": "continues_in (this report was linked into it) | duplicate"})
    opened_at = fields.DateTime()


class CaseSchema(CaseSummary):
    linked_cases = fields.List(fields.Nested(LinkedCase), metadata={
        "description": "reports of the same child, linked by a coordinator's review"})
    judicial = fields.Nested(JudicialSchema, allow_none=True, metadata={
        "description": "the judicial branch: null for partners other than justice"})
    child = fields.Dict()  # type: ignore[assignment]  # the whole identity here, the brief in lists
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


class DuplicateMatch(Schema):
    case_id = fields.String()
    reference = fields.String()
    status = fields.String()
    opened_at = fields.DateTime()
    child = fields.Nested(ChildBrief, metadata={"description": "the earlier report's child (display name, age…)"})
    score = fields.Float(metadata={"description": "0..1"})
    reasons = fields.List(fields.String(), metadata={"description": "same_first_name, similar_family_name, "
                                                                     "same_birth_date, same_birth_year, close_age, "
                                                                     "same_sex…"})


class DuplicateCheckRequest(Strict):
    child = fields.Dict(required=True, metadata={"description": "as in the report (POST /api/v1/cases)"})
    province = fields.String(validate=validate.Length(min=1, max=64))


class DuplicateList(Schema):
    items = fields.List(fields.Nested(DuplicateMatch), required=True)


class CommandResponse(Schema):
    id = fields.String(required=True)
    reference = fields.String(required=True)
    status = fields.String(required=True)
    risk_level = fields.String(required=True)
    version = fields.Integer(required=True)
    pathway = fields.Nested(PathwayRef)
    open_tasks = fields.List(fields.Nested(TaskSchema), required=True)
    possible_duplicates = fields.List(fields.Nested(DuplicateMatch), metadata={
        "description": "a report: earlier reports of the same child the caller may read"})


class IdentityCorrectionRequest(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    identity_known = fields.Raw()
    alias = fields.Raw()
    first_name = fields.Raw()
    last_name = fields.Raw()
    names_other_script = fields.Raw()
    sex = fields.Raw()
    birth_date = fields.Raw()
    age_estimate = fields.Raw()
    civil_status_registered = fields.Raw()
    nationality = fields.Raw()


class ReviewArgs(PageArgs):
    state = fields.String(load_default="pending", validate=validate.OneOf(["pending", "confirmed", "rejected", "all"]))


class ReviewDecisionRequest(Strict):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    keep = fields.UUID(load_default=None, allow_none=True, metadata={
        "description": "confirm: the case that continues (default: the earlier report)"})


class ReviewSide(Schema):
    case_id = fields.String()
    reference = fields.String()
    province = fields.String()
    unit = fields.String()
    status = fields.String()
    opened_at = fields.DateTime()
    birth_date = fields.Date(allow_none=True)
    child = fields.Nested(ChildBrief)
    duplicate_of = fields.String(allow_none=True)


class ReviewSchema(Schema):
    id = fields.Integer()
    state = fields.String(metadata={"description": "pending | confirmed | rejected"})
    score = fields.Float()
    reasons = fields.List(fields.String())
    raised_at = fields.DateTime()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    note = fields.String(allow_none=True)
    kept_case_id = fields.String(allow_none=True)
    case = fields.Nested(ReviewSide, metadata={"description": "the later report"})
    match = fields.Nested(ReviewSide, metadata={"description": "the earlier report it may repeat"})


class ReviewPage(Schema):
    items = fields.List(fields.Nested(ReviewSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class EventSchema(Schema):
    case_reference = fields.String(metadata={"description": "an event of a report linked into this case"})
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    kind = fields.String()
    step = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    detail = fields.Dict()


class HistoryArgs(Schema):
    view = fields.String(load_default="all", validate=validate.OneOf(["all", "timeline"]), metadata={
        "description": "timeline: what happened to the child, without the reads (see …/access-log)"})


class AccessEntry(Schema):
    at = fields.DateTime()
    actor = fields.String()
    kind = fields.String(metadata={"description": "case_viewed, case_listed, task_viewed, history_viewed…"})
    source = fields.String(allow_none=True, metadata={"description": "the reader's address"})
    task_id = fields.String(allow_none=True)


class AccessLogPage(Schema):
    items = fields.List(fields.Nested(AccessEntry), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


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


# --- the case file: notes and contacts (engine/case_records.py checks every field) ------------

def _described(kind: str, description: str) -> Any:
    """A request field checked by the engine (its plain message names the field), documented here."""
    return fields.Raw(allow_none=True, metadata={"type": kind, "description": description})


class NoteRequest(Strict):
    text = _described("string", "required: 1 to 5,000 characters; line breaks kept, other control and "
                                "direction characters refused")
    visibility = _described("string", "team (default) | coordinators: only the province's coordinators and "
                                      "the author read it")


class NoteSchema(Schema):
    id = fields.Integer()
    case_id = fields.String()
    text = fields.String()
    visibility = fields.String(metadata={"description": "team | coordinators"})
    author = fields.String()
    author_role = fields.String()
    created_at = fields.DateTime()


class NotePage(Schema):
    items = fields.List(fields.Nested(NoteSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class ContactRequest(Strict):
    relation = _described("string", "required: mother | father | guardian | sibling | grandparent | aunt_uncle | "
                                    "other_family | school | neighbour | other")
    name = _described("string", "required: one line, with letters, 200 characters at most")
    phone = _described("string", "digits, spaces, dots, dashes, an optional leading +; 6 to 20 digits "
                                 "(e.g. +212 661 23 45 67)")
    address = _described("string", "500 characters at most")
    guardian = _described("boolean", "the child's legal guardian (default false)")
    may_contact = _described("boolean", "false: must not be contacted, for the child's safety (default true)")
    note = _described("string", "1,000 characters at most")


class ContactChangeRequest(ContactRequest):
    """The fields to change (at least one); the others are kept."""


class ContactSchema(Schema):
    id = fields.Integer()
    case_id = fields.String()
    relation = fields.String()
    name = fields.String()
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True, metadata={"description": "not shown to partners"})
    guardian = fields.Boolean(metadata={"description": "not shown to partners"})
    may_contact = fields.Boolean(metadata={"description": "not shown to partners (they see only those who may be "
                                                          "contacted)"})
    note = fields.String(allow_none=True, metadata={"description": "not shown to partners"})
    active = fields.Boolean()
    created_at = fields.DateTime()
    created_by = fields.String()
    updated_at = fields.DateTime()
    updated_by = fields.String()


class ContactList(Schema):
    items = fields.List(fields.Nested(ContactSchema), required=True)
# --- the task list's saved views (``/api/v1/task-views``) ------------------------------

class TaskViewFilters(Strict):
    """What a saved view keeps: the task list's filters and order (no page)."""

    scope = fields.String(validate=validate.OneOf(["mine", "available", "all"]))
    step = fields.String(validate=validate.Length(min=1, max=100))
    overdue = fields.Boolean()
    unit = fields.String(validate=validate.Length(min=1, max=100))
    sort = fields.String(validate=validate.OneOf(["due", "risk", "oldest", "step"]))


class TaskViewRequest(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    filters = fields.Nested(TaskViewFilters, load_default=dict)


class TaskViewSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    filters = fields.Dict(required=True)
    created_at = fields.DateTime(required=True)


class TaskViewList(Schema):
    items = fields.List(fields.Nested(TaskViewSchema), required=True)
# --- documents on a child's case (api/rest/documents.py) -------------------------------------

class DocumentUploadForm(Strict):
    """The fields of ``POST /api/v1/cases/{id}/documents`` beside the file (multipart/form-data);
    checked by ``engine.documents`` (a bad one is a 400 on its name)."""

    kind = fields.String(metadata={"description": "medical_certificate | medico_legal_certificate | court_order | "
                                                  "school_document | civil_status_document | photo | other"})
    title = fields.String(metadata={"description": "one line, 200 characters at most"})
    task_id = fields.String(metadata={"description": "the step of this case the document belongs to (optional)"})


class DocumentUploadFile(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary",
                                "description": "PDF, JPEG, PNG or WebP, decided from the bytes"})


class DocumentSchema(Schema):
    id = fields.String()
    case_id = fields.String()
    task_id = fields.String(allow_none=True)
    kind = fields.String()
    title = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_by = fields.String()
    uploaded_at = fields.DateTime()
    scan = fields.String(metadata={"description": "clean (the virus scanner saw it) | not_scanned (scanning off)"})
    image = fields.Boolean(metadata={"description": "a JPEG, PNG or WebP image"})


class DocumentList(Schema):
    items = fields.List(fields.Nested(DocumentSchema))


# --- a case that moves, closes early or is reopened ----------------------------------------------

class TransferRequest(Strict):
    province = fields.String(required=True, validate=validate.Length(min=1, max=64),
                             metadata={"description": "the receiving province (the case's own: another unit)"})
    unit = fields.String(required=True, validate=validate.Length(min=1, max=100),
                         metadata={"description": "the receiving unit: a UPE or the CAPE of that province"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class TransferAnswer(Strict):
    reason = fields.String(validate=validate.Length(max=2000), metadata={
        "description": "why the transfer is declined or cancelled (required for those)"})


class TransferSchema(Schema):
    id = fields.String()
    case_id = fields.String()
    case_reference = fields.String()
    state = fields.String(metadata={"description": "pending | accepted | declined | cancelled"})
    from_province = fields.String()
    from_unit = fields.String()
    from_unit_name = fields.String(allow_none=True)
    from_province_name = fields.String(allow_none=True)
    to_province = fields.String()
    to_unit = fields.String()
    to_unit_name = fields.String(allow_none=True)
    to_province_name = fields.String(allow_none=True)
    reason = fields.String()
    requested_by = fields.String()
    requested_at = fields.DateTime()
    respond_by = fields.DateTime(metadata={"description": "the deadline of the answer (escalated when passed)"})
    overdue = fields.Boolean()
    escalation_level = fields.Integer()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    risk_level = fields.String(metadata={"description": "the case's risk level (what the answer must weigh)"})
    categories = fields.List(fields.String())


class TransferListArgs(Schema):
    state = fields.String(load_default="pending", validate=validate.OneOf(
        ("pending", "accepted", "declined", "cancelled", "all")))
    side = fields.String(load_default="received", validate=validate.OneOf(("received", "sent")), metadata={
        "description": "received: addressed to the caller's province; sent: asked by it"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class TransferPage(Schema):
    items = fields.List(fields.Nested(TransferSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class TransferList(Schema):
    items = fields.List(fields.Nested(TransferSchema), required=True)


class CloseRequest(Strict):
    reason = fields.String(required=True, validate=validate.OneOf(("duplicate", "moved", "majority", "deceased",
                                                                   "other")))
    note = fields.String(validate=validate.Length(max=2000), metadata={"description": "required for other"})


class ReopenRequest(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    urgent = fields.Boolean(load_default=False, metadata={"description": "immediate assistance first"})
# --- referrals to partners (engine/referrals.py) ------------------------------------------------

class ReferralRequest(Strict):
    sector = _described("string", "required: justice | health | education | police | gendarmerie | youth | "
                                  "employment | social_action | civil_status | other")
    organisation = _described("string", "a named organisation of the sector (e.g. the hospital's child-protection "
                                        "unit): one line, 200 characters at most")
    service = _described("string", "required: a service of the sector's list (docs/referrals.md), e.g. "
                                   "medical_exam, legal_aid, school_reinsertion, shelter, civil_registration, other")
    note = _described("string", "what exactly is asked for, 2,000 characters at most")
    reason = _described("string", "required: why the child is referred, 2,000 characters at most")
    respond_by = _described("string", "the response deadline: YYYY-MM-DD (the end of that day) or an ISO 8601 "
                                      "date and time; later than now; default by the case's risk level "
                                      "(high 2 days, medium 5, low 10)")
    task_id = _described("string", "the step it is made from (an open or completed task of the case)")


class ReferralAcceptRequest(Strict):
    due_by = _described("string", "when the service will be given: YYYY-MM-DD or an ISO 8601 date and time; "
                                  "default by the case's risk level (high 14 days, medium 30, low 60)")
    note = _described("string", "2,000 characters at most")


class ReferralDeclineRequest(Strict):
    reason = _described("string", "required: why it is declined, 2,000 characters at most")


class ReferralCancelRequest(Strict):
    reason = _described("string", "required: why it is cancelled, 2,000 characters at most")


class ReferralCompleteRequest(Strict):
    service_given = _described("string", "required: the service given, 2,000 characters at most")
    occurrence = _described("string", "required: the day it was given, YYYY-MM-DD (from the referral's day "
                                      "to today)")


class ReferralListArgs(PageArgs):
    state = fields.String(validate=validate.OneOf(("requested", "accepted", "declined", "completed", "cancelled",
                                                   "open")),
                          metadata={"description": "requested | accepted | declined | completed | cancelled | "
                                                   "open (requested or accepted); none: every state"})


class ReferredChild(Schema):
    display_name = fields.String(metadata={"description": "not shown to partners"})
    age = fields.Integer(allow_none=True)
    age_estimated = fields.Boolean()
    sex = fields.String(allow_none=True)


class ReferralSchema(Schema):
    id = fields.String()
    case_id = fields.String()
    case_reference = fields.String()
    case_status = fields.String()
    child = fields.Nested(ReferredChild)
    requested_at = fields.DateTime()
    requester = fields.String()
    requester_role = fields.String()
    requester_unit = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    step = fields.String(allow_none=True)
    sector = fields.String()
    organisation = fields.String(allow_none=True)
    service = fields.String()
    note = fields.String(allow_none=True)
    reason = fields.String()
    priority = fields.String(metadata={"description": "routine | urgent | asap (from the case's risk level)"})
    respond_by = fields.DateTime()
    due_by = fields.DateTime(allow_none=True)
    deadline = fields.DateTime(allow_none=True, metadata={"description": "the running deadline: respond_by, "
                                                                         "then due_by once accepted"})
    overdue = fields.Boolean()
    status = fields.String(metadata={"description": "requested | accepted | declined | completed | cancelled"})
    status_reason = fields.String(allow_none=True)
    accepted_by = fields.String(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    accept_note = fields.String(allow_none=True)
    declined_by = fields.String(allow_none=True)
    declined_at = fields.DateTime(allow_none=True)
    service_given = fields.String(allow_none=True)
    occurrence = fields.Date(allow_none=True)
    completed_by = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    cancelled_by = fields.String(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    escalation_level = fields.Integer()


class ReferralList(Schema):
    items = fields.List(fields.Nested(ReferralSchema), required=True)


class ReferralPage(Schema):
    items = fields.List(fields.Nested(ReferralSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


# --- administration of units and users (``/api/v1/admin``); out of office -------------------

def _text(maximum: int, description: str, *, required: bool = False) -> Any:
    return fields.String(required=required, allow_none=not required, validate=validate.Length(max=maximum),
                         metadata={"description": description})


class AdminUnitRequest(Strict):
    code = _text(100, "lower-case letters, digits and '-', unique (never changes)", required=True)
    name = _text(200, "shown in the pages", required=True)
    kind = fields.String(required=True, metadata={"description": "upe | cape | sas_mobile | care_institution"})
    province = _text(64, "an existing province code", required=True)


class AdminUnitChange(Strict):
    name = fields.String(validate=validate.Length(max=200))
    active = fields.Boolean(metadata={"description": "false deactivates (409 while it has open cases or tasks)"})


class AdminUnitSchema(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    province = fields.String()
    active = fields.Boolean()
    receives_children = fields.Boolean()
    users = fields.Integer(metadata={"description": "active accounts of the unit"})
    open_cases = fields.Integer()


class AdminUnitArgs(Schema):
    province = fields.String(validate=validate.Length(min=1, max=64))
    kind = fields.String(validate=validate.Length(min=1, max=20))
    active = fields.Boolean()


class AdminUnitList(Schema):
    items = fields.List(fields.Nested(AdminUnitSchema))


class _AccountFields(Strict):
    full_name = _text(200, "default: the user name")
    email = _text(200, "where escalation e-mails go")
    phone = _text(40, "digits and spaces, + before the country code")
    language = fields.String(validate=validate.OneOf(["fr", "ar", "en"]))
    province = _text(64, "territorial roles: an existing province")
    unit = _text(100, "case workers: an active unit of the province")
    sector = _text(32, "partners: their sector")
    away_from = fields.Date(allow_none=True, metadata={"description": "first day out of office"})
    away_until = fields.Date(allow_none=True, metadata={"description": "last day out of office (none: until cleared)"})


class AdminUserRequest(_AccountFields):
    username = fields.String(required=True, validate=validate.Length(max=100))
    password = fields.String(required=True, validate=validate.Length(max=200), load_only=True,
                             metadata={"description": "≥ 10 characters, two kinds, not the user name, not common"})
    role = fields.String(required=True, metadata={"description": "case_worker | coordinator | partner | supervisor | "
                                                                 "national | admin"})


class AdminUserChange(_AccountFields):
    role = fields.String()
    password = fields.String(validate=validate.Length(max=200), load_only=True,
                             metadata={"description": "a password reset (the account's tokens are revoked)"})


class AdminUserSchema(Schema):
    username = fields.String()
    full_name = fields.String()
    role = fields.String()
    province = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    sector = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    language = fields.String()
    active = fields.Boolean()
    created_at = fields.DateTime()
    password_changed_at = fields.DateTime()
    away_from = fields.Date(allow_none=True)
    away_until = fields.Date(allow_none=True)


class AdminUserArgs(PageArgs):
    province = fields.String(validate=validate.Length(min=1, max=64))
    role = fields.String(validate=validate.Length(min=1, max=20))
    unit = fields.String(validate=validate.Length(min=1, max=100))
    active = fields.Boolean()
    q = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "part of a name"})


class AdminUserPage(Schema):
    items = fields.List(fields.Nested(AdminUserSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class DisableResult(Schema):
    user = fields.Nested(AdminUserSchema)
    released = fields.Integer(metadata={"description": "tasks back in their lanes (the coordinators are told)"})


class AwayRequest(Strict):
    away_from = fields.Date(required=True, allow_none=True)
    away_until = fields.Date(load_default=None, allow_none=True)


class AdminEventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String(metadata={"description": "unit_created | unit_changed | user_created | user_changed | "
                                                    "user_disabled | user_enabled | password_reset | away_changed | "
                                                    "category_created | category_changed"})
    target_kind = fields.String(metadata={"description": "unit | user | category"})
    target = fields.String()
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields",
                          metadata={"description": "names of the fields changed (never their values)"})


class AuditArgs(PageArgs):
    target = fields.String(validate=validate.Length(min=1, max=100))
    action = fields.String(validate=validate.Length(min=1, max=40))


class AuditPage(Schema):
    items = fields.List(fields.Nested(AdminEventSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


# --- the follow-up of a plan's action or a convention's milestone (engine.plan_progress) -------

class ProgressUpdate(Schema):
    state = fields.String(required=True, metadata={"description": "not_started | in_progress | done | dropped"})
    percent_done = fields.Integer(required=True, metadata={"description": "0 to 100"})
    started_on = fields.Date(allow_none=True, metadata={"description": "actual start"})
    ended_on = fields.Date(allow_none=True, metadata={"description": "actual end (required when done)"})
    note = fields.String(metadata={"description": "follow-up note"})


class ProgressEntry(Schema):
    state = fields.String()
    percent_done = fields.Integer()
    started_on = fields.Date(allow_none=True)
    ended_on = fields.Date(allow_none=True)
    note = fields.String()
    updated_at = fields.DateTime()
    updated_by = fields.String()
    updated_as = fields.String(metadata={"description": "committee | pilot (a plan's action) | unit (a convention's "
                                                        "milestone)"})
