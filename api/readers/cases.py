"""Children's cases: one case, the case list, the case file, its history and its diagram."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Select, func, or_, select, type_coerce
from sqlalchemy import case as sql_case
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from engine import crypto, identity, names
from engine.definitions.model import CheckedDefinition
from engine.errors import NotFound
from engine.intake import without_controls
from engine.models import Case, CaseEvent, CaseWorkflow, OpenTask, PathwayVersion, TaskRecord
from engine.vocabulary import PARTNER

from .. import policy
from ..auth import Principal
from ..messages import N_
from .answers import step_answers
from .children import child_brief
from .context import ReadContext
from .diagrams import element_labels, relabelled, waiting_timers
from .paging import count, page_rows
from .tasks import case_open_tasks, overdue, present_task

CHILD_FIELDS = ("identity_known", "alias", "first_name", "last_name", "sex", "birth_date", "age_estimate",
                "civil_status_registered", "nationality")
PARTNER_HIDDEN_REPORT = ("description", "reporter")  # a partner's task needs neither the account nor who gave it
MASKED_REPORT = ("location",)  # nor, when the child's identity is masked, where the child was found
# What a reader who may not know who the child is reads of the child (api.policy.sees_child_identity).
MASKED_CHILD = ("sex", "identity_known")
# What a partner reads of the consent: the legal basis and whether the child and guardian were told.
PARTNER_CONSENT = ("legal_basis", "child_informed", "guardian_informed")
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


def is_visible(ctx: ReadContext, case_id: str) -> bool:
    """Whether the principal may open this case (one indexed read, no row loaded)."""
    with ctx.engine.db.reading() as session:
        return session.scalar(select(Case.id).where(Case.id == str(case_id), policy.case_scope(ctx.principal))) \
            is not None


class PathwayRef(NamedTuple):
    """Which pathway version a case runs (what a list shows of it)."""

    key: str
    version: int


# The pathway columns a list selects: never the version's BPMN and forms (a sort would carry them).
PATHWAY_REF = (PathwayVersion.key, PathwayVersion.version)


def summary(case: Case, pathway: PathwayVersion | PathwayRef, version: int, today: date | None = None, *,
            masked: bool = False) -> dict[str, Any]:
    """A case in a list: who it is about (``masked``: its age and sex only), what, where, and how far."""
    return {
        "id": case.id, "reference": case.reference, "status": case.status, "risk_level": case.risk_level,
        "province": case.province, "unit": case.unit, "categories": case.categories,
        "opened_at": case.opened_at, "closed_at": case.closed_at, "closed_reason": case.closed_reason,
        "anonymised_at": case.anonymised_at, "duplicate_of": case.duplicate_of,
        "child": child_brief(case, today or case.updated_at.date(), masked=masked),
        "pathway": {"key": pathway.key, "version": pathway.version}, "version": version,
    }


def with_pathway(query: Select) -> Select:
    """Join the pathway version and the workflow state a case summary shows."""
    return query.join(PathwayVersion, PathwayVersion.id == Case.pathway_version_id).join(
        CaseWorkflow, CaseWorkflow.case_id == Case.id)


# "opened (or closed) within": the last 30, 90 or 365 days (the dashboard's periods).
WITHIN_DAYS = {"30d": 30, "90d": 90, "365d": 365}
SORTS = {
    "newest": (Case.opened_at.desc(), Case.id),
    "oldest": (Case.opened_at, Case.id),
    "reference": (Case.reference,),
    "risk": (sql_case((Case.risk_level == "high", 0), (Case.risk_level == "medium", 1), else_=2), Case.opened_at.desc(),
             Case.id),
    "updated": (Case.updated_at.desc(), Case.id),
}
REFERENCE = re.compile(r"^[A-Za-z]{2,8}-\d{4}(-\d{0,8})?$")
BIRTH_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
YEAR = re.compile(r"^(19|20)\d{2}$")


def _by_reference(q: str) -> bool:
    """Whether a search string is a case reference (which any reader of the case may type)."""
    return bool(REFERENCE.match(" ".join(without_controls(q).split())))


class SearchRefused(ValueError):
    """A search string that cannot be searched (too short, nothing to match): a 400 for the caller."""


def search_terms(q: str, keyring: crypto.Keyring) -> tuple[list[Any], list[frozenset[str]]]:
    """A search string as SQL conditions on ``Case`` (a reference, a birth date or year) and the
    key sets of its name tokens; :class:`SearchRefused` when nothing in it can be searched."""
    text = " ".join(without_controls(q).split())
    if len(text) < 2:
        raise SearchRefused(N_("Type at least 2 characters to search."))
    if REFERENCE.match(text):
        return [Case.reference.startswith(text.upper(), autoescape=True)], []
    conditions: list[Any] = []
    words = []
    for word in text.split():
        if BIRTH_DATE.match(word):
            try:
                born = date.fromisoformat(word)
                conditions.append(Case.child_birth_date_key == identity.birth_date_key(keyring, born))
            except ValueError:
                raise SearchRefused(N_("Write a birth date as YYYY-MM-DD.")) from None
        elif YEAR.match(word):
            conditions.append(Case.child_birth_year == int(word))
        else:
            words.append(word)
    tokens = names.query_keys(" ".join(words)) if words else []
    if not conditions and not tokens:
        raise SearchRefused(N_("Search by a name or alias (at least 2 letters), a reference, a birth date "
                               "(YYYY-MM-DD) or a year of birth."))
    return conditions, tokens


def case_page(ctx: ReadContext, filters: dict[str, Any], page: int, per_page: int
              ) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's cases) visible to the caller, newest first (or by ``sort``); ``q`` finds
    a child by reference, name or alias in either script, birth date or year."""
    principal = ctx.principal
    query = with_pathway(select(Case, *PATHWAY_REF, CaseWorkflow.version)).where(policy.case_scope(principal))
    for name in LIST_FILTERS:
        if filters.get(name):
            query = query.where(getattr(Case, name) == filters[name])
    for name, column in (("opened_within", Case.opened_at), ("closed_within", Case.closed_at)):
        if filters.get(name) in WITHIN_DAYS:  # opened (closed) in the last 30, 90 or 365 days
            query = query.where(column > ctx.now - timedelta(days=WITHIN_DAYS[filters[name]]))
    if filters.get("category"):
        if ctx.engine.db.engine.dialect.name == "postgresql":
            query = query.where(type_coerce(Case.categories, JSONB).contains([filters["category"]]))
        else:  # the JSON text holds each code quoted; codes are validated against the list
            query = query.where(func.instr(Case.categories, f'"{filters["category"]}"') > 0)
    tasks = []
    if filters.get("step"):
        tasks.append(OpenTask.step == filters["step"])
    if filters.get("assigned") == "me":
        tasks.append(OpenTask.assignee == principal.username)
    if filters.get("overdue"):
        tasks.append(overdue(ctx.now))
    if tasks:
        query = query.where(Case.id.in_(select(OpenTask.case_id).where(policy.task_scope(principal), *tasks)))
    if filters.get("q"):
        conditions, tokens = search_terms(filters["q"], ctx.engine.db.keys)
        query = query.where(*conditions)
        if tokens:
            query = query.where(identity.search_condition(tokens, policy.key_province(principal), ctx.engine.db.keys))
        if not _by_reference(filters["q"]):  # by name or birth date: only children the reader may know
            query = query.where(policy.identity_scope(principal))
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, *SORTS[filters.get("sort") or "newest"])
        linked = _continued_in(session, principal, {c.duplicate_of for c, *_ in rows if c.duplicate_of})
    today = ctx.now.date()
    items = [summary(c, PathwayRef(key, pathway_version), version, today,
                     masked=not policy.names_children_in_lists(principal, c.consent))
             for c, key, pathway_version, version in rows]
    for item in items:
        if item["duplicate_of"] in linked:
            item["duplicate_of_reference"], item["duplicate_of_visible"] = linked[item["duplicate_of"]]
    return total, items


