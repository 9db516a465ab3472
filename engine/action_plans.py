"""The CPPE provincial action plan, as a pathway with versioned content.

Structure (seed: guide for provincial action plans): priorities — at least one of the
three areas of the PPIPEM — → general objectives → specific objectives → actions; each
action has a named pilot, partners, human/material resources, a budget in MAD,
indicators, a deadline or "ongoing", expected results and its follow-up/revision.

The pathway (``bpmn/action_plan.bpmn``): the CAPE technical committee drafts, the CPPE
validates or returns it with comments, a periodic review then opens a new version. The
content lives in ``action_plan_versions``; the hook below keeps each version's status in
step with the pathway, inside the command's transaction:

- ``draft_plan`` completed → the version is checked complete and becomes *submitted*;
- ``validate_plan`` → *returned* (comments required) or *validated* (earlier validated
  versions become *superseded*);
- ``review_plan`` → the review is recorded; "revise" opens version n+1 as a draft copy.
"""
from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema
from sqlalchemy import Connection, insert, select, update

from . import subjects
from .errors import Conflict, NotFound, ValidationFailed
from .models import ActionPlan, ActionPlanVersion, Province, Unit
from .vocabulary import ACTION_PLAN, CAPE

if TYPE_CHECKING:
    from .runtime import Actor, CaseState, Engine

PATHWAY = "action_plan"
KIND = ACTION_PLAN
PLANS, VERSIONS = ActionPlan.__table__, ActionPlanVersion.__table__
EDITABLE = ("draft", "returned")
# The three areas of the PPIPEM a priority belongs to.
AREAS = ("detection_care", "prevention", "rights_promotion")
MAX_BUDGET = Decimal("1000000000000")


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Required.")


def _text(required: bool = True, length: int = 2000) -> fields.String:
    checks: list[Any] = [validate.Length(max=length)]
    if required:
        checks.insert(0, _not_blank)
    optional: dict[str, Any] = {} if required else {"load_default": ""}
    return fields.String(required=required, validate=checks, **optional)


class _Strict(Schema):
    class Meta:
        unknown = RAISE

    @post_load
    def _strip(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}


