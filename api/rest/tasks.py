"""``/api/v1/tasks``: the protocol steps each actor works on."""
from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_babel import gettext as _

from engine import staffing
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.idempotency import Recorder
from engine.runtime import CommandResult
from engine.vocabulary import COORDINATOR

from .. import fast_dump, idempotent, policy
from ..context import settings
from ..readers import tasks as task_readers
from ..readers import territory
from ..readers.tasks import FoundTask, present_command, present_task
from ..schemas import (
    AssignRequest,
    CommandResponse,
    CompleteRequest,
    ReleaseAllRequest,
    ReleaseAllResult,
    ReleaseRequest,
    TaskListArgs,
    TaskPage,
    TaskSchema,
)
from .common import Blueprint, abort, actor, engine, idempotency_key, load_principal, page_of, principal, reader

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="Tasks (protocol steps)")
blp.before_request(load_principal)


@blp.route("", methods=["GET"])
@blp.arguments(TaskListArgs, location="query")
@blp.response(200, TaskPage)
def list_tasks(args: dict[str, Any]) -> Response:
    """Open tasks: ``mine`` (claimed by me), ``available`` (ready, mine to take), ``all`` (visible)."""
    total, items = task_readers.task_page(
        reader(), scope=args["scope"], page=args["page"], per_page=args["per_page"], state=args.get("state"),
        case_id=args.get("case_id"), step=args.get("step"), overdue_only=args.get("overdue"),
        unit=args.get("unit"), sort=args["sort"], zone=settings().zone)
    engine().record_access(actor(), "tasks_listed", sorted({i["case_id"] for i in items}))
    return fast_dump.respond(TaskPage, page_of(total, args["page"], args["per_page"], items))


@blp.route("/<uuid:task_id>", methods=["GET"])
@blp.response(200, TaskSchema)
@blp.alt_response(404, description="Unknown, ended or not visible")
def get_task(task_id: str) -> dict[str, Any]:
    """The task with its form (form-js schema, labels in the caller's language)."""
    context = reader()
    task, reference, version_id = task_readers.visible_task(context, task_id)
    engine().record_access(actor(), "task_viewed", [task.case_id], {"task_id": task.id, "step": task.step})
    return present_task(context, task, reference, version_id, with_form=True)


def _acting(task_id: str) -> FoundTask:
    """The task the caller acts on: 404 unseen, 409 ended, 403 another lane's."""
    found = task_readers.visible_task(reader(), task_id, ended_is_conflict=True)
    if not policy.can_act(principal(), found[0]):
        abort(403, message=_("This task belongs to another role."))
    return found


def _coordinating(task_id: str, refusal: str) -> FoundTask:
    """The task a coordinator decides on (assign, release): 404 unseen, 403 with ``refusal``
    for anyone but the coordinators of its province."""
    found = task_readers.visible_task(reader(), task_id)
    if not policy.can_assign(principal(), found[0]):
        abort(403, message=refusal)
    return found


@blp.route("/<uuid:task_id>/claim", methods=["POST"])
@blp.response(200, TaskSchema)
@blp.alt_response(403, description="Another role's task")
@blp.alt_response(404, description="Unknown, ended or not visible")
@blp.alt_response(409, description="Claimed by someone else")
def claim(task_id: str) -> dict[str, Any]:
    """Take the task: it becomes yours until you complete or unclaim it."""
    task, reference, version_id = _acting(task_id)
    row = engine().claim(task.id, actor())
    return present_task(reader(), row, reference, version_id)


@blp.route("/<uuid:task_id>/unclaim", methods=["POST"])
@blp.response(200, TaskSchema)
@blp.alt_response(403, description="Another role's task")
@blp.alt_response(404, description="Unknown, ended or not visible")
@blp.alt_response(409, description="Claimed by someone else")
def unclaim(task_id: str) -> dict[str, Any]:
    """Give the task back to the lane."""
    task, reference, version_id = _acting(task_id)
    row = engine().unclaim(task.id, actor())
    return present_task(reader(), row, reference, version_id)


@blp.route("/<uuid:task_id>/assign", methods=["POST"])
@blp.arguments(AssignRequest)
@blp.response(200, TaskSchema)
@blp.alt_response(400, description="No such user, or one who cannot take this task")
@blp.alt_response(403, description="Only the province's coordinators assign")
@blp.alt_response(404, description="Unknown, ended or not visible")
def assign(body: dict[str, Any], task_id: str) -> dict[str, Any]:
    """Give the task to a user of its lane and territory (coordinators)."""
    task, reference, version_id = _coordinating(task_id, _("Only the province's coordinators assign tasks."))
    user = task_readers.assignable_user(reader(), body["username"], task)
    if user is None:
        abort(400, message=_("This user cannot take this task."),
              errors={"json": {"username": [_("No active user of this task's role and territory has this name.")]}})
    row = engine().assign(task.id, user.username, actor())
    return present_task(reader(), row, reference, version_id)


