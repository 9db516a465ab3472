"""The runtime: every command on a case is one database transaction.

1. lock the case row (``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), and
   write it back with ``WHERE version = <read version>``, so a lost race is a clean
   :class:`Conflict`, never a double step;
2. load the case's workflow state with its cached spec and apply the command;
3. run engine steps until the workflow waits again (service tasks call their handlers);
4. compact and save the workflow state;
5. update the projections (open tasks with due dates, waiting timers, case status);
6. append history events, task history and outbox messages; commit.

The command path uses SQLAlchemy Core statements, built once, on the transaction's connection:
a completion costs six statements and a commit, after one short read that validates its form
data before the lock (no slow check ever runs inside the write transaction).
Nothing here knows of HTTP; callers map :mod:`engine.errors` to responses.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol
from uuid import UUID

from marshmallow import ValidationError
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from handlers import registry as handler_registry
from handlers.registry import ServiceCall

from . import audit, identity, referrals, stalling, subjects, transfers
from .actor import SYSTEM, Actor
from .categories import rules as read_category_rules
from .clock import Clock, SystemClock, using_clock
from .db import Database
from .definitions import storage
from .definitions.cache import DefinitionCache
from .definitions.model import CheckedDefinition
from .durations import DEFAULT_TIMER_MINIMUM
from .errors import Conflict, Forbidden, NotFound, PathwayFailure, ValidationFailed
from .escalation import DEFAULT_POLICY, EscalationPolicy
from .intake import ChildSchema, age_on, check_age, check_consent, load_intake
from .intake import risk_level as compute_risk
from .models import (
    Case,
    CaseEvent,
    CaseTimer,
    CaseWorkflow,
    DuplicateReview,
    OpenTask,
    OutboxMessage,
    PathwayVersion,
    Province,
    ReferenceCounter,
    TaskDraft,
    TaskRecord,
    Unit,
    new_id,
)
from .script_engine import SCRIPT_ENGINE, service_dispatcher
from .vocabulary import COORDINATOR, RISK_LEVELS, Lane, receives_children
from .workflow_state import WorkflowCache, compact, dump_state, load_state

log = logging.getLogger("himaya.engine")

CASES, OPEN_TASKS, TASK_HISTORY = Case.__table__, OpenTask.__table__, TaskRecord.__table__
REVIEWS, DRAFTS = DuplicateReview.__table__, TaskDraft.__table__
EVENTS, TIMERS, STATES, OUTBOX = (CaseEvent.__table__, CaseTimer.__table__, CaseWorkflow.__table__,
                                  OutboxMessage.__table__)


# --- statements of the command path, built once (building one costs more than running it)

_CASE_AND_RUNTIME = (select(*(CASES.c[name] for name in ("id", "reference", "pathway_version_id", "status",
                                                           "risk_level", "province", "unit", "subject_kind")),
                            STATES.c.version, STATES.c.state, STATES.c.idle_since, STATES.c.visit_due_at)
                     .select_from(CASES.join(STATES, STATES.c.case_id == CASES.c.id)))
_TASK_OWNER = select(OPEN_TASKS.c.case_id).where(OPEN_TASKS.c.id == bindparam("task_id")).scalar_subquery()
_BY_ID = _CASE_AND_RUNTIME.where(CASES.c.id == bindparam("case_id"))
_BY_TASK = _CASE_AND_RUNTIME.where(CASES.c.id == _TASK_OWNER)
_CASE_BY_ID = {False: _BY_ID, True: _BY_ID.with_for_update(of=STATES)}
_CASE_BY_TASK = {False: _BY_TASK, True: _BY_TASK.with_for_update(of=STATES)}
_OPEN_ROWS = select(OPEN_TASKS).where(OPEN_TASKS.c.case_id == bindparam("case_id"))
_TASK_TO_COMPLETE = (select(OPEN_TASKS.c.step, OPEN_TASKS.c.state, OPEN_TASKS.c.assignee,
                            CASES.c.pathway_version_id, STATES.c.version)
                     .select_from(OPEN_TASKS.join(CASES, CASES.c.id == OPEN_TASKS.c.case_id)
                                  .join(STATES, STATES.c.case_id == CASES.c.id))
                     .where(OPEN_TASKS.c.id == bindparam("task_id")))
_ENDED_TASK = select(TASK_HISTORY.c.id).where(TASK_HISTORY.c.id == bindparam("task_id"))
_DELETE_OPEN = delete(OPEN_TASKS).where(OPEN_TASKS.c.id == bindparam("task_id"))
_DELETE_DRAFTS = delete(DRAFTS).where(DRAFTS.c.task_id.in_(bindparam("task_ids", expanding=True)))
_SET_ASSIGNEE = (update(OPEN_TASKS).where(OPEN_TASKS.c.id == bindparam("task_id"))
                 .values(state=bindparam("new_state"), assignee=bindparam("new_assignee")))
_INSERT = {table.name: insert(table) for table in (OPEN_TASKS, TIMERS, TASK_HISTORY, OUTBOX, EVENTS, STATES, CASES)}


@functools.cache
def _update_runtime(columns: tuple[str, ...]) -> Any:
    return (update(STATES).where(STATES.c.case_id == bindparam("key_case_id"),
                                 STATES.c.version == bindparam("key_version"))
            .values({name: bindparam(name) for name in columns}))


@functools.cache
def _update_case(columns: tuple[str, ...]) -> Any:
    return update(CASES).where(CASES.c.id == bindparam("key_case_id")).values({n: bindparam(n) for n in columns})


@dataclass
class TaskRow:
    """A row of ``open_tasks`` (what a caller may act on)."""

    id: str
    case_id: str
    pathway_key: str
    step: str
    role: str
    sector: str | None
    province: str
    unit: str
    state: str
    assignee: str | None
    form: str | None
    created_at: datetime
    due_at: datetime | None
    escalation_level: int
    next_escalation_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> TaskRow:
        mapping = row._mapping
        return cls(**{f.name: mapping[f.name] for f in fields(cls)})

    @property
    def lane(self) -> Lane:
        """Who works the task (role, province, and unit or sector)."""
        return Lane.of(self)

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class CaseState:
    """A case as a command reads it (case row and runtime row); :meth:`set` records changes."""

    id: str
    reference: str
    pathway_version_id: int
    status: str
    risk_level: str
    province: str
    unit: str
    version: int
    state: str | None = None
    subject_kind: str = "child"
    idle_since: datetime | None = None  # the stall clock (engine.stalling)
    visit_due_at: datetime | None = None
    changes: dict[str, Any] = field(default_factory=dict)

    CASE_COLUMNS: ClassVar[tuple[str, ...]] = (
        "id", "reference", "pathway_version_id", "status", "risk_level", "province", "unit", "subject_kind")
    RUNTIME_CHANGES: ClassVar[frozenset[str]] = frozenset({"last_progress_at", "stalled_since", "idle_since",
                                                           "visit_due_at"})

    def set(self, **values: Any) -> None:
        for name, value in values.items():
            if name in self.CASE_COLUMNS:
                setattr(self, name, value)
            self.changes[name] = value


@dataclass
class CommandResult:
    case_id: str
    case_reference: str
    case_status: str
    risk_level: str
    case_version: int
    open_tasks: list[TaskRow] = field(default_factory=list)
    pathway_version_id: int = 0
    # At a report: earlier reports that may be of the same child, in every province (the API
    # shows the caller those it may read; coordinators review them all).
    possible_duplicates: tuple[identity.Match, ...] = ()


# Called inside a command's transaction with its result (engine.idempotency.Recorder).
Recording = Callable[[Connection, datetime, CommandResult], None]


@dataclass(frozen=True)
class _ValidatedData:
    """Form data validated before the lock, for one step of one pathway version."""

    pathway_version_id: int
    step: str
    values: dict[str, Any]
    reference: dict[str, Any]  # what the step's event records of the answers (engine.audit)

    def holds_for(self, case: CaseState, row: TaskRow) -> bool:
        """Still the task's form under the lock (versions never change, so neither do their forms)."""
        return (self.pathway_version_id, self.step) == (case.pathway_version_id, row.step)


