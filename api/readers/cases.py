"""Children's cases: one case, the case list, the case file, its history and its diagram."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.models import Case, CaseEvent, CaseWorkflow, PathwayVersion, TaskRecord
from engine.vocabulary import PARTNER

from .. import policy
from ..auth import Principal
from ..messages import N_
from .context import ReadContext
from .paging import page_rows
from .tasks import case_open_tasks, present_task

CHILD_FIELDS = ("first_name", "last_name", "sex", "birth_date", "age_estimate", "civil_status_registered",
                "nationality")
LIST_FILTERS = ("status", "province", "unit", "risk_level")


def visible_case(session: Session, principal: Principal, case_id: str) -> Case:
    """The child's case if the principal may see it; :class:`NotFound` otherwise (never reveal
    that it exists)."""
    case = session.scalar(select(Case).where(Case.id == str(case_id), policy.case_scope(principal)))
    if case is None:
        raise NotFound(N_("No such case."))
    return case


def visible(ctx: ReadContext, case_id: str) -> Case:
    """The case, read in its own session (:class:`NotFound` when not visible)."""
    with ctx.engine.db.reading() as session:
        return visible_case(session, ctx.principal, case_id)


def summary(case: Case, pathway: PathwayVersion, version: int) -> dict[str, Any]:
    """A case in a list: what it is about, where, and how far."""
    return {
        "id": case.id, "reference": case.reference, "status": case.status, "risk_level": case.risk_level,
        "province": case.province, "unit": case.unit, "categories": case.categories,
        "opened_at": case.opened_at, "closed_at": case.closed_at,
        "pathway": {"key": pathway.key, "version": pathway.version}, "version": version,
    }


def with_pathway(query: Select) -> Select:
    """Join the pathway version and the workflow state a case summary shows."""
    return query.join(PathwayVersion, PathwayVersion.id == Case.pathway_version_id).join(
        CaseWorkflow, CaseWorkflow.case_id == Case.id)


def case_page(ctx: ReadContext, filters: dict[str, Any], page: int, per_page: int
              ) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's cases) visible to the caller, newest first."""
    query = with_pathway(select(Case, PathwayVersion, CaseWorkflow.version)).where(policy.case_scope(ctx.principal))
    for name in LIST_FILTERS:
        if filters.get(name):
            query = query.where(getattr(Case, name) == filters[name])
    if filters.get("category"):
        if ctx.engine.db.engine.dialect.name == "postgresql":
            query = query.where(type_coerce(Case.categories, JSONB).contains([filters["category"]]))
        else:  # the JSON text holds each code quoted; codes are validated against the list
            query = query.where(func.instr(Case.categories, f'"{filters["category"]}"') > 0)
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, Case.opened_at.desc(), Case.id)
    return total, [summary(case, pathway, version) for case, pathway, version in rows]


@dataclass
class CaseFile:
    """A child's file as its reader may see it (partners: what their tasks need)."""

    case: Case
    pathway: PathwayVersion
    version: int
    full: bool
    open_tasks: list[dict[str, Any]]
    completed_steps: list[dict[str, Any]]
    step_titles: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The file as ``GET /api/v1/cases/{id}`` answers it."""
        case = self.case
        body = summary(case, self.pathway, self.version)
        body.update({
            "child": {name: getattr(case, f"child_{name}") for name in CHILD_FIELDS},
            "report": case.report if self.full else {k: v for k, v in case.report.items() if k != "description"},
            "emergency": {"medical": case.emergency_medical, "immediate_danger": case.immediate_danger},
            "consent": case.consent,
            "open_tasks": self.open_tasks,
            "completed_steps": self.completed_steps,
        })
        return body

    def markers(self) -> dict[str, list[str]]:
        """The steps to mark on the pathway's diagram: completed, open, overdue."""
        return {"completed": sorted({s["name"] for s in self.completed_steps}),
                "open": sorted({t["name"] for t in self.open_tasks if not t["overdue"]}),
                "overdue": sorted({t["name"] for t in self.open_tasks if t["overdue"]})}


def case_file(ctx: ReadContext, case_id: str) -> CaseFile:
    """The case with its open tasks and completed steps, each step's answers where the reader
    may read them (:class:`NotFound` when the case is not visible)."""
    principal = ctx.principal
    full = policy.sees_full_case(principal)

    def shows(role: str, sector: str | None) -> bool:
        return full or (role == PARTNER and sector == principal.sector)

    with ctx.engine.db.reading() as session:
        case = visible_case(session, principal, case_id)
        pathway = session.get(PathwayVersion, case.pathway_version_id)
        version = session.scalar(select(CaseWorkflow.version).where(CaseWorkflow.case_id == case.id))
        open_rows = case_open_tasks(session, case.id)
        done = session.scalars(select(TaskRecord).where(TaskRecord.case_id == case.id,
                                                        TaskRecord.outcome == "completed")
                               .order_by(TaskRecord.ended_at, TaskRecord.id)).all()
    assert pathway is not None and version is not None  # foreign key and one workflow row per case
    compiled = ctx.definition(case.pathway_version_id)
    titles = {step: info.title(ctx.language) for step, info in compiled.user_tasks.items()}
    completed = [{"task_id": r.id, "name": r.step, "title": titles.get(r.step, r.step),
                  "completed_by": r.completed_by, "completed_at": r.ended_at,
                  "data": r.data if shows(r.role, r.sector) else {}} for r in done]
    open_tasks = [present_task(ctx, t, case.reference, case.pathway_version_id) for t in open_rows
                  if shows(t.role, t.sector)]
    return CaseFile(case, pathway, version, full, open_tasks, completed, titles)


def history(ctx: ReadContext, case_id: str, *, newest_first: bool = False, limit: int | None = None
            ) -> tuple[Case, list[CaseEvent]]:
    """The case's events in time order (or the newest ``limit`` first, for the page)."""
    with ctx.engine.db.reading() as session:
        case = visible_case(session, ctx.principal, case_id)
        order = CaseEvent.id.desc() if newest_first else CaseEvent.id
        events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                      .order_by(order).limit(limit)))
    return case, events


def present_event(event: CaseEvent) -> dict[str, Any]:
    return {"id": event.id, "at": event.at, "actor": event.actor, "kind": event.kind, "step": event.step,
            "task_id": event.task_id, "detail": event.detail}


def diagram(ctx: ReadContext, case_id: str) -> str:
    """The BPMN XML of the pathway version the case runs."""
    with ctx.engine.db.reading() as session:
        case = visible_case(session, ctx.principal, case_id)
        xml = session.scalar(select(PathwayVersion.bpmn_xml).where(PathwayVersion.id == case.pathway_version_id))
    return xml or ""
