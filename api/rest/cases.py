"""``/api/v1/cases``: report a child, list and read cases, history, risk level, transfer, close, reopen."""
from __future__ import annotations

from typing import Any

from flask import Response, request, send_file
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from engine import subject_access as subject_access_records
from engine.errors import Conflict, ValidationFailed
from engine.runtime import CommandResult

from .. import case_summary_pdf, idempotent, policy, subject_access
from ..context import settings
from ..i18n import LANGUAGES
from ..readers import cases as case_readers
from ..readers import duplicates, judicial, territory
from ..readers import transfers as transfer_readers
from ..readers.tasks import present_command
from ..schemas import (
    AccessLogPage,
    CaseIntakeSchema,
    CaseListArgs,
    CasePage,
    CaseSchema,
    CloseRequest,
    CommandResponse,
    DuplicateCheckRequest,
    DuplicateList,
    HistoryArgs,
    HistoryResponse,
    IdentityCorrectionRequest,
    PageArgs,
    ReopenRequest,
    RiskChangeRequest,
    TransferList,
    TransferRequest,
    TransferSchema,
)
from .common import Blueprint, abort, actor, engine, idempotency_key, load_principal, page_of, principal, reader

blp = Blueprint("cases", __name__, url_prefix="/api/v1/cases", description="Cases (children's files)")
blp.before_request(load_principal)


@blp.route("", methods=["POST"])
@blp.arguments(CaseIntakeSchema)
@blp.doc(parameters=[idempotent.HEADER_PARAMETER])
@blp.response(201, CommandResponse)
@blp.alt_response(400, description="Invalid fields (each listed)")
@blp.alt_response(403, description="Outside the caller's territory, or a role that does not report")
@blp.alt_response(422, description="The Idempotency-Key was used for another request")
def report_child(intake: dict[str, Any]) -> Any:
    """Report a child: starts the active pathway (``child_protection`` unless ``pathway`` says).
    With an ``Idempotency-Key`` header, the same request again answers the first answer (with
    ``Idempotent-Replayed: true``) and opens no second case."""
    if not territory.may_report(reader(), intake["province"], intake["unit"]):
        abort(403, message=_("You may only report children in your own territory."))
    key = idempotency_key()
    body = request.get_json()

    def answer(result: CommandResult) -> dict[str, Any]:
        context = reader()
        return {**present_command(context, result),
                "possible_duplicates": duplicates.visible_matches(context, result.possible_duplicates)}

    def present(result: CommandResult) -> tuple[int, dict[str, Any]]:
        return 201, CommandResponse().dump(answer(result))

    try:
        if key is not None:
            return idempotent.respond(idempotent.run(
                key, "POST /api/v1/cases", body, lambda record: engine().start_case(body, actor(), record=record),
                present, user_id=principal().user_id))
        result = engine().start_case(body, actor())
    except ValidationFailed as error:
        abort(400, message=_("The report has invalid fields."), errors={"json": error.errors})
    return answer(result)


@blp.route("/check-duplicates", methods=["POST"])
@blp.arguments(DuplicateCheckRequest)
@blp.response(200, DuplicateList)
@blp.alt_response(400, description="Invalid fields of the child's identity")
def check_duplicates(body: dict[str, Any]) -> dict[str, Any]:
    """Earlier reports of this child that the caller may read, before reporting (score, reasons)."""
    try:
        return {"items": duplicates.check(reader(), body["child"])}
    except ValidationFailed as error:
        abort(400, message=_("The child's identity has invalid fields."), errors={"json": error.errors})


@blp.route("", methods=["GET"])
@blp.arguments(CaseListArgs, location="query")
@blp.response(200, CasePage)
def list_cases(args: dict[str, Any]) -> dict[str, Any]:
    """Cases visible to the caller, newest first."""
    try:
        total, items = case_readers.case_page(reader(), args, args["page"], args["per_page"])
    except case_readers.SearchRefused as refused:
        abort(400, message=_("The search cannot be run."), errors={"query": {"q": [_(str(refused))]}})
    engine().record_access(actor(), "case_listed", [i["id"] for i in items],
                           {"searched": True} if args.get("q") else None)
    return page_of(total, args["page"], args["per_page"], items)


@blp.route("/<uuid:case_id>", methods=["GET"])
@blp.response(200, CaseSchema)
@blp.alt_response(404, description="Unknown or not visible")
def get_case(case_id: str) -> dict[str, Any]:
    """The case with its open tasks and completed steps (partners: what their tasks need)."""
    context = reader()
    file = case_readers.case_file(context, case_id)
    status = judicial.judicial_status(context, file.case)
    engine().record_access(actor(), "case_viewed", [file.case.id])
    return {**file.body(), "judicial": status.body() if status is not None else None,
            "linked_cases": duplicates.linked_cases(context, file.case) if file.full else []}