@dataclass(frozen=True)
class _CheckedReport:
    """A report's pathway version, its compiled definition, the child's age, the province and the
    young person's own consent, once every check passed."""

    pathway: PathwayVersion
    compiled: CheckedDefinition
    age: int
    province: Province
    young_person: dict[str, Any] | None


class _Unit:
    """One command's transaction: its connection and the rows it appends at the end."""

    def __init__(self, conn: Connection, now: datetime) -> None:
        self.conn = conn
        self.now = now
        self._session: Session | None = None
        self.open_rows: dict[str, list[TaskRow]] = {}
        self.events: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []
        self.ended_tasks: list[str] = []  # their drafts go with them, in this transaction
        self.outbox: list[dict[str, Any]] = []
        self.new_tasks: list[dict[str, Any]] = []
        self.new_timers: list[dict[str, Any]] = []
        self.timers_before: dict[str, dict[str, tuple[str, datetime]]] = {}
        self.saved: list[tuple[CaseState, BpmnWorkflow]] = []
        self.retagged: list[tuple[str, int, int]] = []
        self.shared: dict[str, Any] = {}  # case-wide values set by this command's steps

    @property
    def session(self) -> Session:
        """An ORM session on the same transaction, for the rarer reads that want one."""
        if self._session is None:
            self._session = Session(bind=self.conn, autoflush=False, expire_on_commit=False)
        return self._session

    def event(self, case: CaseState, actor: Actor, kind: str, step: str | None = None,
              task_id: str | None = None, detail: dict[str, Any] | None = None) -> None:
        payload = dict(detail or {})
        if actor.source:
            payload.setdefault("source", actor.source)
        self.events.append({"case_id": case.id, "at": self.now, "actor": actor.username, "kind": kind,
                            "step": step, "task_id": task_id, "detail": payload})

    def write(self) -> None:
        for table, rows in ((OPEN_TASKS, self.new_tasks), (TIMERS, self.new_timers), (TASK_HISTORY, self.history),
                            (OUTBOX, self.outbox), (EVENTS, self.events)):
            if rows:
                self.conn.execute(_INSERT[table.name], rows)
        if self.ended_tasks:
            self.conn.execute(_DELETE_DRAFTS, {"task_ids": self.ended_tasks})