def _continued_in(session: Session, principal: Principal, case_ids: set[str]) -> dict[str, tuple[str, bool]]:
    """``{case id: (reference, whether the reader may open it)}`` of the cases linked reports continue in."""
    if not case_ids:
        return {}
    seen = set(session.scalars(select(Case.id).where(Case.id.in_(case_ids), policy.case_scope(principal))))
    return {row.id: (row.reference, row.id in seen)
            for row in session.execute(select(Case.id, Case.reference).where(Case.id.in_(case_ids)))}


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
    element_names: dict[str, str] = field(default_factory=dict)
    timers: list[dict[str, Any]] = field(default_factory=list)  # the timers the case waits on: step, due_at
    definition: CheckedDefinition | None = None
    language: str = "fr"
    identity: bool = True  # the reader sees who the child is (api.policy.sees_child_identity)
    consent_notes: bool = True  # the reader reads the notes on consent (api.policy.sees_consent_notes)

    def child_brief(self, today: date) -> dict[str, Any]:
        """The child as the file's header shows it to this reader."""
        return child_brief(self.case, today, masked=not self.identity)

    def consent(self) -> dict[str, Any]:
        """The recorded consent as this reader may read it."""
        recorded = self.case.consent or {}
        if self.consent_notes:
            return recorded
        return {key: recorded[key] for key in PARTNER_CONSENT if key in recorded}

    def report(self) -> dict[str, Any]:
        """The report as this reader may read it."""
        hidden = (() if self.full else PARTNER_HIDDEN_REPORT) + (() if self.identity else MASKED_REPORT)
        return {key: value for key, value in (self.case.report or {}).items() if key not in hidden}

    def body(self) -> dict[str, Any]:
        """The file as ``GET /api/v1/cases/{id}`` answers it."""
        case = self.case
        body = summary(case, self.pathway, self.version, masked=not self.identity)
        other = {"first_name": case.child_first_name_other, "last_name": case.child_last_name_other}
        child = {**{name: getattr(case, f"child_{name}") for name in CHILD_FIELDS},
                 "names_other_script": other if any(other.values()) else None, "identity_masked": False}
        if not self.identity:  # every identifying field null: the reference, age and sex remain
            child = {**{name: (child[name] if name in MASKED_CHILD else None) for name in child},
                     "age": body["child"]["age"], "identity_masked": True}
        body.update({
            "child": child,
            "report": self.report(),
            "emergency": {"medical": case.emergency_medical, "immediate_danger": case.immediate_danger},
            "consent": self.consent(),
            "open_tasks": self.open_tasks,
            "completed_steps": self.completed_steps,
        })
        return body

    @functools.cached_property
    def diagram_labels(self) -> dict[str, str]:
        """``{element id: label}`` of the diagram's elements in the reader's language."""
        if self.definition is None:
            return {}
        return element_labels(self.pathway.bpmn_xml, self.definition, self.language)

    def markers(self) -> dict[str, Any]:
        """The steps to mark on the pathway's diagram: completed, open, overdue, and the timers
        the case waits on (``waiting``: their elements; ``timers``: each with its label and due date)."""
        labels = self.diagram_labels if self.timers else {}
        return {"completed": sorted({s["name"] for s in self.completed_steps}),
                "open": sorted({t["name"] for t in self.open_tasks if not t["overdue"]}),
                "overdue": sorted({t["name"] for t in self.open_tasks if t["overdue"]}),
                "waiting": sorted({t["step"] for t in self.timers}),
                "timers": [{**t, "label": labels.get(t["step"], t["step"])} for t in self.timers]}


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
        timers = waiting_timers(session, case.id)
    assert pathway is not None and version is not None  # foreign key and one workflow row per case
    compiled = ctx.definition(case.pathway_version_id)
    titles = {step: info.title(ctx.language) for step, info in compiled.user_tasks.items()}
    completed = [completed_step(ctx, compiled, r, titles, shows(r.role, r.sector)) for r in done]
    open_tasks = [present_task(ctx, t, case.reference, case.pathway_version_id) for t in open_rows
                  if shows(t.role, t.sector)]
    return CaseFile(case, pathway, version, full, open_tasks, completed, titles, compiled.element_names,
                    timers=timers, definition=compiled, language=ctx.language,
                    identity=policy.sees_child_identity(principal, case.consent),
                    consent_notes=policy.sees_consent_notes(principal))


