"""The runtime: every command on a case is one database transaction.

1. lock the case row (``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite; the
   ``version`` column is checked on write everywhere, so a lost race is a clean conflict);
2. load the case's workflow state with its cached spec and apply the command;
3. run engine steps until the workflow waits again (service tasks call their handlers);
4. compact and save the workflow state;
5. update the projections (open tasks with due dates, waiting timers, case status);
6. append history events and outbox messages; commit.

Nothing here knows of HTTP; callers map :mod:`engine.errors` to responses.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from marshmallow import ValidationError
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from handlers import registry as handler_registry
from handlers.registry import ServiceCall

from . import definitions as defs
from .clock import Clock, SystemClock, using_clock
from .db import Database
from .errors import Conflict, EngineError, NotFound, ValidationFailed
from .intake import check_age, load_intake, risk_level as compute_risk
from .models import (
    Case, CaseEvent, CaseTimer, CaseWorkflow, OpenTask, OutboxMessage, PathwayVersion, Province,
    ReferenceCounter, TaskRecord,
)
from .script_engine import SCRIPT_ENGINE, service_dispatcher
from .workflow_state import compact, dump_state, load_state

log = logging.getLogger("himaya.engine")


class PathwayFailure(EngineError):
    """The pathway could not proceed (a condition or handler failed); nothing was changed."""

    status = 422


@dataclass(frozen=True)
class Actor:
    """Who runs a command: recorded in history; access is decided by the API's policy."""

    username: str
    role: str = "system"
    source: str | None = None


SYSTEM = Actor("system", "system")


@dataclass
class CommandResult:
    case_id: str
    case_reference: str
    case_status: str
    risk_level: str
    open_tasks: list[OpenTask] = field(default_factory=list)