class Engine:
    """Commands on cases; build one with :func:`engine.assembly.assemble_engine`, which gives it its hooks.

    ``subject_hooks`` follow the pathways whose subject is not a child, by subject kind (see
    :mod:`engine.subjects`): a case of a kind without a hook cannot move. ``timer_minimum`` is
    the shortest BPMN timer a deploy accepts (``HIMAYA_TIMER_MINIMUM``).
    """

    def __init__(self, database: Database, *, subject_hooks: Mapping[str, subjects.Hook],
                 clock: Clock | None = None, definitions: DefinitionCache | None = None,
                 workflow_cache_size: int = 1024, escalation: EscalationPolicy = DEFAULT_POLICY,
                 timer_minimum: timedelta = DEFAULT_TIMER_MINIMUM) -> None:
        self.db = database
        self.subject_hooks = subject_hooks
        self.escalation = escalation
        self.timer_minimum = timer_minimum
        self.clock: Clock = clock or SystemClock()
        self.definitions = definitions or DefinitionCache()
        self._hash_of_version: dict[int, str] = {}  # pathway versions never change once stored
        self.workflows = WorkflowCache(workflow_cache_size)

    def now(self) -> datetime:
        return self.clock.now()

    # -- definitions ----------------------------------------------------------------

    def deploy(self, xml: bytes | str, forms: dict[str, Any], actor: Actor = SYSTEM,
               activate: bool = True) -> storage.DeployResult:
        with self.db.transaction() as session:
            return storage.deploy(session, xml, forms, actor=actor.username, now=self.now(),
                                  timer_minimum=self.timer_minimum, activate=activate)

    def deploy_folder(self, folder: Path, actor: Actor = SYSTEM) -> list[storage.DeployResult]:
        with self.db.transaction() as session:
            return storage.deploy_folder(session, folder, actor=actor.username, now=self.now(),
                                         timer_minimum=self.timer_minimum)

    def definition(self, pathway_version_id: int) -> CheckedDefinition:
        """The compiled definition of a pathway version, opening a session only the first time."""
        known = self.definitions.by_hash(self._hash_of_version.get(pathway_version_id))
        if known is not None:
            return known
        with self.db.reading() as session:
            return self.compiled(session, pathway_version_id)

    def compiled(self, session: Session | _Unit, pathway_version_id: int) -> CheckedDefinition:
        """The compiled definition of a pathway version (read from the database once)."""
        known = self.definitions.by_hash(self._hash_of_version.get(pathway_version_id))
        if known is not None:
            return known
        if isinstance(session, _Unit):
            session = session.session
        row = session.get(PathwayVersion, pathway_version_id)
        if row is None:
            raise NotFound("No such pathway version.")
        self._hash_of_version[row.id] = row.content_hash
        return self.definitions.get(row)

    # -- commands ---------------------------------------------------------------------

    def start_case(self, payload: Any, actor: Actor, *, record: Recording | None = None) -> CommandResult:
        """Report a child: validate the intake, open the case and run the pathway's first steps.
        ``record`` (an idempotent command's :class:`engine.idempotency.Recorder`) stores the
        answer in the same transaction."""
        with self.db.reading() as session:  # the categories' reference data: an added one is usable at once
            category_rules = read_category_rules(session)
        try:
            intake = load_intake(payload, category_rules.codes)
        except ValidationError as exc:
            raise ValidationFailed("The report has invalid fields.", exc.messages) from None
        # Keys and the look-up of earlier reports are read work: done before the write transaction.
        child = intake["child"]
        who = identity.Identity.of_child(child, intake["report"]["received_at"].date())
        keys = identity.key_rows(who, self.db.keys)  # hashed with the index key, before the transaction
        born_key = identity.birth_date_key(self.db.keys, child.get("birth_date"))
        with self.db.reading() as session:
            duplicates = tuple(identity.find_duplicates(session.connection(), who))
        with self._unit() as unit:
            checked = self._checked_report(unit.session, intake, actor, unit.now)
            pathway, compiled, age, province = checked.pathway, checked.compiled, checked.age, checked.province
            young_person = checked.young_person
            emergency = intake["emergency"]
            risk = compute_risk(intake["categories"], emergency, compiled.properties, category_rules.levels)
            case = CaseState(id=new_id(), reference=self._next_reference(unit, province.reference_prefix),
                             pathway_version_id=pathway.id, status="open", risk_level=risk,
                             province=province.code, unit=intake["unit"], version=1)
            unit.conn.execute(_INSERT["cases"].values(
                id=case.id, reference=case.reference, pathway_version_id=pathway.id, status="open",
                risk_level=risk, province=case.province, unit=case.unit, categories=list(intake["categories"]),
                child_first_name=child["first_name"], child_last_name=child["last_name"], child_sex=child["sex"],
                child_identity_known=child["identity_known"], child_alias=child["alias"],
                child_first_name_other=(child["names_other_script"] or {}).get("first_name"),
                child_last_name_other=(child["names_other_script"] or {}).get("last_name"),
                child_birth_year=who.birth_year, child_birth_date_key=born_key, child_age_at_report=age,
                child_birth_date=child.get("birth_date"), child_age_estimate=child.get("age_estimate"),
                child_civil_status_registered=child.get("civil_status_registered"),
                child_nationality=child.get("nationality"),
                report=_stored_report(intake["report"]), report_received_on=intake["report"]["received_at"].date(),
                emergency_medical=bool(emergency.get("medical")),
                immediate_danger=bool(emergency.get("immediate_danger")),
                consent=_stored_consent(intake["consent"], young_person, actor, unit.now),
                consent_legal_basis=intake["consent"].get("legal_basis"),
                consent_informed=bool(intake["consent"].get("child_informed")
                                      or intake["consent"].get("guardian_informed")),
                opened_at=unit.now, closed_at=None, updated_at=unit.now,
                created_by=actor.username,
            ))
            identity.store_keys(unit.conn, case.id, case.province, keys, year=who.birth_year)
            self._raise_duplicate_reviews(unit, case, duplicates, actor)
            workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=SCRIPT_ENGINE)
            workflow.task_tree.data.update({
                "case_reference": case.reference, "province": case.province, "unit": case.unit,
                "categories": list(intake["categories"]), "risk_level": risk,
                **category_rules.prosecutor_data(intake["categories"]),
                "emergency_medical": bool(emergency.get("medical")),
                "immediate_danger": bool(emergency.get("immediate_danger")),
                "child_sex": child["sex"], "child_age": age,
                **{name: None for name in compiled.shared_data},
            })
            unit.event(case, actor, "case_opened", detail={
                "pathway": pathway.key, "version": pathway.version, "risk_level": risk,
                "categories": list(intake["categories"])})
            unit.timers_before[case.id] = {}
            unit.open_rows[case.id] = []
            result = self._advance(unit, case, compiled, workflow, actor, new_case=True)
            result.possible_duplicates = duplicates
            if record is not None:
                record(unit.conn, unit.now, result)
            return result

    def check_report(self, payload: Any, actor: Actor) -> None:
        """What :meth:`start_case` would refuse in this report, found by reading only (nothing is
        written): :class:`ValidationFailed` with its fields, :class:`Forbidden` for a pathway this
        role does not start. For a report to correct before it is sent (one refused at sync)."""
        with self.db.reading() as session:
            category_rules = read_category_rules(session)
            try:
                intake = load_intake(payload, category_rules.codes)
            except ValidationError as exc:
                raise ValidationFailed("The report has invalid fields.", exc.messages) from None
            self._checked_report(session, intake, actor, self.now())

    def _checked_report(self, session: Session, intake: dict[str, Any], actor: Actor,
                        now: datetime) -> _CheckedReport:
        """The checks of a report against its pathway, province and unit (reads only)."""
        pathway = storage.active_version(session, intake["pathway"])
        compiled = self.definitions.get(pathway)
        if compiled.properties.get("subject", subjects.CHILD) != subjects.CHILD:
            raise ValidationFailed("The report has invalid fields.", {"pathway": [
                "This pathway is not a child's pathway."]})
        start_roles = set(compiled.listed("start_roles"))
        if start_roles and actor.role not in start_roles and actor != SYSTEM:
            raise Forbidden(f"This pathway is started by: {', '.join(sorted(start_roles))}.")
        served = set(compiled.listed("categories"))
        if served and not set(intake["categories"]) & served:
            raise ValidationFailed("The report has invalid fields.", {"categories": [
                f"This pathway serves: {', '.join(sorted(served))}."]})
        try:
            age = check_age(intake, compiled.properties, now)
        except ValidationError as exc:
            raise ValidationFailed("The report has invalid fields.", exc.messages) from None
        province = session.get(Province, intake["province"])
        if province is None:
            raise ValidationFailed("The report has invalid fields.", {"province": ["Unknown province."]})
        known_unit = session.get(Unit, intake["unit"])
        if known_unit is None or known_unit.province != province.code or not known_unit.active:
            raise ValidationFailed("The report has invalid fields.", {"unit": ["Unknown unit for this province."]})
        unit_kinds = set(compiled.listed("unit_kinds"))
        if unit_kinds and known_unit.kind not in unit_kinds:  # a pathway of its own units (aftercare)
            raise ValidationFailed("The report has invalid fields.", {"unit": [
                f"This pathway's cases are filed to units of kind: {', '.join(sorted(unit_kinds))}."]})
        if not unit_kinds and not receives_children(known_unit.kind):  # a SAS team reports to the UPE or CAPE
            raise ValidationFailed("The report has invalid fields.", {"unit": [
                "This unit does not receive children: choose a UPE or the CAPE of the province."]})
        try:
            young_person = check_consent(intake, compiled.properties, now)
        except ValidationError as exc:
            raise ValidationFailed("The report has invalid fields.", exc.messages) from None
        return _CheckedReport(pathway, compiled, age, province, young_person)

    def _raise_duplicate_reviews(self, unit: _Unit, case: CaseState, duplicates: tuple[identity.Match, ...],
                                 actor: Actor) -> None:
        """One review per possible earlier report, for the coordinators of both provinces (told by
        a notification); the new case's history says a review is open, never which case it names."""
        if not duplicates:
            return
        unit.conn.execute(insert(REVIEWS), [{
            "case_id": case.id, "match_id": m.case_id, "case_province": case.province, "match_province": m.province,
            "score": m.score, "reasons": list(m.reasons), "state": "pending", "raised_at": unit.now}
            for m in duplicates])
        unit.event(case, actor, "duplicate_suspected", detail={"reviews": len(duplicates)})
        for province in sorted({case.province, *(m.province for m in duplicates)}):
            unit.conn.execute(_INSERT["outbox"].values(
                created_at=unit.now, case_id=case.id, topic="duplicate_review", channel="notify",
                recipient=Lane(COORDINATOR, province).recipients(),
                payload={"case_id": case.id, "case_reference": case.reference, "link": "/duplicates"},
                status="pending", attempts=0, next_attempt_at=unit.now))

    def start_subject(self, pathway_key: str, *, kind: str, province: str, unit_code: str, data: dict[str, Any],
                      actor: Actor, create: Callable[[Connection, CaseState, datetime], None]) -> CommandResult:
        """Open a pathway whose subject is not a child (see :mod:`engine.subjects`).

        ``create`` inserts the subject's own row in the same transaction, once the case row
        exists; ``data`` seeds the workflow (deadlines, pre-filled figures).
        """
        with self._unit() as unit:
            pathway = storage.active_version(unit.session, pathway_key)
            compiled = self.definitions.get(pathway)
            if compiled.properties.get("subject", subjects.CHILD) != kind:
                raise PathwayFailure(f"the active '{pathway_key}' pathway is not about a {kind}")
            known = unit.session.get(Province, province)
            if known is None:
                raise NotFound("No such province.")
            case = CaseState(id=new_id(), reference=self._next_reference(unit, known.reference_prefix),
                             pathway_version_id=pathway.id, status="open", risk_level="low",
                             province=province, unit=unit_code, version=1, subject_kind=kind)
            unit.conn.execute(_INSERT["cases"].values(
                id=case.id, reference=case.reference, pathway_version_id=pathway.id, status="open",
                risk_level="low", province=province, unit=unit_code, categories=[], subject_kind=kind,
                report={}, consent={}, emergency_medical=False, immediate_danger=False,
                opened_at=unit.now, closed_at=None, updated_at=unit.now, created_by=actor.username))
            create(unit.conn, case, unit.now)
            workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=SCRIPT_ENGINE)
            workflow.task_tree.data.update({"case_reference": case.reference, "province": province,
                                            "unit": unit_code, "risk_level": "low",
                                            **{name: None for name in compiled.shared_data}, **data})
            unit.event(case, actor, "case_opened", detail={
                "pathway": pathway.key, "version": pathway.version, "subject": kind})
            unit.timers_before[case.id] = {}
            unit.open_rows[case.id] = []
            return self._advance(unit, case, compiled, workflow, actor, new_case=True)

    def claim(self, task_id: str, actor: Actor) -> TaskRow:
        with self._locked_task(task_id) as (unit, case, row):
            if row.state == "claimed":
                if row.assignee == actor.username:
                    return row
                raise Conflict("The task is claimed by someone else.")
            self._set_assignee(unit, case, row, actor.username)
            unit.event(case, actor, "task_claimed", row.step, row.id)
            return row

    def unclaim(self, task_id: str, actor: Actor, *, force: bool = False) -> TaskRow:
        with self._locked_task(task_id) as (unit, case, row):
            if row.state != "claimed":
                return row
            if row.assignee != actor.username and not force:
                raise Conflict("The task is claimed by someone else.")
            previous = row.assignee
            self._set_assignee(unit, case, row, None)
            unit.event(case, actor, "task_unclaimed", row.step, row.id, {"previous_assignee": previous})
            return row

    def release(self, task_id: str, actor: Actor, *, reason: str | None = None) -> TaskRow:
        """A claimed task back to its lane, whoever holds it (a coordinator's decision, or the
        account of the holder disabled); a task that is not claimed is a :class:`Conflict`."""
        with self._locked_task(task_id) as (unit, case, row):
            if row.state != "claimed":
                raise Conflict("The task is not claimed: it is already in its lane.")
            previous = row.assignee
            self._set_assignee(unit, case, row, None)
            detail = {"previous_assignee": previous, **({"reason": reason} if reason else {})}
            unit.event(case, actor, "task_released", row.step, row.id, detail)
            return row

    def assign(self, task_id: str, username: str, actor: Actor) -> TaskRow:
        if not isinstance(username, str) or not username.strip() or len(username) > 100:
            raise ValidationFailed("Invalid assignee.", {"username": ["Give a user name."]})
        with self._locked_task(task_id) as (unit, case, row):
            previous = row.assignee
            self._set_assignee(unit, case, row, username)
            unit.event(case, actor, "task_assigned", row.step, row.id,
                       {"assignee": username, "previous_assignee": previous})
            return row

    def complete(self, task_id: str, data: Any, actor: Actor, *, expected_version: int | None = None,
                 record: Recording | None = None) -> CommandResult:
        """Complete an open user task with form data validated against its form.

        The data are validated before the case is locked (:meth:`_validate_before_lock`): no
        form check, however slow, runs inside the write transaction.
        """
        validated = self._validate_before_lock(task_id, data, actor, expected_version)
        with self._locked_task(task_id, expected_version) as (unit, case, row):
            self._refuse_completion_by(row, actor)
            if validated is None or not validated.holds_for(case, row):
                raise Conflict("The case changed meanwhile: reload it and try again.")
            values = validated.values
            compiled = self.compiled(unit, case.pathway_version_id)
            workflow = self._load_workflow(unit, case, compiled)
            spiff_task = workflow.tasks.get(UUID(row.id))
            if spiff_task is None or spiff_task.state != TaskState.READY:
                raise Conflict("The task is no longer open.")
            spiff_task.data.update(values)
            with using_clock(self.clock):
                try:
                    spiff_task.run()
                except SpiffWorkflowException as exc:
                    raise PathwayFailure(f"The pathway could not proceed: {exc}") from None
            unit.shared.update({k: spiff_task.data[k] for k in compiled.shared_data if k in values})
            self._end_task(unit, row, "completed", actor.username, values)
            unit.event(case, actor, "step_completed", row.step, row.id, {
                **validated.reference, "overdue": bool(row.due_at and row.due_at < unit.now)})
            case.set(last_progress_at=unit.now, stalled_since=None)
            result = self._advance(unit, case, compiled, workflow, actor)
            if record is not None:
                record(unit.conn, unit.now, result)
            return result

    def _validate_before_lock(self, task_id: str, data: Any, actor: Actor,
                              expected_version: int | None) -> _ValidatedData | None:
        """The data checked against the task's form, in a short read before any write transaction.

        Refuses as the locked path would, in the same order (a case changed since it was read, a
        task claimed by someone else, then the form's field errors). None when the task is not
        open: the locked read then says whether it ended (409) or never existed (404).
        """
        _check_task_id(task_id)
        with self.db.reading() as session:
            task = session.execute(_TASK_TO_COMPLETE, {"task_id": task_id}).first()
            if task is None:
                return None
            compiled = self.compiled(session, task.pathway_version_id)
        if expected_version is not None and task.version != expected_version:
            raise Conflict("The case changed since you read it: reload it.")
        self._refuse_completion_by(task, actor)
        try:
            values = compiled.form_for(task.step).validate(data if data is not None else {})
        except ValidationError as exc:
            raise ValidationFailed("The form has invalid fields.", exc.messages) from None
        return _ValidatedData(task.pathway_version_id, task.step, values,
                              audit.answers_reference(self.db.keys, values))

    @staticmethod
    def _refuse_completion_by(task: Any, actor: Actor) -> None:
        """A task claimed by someone else is theirs to complete."""
        if task.state == "claimed" and task.assignee != actor.username:
            raise Conflict("The task is claimed by someone else.")

    def fire_due_timers(self, *, limit: int = 500) -> int:
        """Fire every BPMN timer due by the clock's now; returns how many cases moved."""
        now = self.now()
        with self.db.reading() as session:
            case_ids = list(session.scalars(
                select(TIMERS.c.case_id).where(TIMERS.c.due_at <= now).group_by(TIMERS.c.case_id)
                .order_by(TIMERS.c.case_id).limit(limit)))
        moved = 0
        for case_id in case_ids:
            with self._unit() as unit:
                case = self._lock_case(unit, case_id)
                due = unit.conn.execute(select(TIMERS.c.step, TIMERS.c.task_id, TIMERS.c.due_at).where(
                    TIMERS.c.case_id == case_id, TIMERS.c.due_at <= now)).all()
                if case.status != "open" or not due:
                    continue
                compiled = self.compiled(unit, case.pathway_version_id)
                workflow = self._load_workflow(unit, case, compiled)
                with using_clock(self.clock):
                    workflow.refresh_timers()
                for timer in due:
                    unit.event(case, SYSTEM, "timer_fired", timer.step, timer.task_id,
                               {"due_at": timer.due_at.isoformat()})
                self._advance(unit, case, compiled, workflow, SYSTEM)
                moved += 1
        return moved

    def set_risk_level(self, case_id: str, level: str, reason: str, actor: Actor) -> CommandResult:
        """A coordinator raises or lowers the risk level; open tasks' due dates follow."""
        errors = {}
        if level not in RISK_LEVELS:
            errors["risk_level"] = [f"Must be one of: {', '.join(RISK_LEVELS)}."]
        if not isinstance(reason, str) or not reason.strip():
            errors["reason"] = ["Give a reason."]
        if errors:
            raise ValidationFailed("Invalid risk change.", errors)
        with self._unit() as unit:
            case = self._lock_case(unit, case_id)
            if case.status != "open":
                raise Conflict("The case is closed.")
            previous = case.risk_level
            if previous == level:
                return self._result(case, self._open_rows(unit, case.id))
            compiled = self.compiled(unit, case.pathway_version_id)
            workflow = self._load_workflow(unit, case, compiled)
            share(workflow, {"risk_level": level})
            case.set(risk_level=level)
            for row in self._open_rows(unit, case.id):
                rule = compiled.user_tasks[row.step].due_rule
                if rule.data_field is not None:  # a fixed deadline, whatever the risk
                    continue
                row.due_at = rule.due_at(row.created_at, level)
                row.next_escalation_at = self.escalation.next_rung_at(row.escalation_level, row.created_at, row.due_at)
                unit.conn.execute(update(OPEN_TASKS).where(OPEN_TASKS.c.id == row.id).values(
                    due_at=row.due_at, next_escalation_at=row.next_escalation_at))
            unit.event(case, actor, "risk_changed", detail={"from": previous, "to": level, "reason": reason.strip()})
            return self._advance(unit, case, compiled, workflow, actor)

    def correct_identity(self, case_id: str, payload: Any, actor: Actor) -> CommandResult:
        """Correct the child's identity (with a reason): the fields given replace the recorded
        ones, the whole identity is checked again, and the search keys follow."""
        if not isinstance(payload, dict):
            raise ValidationFailed("Invalid identity correction.", {"_schema": ["Expected a JSON object."]})
        reason = payload.get("reason")
        reason = reason.strip() if isinstance(reason, str) else ""
        changes = {k: v for k, v in payload.items() if k != "reason"}
        errors: dict[str, Any] = {}
        if not reason:
            errors["reason"] = ["Say why the identity is corrected."]
        elif len(reason) > 2000:
            errors["reason"] = ["Keep the reason to 2000 characters at most."]
        unknown = sorted(set(changes) - set(IDENTITY_FIELDS))
        if unknown:
            errors.update({name: ["This field cannot be corrected here."] for name in unknown})
        if not changes and not unknown:
            errors["_schema"] = ["Give at least one field to correct."]
        if errors:
            raise ValidationFailed("Invalid identity correction.", errors)
        with self.db.reading() as session:  # read, merge and check before the write transaction
            before = session.get(Case, str(case_id))
            if before is None or before.subject_kind != subjects.CHILD:
                raise NotFound("No such case.")
            recorded = identity_of(before)
            compiled = self.compiled(session, before.pathway_version_id)
        merged = {**recorded, **changes}
        try:
            child = ChildSchema().load(merged)
            received = datetime.fromisoformat(before.report.get("received_at") or before.opened_at.isoformat())
            age = check_age({"child": child, "report": {"received_at": received}}, compiled.properties, received)
        except ValidationError as exc:
            messages = exc.messages.get("child", exc.messages) if isinstance(exc.messages, dict) else exc.messages
            raise ValidationFailed("Invalid identity correction.", messages) from None
        who = identity.Identity.of_child(child, before.opened_at.date())
        keys = identity.key_rows(who, self.db.keys)
        stored = _identity_columns(child, who)
        derived = {"child_age_at_report": age,
                   "child_birth_date_key": identity.birth_date_key(self.db.keys, child.get("birth_date"))}
        with self._unit() as unit:
            case = self._lock_case(unit, str(case_id))
            now_recorded = unit.conn.execute(select(*(CASES.c[c] for c in stored)).where(CASES.c.id == case.id)).one()
            if dict(now_recorded._mapping) != {c: getattr(before, c) for c in stored}:
                raise Conflict("The identity changed meanwhile: reload the case and try again.")
            changed = sorted(c.removeprefix("child_") for c in stored if stored[c] != getattr(before, c))
            if not changed:
                return self._result(case, self._open_rows(unit, case.id))
            case.set(**stored, **derived)
            identity.store_keys(unit.conn, case.id, case.province, keys, year=who.birth_year, replace=True)
            unit.event(case, actor, "identity_corrected", detail={"fields": changed, "reason": reason})
            compiled = self.compiled(unit, case.pathway_version_id)
            workflow = self._load_workflow(unit, case, compiled)
            if case.status == "open":
                share(workflow, {"child_sex": child["sex"], "child_age": age})
            return self._advance(unit, case, compiled, workflow, actor)

    def decide_duplicate(self, review_id: int, decision: str, actor: Actor, *, note: str | None = None,
                         keep: str | None = None) -> dict[str, Any]:
        """Confirm (the two reports are one child: the cases are linked, the one not kept is closed
        with reason ``duplicate``) or reject a possible duplicate; returns the review as decided."""
        errors: dict[str, list[str]] = {}
        if decision not in ("confirm", "reject"):
            errors["decision"] = ["Choose confirm or reject."]
        if note is not None and (not isinstance(note, str) or len(note) > 2000):
            errors["note"] = ["Keep the note to 2000 characters at most."]
        if errors:
            raise ValidationFailed("Invalid decision.", errors)
        with self._unit() as unit:
            review = unit.conn.execute(select(REVIEWS).where(REVIEWS.c.id == review_id)).first()
            if review is None:
                raise NotFound("No such review.")
            if review.state != "pending":
                raise Conflict("This review has been decided already.")
            if keep is not None and keep not in (review.case_id, review.match_id):
                raise ValidationFailed("Invalid decision.", {"keep": ["Keep one of the two cases of the review."]})
            kept = keep or _default_kept(unit.conn, review)
            closing = review.case_id if kept == review.match_id else review.match_id
            values: dict[str, Any] = {"state": "confirmed" if decision == "confirm" else "rejected",
                                      "decided_by": actor.username, "decided_at": unit.now,
                                      "note": note.strip() if note else None,
                                      "kept_id": kept if decision == "confirm" else None}
            written = unit.conn.execute(update(REVIEWS).where(REVIEWS.c.id == review_id,
                                                              REVIEWS.c.state == "pending").values(**values))
            if written.rowcount != 1:
                raise Conflict("This review has been decided already.")
            if decision == "reject":
                case = self._lock_case(unit, review.case_id)
                unit.event(case, actor, "duplicate_rejected", detail={"review": review_id})
                self._save_case(unit, case)
            else:
                self._link_duplicate(unit, kept, closing, actor)
            return {**dict(review._mapping), **values}

    def _link_duplicate(self, unit: _Unit, kept_id: str, closing_id: str, actor: Actor) -> None:
        kept = self._lock_case(unit, kept_id)
        closing = self._lock_case(unit, closing_id)
        linked = unit.conn.execute(select(CASES.c.duplicate_of).where(CASES.c.id.in_([kept_id, closing_id]),
                                                                        CASES.c.duplicate_of.is_not(None))).first()
        if linked is not None:
            raise Conflict("One of these cases is already linked as a duplicate: review the case it continues in.")
        closing.set(duplicate_of=kept.id)
        unit.event(kept, actor, "duplicate_linked", detail={"case_id": closing.id, "reference": closing.reference})
        self._save_case(unit, kept)
        unit.event(closing, actor, "linked_as_duplicate", detail={"case_id": kept.id, "reference": kept.reference})
        if closing.status != "open":
            self._save_case(unit, closing)
            return
        compiled = self.compiled(unit, closing.pathway_version_id)
        workflow = self._load_workflow(unit, closing, compiled)
        workflow.cancel()
        closing.set(status="closed", closed_at=unit.now, closed_reason="duplicate")
        unit.event(closing, actor, "case_closed", detail={"reason": "duplicate"})
        self._advance(unit, closing, compiled, workflow, actor)

    # -- a case that moves, ends early or comes back ----------------------------------------

    def request_transfer(self, case_id: str, payload: Any, actor: Actor) -> dict[str, Any]:
        """Ask for the case to move to another unit (of its province or another): pending until
        the receiving province's coordinators answer (:mod:`engine.transfers`)."""
        with self.db.reading() as session:  # the receiving unit checked before the write transaction
            request = transfers.check_request(session.connection(), payload)
        with self._unit() as unit:
            case = self._lock_case(unit, case_id)
            if case.status != "open" or case.subject_kind != subjects.CHILD:
                raise Conflict("The case is closed: it cannot be transferred.")
            if case.unit == request.unit:
                raise ValidationFailed("Invalid transfer.", {"unit": ["The case is already filed to this unit."]})
            if transfers.pending_of(unit.conn, case.id) is not None:
                raise Conflict("A transfer of this case is already pending.")
            row = transfers.create(unit.conn, case=case, request=request, actor=actor.username, now=unit.now,
                                   policy=self.escalation)
            unit.event(case, actor, "transfer_requested", detail={**transfers.summary(row), "reason": request.reason})
            self._touch(unit, case)
            return row

    def answer_transfer(self, transfer_id: str, accept: bool, actor: Actor, *, province: str | None,
                        reason: Any = None) -> dict[str, Any]:
        """Accept (the case, its open tasks and its history move to the new unit) or decline, with
        a reason, a transfer addressed to ``province``; answered meanwhile is a :class:`Conflict`."""
        errors: dict[str, list[str]] = {}
        text = transfers.check_reason(reason, errors) if not accept else None
        if errors:
            raise ValidationFailed("Invalid answer.", errors)
        state = transfers.ACCEPTED if accept else transfers.DECLINED
        with self._unit() as unit:
            transfer = transfers.addressed(unit.conn, transfer_id, province)
            case = self._lock_case(unit, transfer.case_id)
            if not transfers.decide(unit.conn, transfer.id, state, actor=actor.username, now=unit.now, reason=text):
                raise Conflict("This transfer has been answered already.")
            detail = transfers.summary(transfer._mapping)
            if not accept:
                unit.event(case, actor, "transfer_declined", detail={**detail, "reason": text})
                transfers.tell_answer(unit.conn, unit.now, case, transfer, "transfer_declined")
                self._touch(unit, case)
            else:
                moved = transfers.move(unit.conn, case.id, transfer)
                unit.open_rows.pop(case.id, None)  # read again: the rows now carry the new unit
                case.set(province=transfer.to_province, unit=transfer.to_unit)
                unit.event(case, actor, "transfer_accepted", detail={**detail, "open_tasks": moved})
                transfers.tell_answer(unit.conn, unit.now, case, transfer, "transfer_accepted")
                compiled = self.compiled(unit, case.pathway_version_id)
                workflow = self._load_workflow(unit, case, compiled)
                share(workflow, {"province": case.province, "unit": case.unit})
                self._advance(unit, case, compiled, workflow, actor)
            return {**transfer._mapping, "state": state, "decided_by": actor.username, "decided_at": unit.now,
                    "decision_reason": text, "next_escalation_at": None}

    def cancel_transfer(self, transfer_id: str, actor: Actor, *, province: str | None, reason: Any) -> dict[str, Any]:
        """The sending coordinators withdraw a pending transfer (with a reason): the case stays theirs."""
        errors: dict[str, list[str]] = {}
        text = transfers.check_reason(reason, errors)
        if errors:
            raise ValidationFailed("Invalid cancellation.", errors)
        with self._unit() as unit:
            transfer = transfers.addressed(unit.conn, transfer_id, province, sending=True)
            case = self._lock_case(unit, transfer.case_id)
            if not transfers.decide(unit.conn, transfer.id, transfers.CANCELLED, actor=actor.username,
                                    now=unit.now, reason=text):
                raise Conflict("This transfer has been answered already.")
            unit.event(case, actor, "transfer_cancelled", detail={**transfers.summary(transfer._mapping),
                                                                  "reason": text})
            self._touch(unit, case)
            return {**transfer._mapping, "state": transfers.CANCELLED, "decided_by": actor.username,
                    "decided_at": unit.now, "decision_reason": text, "next_escalation_at": None}

    def close_case(self, case_id: str, reason: Any, note: Any, actor: Actor) -> CommandResult:
        """Close a case before its pathway ends (:data:`CLOSE_REASONS`, and a note; ``other`` needs
        one): its open tasks are cancelled, its timers stopped, a pending transfer and the open
        referrals to partners cancelled."""
        errors: dict[str, list[str]] = {}
        if reason not in CLOSE_REASONS:
            errors["reason"] = [f"Must be one of: {', '.join(CLOSE_REASONS)}."]
        text = note.strip() if isinstance(note, str) else ""
        if note is not None and not isinstance(note, str):
            errors["note"] = ["Write the note as text."]
        elif len(text) > 2000:
            errors["note"] = ["Keep the note to 2000 characters at most."]
        elif reason == "other" and not text:
            errors["note"] = ["Say why the case is closed."]
        if errors:
            raise ValidationFailed("Invalid closure.", errors)
        with self._unit() as unit:
            case = self._lock_case(unit, case_id)
            if case.subject_kind != subjects.CHILD:
                raise NotFound("No such case.")
            if case.status != "open":
                raise Conflict("The case is closed already.")
            cancelled = transfers.cancel_pending(unit.conn, case.id, actor=actor.username, now=unit.now,
                                                 reason=transfers.CASE_CLOSED)
            if cancelled is not None:
                unit.event(case, actor, "transfer_cancelled", detail={
                    **transfers.summary(cancelled._mapping), "reason": transfers.CASE_CLOSED})
            referrals.cancel_open_of_case(unit.conn, case, actor, unit.now, reason=transfers.CASE_CLOSED)
            compiled = self.compiled(unit, case.pathway_version_id)
            workflow = self._load_workflow(unit, case, compiled)
            workflow.cancel()
            case.set(status="closed", closed_at=unit.now, closed_reason=reason)
            unit.event(case, actor, "case_closed", detail={"reason": reason, **({"note": text} if text else {})})
            return self._advance(unit, case, compiled, workflow, actor)

    def reopen_case(self, case_id: str, reason: Any, actor: Actor, *, urgent: Any = False) -> CommandResult:
        """The child is back: a closed case starts its pathway again (the active version), from the
        report, so a new reception and listening on the same file; ``urgent`` asks for immediate
        assistance first. The prosecutor's branch runs again as at a report."""
        errors: dict[str, list[str]] = {}
        text = transfers.check_reason(reason, errors)
        if not isinstance(urgent, bool):
            errors["urgent"] = ["Answer yes or no."]
        if errors:
            raise ValidationFailed("Invalid reopening.", errors)
        with self.db.reading() as session:
            before = session.get(Case, str(case_id))
            if before is None or before.subject_kind != subjects.CHILD:
                raise NotFound("No such case.")
            key = session.get(PathwayVersion, before.pathway_version_id).key  # type: ignore[union-attr]
            pathway = storage.active_version(session, key)
            compiled = self.compiled(session, pathway.id)
            age = _age_today(before, self.now())
            category_rules = read_category_rules(session)
        if before.anonymised_at is not None:
            raise Conflict(ANONYMISED)
        if before.duplicate_of is not None:
            raise Conflict("This case was closed as a duplicate: continue in the case it was linked to.")
        if age > int(compiled.properties.get("age_max", 17) or 17):
            raise Conflict("The child is now older than this pathway serves: the case cannot be reopened.")
        with self._unit() as unit:
            case = self._lock_case(unit, case_id)
            if case.status == "open":
                raise Conflict("The case is open: only a closed case is reopened.")
            if unit.conn.execute(select(CASES.c.anonymised_at).where(CASES.c.id == case.id)).scalar() is not None:
                raise Conflict(ANONYMISED)
            workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=SCRIPT_ENGINE)
            workflow.task_tree.data.update({
                "case_reference": case.reference, "province": case.province, "unit": case.unit,
                "categories": list(before.categories), "risk_level": case.risk_level,
                **category_rules.prosecutor_data(before.categories),
                "emergency_medical": False, "immediate_danger": urgent,
                "child_sex": before.child_sex, "child_age": age,
                **{name: None for name in compiled.shared_data},
            })
            case.set(status="open", closed_at=None, closed_reason=None, pathway_version_id=pathway.id,
                     last_progress_at=unit.now, stalled_since=None)
            unit.event(case, actor, "case_reopened", detail={
                "reason": text, "urgent": urgent, "pathway": pathway.key, "version": pathway.version})
            unit.timers_before[case.id] = {}
            return self._advance(unit, case, compiled, workflow, actor)

    # -- internals --------------------------------------------------------------------

    @contextmanager
    def _unit(self) -> Iterator[_Unit]:
        """A write transaction; the appended rows are written in one statement per table at the end."""
        with self.db.write_connection() as conn:
            unit = _Unit(conn, self.now())
            yield unit
            unit.write()
        for case, workflow in unit.saved:  # reached only once the transaction committed
            self.workflows.put(case.id, case.version, workflow)
        for case_id, old_version, new_version in unit.retagged:
            self.workflows.retag(case_id, old_version, new_version)

    def _next_reference(self, unit: _Unit, prefix: str) -> str:
        year = unit.now.year
        first = {"prefix": prefix, "year": year, "last_value": 1}
        bump = {"last_value": ReferenceCounter.last_value + 1}
        keys = ["prefix", "year"]
        if unit.conn.dialect.name == "postgresql":
            statement: Any = postgresql.insert(ReferenceCounter).values(first).on_conflict_do_update(
                index_elements=keys, set_=bump)
        else:
            statement = sqlite.insert(ReferenceCounter).values(first).on_conflict_do_update(
                index_elements=keys, set_=bump)
        value = unit.conn.execute(statement.returning(ReferenceCounter.last_value)).scalar_one()
        return f"{prefix}-{year}-{value:06d}"

    def _lock_case(self, unit: _Unit, key: str, missing: Any = NotFound, *, by_task: bool = False) -> CaseState:
        """Read the case (by id, or by one of its open tasks) with its runtime row, locking
        the latter on PostgreSQL.

        Every command on a case goes through here, so the lock serializes them; the version
        read here is checked again on write.
        """
        locking = not self.db.is_sqlite
        if by_task:
            row = unit.conn.execute(_CASE_BY_TASK[locking], {"task_id": key}).first()
        else:
            row = unit.conn.execute(_CASE_BY_ID[locking], {"case_id": key}).first()
        if row is None:
            if missing is NotFound:
                raise NotFound("No such case.")
            return missing
        return CaseState(**row._mapping)

    def _save_case(self, unit: _Unit, case: CaseState, **runtime: Any) -> None:
        """Write the case back, checking that nobody changed it since it was read.

        The runtime row always gets a new version (and ``runtime`` values such as the
        workflow state); the case row is written only when its own columns changed.
        """
        runtime.update({k: v for k, v in case.changes.items() if k in CaseState.RUNTIME_CHANGES})
        runtime.update(updated_at=unit.now, version=case.version + 1)
        written = unit.conn.execute(_update_runtime(tuple(sorted(runtime))),
                                    {**runtime, "key_case_id": case.id, "key_version": case.version})
        if written.rowcount != 1:
            raise Conflict("The case changed meanwhile: reload it and try again.")
        business = {k: v for k, v in case.changes.items() if k not in CaseState.RUNTIME_CHANGES}
        if business:
            business["updated_at"] = unit.now
            unit.conn.execute(_update_case(tuple(sorted(business))), {**business, "key_case_id": case.id})
        case.version += 1
        case.changes.clear()

    @contextmanager
    def _locked_task(self, task_id: str, expected_version: int | None = None
                     ) -> Iterator[tuple[_Unit, CaseState, TaskRow]]:
        _check_task_id(task_id)
        with self._unit() as unit:
            case = self._lock_case(unit, task_id, missing=None, by_task=True)
            if case is None:
                if unit.conn.execute(_ENDED_TASK, {"task_id": task_id}).first():
                    raise Conflict("The task is no longer open.")
                raise NotFound("No such task.")
            if expected_version is not None and case.version != expected_version:
                raise Conflict("The case changed since you read it: reload it.")
            # Read after the lock: another transaction may have ended the task meanwhile.
            row = next((r for r in self._open_rows(unit, case.id) if r.id == task_id), None)
            if row is None:
                raise Conflict("The task is no longer open.")
            yield unit, case, row

    def _set_assignee(self, unit: _Unit, case: CaseState, row: TaskRow, username: str | None) -> None:
        row.state, row.assignee = ("claimed", username) if username else ("ready", None)
        unit.conn.execute(_SET_ASSIGNEE, {"task_id": row.id, "new_state": row.state, "new_assignee": row.assignee})
        self._touch(unit, case)

    def _touch(self, unit: _Unit, case: CaseState) -> None:
        """A command that leaves the workflow as it was: a new version, the cached state retagged."""
        self._save_case(unit, case)
        unit.retagged.append((case.id, case.version - 1, case.version))

    def _end_task(self, unit: _Unit, row: TaskRow, outcome: str, by: str | None, data: dict[str, Any]) -> None:
        """Move an open task to the task history (completed or cancelled)."""
        unit.history.append({
            "id": row.id, "case_id": row.case_id, "step": row.step, "role": row.role, "sector": row.sector,
            "created_at": row.created_at, "due_at": row.due_at, "ended_at": unit.now, "outcome": outcome,
            "completed_by": by, "data": data, "escalation_level": row.escalation_level})
        unit.conn.execute(_DELETE_OPEN, {"task_id": row.id})
        unit.ended_tasks.append(row.id)
        rows = unit.open_rows.get(row.case_id)
        if rows is not None:
            rows[:] = [r for r in rows if r.id != row.id]

    def _open_rows(self, unit: _Unit, case_id: str) -> list[TaskRow]:
        """The case's open tasks, read once per command and kept up to date by it."""
        rows = unit.open_rows.get(case_id)
        if rows is None:
            result = unit.conn.execute(_OPEN_ROWS, {"case_id": case_id}).all()
            rows = unit.open_rows[case_id] = [TaskRow.from_row(r) for r in result]
        return rows

    def _load_workflow(self, unit: _Unit, case: CaseState, compiled: CheckedDefinition) -> BpmnWorkflow:
        workflow = self.workflows.take(case.id, case.version)
        if workflow is None:
            if not case.state:
                raise Conflict("The case has no running workflow.")
            workflow = load_state(case.state, compiled.spec, compiled.subprocess_specs)
        unit.timers_before[case.id] = _waiting_timers(workflow)
        return workflow

    def _advance(self, unit: _Unit, case: CaseState, compiled: CheckedDefinition, workflow: BpmnWorkflow,
                 actor: Actor, *, new_case: bool = False) -> CommandResult:
        """Run engine steps, then save the state and bring every projection up to date."""
        calls: list[ServiceCall] = []

        def dispatch(task: Any, name: str, params: dict[str, Any]) -> Any:
            call = ServiceCall(case_id=case.id, case_reference=case.reference, province=case.province,
                               unit=case.unit, risk_level=case.risk_level, step=task.task_spec.bpmn_id or name,
                               params=params, data=dict(task.data))
            result = handler_registry.get(name)(call)
            calls.append(call)
            return result

        shared = compiled.shared_data

        def collect(task: Any) -> None:
            unit.shared.update({k: task.data[k] for k in shared if k in task.data and task.data[k] is not None})

        token = service_dispatcher.set(dispatch)
        try:
            with using_clock(self.clock):
                workflow.do_engine_steps(did_complete_task=collect if shared else None)
        except (SpiffWorkflowException, LookupError, ValueError) as exc:
            raise PathwayFailure(f"The pathway could not proceed: {exc}") from None
        finally:
            service_dispatcher.reset(token)
        if unit.shared:
            share(workflow, unit.shared)
            unit.shared = {}

        for call in calls:
            unit.event(case, actor, "service_task_run", call.step,
                       detail={"messages": [m.topic for m in call.messages]})
            unit.outbox.extend({
                "created_at": unit.now, "case_id": case.id, "topic": m.topic, "channel": m.channel,
                "recipient": m.recipient, "payload": m.payload, "status": "pending", "attempts": 0,
                "next_attempt_at": unit.now} for m in call.messages)

        compact(workflow)
        state, task_count = dump_state(workflow), len(workflow.tasks)
        open_rows = self._sync_open_tasks(unit, case, compiled, workflow, actor)
        waiting_timers = self._sync_timers(unit, case, workflow)
        self._wind_stall_clock(unit, case, open_rows, waiting_timers, progressed=new_case)
        if workflow.completed and case.status == "open":
            case.set(status="closed", closed_at=unit.now)
            unit.event(case, actor, "case_closed")
        if case.subject_kind != subjects.CHILD:
            subject_hook = self.subject_hooks.get(case.subject_kind)
            if subject_hook is None:
                raise PathwayFailure(f"no hook follows the pathways about a {case.subject_kind}")
            subject_hook(subjects.SubjectChange(
                conn=unit.conn, case_id=case.id, actor=actor.username, now=unit.now,
                completed=[row for row in unit.history if row["case_id"] == case.id and row["outcome"] == "completed"]))
        if new_case:
            unit.conn.execute(_INSERT["case_workflows"], {
                "case_id": case.id, "version": case.version, "state": state, "task_count": task_count,
                "last_progress_at": unit.now, "updated_at": unit.now,
                "idle_since": case.idle_since, "visit_due_at": case.visit_due_at})
            business = {k: v for k, v in case.changes.items() if k not in CaseState.RUNTIME_CHANGES}
            if business:
                unit.conn.execute(_update_case(tuple(sorted(business))), {**business, "key_case_id": case.id})
            case.changes.clear()
        else:
            self._save_case(unit, case, state=state, task_count=task_count)
        unit.saved.append((case, workflow))
        return self._result(case, open_rows)

    def _sync_open_tasks(self, unit: _Unit, case: CaseState, compiled: CheckedDefinition,
                         workflow: BpmnWorkflow, actor: Actor) -> list[TaskRow]:
        """Make ``open_tasks`` match the workflow's ready user tasks; returns the open rows."""
        ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        current = []
        for row in list(self._open_rows(unit, case.id)):
            if row.id in ready:
                current.append(row)
            else:  # ended by the pathway itself (a boundary event, a cancelled branch…)
                self._end_task(unit, row, "cancelled", None, {})
                unit.event(case, actor, "step_cancelled", row.step, row.id)
        known = {row.id for row in current}
        for task_id, task in ready.items():
            if task_id in known:
                continue
            step = task.task_spec.bpmn_id
            info = compiled.user_tasks.get(step)
            if info is None:
                raise PathwayFailure(f"user task '{step}' has no role, form or due rule")
            try:
                due_at = info.due_rule.due_at(unit.now, case.risk_level, task.data)
            except ValueError as exc:
                raise PathwayFailure(f"user task '{step}': {exc}") from None
            row = TaskRow(id=task_id, case_id=case.id, pathway_key=compiled.key, step=step, role=info.role,
                          sector=info.sector, province=case.province, unit=case.unit, state="ready", assignee=None,
                          form=info.form, created_at=unit.now, due_at=due_at, escalation_level=0,
                          next_escalation_at=self.escalation.next_rung_at(0, unit.now, due_at))
            unit.new_tasks.append(row.values())
            self._open_rows(unit, case.id).append(row)
            current.append(row)
            unit.event(case, actor, "step_started", step, task_id, {"due_at": due_at.isoformat()})
        return sorted(current, key=lambda r: (r.created_at, r.step))

    def _sync_timers(self, unit: _Unit, case: CaseState, workflow: BpmnWorkflow) -> int:
        """Make ``case_timers`` match the workflow's waiting timers (no SQL when unchanged);
        returns how many timers the workflow waits on."""
        before = unit.timers_before.pop(case.id, {})
        after = _waiting_timers(workflow)
        gone = [task_id for task_id in before if after.get(task_id) != before[task_id]]
        if gone:
            unit.conn.execute(delete(TIMERS).where(TIMERS.c.case_id == case.id, TIMERS.c.task_id.in_(gone)))
        unit.new_timers.extend(
            {"case_id": case.id, "task_id": task_id, "step": step, "due_at": due_at}
            for task_id, (step, due_at) in after.items() if before.get(task_id) != (step, due_at))
        return len(after)

    @staticmethod
    def _wind_stall_clock(unit: _Unit, case: CaseState, open_rows: list[TaskRow], waiting_timers: int, *,
                          progressed: bool) -> None:
        """Bring the case's stall clock up to date (:mod:`engine.stalling`); written only when it moved."""
        previous = stalling.StallClock(case.idle_since, case.visit_due_at)
        clock = stalling.after_command(previous, now=unit.now, waiting_timers=waiting_timers, open_tasks=open_rows,
                                       progressed=progressed or "last_progress_at" in case.changes)
        if clock != previous:
            case.idle_since, case.visit_due_at = clock.idle_since, clock.visit_due_at
            case.set(idle_since=clock.idle_since, visit_due_at=clock.visit_due_at)
            if clock.idle_since is None:  # on track again: the next stall is flagged anew
                case.set(stalled_since=None)

    @staticmethod
    def _result(case: CaseState, open_rows: list[TaskRow]) -> CommandResult:
        return CommandResult(case.id, case.reference, case.status, case.risk_level, case.version, open_rows,
                             case.pathway_version_id)

    def record_access(self, actor: Actor, kind: str, case_ids: list[str], detail: dict[str, Any] | None = None) -> None:
        """Append to the audit trail that ``actor`` read these cases (or their tasks)."""
        if not case_ids:
            return
        payload = dict(detail or {})
        if actor.source:
            payload.setdefault("source", actor.source)
        with self.db.write_connection() as conn:
            now = self.now()
            conn.execute(_INSERT["case_events"], [
                {"case_id": case_id, "at": now, "actor": actor.username, "kind": kind, "step": None,
                 "task_id": payload.get("task_id"), "detail": payload} for case_id in case_ids])


