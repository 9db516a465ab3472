"""``/api/v1/cases``: report a child, list and read cases, history, risk level."""
from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_smorest import abort
from sqlalchemy import func, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB

from engine.errors import ValidationFailed
from engine.models import Case, CaseEvent, CaseWorkflow, PathwayVersion, TaskRecord
from engine.runtime import CommandResult

from .. import policy, queries
from ..i18n import current_language
from ..schemas import (
    CaseIntakeSchema, CaseListArgs, CasePage, CaseSchema, CommandResponse, HistoryResponse, RiskChangeRequest,
)
from .common import (Blueprint, actor, case_open_tasks, engine, load_principal, page_of, page_rows, present_task,
                     principal)

blp = Blueprint("cases", __name__, url_prefix="/api/v1/cases", description="Cases (children's files)")
blp.before_request(load_principal)

CHILD_FIELDS = ("first_name", "last_name", "sex", "birth_date", "age_estimate", "civil_status_registered",
                "nationality")


def command_response(result: CommandResult) -> dict[str, Any]:
    himaya = engine()
    now = himaya.now()
    compiled = himaya.definition(result.pathway_version_id)
    return {
        "id": result.case_id, "reference": result.case_reference, "status": result.case_status,
        "risk_level": result.risk_level, "version": result.case_version,
        "pathway": {"key": compiled.key, "version": compiled.versions[result.pathway_version_id]},
        "open_tasks": [present_task(t, result.case_reference, result.pathway_version_id, now=now)
                       for t in result.open_tasks],
    }


def visible_case(session: Any, case_id: str) -> Case:
    """The case if the caller may see it; 404 otherwise (never reveal that it exists)."""
    case = queries.visible_case(session, principal(), case_id)
    if case is None:
        abort(404, message=_("No such case."))
    return case


def _summary(case: Case, pathway: PathwayVersion, version: int) -> dict[str, Any]:
    return {
        "id": case.id, "reference": case.reference, "status": case.status, "risk_level": case.risk_level,
        "province": case.province, "unit": case.unit, "categories": case.categories,
        "opened_at": case.opened_at, "closed_at": case.closed_at,
        "pathway": {"key": pathway.key, "version": pathway.version}, "version": version,
    }


@blp.route("", methods=["POST"])
@blp.arguments(CaseIntakeSchema)
@blp.response(201, CommandResponse)
@blp.alt_response(400, description="Invalid fields (each listed)")
@blp.alt_response(403, description="Outside the caller's territory, or a role that does not report")
def report_child(intake):
    """Report a child: starts the active pathway (``child_protection`` unless ``pathway`` says)."""
    if not policy.can_report(principal(), intake["province"], intake["unit"]):
        abort(403, message=_("You may only report children in your own territory."))
    try:
        result = engine().start_case(request.get_json(), actor())
    except ValidationFailed as error:
        abort(400, message=_("The report has invalid fields."), errors={"json": error.errors})
    return command_response(result)


@blp.route("", methods=["GET"])
@blp.arguments(CaseListArgs, location="query")
@blp.response(200, CasePage)
def list_cases(args):
    """Cases visible to the caller, newest first."""
    himaya = engine()
    query = select(Case, PathwayVersion, CaseWorkflow.version).join(
        PathwayVersion, PathwayVersion.id == Case.pathway_version_id).join(
        CaseWorkflow, CaseWorkflow.case_id == Case.id).where(policy.case_scope(principal()))
    for name in ("status", "province", "unit", "risk_level"):
        if args.get(name):
            query = query.where(getattr(Case, name) == args[name])
    if args.get("category"):
        if himaya.db.engine.dialect.name == "postgresql":
            query = query.where(type_coerce(Case.categories, JSONB).contains([args["category"]]))
        else:  # the JSON text holds each code quoted; codes are validated against the list
            query = query.where(func.instr(Case.categories, f'"{args["category"]}"') > 0)
    with himaya.db.reading() as session:
        total, rows = page_rows(session, query, args, Case.opened_at.desc(), Case.id)
    items = [_summary(case, pathway, version) for case, pathway, version in rows]
    himaya.record_access(actor(), "case_listed", [i["id"] for i in items])
    return page_of(total, args["page"], args["per_page"], items)