def completed_step(ctx: ReadContext, compiled: CheckedDefinition, record: TaskRecord, titles: dict[str, str],
                   readable: bool) -> dict[str, Any]:
    """A completed step with what it recorded (``data``, and ``answers`` with the form's labels in
    the reader's language) when the reader may read it; empty otherwise."""
    data = record.data if readable else {}
    info = compiled.user_tasks.get(record.step)
    form = compiled.forms.get(info.form) if info is not None else None
    return {"task_id": record.id, "name": record.step, "title": titles.get(record.step, record.step),
            "role": record.role, "sector": record.sector,
            "completed_by": record.completed_by, "completed_at": record.ended_at, "readable": readable,
            "data": data, "answers": step_answers(form, data, ctx.language)}


def completed_task(ctx: ReadContext, task_id: str) -> tuple[Case, dict[str, Any]]:
    """A step that has ended, as its page shows what was recorded (:class:`NotFound` when its case
    is not visible, or it did not end by a completion)."""
    principal = ctx.principal
    with ctx.engine.db.reading() as session:
        found = session.execute(select(TaskRecord, Case).join(Case, Case.id == TaskRecord.case_id).where(
            TaskRecord.id == str(task_id), TaskRecord.outcome == "completed", policy.case_scope(principal))).first()
    if found is None:
        raise NotFound(N_("No such task."))
    record, case = found
    compiled = ctx.definition(case.pathway_version_id)
    titles = {step: info.title(ctx.language) for step, info in compiled.user_tasks.items()}
    readable = policy.sees_full_case(principal) or (record.role == PARTNER and record.sector == principal.sector)
    return case, completed_step(ctx, compiled, record, titles, readable)


