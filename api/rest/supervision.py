"""``/api/v1/supervision``: overdue tasks, stalled cases, counts (coordinators, supervisors)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import distinct, func, select

from engine.models import Case, CaseWorkflow, OpenTask, PathwayVersion

from .. import policy
from ..schemas import OverdueArgs, StalledArgs, StalledPage, SummaryResponse, SupervisionArgs, TaskPage
from .common import Blueprint, actor, engine, load_principal, page_of, page_rows, present_task, principal, requires

blp = Blueprint("supervision", __name__, url_prefix="/api/v1/supervision",
                description="Supervision of the province (CAPE coordinators, CPPE)")
blp.before_request(load_principal)


def _filtered(query: Any, args: dict[str, Any], *, task_table: bool) -> Any:
    if args.get("unit"):
        query = query.where(Case.unit == args["unit"])
    if args.get("risk_level"):
        query = query.where(Case.risk_level == args["risk_level"])
    if args.get("step"):
        query = query.where(OpenTask.step == args["step"]) if task_table else query.where(
            Case.id.in_(select(OpenTask.case_id).where(OpenTask.step == args["step"])))
    return query


@blp.route("/overdue", methods=["GET"])
@blp.arguments(OverdueArgs, location="query")
@blp.response(200, TaskPage)
@blp.alt_response(403, description="Only coordinators and supervisors")
@requires(policy.can_supervise)
def overdue(args):
    """Overdue open tasks in the caller's territory, oldest due date first."""
    himaya = engine()
    now = himaya.now()
    # Filters on open_tasks only (the risk level through a subquery): counted without a join, and
    # the first page read in due-date order from ix_open_tasks_province_due.
    where = [policy.task_scope(principal()), OpenTask.due_at < now]
    if args.get("unit"):
        where.append(OpenTask.unit == args["unit"])
    if args.get("step"):
        where.append(OpenTask.step == args["step"])
    if args.get("risk_level"):
        where.append(OpenTask.case_id.in_(select(Case.id).where(Case.risk_level == args["risk_level"])))
    with himaya.db.reading() as session:
        total = session.scalar(select(func.count()).select_from(OpenTask).where(*where))
        rows = session.execute(select(OpenTask, Case.reference, Case.pathway_version_id)
                               .join(Case, Case.id == OpenTask.case_id).where(*where)
                               .order_by(OpenTask.due_at, OpenTask.id).limit(args["per_page"])
                               .offset((args["page"] - 1) * args["per_page"])).all()
    items = [present_task(task, reference, version_id, now=now) for task, reference, version_id in rows]
    himaya.record_access(actor(), "tasks_listed", sorted({i["case_id"] for i in items}))
    return page_of(total, args["page"], args["per_page"], items)


@blp.route("/stalled", methods=["GET"])
@blp.arguments(StalledArgs, location="query")
@blp.response(200, StalledPage)
@blp.alt_response(403, description="Only coordinators and supervisors")
@requires(policy.can_supervise)
def stalled(args):
    """Open cases where no step was completed for ``days`` days (14 by default)."""
    himaya = engine()
    now = himaya.now()
    limit = now - timedelta(days=args["days"])
    query = _filtered(select(Case, PathwayVersion, CaseWorkflow)
                      .join(PathwayVersion, PathwayVersion.id == Case.pathway_version_id)
                      .join(CaseWorkflow, CaseWorkflow.case_id == Case.id)
                      .where(policy.case_scope(principal()), Case.status == "open",
                             CaseWorkflow.last_progress_at < limit), args, task_table=False)
    with himaya.db.reading() as session:
        total, rows = page_rows(session, query, args, CaseWorkflow.last_progress_at, Case.id)
    items = [{
        "id": case.id, "reference": case.reference, "status": case.status, "risk_level": case.risk_level,
        "province": case.province, "unit": case.unit, "categories": case.categories, "opened_at": case.opened_at,
        "closed_at": case.closed_at, "pathway": {"key": pathway.key, "version": pathway.version},
        "version": runtime.version, "last_progress_at": runtime.last_progress_at,
        "days_without_progress": (now - runtime.last_progress_at).days,
    } for case, pathway, runtime in rows]
    himaya.record_access(actor(), "case_listed", [i["id"] for i in items])
    return page_of(total, args["page"], args["per_page"], items, days=args["days"])


@blp.route("/summary", methods=["GET"])
@blp.arguments(SupervisionArgs, location="query")
@blp.response(200, SummaryResponse)
@blp.alt_response(403, description="Only coordinators and supervisors")
@requires(policy.can_supervise)
def summary(args):
    """Counts of open cases by current step, by risk level and by unit."""
    himaya = engine()
    scope = [policy.case_scope(principal()), Case.status == "open"]
    with himaya.db.reading() as session:
        def counts(column: Any, *, with_tasks: bool = False) -> list[dict[str, Any]]:
            query = select(column, func.count(distinct(Case.id))).select_from(Case)
            if with_tasks:  # the task side filtered by the same territory, so its index serves
                query = query.join(OpenTask, OpenTask.case_id == Case.id).where(policy.task_scope(principal()))
            query = _filtered(query.where(*scope), args, task_table=with_tasks).group_by(column).order_by(column)
            return [{"key": key, "count": count} for key, count in session.execute(query)]

        total = session.scalar(_filtered(select(func.count(distinct(Case.id))).select_from(Case).where(*scope),
                                         args, task_table=False))
        return {"open_cases": total, "by_step": counts(OpenTask.step, with_tasks=True),
                "by_risk_level": counts(Case.risk_level), "by_unit": counts(Case.unit)}