def share(workflow: BpmnWorkflow, values: Mapping[str, Any]) -> None:
    """Give case-wide values to every unfinished task, whatever branch it is on.

    SpiffWorkflow's task data flows along one path: a value set on the judicial branch (the
    prosecutor's measure) or by a command (the risk level) would never reach a step of care
    running alongside. The process property ``shared_data`` names the values that are the
    case's, not a branch's; they start as None and follow every step that sets them.
    """
    for task in workflow.tasks.values():
        if not task.has_state(TaskState.FINISHED_MASK):
            task.data.update(values)


def _default_kept(conn: Connection, review: Any) -> str:
    status = {row.id: row.status for row in conn.execute(select(CASES.c.id, CASES.c.status).where(
        CASES.c.id.in_([review.case_id, review.match_id])))}
    return identity.default_kept(str(review.case_id), status.get(review.case_id),
                                 str(review.match_id), status.get(review.match_id))


CLOSE_REASONS = ("duplicate", "moved", "majority", "deceased", "other")  # closing a case early


def _age_today(case: Case, now: datetime) -> int:
    """The child's age now: from the birth date, else the estimate at the report plus the years since."""
    if case.child_birth_date is not None:
        return age_on(case.child_birth_date, now.date())
    estimate = case.child_age_estimate or 0
    return estimate + max(0, age_on(case.opened_at.date(), now.date()))