class Engine:
    def __init__(self, database: Database, *, clock: Clock | None = None,
                 definitions: defs.DefinitionCache | None = None) -> None:
        self.db = database
        self.clock: Clock = clock or SystemClock()
        self.definitions = definitions or defs.DefinitionCache()

    def now(self) -> datetime:
        return self.clock.now()

    # -- definitions ----------------------------------------------------------------

    def deploy(self, xml: bytes | str, forms: dict[str, Any], actor: Actor = SYSTEM,
               activate: bool = True) -> defs.DeployResult:
        with self.db.transaction() as session:
            return defs.deploy(session, xml, forms, actor=actor.username, now=self.now(), activate=activate)

    def deploy_folder(self, folder: Path, actor: Actor = SYSTEM) -> list[defs.DeployResult]:
        with self.db.transaction() as session:
            return defs.deploy_folder(session, folder, actor=actor.username, now=self.now())

    def compiled(self, session: Session, pathway_version_id: int) -> defs.CheckedDefinition:
        row = session.get(PathwayVersion, pathway_version_id)
        if row is None:
            raise NotFound("unknown pathway version")
        return self.definitions.get(row)

    # -- commands ---------------------------------------------------------------------

    def start_case(self, payload: Any, actor: Actor) -> CommandResult:
        """Report a child: validate the intake, open the case and run the pathway's first steps."""
        try:
            intake = load_intake(payload)
        except ValidationError as exc:
            raise ValidationFailed("The report has invalid fields.", exc.messages) from None
        now = self.now()
        with self.db.transaction() as session:
            pathway = defs.active_version(session, intake["pathway"])
            compiled = self.definitions.get(pathway)
            try:
                age = check_age(intake, compiled.properties, now)
            except ValidationError as exc:
                raise ValidationFailed("The report has invalid fields.", exc.messages) from None
            province = session.get(Province, intake["province"])
            if province is None:
                raise ValidationFailed("The report has invalid fields.", {"province": ["Unknown province."]})
            emergency = intake["emergency"]
            risk = compute_risk(intake["categories"], emergency, compiled.properties)
            child = intake["child"]
            case = Case(
                reference=self._next_reference(session, province.reference_prefix, now.year),
                pathway_version_id=pathway.id, status="open", risk_level=risk,
                province=province.code, unit=intake["unit"], categories=list(intake["categories"]),
                child_first_name=child["first_name"], child_last_name=child["last_name"], child_sex=child["sex"],
                child_birth_date=child.get("birth_date"), child_age_estimate=child.get("age_estimate"),
                child_civil_status_registered=child.get("civil_status_registered"),
                child_nationality=child.get("nationality"),
                report={"source": intake["report"]["source"],
                        "received_at": intake["report"]["received_at"].isoformat(),
                        "description": intake["report"]["description"]},
                emergency_medical=bool(emergency.get("medical")),
                immediate_danger=bool(emergency.get("immediate_danger")),
                consent=dict(intake["consent"]), opened_at=now, closed_at=None, last_progress_at=now,
                updated_at=now, created_by=actor.username,
            )
            session.add(case)
            session.flush()
            workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=SCRIPT_ENGINE)
            workflow.task_tree.data.update({
                "case_reference": case.reference, "province": case.province, "unit": case.unit,
                "categories": list(case.categories), "risk_level": risk,
                "emergency_medical": case.emergency_medical, "immediate_danger": case.immediate_danger,
                "child_sex": case.child_sex, "child_age": age,
            })
            self._event(session, case, actor, "case_opened", detail={
                "pathway": pathway.key, "version": pathway.version, "risk_level": risk,
                "categories": list(case.categories)})
            session.add(CaseWorkflow(case_id=case.id, state="", task_count=0))
            return self._advance(session, case, compiled, workflow, actor, now, completed_task_id=None)

    def claim(self, task_id: str, actor: Actor) -> OpenTask:
        with self._locked_task(task_id) as (session, case, row):
            if row.state == "claimed":
                if row.assignee == actor.username:
                    return row
                raise Conflict("The task is claimed by someone else.")
            row.state, row.assignee = "claimed", actor.username
            self._touch(case, actor)
            self._event(session, case, actor, "task_claimed", row.step, row.id)
            return row

    def unclaim(self, task_id: str, actor: Actor, *, force: bool = False) -> OpenTask:
        with self._locked_task(task_id) as (session, case, row):
            if row.state != "claimed":
                return row
            if row.assignee != actor.username and not force:
                raise Conflict("The task is claimed by someone else.")
            previous = row.assignee
            row.state, row.assignee = "ready", None
            self._touch(case, actor)
            self._event(session, case, actor, "task_unclaimed", row.step, row.id, {"previous_assignee": previous})
            return row

    def assign(self, task_id: str, username: str, actor: Actor) -> OpenTask:
        if not username or len(username) > 100:
            raise ValidationFailed("Invalid assignee.", {"username": ["Give a user name."]})
        with self._locked_task(task_id) as (session, case, row):
            previous = row.assignee
            row.state, row.assignee = "claimed", username
            self._touch(case, actor)
            self._event(session, case, actor, "task_assigned", row.step, row.id,
                        {"assignee": username, "previous_assignee": previous})
            return row

    def complete(self, task_id: str, data: Any, actor: Actor, *, expected_version: int | None = None) -> CommandResult:
        """Complete an open user task with form data validated against its form."""
        now = self.now()
        with self._locked_task(task_id, expected_version) as (session, case, row):
            if row.state == "claimed" and row.assignee != actor.username:
                raise Conflict("The task is claimed by someone else.")
            compiled = self.compiled(session, case.pathway_version_id)
            try:
                values = compiled.form_for(row.step).validate(data if data is not None else {})
            except ValidationError as exc:
                raise ValidationFailed("The form has invalid fields.", exc.messages) from None
            workflow = self._load_workflow(session, case, compiled)
            spiff_task = workflow.tasks.get(UUID(row.id))
            if spiff_task is None or spiff_task.state != TaskState.READY:
                raise Conflict("The task is no longer open.")
            spiff_task.data.update(values)
            with using_clock(self.clock):
                try:
                    spiff_task.run()
                except SpiffWorkflowException as exc:
                    raise PathwayFailure(f"The pathway could not proceed: {exc}") from None
            session.add(TaskRecord(
                id=row.id, case_id=case.id, step=row.step, role=row.role, sector=row.sector,
                created_at=row.created_at, due_at=row.due_at, ended_at=now, outcome="completed",
                completed_by=actor.username, data=values, escalation_level=row.escalation_level,
            ))
            self._event(session, case, actor, "step_completed", row.step, row.id, {
                "data": values, "overdue": bool(row.due_at and row.due_at < now)})
            session.delete(row)
            case.last_progress_at = now
            return self._advance(session, case, compiled, workflow, actor, now, completed_task_id=row.id)

    def fire_due_timers(self, *, limit: int = 500) -> int:
        """Fire every BPMN timer due by the clock's now; returns how many cases moved."""
        now = self.now()
        with self.db.reading() as session:
            case_ids = list(session.scalars(
                select(CaseTimer.case_id).where(CaseTimer.due_at <= now).group_by(CaseTimer.case_id)
                .order_by(CaseTimer.case_id).limit(limit)))
        moved = 0
        for case_id in case_ids:
            with self.db.transaction() as session:
                case = self._lock_case(session, case_id)
                due = session.scalars(select(CaseTimer).where(CaseTimer.case_id == case_id,
                                                              CaseTimer.due_at <= now)).all()
                if case.status != "open" or not due:
                    continue
                compiled = self.compiled(session, case.pathway_version_id)
                workflow = self._load_workflow(session, case, compiled)
                with using_clock(self.clock):
                    workflow.refresh_timers()
                for timer in due:
                    self._event(session, case, SYSTEM, "timer_fired", timer.step, timer.task_id,
                                {"due_at": timer.due_at.isoformat()})
                self._advance(session, case, compiled, workflow, SYSTEM, now, completed_task_id=None)
                moved += 1
        return moved

    def set_risk_level(self, case_id: str, level: str, reason: str, actor: Actor) -> CommandResult:
        """A coordinator raises or lowers the risk level; open tasks' due dates follow."""
        errors = {}
        if level not in ("high", "medium", "low"):
            errors["risk_level"] = ["Must be one of: high, medium, low."]
        if not reason or not reason.strip():
            errors["reason"] = ["Give a reason."]
        if errors:
            raise ValidationFailed("Invalid risk change.", errors)
        now = self.now()
        with self.db.transaction() as session:
            case = self._lock_case(session, case_id)
            if case.status != "open":
                raise Conflict("The case is closed.")
            previous = case.risk_level
            if previous == level:
                return self._result(session, case)
            compiled = self.compiled(session, case.pathway_version_id)
            workflow = self._load_workflow(session, case, compiled)
            for task in workflow.tasks.values():
                if not task.has_state(TaskState.FINISHED_MASK):
                    task.data["risk_level"] = level
            case.risk_level = level
            for row in session.scalars(select(OpenTask).where(OpenTask.case_id == case.id)):
                row.due_at = compiled.user_tasks[row.step].due_rule.due_at(row.created_at, level)
            self._event(session, case, actor, "risk_changed", detail={
                "from": previous, "to": level, "reason": reason.strip()})
            return self._advance(session, case, compiled, workflow, actor, now, completed_task_id=None)

    # -- internals --------------------------------------------------------------------

    def _next_reference(self, session: Session, prefix: str, year: int) -> str:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert
        statement = upsert(ReferenceCounter).values(prefix=prefix, year=year, last_value=1)
        statement = statement.on_conflict_do_update(
            index_elements=["prefix", "year"], set_={"last_value": ReferenceCounter.last_value + 1}
        ).returning(ReferenceCounter.last_value)
        value = session.execute(statement).scalar_one()
        return f"{prefix}-{year}-{value:06d}"

    def _lock_case(self, session: Session, case_id: str) -> Case:
        case = session.get(Case, case_id, with_for_update=not self.db.is_sqlite, populate_existing=True)
        if case is None:
            raise NotFound("No such case.")
        return case

    @contextmanager
    def _locked_task(self, task_id: str, expected_version: int | None = None
                     ) -> Iterator[tuple[Session, Case, OpenTask]]:
        try:
            UUID(str(task_id))
        except ValueError:
            raise NotFound("No such task.") from None
        try:
            with self.db.transaction() as session:
                found = session.get(OpenTask, task_id)
                if found is None:
                    if session.get(TaskRecord, task_id) is not None:
                        raise Conflict("The task is no longer open.")
                    raise NotFound("No such task.")
                case = self._lock_case(session, found.case_id)
                if expected_version is not None and case.version != expected_version:
                    raise Conflict("The case changed since you read it: reload it.")
                row = session.get(OpenTask, task_id, populate_existing=True)
                if row is None:
                    raise Conflict("The task is no longer open.")
                yield session, case, row
        except StaleDataError:
            raise Conflict("The case changed meanwhile: reload it and try again.") from None

    def _load_workflow(self, session: Session, case: Case, compiled: defs.CheckedDefinition) -> BpmnWorkflow:
        stored = session.get(CaseWorkflow, case.id)
        if stored is None or not stored.state:
            raise Conflict("The case has no running workflow.")
        return load_state(stored.state, compiled.spec, compiled.subprocess_specs)

    def _touch(self, case: Case, actor: Actor) -> None:
        case.updated_at = self.now()

    def _event(self, session: Session, case: Case, actor: Actor, kind: str, step: str | None = None,
               task_id: str | None = None, detail: dict[str, Any] | None = None) -> None:
        payload = dict(detail or {})
        if actor.source:
            payload.setdefault("source", actor.source)
        session.execute(insert(CaseEvent).values(
            case_id=case.id, at=self.now(), actor=actor.username, kind=kind, step=step, task_id=task_id,
            detail=payload))

    def _advance(self, session: Session, case: Case, compiled: defs.CheckedDefinition, workflow: BpmnWorkflow,
                 actor: Actor, now: datetime, *, completed_task_id: str | None) -> CommandResult:
        """Run engine steps, then save the state and bring every projection up to date."""
        calls: list[ServiceCall] = []

        def dispatch(task: Any, name: str, params: dict[str, Any]) -> Any:
            call = ServiceCall(case_id=case.id, case_reference=case.reference, province=case.province,
                               unit=case.unit, risk_level=case.risk_level, step=task.task_spec.bpmn_id or name,
                               params=params, data=dict(task.data))
            result = handler_registry.get(name)(call)
            calls.append(call)
            return result

        token = service_dispatcher.set(dispatch)
        try:
            with using_clock(self.clock):
                workflow.do_engine_steps()
        except (SpiffWorkflowException, LookupError, ValueError) as exc:
            raise PathwayFailure(f"The pathway could not proceed: {exc}") from None
        finally:
            service_dispatcher.reset(token)

        for call in calls:
            self._event(session, case, actor, "service_task_run", call.step, detail={
                "messages": [m.topic for m in call.messages]})
            for message in call.messages:
                session.add(OutboxMessage(
                    created_at=now, case_id=case.id, topic=message.topic, channel=message.channel,
                    recipient=message.recipient, payload=message.payload, status="pending", attempts=0,
                    next_attempt_at=now))

        compact(workflow)
        stored = session.get(CaseWorkflow, case.id)
        stored.state = dump_state(workflow)
        stored.task_count = len(workflow.tasks)
        self._sync_open_tasks(session, case, compiled, workflow, actor, now, completed_task_id)
        self._sync_timers(session, case, workflow)
        if workflow.completed and case.status == "open":
            case.status, case.closed_at = "closed", now
            session.execute(delete(CaseTimer).where(CaseTimer.case_id == case.id))
            self._event(session, case, actor, "case_closed")
        case.updated_at = now
        try:
            session.flush()
        except StaleDataError:
            raise Conflict("The case changed meanwhile: reload it and try again.") from None
        return self._result(session, case)

    def _sync_open_tasks(self, session: Session, case: Case, compiled: defs.CheckedDefinition,
                         workflow: BpmnWorkflow, actor: Actor, now: datetime, completed_task_id: str | None) -> None:
        ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        existing = {row.id: row for row in session.scalars(select(OpenTask).where(OpenTask.case_id == case.id))}
        for task_id, row in existing.items():
            if task_id not in ready and task_id != completed_task_id:
                session.add(TaskRecord(
                    id=row.id, case_id=case.id, step=row.step, role=row.role, sector=row.sector,
                    created_at=row.created_at, due_at=row.due_at, ended_at=now, outcome="cancelled",
                    completed_by=None, data={}, escalation_level=row.escalation_level))
                self._event(session, case, actor, "step_cancelled", row.step, row.id)
                session.delete(row)
        for task_id, task in ready.items():
            if task_id in existing:
                continue
            step = task.task_spec.bpmn_id
            info = compiled.user_tasks.get(step)
            if info is None:
                raise PathwayFailure(f"user task '{step}' has no role, form or due rule")
            due_at = info.due_rule.due_at(now, case.risk_level)
            session.add(OpenTask(
                id=task_id, case_id=case.id, pathway_key=compiled.key, step=step, role=info.role,
                sector=info.sector, province=case.province, unit=case.unit, state="ready", assignee=None,
                form=info.form, created_at=now, due_at=due_at, escalation_level=0))
            self._event(session, case, actor, "step_started", step, task_id, {"due_at": due_at.isoformat()})

    def _sync_timers(self, session: Session, case: Case, workflow: BpmnWorkflow) -> None:
        session.execute(delete(CaseTimer).where(CaseTimer.case_id == case.id))
        for task in workflow.event_manager.tasks.values():
            definition = task.task_spec.event_definition
            if not isinstance(definition, TimerEventDefinition):
                continue
            value = definition.details(task).value
            if not isinstance(value, str):
                continue
            due_at = TimerEventDefinition.get_datetime(value)
            session.add(CaseTimer(case_id=case.id, task_id=str(task.id), step=task.task_spec.bpmn_id or "",
                                  due_at=due_at))

    def _result(self, session: Session, case: Case) -> CommandResult:
        session.flush()
        rows = list(session.scalars(select(OpenTask).where(OpenTask.case_id == case.id)
                                    .order_by(OpenTask.created_at, OpenTask.step)))
        return CommandResult(case.id, case.reference, case.status, case.risk_level, rows)

    # -- reads used by callers -------------------------------------------------------

    def task_title(self, session: Session, row: OpenTask | TaskRecord, case: Case, language: str) -> str:
        info = self.compiled(session, case.pathway_version_id).user_tasks.get(row.step)
        return info.title(language) if info else row.step

    def task_form(self, session: Session, row: OpenTask, case: Case, language: str) -> dict[str, Any]:
        compiled = self.compiled(session, case.pathway_version_id)
        return compiled.forms[compiled.user_tasks[row.step].form].localized(language)


def is_overdue(row: OpenTask, now: datetime) -> bool:
    return row.due_at is not None and row.due_at < now


__all__ = ["Actor", "CommandResult", "Engine", "PathwayFailure", "SYSTEM", "is_overdue"]
