"""``/api/v1/supervision``: overdue tasks, stalled cases, counts (coordinators, supervisors)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from .. import policy
from ..readers import supervision
from ..schemas import OverdueArgs, StalledArgs, StalledPage, SummaryResponse, SupervisionArgs, TaskPage
from .common import Blueprint, actor, engine, load_principal, page_of, reader, requires

blp = Blueprint("supervision", __name__, url_prefix="/api/v1/supervision",
                description="Supervision of the province (CAPE coordinators, CPPE)")
blp.before_request(load_principal)


@blp.route("/overdue", methods=["GET"])
@blp.arguments(OverdueArgs, location="query")
@blp.response(200, TaskPage)
@blp.alt_response(403, description="Only coordinators and supervisors")
@requires(policy.can_supervise)
def overdue(args: dict[str, Any]) -> dict[str, Any]:
    """Overdue open tasks in the caller's territory, oldest due date first."""
    total, items = supervision.overdue_page(reader(), args, args["page"], args["per_page"])
    engine().record_access(actor(), "tasks_listed", sorted({i["case_id"] for i in items}))
    return page_of(total, args["page"], args["per_page"], items)


@blp.route("/stalled", methods=["GET"])
@blp.arguments(StalledArgs, location="query")
@blp.response(200, StalledPage)
@blp.alt_response(403, description="Only coordinators and supervisors")
@requires(policy.can_supervise)
def stalled(args: dict[str, Any]) -> dict[str, Any]:
    """Open cases where no step was completed for ``days`` days (``HIMAYA_STALLED_DAYS``, 14 by default)."""
    days = args.get("days") or engine().escalation.stalled_after.days
    total, items = supervision.stalled_page(reader(), timedelta(days=days), args, args["page"], args["per_page"])
    engine().record_access(actor(), "case_listed", [i["id"] for i in items])
    return page_of(total, args["page"], args["per_page"], items, days=days)


@blp.route("/summary", methods=["GET"])
@blp.arguments(SupervisionArgs, location="query")
@blp.response(200, SummaryResponse)
@blp.alt_response(403, description="Only coordinators and supervisors")
@requires(policy.can_supervise)
def summary(args: dict[str, Any]) -> dict[str, Any]:
    """Counts of open cases by current step, by risk level and by unit."""
    return supervision.counts(reader(), args)