@blp.route("/<uuid:case_id>/child", methods=["PATCH"])
@blp.arguments(IdentityCorrectionRequest)
@blp.response(200, CommandResponse)
@blp.alt_response(400, description="Invalid fields (each listed)")
@blp.alt_response(403, description="Only the case's team corrects the identity")
@blp.alt_response(404, description="Unknown or not visible")
@blp.alt_response(409, description="The identity changed meanwhile")
def correct_child(_body: dict[str, Any], case_id: str) -> dict[str, Any]:
    """Correct the child's identity, with a reason (audited; search keys follow)."""
    context = reader()
    case = case_readers.visible(context, case_id)
    if not policy.can_correct_identity(context.principal, case):
        abort(403, message=_("Only the case's team corrects the child's identity."))
    try:
        result = engine().correct_identity(case.id, request.get_json(), actor())
    except ValidationFailed as error:
        abort(400, message=_("Invalid identity correction."), errors={"json": error.errors})
    return present_command(reader(), result)


@blp.route("/<uuid:case_id>/history", methods=["GET"])
@blp.arguments(HistoryArgs, location="query")
@blp.response(200, HistoryResponse)
@blp.alt_response(403, description="Partners see the case, not its history")
@blp.alt_response(404, description="Unknown or not visible")
def get_history(args: dict[str, Any], case_id: str) -> dict[str, Any]:
    """Time-ordered events of the case: steps, escalations, messages, and who viewed it
    (``view=timeline``: what happened to the child, without the reads)."""
    context = reader()
    if not policy.can_read_history(context.principal):
        case_readers.visible(context, case_id)  # an unseen case is 404 before any 403
        abort(403, message=_("You are not allowed to read this history."))
    case, events = case_readers.history(context, case_id, view=args["view"])
    linked = case_readers.linked_references(context, case)
    engine().record_access(actor(), "history_viewed", [case.id])
    return {"case_id": case.id, "reference": case.reference,
            "events": [case_readers.present_event(e, linked) for e in events]}


@blp.route("/<uuid:case_id>/access-log", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, AccessLogPage)
@blp.alt_response(403, description="The province's coordinators read who read a file")
@blp.alt_response(404, description="Unknown or not visible")
def get_access_log(args: dict[str, Any], case_id: str) -> dict[str, Any]:
    """Who read the child's file, lists and steps, when and from where, newest first (kept out of
    the timeline)."""
    context = reader()
    case = case_readers.visible(context, case_id)
    if not policy.can_read_access_log(context.principal, case):
        abort(403, message=_("Only the province's coordinators read who read a file."))
    _case, total, events = case_readers.event_page(context, case.id, "access", args["page"], args["per_page"])
    engine().record_access(actor(), "access_log_viewed", [case.id])
    return page_of(total, args["page"], args["per_page"], [
        {"at": e.at, "actor": e.actor, "kind": e.kind, "source": (e.detail or {}).get("source"),
         "task_id": e.task_id} for e in events])


@blp.route("/<uuid:case_id>/risk-level", methods=["POST"])
@blp.arguments(RiskChangeRequest)
@blp.response(200, CommandResponse)
@blp.alt_response(403, description="Only the province's coordinators change the risk level")
@blp.alt_response(404, description="Unknown or not visible")
@blp.alt_response(409, description="The case is closed or changed meanwhile")
def change_risk(change: dict[str, Any], case_id: str) -> dict[str, Any]:
    """Raise or lower the risk level (with a reason); open tasks' due dates follow."""
    context = reader()
    case = case_readers.visible(context, case_id)
    if not policy.can_change_risk(context.principal, case):
        abort(403, message=_("Only the province's coordinators change the risk level."))
    try:
        result = engine().set_risk_level(case.id, change["risk_level"], change["reason"], actor())
    except ValidationFailed as error:
        abort(400, message=_("Invalid risk change."), errors={"json": error.errors})
    return present_command(reader(), result)


def _coordinating(case_id: str) -> Any:
    """The case, when the caller is one of its province's coordinators (404 unseen, 403 otherwise)."""
    context = reader()
    case = case_readers.visible(context, case_id)
    if not policy.can_move_case(context.principal, case):
        abort(403, message=_("Only the province's coordinators transfer, close or reopen a case."))
    return case


@blp.route("/<uuid:case_id>/transfer", methods=["POST"])
@blp.arguments(TransferRequest)
@blp.response(202, TransferSchema)
@blp.alt_response(400, description="Invalid fields: unknown unit, the case's own unit, no reason")
@blp.alt_response(403, description="Only the province's coordinators transfer a case")
@blp.alt_response(404, description="Unknown or not visible")
@blp.alt_response(409, description="The case is closed, or a transfer of it is pending already")
def transfer(body: dict[str, Any], case_id: str) -> dict[str, Any]:
    """Ask for the case to move to another unit, of the province or another one: pending until the
    receiving province's coordinators accept or decline it; the team keeps working it meanwhile."""
    case = _coordinating(case_id)
    try:
        row = engine().request_transfer(case.id, body, actor())
    except ValidationFailed as error:
        abort(400, message=_("Invalid transfer."), errors={"json": error.errors})
    found = transfer_readers.one(reader(), row["id"])
    assert found is not None  # sent by the caller's province
    return found


