"""``/api/v1/task-views``: the task list's filters a user saved under a name (their own only)."""
from __future__ import annotations

from typing import Any

from engine import worktray

from ..schemas import TaskViewList, TaskViewRequest, TaskViewSchema
from .common import Blueprint, engine, load_principal, principal

blp = Blueprint("task_views", __name__, url_prefix="/api/v1/task-views",
                description="Saved views of the task list (per user)")
blp.before_request(load_principal)


def present_view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "filters": row.filters, "created_at": row.created_at}


@blp.route("", methods=["GET"])
@blp.response(200, TaskViewList)
def list_views() -> dict[str, Any]:
    """The caller's saved views, by name."""
    return {"items": [present_view(v) for v in worktray.list_views(engine().db, principal().user_id)]}


@blp.route("", methods=["POST"])
@blp.arguments(TaskViewRequest)
@blp.response(201, TaskViewSchema)
@blp.alt_response(400, description="No name, a name too long, or 20 views already")
def save_view(body: dict[str, Any]) -> dict[str, Any]:
    """Save filters under a name (the same name again replaces them; at most 20 views)."""
    himaya = engine()
    row = worktray.save_view(himaya.db, principal().user_id, body["name"], body["filters"], himaya.now())
    return present_view(row)


@blp.route("/<int(max=9223372036854775807):view_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(404, description="No such view of the caller's")
def delete_view(view_id: int) -> None:
    """Delete one of the caller's saved views."""
    worktray.delete_view(engine().db, principal().user_id, view_id)