# Reads of a file (who opened it, listed it, downloaded from it) are the access log's, not the
# timeline's: every kind the API records on a read ends so (engine.runtime.Engine.record_access).
ACCESS_SUFFIXES = ("_viewed", "_listed", "_downloaded", "_printed")


def is_access(kind: str) -> bool:
    return kind.endswith(ACCESS_SUFFIXES)


def _access_condition() -> Any:
    return or_(*(CaseEvent.kind.endswith(suffix) for suffix in ACCESS_SUFFIXES))


def history(ctx: ReadContext, case_id: str, *, newest_first: bool = False, limit: int | None = None,
            view: str = "all", offset: int = 0) -> tuple[Case, list[CaseEvent]]:
    """The case's events in time order (or newest first, a page of ``limit`` from ``offset``), with
    those of the reports linked into it as the same child (their ``case_id`` tells them apart).
    ``view``: ``all``; ``timeline`` (what happened to the child: no reads); ``access`` (reads only)."""
    with ctx.engine.db.reading() as session:
        case = visible_case(session, ctx.principal, case_id)
        query = _events_of(case)
        if view == "timeline":
            query = query.where(~_access_condition())
        elif view == "access":
            query = query.where(CaseEvent.case_id == case.id, _access_condition())
        order = CaseEvent.id.desc() if newest_first else CaseEvent.id
        events = list(session.scalars(query.order_by(order).limit(limit).offset(offset)))
    return case, events


def _events_of(case: Case) -> Select:
    linked = select(Case.id).where(Case.duplicate_of == case.id)
    return select(CaseEvent).where(or_(CaseEvent.case_id == case.id, CaseEvent.case_id.in_(linked)))


def event_page(ctx: ReadContext, case_id: str, view: str, page: int, per_page: int
               ) -> tuple[Case, int, list[CaseEvent]]:
    """(case, total, the page's events newest first) of the timeline or the access log."""
    case, events = history(ctx, case_id, newest_first=True, limit=per_page, offset=(page - 1) * per_page, view=view)
    with ctx.engine.db.reading() as session:
        query = _events_of(case)
        query = query.where(~_access_condition()) if view == "timeline" else query.where(
            CaseEvent.case_id == case.id, _access_condition())
        total = count(session, query)
    return case, total, events


def linked_references(ctx: ReadContext, case: Case) -> dict[str, str]:
    """``{case id: reference}`` of the reports linked into this case as the same child."""
    with ctx.engine.db.reading() as session:
        return {row.id: row.reference for row in session.execute(
            select(Case.id, Case.reference).where(Case.duplicate_of == case.id))}


def present_event(event: CaseEvent, linked: dict[str, str] | None = None) -> dict[str, Any]:
    body = {"id": event.id, "at": event.at, "actor": event.actor, "kind": event.kind, "step": event.step,
            "task_id": event.task_id, "detail": event.detail}
    if linked and event.case_id in linked:
        body["case_reference"] = linked[event.case_id]  # an event of a report linked into this case
    return body


def diagram(ctx: ReadContext, case_id: str) -> str:
    """The BPMN XML of the pathway version the case runs, its elements named in the reader's
    language (the stored BPMN is left as deployed)."""
    with ctx.engine.db.reading() as session:
        case = visible_case(session, ctx.principal, case_id)
        xml = session.scalar(select(PathwayVersion.bpmn_xml).where(PathwayVersion.id == case.pathway_version_id))
    if not xml or ctx.language == "fr":  # the BPMN's names are French
        return xml or ""
    return relabelled(xml, element_labels(xml, ctx.definition(case.pathway_version_id), ctx.language))