@blp.route("/<uuid:case_id>/transfers", methods=["GET"])
@blp.response(200, TransferList)
@blp.alt_response(403, description="Partners see the case, not its transfers")
@blp.alt_response(404, description="Unknown or not visible")
def case_transfers(case_id: str) -> dict[str, Any]:
    """Every transfer asked for this case, newest first."""
    context = reader()
    case = case_readers.visible(context, case_id)
    if not policy.can_read_history(context.principal):
        abort(403, message=_("You are not allowed to read this history."))
    return {"items": transfer_readers.of_case(context, case.id)}


@blp.route("/<uuid:case_id>/close", methods=["POST"])
@blp.arguments(CloseRequest)
@blp.response(200, CommandResponse)
@blp.alt_response(400, description="An unknown reason, or other without a note")
@blp.alt_response(403, description="Only the province's coordinators close a case early")
@blp.alt_response(404, description="Unknown or not visible")
@blp.alt_response(409, description="The case is closed already")
def close(body: dict[str, Any], case_id: str) -> dict[str, Any]:
    """Close the case before its pathway ends (duplicate, moved, majority, deceased, other) with a
    note: open tasks cancelled, timers stopped, a pending transfer withdrawn."""
    case = _coordinating(case_id)
    try:
        result = engine().close_case(case.id, body["reason"], body.get("note"), actor())
    except ValidationFailed as error:
        abort(400, message=_("Invalid closure."), errors={"json": error.errors})
    return present_command(reader(), result)


@blp.route("/<uuid:case_id>/reopen", methods=["POST"])
@blp.arguments(ReopenRequest)
@blp.response(200, CommandResponse)
@blp.alt_response(400, description="No reason given")
@blp.alt_response(403, description="Only the province's coordinators reopen a case")
@blp.alt_response(404, description="Unknown or not visible")
@blp.alt_response(409, description="The case is open, was closed as a duplicate, or the child is too old")
def reopen(body: dict[str, Any], case_id: str) -> dict[str, Any]:
    """The child is back: a closed case starts again with a new reception and listening (the
    pathway's active version, from the report)."""
    case = _coordinating(case_id)
    try:
        result = engine().reopen_case(case.id, body["reason"], actor(), urgent=body["urgent"])
    except ValidationFailed as error:
        abort(400, message=_("Invalid reopening."), errors={"json": error.errors})
    return present_command(reader(), result)


class SummaryArgs(Schema):
    lang = fields.String(load_default=None, validate=validate.OneOf(LANGUAGES))


@blp.route("/<uuid:case_id>/summary.pdf", methods=["GET"])
@blp.arguments(SummaryArgs, location="query")
@blp.doc(responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
@blp.response(200, description="The printable summary of the file, as an attachment")
@blp.alt_response(400, description="A language other than fr, ar or en")
@blp.alt_response(404, description="Unknown or not visible")
def summary_pdf(_args: dict[str, Any], case_id: str) -> Response:
    """A printable summary of the file as the caller may read it (``lang=fr|ar|en``, else the
    request's language): identity, report, every completed step's answers, open steps, judicial
    branch, contacts and documents (audited: ``summary_printed``)."""
    summary = case_summary_pdf.read_summary(reader(), case_id)
    body = case_summary_pdf.render(summary, settings().pdf_font)
    engine().record_access(actor(), "summary_printed", [summary.file.case.id], {"language": summary.language})
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{summary.filename}"'})


@blp.route("/<uuid:case_id>/subject-access", methods=["POST"])
@blp.arguments(subject_access_records.SubjectAccessRequest)
@blp.doc(responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}})
@blp.response(200, description="The child's whole file as a ZIP attachment named after the case reference")
@blp.alt_response(400, description="Invalid fields (each listed): nothing exported, nothing recorded")
@blp.alt_response(403, description="Only the province's coordinators export a file")
@blp.alt_response(404, description="Unknown or not visible")
@blp.alt_response(409, description="The file was anonymised: no personal data left to export")
def export_for_subject_access(body: dict[str, Any], case_id: str) -> Response:
    """The child's whole file for a written subject-access request by the child, a guardian or a
    legal representative: the summary PDF, every document, the history (JSON and CSV) and a README
    in the requested language saying what was withheld (the reporter, third parties, the
    professionals' names). Recorded afterwards as ``subject_access_exported``."""
    context = reader()
    case = case_readers.visible(context, case_id)
    if not policy.can_export_for_subject_access(context.principal, case):
        abort(403, message=_("Only the province's coordinators export a file for a subject-access request."))
    if case.anonymised_at is not None:
        abort(409, message=_(subject_access_records.ANONYMISED))
    request_ = subject_access_records.cleaned(body)
    export = subject_access.build(context, case.id, request_)
    try:
        himaya = engine()
        subject_access_records.record_export(himaya.db, case.id, request_, language=export.language,
                                             documents=export.documents, actor=actor(), now=himaya.now())
    except Conflict as conflict:
        abort(409, message=_(str(conflict)))
    return send_file(export.body, mimetype="application/zip", as_attachment=True, download_name=export.filename)
