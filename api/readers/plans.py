"""Provincial action plans and their versions."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine import plan_progress
from engine.errors import NotFound
from engine.models import ActionPlan, ActionPlanVersion, Case, Province, User

from .. import policy
from ..messages import N_
from .context import ReadContext
from .paging import page_rows
from .tasks import case_open_tasks, present_task


def _version(version: ActionPlanVersion) -> dict[str, Any]:
    return {"number": version.number, "status": version.status, "version_date": version.version_date,
            "validated_at": version.validated_at, "validated_by": version.validated_by}


def _plan(plan: ActionPlan, reference: str, version: ActionPlanVersion) -> dict[str, Any]:
    return {"id": plan.id, "case_id": plan.case_id, "reference": reference, "province": plan.province,
            "title": plan.title, "period_start": plan.period_start, "period_end": plan.period_end,
            "status": version.status, "version": _version(version)}


def plan_page(ctx: ReadContext, province: str | None, page: int, per_page: int) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's plans the caller may see, latest period first, each at its latest version)."""
    query = (select(ActionPlan, Case.reference).join(Case, Case.id == ActionPlan.case_id)
             .where(policy.plan_scope(ctx.principal)))
    if province:
        query = query.where(ActionPlan.province == province)
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, ActionPlan.period_start.desc(), ActionPlan.id)
        latest = {v.plan_id: v for v in session.scalars(
            select(ActionPlanVersion).where(ActionPlanVersion.plan_id.in_([p.id for p, _r in rows]))
            .order_by(ActionPlanVersion.number))}
    return total, [_plan(p, r, latest[p.id]) for p, r in rows]


def load_plan(ctx: ReadContext, plan_id: int, number: int | None = None, *, scoped: bool = True) -> dict[str, Any]:
    """The plan with one version (the latest by default) and its history (:class:`NotFound` out
    of scope, or for a version that does not exist). ``scoped=False``: for an action's pilot,
    who may read that action's follow-up (:func:`action_follow_up`), never the whole plan."""
    with ctx.engine.db.reading() as session:
        found = session.execute(select(ActionPlan, Case.reference, Case.pathway_version_id)
                                .join(Case, Case.id == ActionPlan.case_id)
                                .where(ActionPlan.id == plan_id, policy.plan_scope(ctx.principal) if scoped
                                       else ActionPlan.id == plan_id)).first()
        if found is None:
            raise NotFound(N_("No such action plan."))
        plan, reference, pathway_version_id = found
        versions = session.scalars(select(ActionPlanVersion).where(ActionPlanVersion.plan_id == plan.id)
                                   .order_by(ActionPlanVersion.number)).all()
        chosen = versions[-1] if number is None else next((v for v in versions if v.number == number), None)
        if chosen is None:
            raise NotFound(N_("No such version of the plan."))
        tasks = case_open_tasks(session, plan.case_id)
        province = session.get(Province, plan.province)
        progress = plan_progress.version_progress(session, chosen.id)
    today = ctx.now.date()
    body = _plan(plan, reference, chosen)
    body.update(content=chosen.content, comments=chosen.comments, versions=[_version(v) for v in versions],
                open_tasks=[present_task(ctx, t, reference, pathway_version_id) for t in tasks])
    body["province_name"] = (province.name_ar if ctx.language == "ar" else province.name_fr) if province else ""
    # The follow-up of the actions (engine.plan_progress): of a validated version (or of a superseded
    # one, as it was left); a draft has none.
    body["followed"] = chosen.status in plan_progress.FOLLOWED
    body["progress"] = progress
    body["late"] = sorted(a.path for a in plan_progress.actions(chosen.content)
                          if body["followed"] and plan_progress.is_late(a.content, progress.get(a.path), today))
    body["progress_summary"] = plan_progress.summary(chosen.content, progress, today)
    body["action_titles"] = {a.path: a.content.get("title", "") for a in plan_progress.actions(chosen.content)}
    return body


def late_actions(ctx: ReadContext) -> list[dict[str, Any]]:
    """The late actions of the caller's province's validated plans (the CPPE's dashboard)."""
    if not ctx.principal.province:
        return []
    with ctx.engine.db.reading() as session:
        return plan_progress.late_actions(session, ctx.principal.province, ctx.now.date())


def plan_of_case(ctx: ReadContext, case_id: str) -> int:
    """The id of the plan a case runs (just opened by the caller)."""
    with ctx.engine.db.reading() as session:
        plan_id = session.scalar(select(ActionPlan.id).where(ActionPlan.case_id == case_id))
    if plan_id is None:
        raise NotFound(N_("No such action plan."))
    return plan_id


def may_follow(ctx: ReadContext, plan: dict[str, Any], action: dict[str, Any]) -> bool:
    """Whether the reader updates this action's follow-up (its pilot, the technical committee)."""
    if not plan.get("followed"):
        return False
    principal = ctx.principal
    with ctx.engine.db.reading() as session:
        full_name = session.scalar(select(User.full_name).where(User.username == principal.username)) or ""
    updater = plan_progress.Updater(principal.username, principal.role, principal.province, full_name)
    return plan_progress.update_role(updater, plan["province"], action) is not None


def action_follow_up(ctx: ReadContext, plan_id: int, path: str) -> tuple[dict[str, Any], Any, bool]:
    """(the plan, the action, whether the reader updates it) for an action's follow-up: read by
    those who see the plan and by the action's pilot (a user of the province the action names);
    :class:`NotFound` for anyone else, an unknown plan or action."""
    plan = load_plan(ctx, plan_id, scoped=False)
    action = next((a for a in plan_progress.actions(plan["content"]) if a.path == path), None)
    if action is None:
        raise NotFound(N_("No such action in the plan."))
    follows = may_follow(ctx, plan, action.content)
    with ctx.engine.db.reading() as session:
        in_scope = session.scalar(select(ActionPlan.id).where(ActionPlan.id == plan_id,
                                                              policy.plan_scope(ctx.principal))) is not None
    if not (in_scope or follows):
        raise NotFound(N_("No such action plan."))
    return plan, action, follows
