"""``/api/v1/tasks``: the protocol steps each actor works on."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_smorest import abort
from sqlalchemy import select

from engine.errors import ValidationFailed
from engine.models import OpenTask, User

from .. import policy, queries
from ..schemas import AssignRequest, CommandResponse, CompleteRequest, TaskListArgs, TaskPage, TaskSchema
from .cases import command_response
from .common import Blueprint, actor, engine, load_principal, page_of, present_task, principal

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="Tasks (protocol steps)")
blp.before_request(load_principal)


def visible_task(task_id: str, *, acting: bool = False) -> tuple[OpenTask, str, int]:
    """The open task with its case reference and pathway version; 404 when not visible.

    For an action (``acting``) on a task that has ended in a case the caller can see, 409.
    """
    with engine().db.reading() as session:
        found = queries.visible_task(session, principal(), task_id)
        ended = acting and found is None and queries.ended_in_visible_case(session, principal(), task_id)
    if ended:
        abort(409, message=_("This task is no longer open."))
    if found is None:
        abort(404, message=_("No such open task."))
    return found


@blp.route("", methods=["GET"])
@blp.arguments(TaskListArgs, location="query")
@blp.response(200, TaskPage)
def list_tasks(args):
    """Open tasks: ``mine`` (claimed by me), ``available`` (ready, mine to take), ``all`` (visible)."""
    himaya = engine()
    now = himaya.now()
    with himaya.db.reading() as session:
        total, rows = queries.task_page(
            session, principal(), scope=args["scope"], now=now, page=args["page"], per_page=args["per_page"],
            state=args.get("state"), case_id=args.get("case_id"), step=args.get("step"), overdue=args.get("overdue"))
    items = [present_task(task, reference, version_id, now=now) for task, reference, version_id in rows]
    himaya.record_access(actor(), "tasks_listed", sorted({i["case_id"] for i in items}))
    return page_of(total, args["page"], args["per_page"], items)


@blp.route("/<uuid:task_id>", methods=["GET"])
@blp.response(200, TaskSchema)
@blp.alt_response(404, description="Unknown, ended or not visible")
def get_task(task_id):
    """The task with its form (form-js schema, labels in the caller's language)."""
    task, reference, version_id = visible_task(task_id)
    himaya = engine()
    himaya.record_access(actor(), "task_viewed", [task.case_id], {"task_id": task.id, "step": task.step})
    return present_task(task, reference, version_id, now=himaya.now(), with_form=True)


def _acting(task_id: str) -> tuple[OpenTask, str, int]:
    task, reference, version_id = visible_task(task_id, acting=True)
    if not policy.can_act(principal(), task):
        abort(403, message=_("This task belongs to another role."))
    return task, reference, version_id


@blp.route("/<uuid:task_id>/claim", methods=["POST"])
@blp.response(200, TaskSchema)
@blp.alt_response(403, description="Another role's task")
@blp.alt_response(404, description="Unknown, ended or not visible")
@blp.alt_response(409, description="Claimed by someone else")
def claim(task_id):
    """Take the task: it becomes yours until you complete or unclaim it."""
    task, reference, version_id = _acting(task_id)
    himaya = engine()
    row = himaya.claim(task.id, actor())
    return present_task(row, reference, version_id, now=himaya.now())


@blp.route("/<uuid:task_id>/unclaim", methods=["POST"])
@blp.response(200, TaskSchema)
@blp.alt_response(403, description="Another role's task")
@blp.alt_response(404, description="Unknown, ended or not visible")
@blp.alt_response(409, description="Claimed by someone else")
def unclaim(task_id):
    """Give the task back to the lane."""
    task, reference, version_id = _acting(task_id)
    himaya = engine()
    row = himaya.unclaim(task.id, actor())
    return present_task(row, reference, version_id, now=himaya.now())


@blp.route("/<uuid:task_id>/assign", methods=["POST"])
@blp.arguments(AssignRequest)
@blp.response(200, TaskSchema)
@blp.alt_response(400, description="No such user, or one who cannot take this task")
@blp.alt_response(403, description="Only the province's coordinators assign")
@blp.alt_response(404, description="Unknown, ended or not visible")
def assign(body, task_id):
    """Give the task to a user of its lane and territory (coordinators)."""
    task, reference, version_id = visible_task(task_id)
    if not policy.can_assign(principal(), task):
        abort(403, message=_("Only the province's coordinators assign tasks."))
    himaya = engine()
    with himaya.db.reading() as session:
        user = session.scalar(select(User).where(User.username == body["username"]))
    if user is None or not policy.may_be_assigned(user, task):
        abort(400, message=_("This user cannot take this task."),
              errors={"json": {"username": [_("No active user of this task's role and territory has this name.")]}})
    row = himaya.assign(task.id, user.username, actor())
    return present_task(row, reference, version_id, now=himaya.now())


@blp.route("/<uuid:task_id>/complete", methods=["POST"])
@blp.arguments(CompleteRequest)
@blp.response(200, CommandResponse)
@blp.alt_response(400, description="Form fields missing or invalid (each listed); nothing changes")
@blp.alt_response(403, description="Another role's task")
@blp.alt_response(404, description="Unknown or not visible")
@blp.alt_response(409, description="No longer open, or claimed by someone else")
def complete(body, task_id):
    """Complete the task with its form's data; returns the case's new open tasks."""
    task, _reference, _version_id = _acting(task_id)
    try:
        result = engine().complete(task.id, body["data"], actor())
    except ValidationFailed as error:
        abort(400, message=_("The form has invalid fields."), errors={"json": {"data": error.errors}})
    return command_response(result)