ANONYMISED = ("This file was anonymised when its retention period ended: it cannot be reopened. "
              "Report the child again as a new case.")
IDENTITY_FIELDS = ("identity_known", "alias", "first_name", "last_name", "names_other_script", "sex", "birth_date",
                   "age_estimate", "civil_status_registered", "nationality")


def identity_of(case: Case) -> dict[str, Any]:
    """The child's recorded identity in the intake's shape (what a correction starts from)."""
    other = {"first_name": case.child_first_name_other, "last_name": case.child_last_name_other}
    return {"identity_known": case.child_identity_known, "alias": case.child_alias,
            "first_name": case.child_first_name, "last_name": case.child_last_name,
            "names_other_script": other if any(other.values()) else None, "sex": case.child_sex,
            "birth_date": case.child_birth_date.isoformat() if case.child_birth_date else None,
            "age_estimate": case.child_age_estimate, "civil_status_registered": case.child_civil_status_registered,
            "nationality": case.child_nationality}


def _identity_columns(child: dict[str, Any], who: identity.Identity) -> dict[str, Any]:
    other = child.get("names_other_script") or {}
    return {"child_identity_known": child["identity_known"], "child_alias": child["alias"],
            "child_first_name": child["first_name"], "child_last_name": child["last_name"],
            "child_first_name_other": other.get("first_name"), "child_last_name_other": other.get("last_name"),
            "child_sex": child["sex"], "child_birth_date": child.get("birth_date"),
            "child_age_estimate": child.get("age_estimate"),
            "child_civil_status_registered": child.get("civil_status_registered"),
            "child_nationality": child.get("nationality"), "child_birth_year": who.birth_year}