@blp.route("/<uuid:task_id>/release", methods=["POST"])
@blp.arguments(ReleaseRequest)
@blp.response(200, TaskSchema)
@blp.alt_response(403, description="Only the province's coordinators release another person's task")
@blp.alt_response(404, description="Unknown, ended or not visible")
@blp.alt_response(409, description="The task is not claimed")
def release(body: dict[str, Any], task_id: str) -> dict[str, Any]:
    """Put a claimed task back in its lane, whoever holds it (coordinators: a colleague away or gone)."""
    task, reference, version_id = _coordinating(task_id,
                                                _("Only the province's coordinators release a task someone holds."))
    row = engine().release(task.id, actor(), reason=body.get("reason"))
    return present_task(reader(), row, reference, version_id)


@blp.route("/release-all", methods=["POST"])
@blp.arguments(ReleaseAllRequest)
@blp.response(200, ReleaseAllResult)
@blp.alt_response(400, description="Neither or both of username and unit, or not of the caller's province")
@blp.alt_response(403, description="Only coordinators")
def release_all(body: dict[str, Any]) -> dict[str, Any]:
    """Every task one person holds (a colleague away or gone), or everyone holds in one unit, back
    to its lane, in the coordinator's province; each release is in the case history."""
    context = reader()
    principal = context.principal
    if principal.role != COORDINATOR or principal.province is None:
        abort(403, message=_("Only the province's coordinators release a task someone holds."))
    username, unit = body.get("username"), body.get("unit")
    if (username is None) == (unit is None):
        abort(400, message=_("Give either a user name or a unit, not both."),
              errors={"json": {"username": [_("Give either a user name or a unit, not both.")]}})
    if username is not None and task_readers.province_user(context, username, principal.province) is None:
        abort(400, message=_("No user of your province has this name."),
              errors={"json": {"username": [_("No user of your province has this name.")]}})
    if unit is not None and unit not in {u.code for u in territory.units(context, principal.province)}:
        abort(400, message=_("No unit of your province has this code."),
              errors={"json": {"unit": [_("No unit of your province has this code.")]}})
    tasks = staffing.held(engine(), username=username, unit=unit, province=principal.province)
    released = staffing.release(engine(), tasks, actor(), reason=body.get("reason") or staffing.COORDINATOR_DECISION,
                                told=None)
    return {"count": len(released), "released": [
        {"task_id": t.task_id, "case_id": t.case_id, "case_reference": t.case_reference, "step": t.step}
        for t in released]}


@blp.route("/<uuid:task_id>/complete", methods=["POST"])
@blp.arguments(CompleteRequest)
@blp.doc(parameters=[idempotent.HEADER_PARAMETER])
@blp.response(200, CommandResponse)
@blp.alt_response(400, description="Form fields missing or invalid (each listed); nothing changes")
@blp.alt_response(403, description="Another role's task")
@blp.alt_response(404, description="Unknown or not visible")
@blp.alt_response(409, description="No longer open, or claimed by someone else (``reason`` says which)")
@blp.alt_response(422, description="The Idempotency-Key was used for another request")
def complete(body: dict[str, Any], task_id: str) -> Response:
    """Complete the task with its form's data; returns the case's new open tasks. With an
    ``Idempotency-Key`` header, the same request again answers the first answer (with
    ``Idempotent-Replayed: true``) and completes nothing twice; a 404 or 409 then carries a
    ``reason``: ``task_already_completed``, ``task_cancelled``, ``task_claimed_by_other``,
    ``case_transferred``, ``case_changed`` or ``task_not_found``."""
    key = idempotency_key()
    if key is None:
        task, _reference, _version_id = _acting(task_id)
        try:
            result = engine().complete(task.id, body["data"], actor())
        except ValidationFailed as error:
            abort(400, message=_("The form has invalid fields."), errors={"json": {"data": error.errors}})
        return fast_dump.respond(CommandResponse, present_command(reader(), result))
    return _complete_once(key, str(task_id), request.get_json())


def _complete_once(key: str, task_id: str, body: Any) -> Response:
    """A completion sent with a key: its stored answer if it ran already (even if the task has
    ended since), else the completion, its answer stored in its transaction."""
    def command(record: Recorder) -> object:
        task, _reference, _version_id = _acting(task_id)
        return engine().complete(task.id, body["data"], actor(), record=record)

    def present(result: CommandResult) -> tuple[int, dict[str, Any]]:
        return 200, dict(fast_dump.dumper(CommandResponse)(present_command(reader(), result)))

    try:
        return idempotent.respond(idempotent.run(key, f"POST /api/v1/tasks/{task_id}/complete", body, command,
                                                 present, user_id=principal().user_id))
    except ValidationFailed as error:
        abort(400, message=_("The form has invalid fields."), errors={"json": {"data": error.errors}})
    except (Conflict, NotFound) as error:
        status, reason, message = idempotent.task_refusal(reader(), task_id, error.status)
        return idempotent.refused(status, reason, message)