class ActionSchema(_Strict):
    title = _text(length=500)
    pilot = _text(length=200)
    partners = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                           load_default=list, validate=validate.Length(max=50))
    resources = _text(required=False)
    budget_mad = fields.Decimal(required=True, places=2, as_string=False,
                                validate=[validate.Range(min=0, error="Must be zero or more (MAD)."),
                                          validate.Range(max=MAX_BUDGET, max_inclusive=False)])
    indicators = fields.List(fields.String(validate=validate.Length(min=1, max=500)),
                             load_default=list, validate=validate.Length(max=50))
    deadline = fields.Date(load_default=None, allow_none=True)
    ongoing = fields.Boolean(load_default=False)
    expected_results = _text(required=False)
    follow_up = _text(required=False)

    @validates_schema
    def _when(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("ongoing") and data.get("deadline") is not None:
            raise ValidationError("Give a deadline or mark the action ongoing, not both.", "deadline")
        if not data.get("ongoing") and data.get("deadline") is None:
            raise ValidationError("Give a deadline or mark the action ongoing.", "deadline")


class SpecificObjectiveSchema(_Strict):
    title = _text(length=500)
    actions = fields.List(fields.Nested(ActionSchema), load_default=list, validate=validate.Length(max=100))


class GeneralObjectiveSchema(_Strict):
    title = _text(length=500)
    specific_objectives = fields.List(fields.Nested(SpecificObjectiveSchema), load_default=list,
                                      validate=validate.Length(max=50))


class PrioritySchema(_Strict):
    area = fields.String(required=True, validate=validate.OneOf(AREAS))
    title = _text(length=500)
    general_objectives = fields.List(fields.Nested(GeneralObjectiveSchema), load_default=list,
                                     validate=validate.Length(max=50))


class ContentSchema(_Strict):
    context = _text(required=False, length=20_000)
    priorities = fields.List(fields.Nested(PrioritySchema), load_default=list, validate=validate.Length(max=20))


class NewPlanSchema(_Strict):
    province = fields.String(required=True, validate=validate.Length(min=1, max=64))
    title = _text(length=300)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    content = fields.Raw(load_default=None)  # checked by load_content

    @validates_schema
    def _period(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and (end <= start or (end - start).days > 366 * 10):
            raise ValidationError("The period must end after it starts, within ten years.", "period_end")


def load_content(payload: Any) -> dict[str, Any]:
    """Validated content, as stored (JSON: budgets as strings of MAD, dates as ISO)."""
    if not isinstance(payload, dict):
        raise ValidationFailed("The plan has invalid fields.", {"_schema": ["Expected a JSON object."]})
    try:
        content = ContentSchema().load(payload)
    except ValidationError as exc:
        raise ValidationFailed("The plan has invalid fields.", exc.messages) from None
    return _json(content)


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def incomplete(content: dict[str, Any]) -> dict[str, list[str]]:
    """Why a plan cannot be submitted yet (field paths → messages); empty when complete."""
    problems: dict[str, list[str]] = {}
    priorities = content.get("priorities") or []
    if not priorities:
        problems["priorities"] = ["The plan needs at least one priority."]
    for p, priority in enumerate(priorities):
        if not priority.get("general_objectives"):
            problems[f"priorities.{p}.general_objectives"] = ["Each priority needs a general objective."]
        for g, general in enumerate(priority.get("general_objectives") or []):
            if not general.get("specific_objectives"):
                problems[f"priorities.{p}.general_objectives.{g}.specific_objectives"] = [
                    "Each general objective needs a specific objective."]
            for s, specific in enumerate(general.get("specific_objectives") or []):
                if not specific.get("actions"):
                    problems[f"priorities.{p}.general_objectives.{g}.specific_objectives.{s}.actions"] = [
                        "Each specific objective needs an action."]
    return problems


def create_plan(engine: Engine, payload: Any, actor: Actor) -> str:
    """Open a plan for a province and period: version 1, a draft, with the pathway started."""
    if not isinstance(payload, dict):
        raise ValidationFailed("The plan has invalid fields.", {"_schema": ["Expected a JSON object."]})
    try:
        values = NewPlanSchema().load(payload)
    except ValidationError as exc:
        raise ValidationFailed("The plan has invalid fields.", exc.messages) from None
    with engine.db.reading() as session:
        if session.get(Province, values["province"]) is None:
            raise NotFound("No such province.")
        cape = session.scalar(select(Unit.code).where(Unit.province == values["province"], Unit.kind == CAPE,
                                                      Unit.active.is_(True)).order_by(Unit.code))
        if session.scalar(select(PLANS.c.id).where(PLANS.c.province == values["province"],
                                                   PLANS.c.period_start == values["period_start"])) is not None:
            raise Conflict("This province already has a plan starting on that date.")
    try:
        content = load_content(values["content"] if values["content"] is not None else {})
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, {"content": exc.errors}) from None

    def create(conn: Connection, case: CaseState, now: datetime) -> None:
        plan_id = conn.execute(insert(PLANS).values(
            case_id=case.id, province=values["province"], period_start=values["period_start"],
            period_end=values["period_end"], title=values["title"], created_at=now,
            created_by=actor.username).returning(PLANS.c.id)).scalar_one()
        conn.execute(insert(VERSIONS).values(
            plan_id=plan_id, number=1, status="draft", content=content, version_date=now.date(), comments=[],
            updated_at=now, updated_by=actor.username, validated_at=None, validated_by=None))

    result = engine.start_subject(PATHWAY, kind=KIND, province=values["province"], unit_code=cape or "",
                                  data={"plan_title": values["title"]}, actor=actor, create=create)
    return result.case_id


def current_version(conn: Connection, plan_id: int) -> Any:
    return conn.execute(select(VERSIONS).where(VERSIONS.c.plan_id == plan_id)
                        .order_by(VERSIONS.c.number.desc()).limit(1)).one()


def save_content(engine: Engine, plan_id: int, payload: Any, actor: Actor) -> int:
    """Replace the content of the plan's version being drafted; returns its number."""
    content = load_content(payload)
    with engine.db.write_connection() as conn:
        version = current_version(conn, plan_id)
        if version.status not in EDITABLE:
            raise Conflict("Only a draft or returned version can be edited.")
        now = engine.now()
        written = conn.execute(update(VERSIONS).where(VERSIONS.c.id == version.id,
                                                      VERSIONS.c.status.in_(EDITABLE)).values(
            content=content, version_date=now.date(), updated_at=now, updated_by=actor.username))
        if written.rowcount != 1:
            raise Conflict("The plan changed meanwhile: reload it and try again.")
        return version.number


def follow_pathway(change: subjects.SubjectChange) -> None:
    """Keep the versions' statuses in step with the plan's pathway (see the module's doc)."""
    plan_id = change.conn.execute(select(PLANS.c.id).where(PLANS.c.case_id == change.case_id)).scalar_one()
    for task in change.completed:
        version = current_version(change.conn, plan_id)
        data = task["data"]
        values: dict[str, Any] = {}
        comment = {"at": change.now.isoformat(), "by": change.actor, "step": task["step"]}
        if task["step"] == "draft_plan":
            problems = incomplete(version.content)
            if problems:
                raise ValidationFailed("The plan is not complete yet.", problems)
            values = {"status": "submitted"}
        elif task["step"] == "validate_plan" and data.get("decision") == "returned":
            if not str(data.get("comments") or "").strip():
                raise ValidationFailed("The form has invalid fields.", {
                    "comments": ["Say what to change when returning the plan."]})
            values = {"status": "returned", "comments": [*version.comments, {
                **comment, "decision": "returned", "text": data["comments"].strip()}]}
        elif task["step"] == "validate_plan" and data.get("decision") == "validated":
            change.conn.execute(update(VERSIONS).where(VERSIONS.c.plan_id == plan_id,
                                                       VERSIONS.c.status == "validated").values(status="superseded"))
            values = {"status": "validated", "validated_at": change.now, "validated_by": change.actor,
                      "comments": [*version.comments, {**comment, "decision": "validated",
                                                       "text": str(data.get("comments") or "").strip()}]}
        elif task["step"] == "review_plan":
            change.conn.execute(update(VERSIONS).where(VERSIONS.c.id == version.id).values(comments=[
                *version.comments, {**comment, "decision": data.get("next_step"), "text": data.get("assessment")}]))
            if data.get("next_step") == "revise":
                change.conn.execute(insert(VERSIONS).values(
                    plan_id=plan_id, number=version.number + 1, status="draft",
                    content=copy.deepcopy(version.content), version_date=change.now.date(), comments=[],
                    updated_at=change.now, updated_by=change.actor, validated_at=None, validated_by=None))
        if values:
            change.conn.execute(update(VERSIONS).where(VERSIONS.c.id == version.id).values(**values))