def _stored_report(report: dict[str, Any]) -> dict[str, Any]:
    """The report as the case keeps it (reporter and place only when given)."""
    stored = {"source": report["source"], "received_at": report["received_at"].isoformat(),
              "description": report["description"]}
    for part in ("reporter", "location"):
        given = {k: v for k, v in (report.get(part) or {}).items() if v not in (None, "")}
        if given:
            stored[part] = given
    return stored


def _check_task_id(task_id: str) -> None:
    """A task id is a UUID: anything else names no task."""
    try:
        UUID(str(task_id))
    except ValueError:
        raise NotFound("No such task.") from None


def _stored_consent(consent: dict[str, Any], young_person: dict[str, Any] | None, actor: Actor,
                    now: datetime) -> dict[str, Any]:
    """The intake's consent as the case keeps it (JSON), the young person's with who recorded it and when."""
    stored = dict(consent)
    if young_person is not None:
        stored["young_person"] = {**young_person, "given_on": young_person["given_on"].isoformat(),
                                  "recorded_by": actor.username, "recorded_at": now.isoformat()}
    else:
        stored.pop("young_person", None)
    return stored


def _waiting_timers(workflow: BpmnWorkflow) -> dict[str, tuple[str, datetime]]:
    """The workflow's waiting timer events: task id → (step, due time)."""
    timers = {}
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        if isinstance(definition, TimerEventDefinition):
            value = definition.details(task).value
            if isinstance(value, str):
                timers[str(task.id)] = (task.task_spec.bpmn_id or "", TimerEventDefinition.get_datetime(value))
    return timers


class _Deadline(Protocol):
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def escalation_level(self) -> int: ...


def is_overdue(row: _Deadline, now: datetime) -> bool:
    """Overdue: the due date has passed, or the escalation ladder has taken a rung (the scheduler,
    whose clock decides deadlines, saw it pass). ``api.readers.tasks.overdue`` says it in SQL."""
    return row.escalation_level > 0 or (row.due_at is not None and row.due_at < now)


__all__ = ["Actor", "CaseState", "CommandResult", "Engine", "SYSTEM", "TaskRow", "is_overdue"]