@blp.route("/<uuid:case_id>", methods=["GET"])
@blp.response(200, CaseSchema)
@blp.alt_response(404, description="Unknown or not visible")
def get_case(case_id):
    """The case with its open tasks and completed steps (partners: what their tasks need)."""
    himaya = engine()
    now = himaya.now()
    p = principal()
    with himaya.db.reading() as session:
        case = visible_case(session, case_id)
        pathway = session.get(PathwayVersion, case.pathway_version_id)
        version = session.scalar(select(CaseWorkflow.version).where(CaseWorkflow.case_id == case.id))
        open_rows = case_open_tasks(session, case.id)
        done = session.scalars(select(TaskRecord).where(TaskRecord.case_id == case.id,
                                                        TaskRecord.outcome == "completed")
                               .order_by(TaskRecord.ended_at, TaskRecord.id)).all()
        compiled = himaya.compiled(session, case.pathway_version_id)
    full = policy.sees_full_case(p)
    language = current_language()

    def step_view(record: TaskRecord) -> dict[str, Any]:
        info = compiled.user_tasks.get(record.step)
        shows_data = full or (record.role == "partner" and record.sector == p.sector)
        return {"task_id": record.id, "name": record.step, "title": info.title(language) if info else record.step,
                "completed_by": record.completed_by, "completed_at": record.ended_at,
                "data": record.data if shows_data else {}}

    body = _summary(case, pathway, version)
    body.update({
        "child": {name: getattr(case, f"child_{name}") for name in CHILD_FIELDS},
        "report": case.report if full else {k: v for k, v in case.report.items() if k != "description"},
        "emergency": {"medical": case.emergency_medical, "immediate_danger": case.immediate_danger},
        "consent": case.consent,
        "open_tasks": [present_task(t, case.reference, case.pathway_version_id, now=now) for t in open_rows
                       if full or (t.role == "partner" and t.sector == p.sector)],
        "completed_steps": [step_view(r) for r in done],
    })
    himaya.record_access(actor(), "case_viewed", [case.id])
    return body


@blp.route("/<uuid:case_id>/history", methods=["GET"])
@blp.response(200, HistoryResponse)
@blp.alt_response(403, description="Partners see the case, not its history")
@blp.alt_response(404, description="Unknown or not visible")
def get_history(case_id):
    """Time-ordered events of the case: steps, escalations, messages, and who viewed it."""
    himaya = engine()
    with himaya.db.reading() as session:
        case = visible_case(session, case_id)
        if not policy.can_read_history(principal()):
            abort(403, message=_("You are not allowed to read this history."))
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                 .order_by(CaseEvent.id)).all()
    himaya.record_access(actor(), "history_viewed", [case.id])
    return {"case_id": case.id, "reference": case.reference, "events": [
        {"id": e.id, "at": e.at, "actor": e.actor, "kind": e.kind, "step": e.step, "task_id": e.task_id,
         "detail": e.detail} for e in events]}


@blp.route("/<uuid:case_id>/risk-level", methods=["POST"])
@blp.arguments(RiskChangeRequest)
@blp.response(200, CommandResponse)
@blp.alt_response(403, description="Only the province's coordinators change the risk level")
@blp.alt_response(404, description="Unknown or not visible")
@blp.alt_response(409, description="The case is closed or changed meanwhile")
def change_risk(change, case_id):
    """Raise or lower the risk level (with a reason); open tasks' due dates follow."""
    himaya = engine()
    with himaya.db.reading() as session:
        case = visible_case(session, case_id)
    if not policy.can_change_risk(principal(), case):
        abort(403, message=_("Only the province's coordinators change the risk level."))
    try:
        result = himaya.set_risk_level(case.id, change["risk_level"], change["reason"], actor())
    except ValidationFailed as error:
        abort(400, message=_("Invalid risk change."), errors={"json": error.errors})
    return command_response(result)

