"""Moving open cases from one version of a pathway to another.

A case can move when every step it is at (its open and waiting tasks) and every step it has
run that the stored state still holds exists in the target version; future steps (predicted,
or next after an open task) that the target no longer has are dropped and predicted again
from the target's flow. The dry run reports, for each open case, whether it can move
and why not; applying migrates each movable case in its own transaction (recorded in its
history as ``case_migrated``) and leaves the others on their version with the reason.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update

from .errors import NotFound, ValidationFailed
from .models import Case, OpenTask, PathwayVersion
from .runtime import Actor, Engine, _waiting_timers, share
from .workflow_state import dump_state, load_state

CASES, OPEN_TASKS = Case.__table__, OpenTask.__table__
# Not reached yet: predictions, and the definite next steps of an open task (FUTURE), which the
# target's own flow predicts again when the open task ends.
PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE


@dataclass
class CaseMigration:
    case_id: str
    reference: str
    open_steps: list[str]
    can_migrate: bool
    reason: str | None = None
    migrated: bool = False
    started: list[str] = field(default_factory=list)  # listening events the move starts (``listens_at``)
    ended: list[str] = field(default_factory=list)  # removed joins whose waiting thread the move ends


@dataclass
class MigrationReport:
    key: str
    from_version: int
    to_version: int
    dry_run: bool
    cases: list[CaseMigration] = field(default_factory=list)

    @property
    def migrated(self) -> int:
        return sum(1 for c in self.cases if c.migrated)

    @property
    def left(self) -> int:
        return sum(1 for c in self.cases if not c.migrated)


def _versions(engine: Engine, key: str, from_version: int, to_version: int) -> tuple[PathwayVersion, PathwayVersion]:
    if from_version == to_version:
        raise ValidationFailed("Nothing to migrate.", {"to_version": ["Choose another version than from_version."]})
    with engine.db.reading() as session:
        rows = {row.version: row for row in session.scalars(select(PathwayVersion).where(
            PathwayVersion.key == key, PathwayVersion.version.in_([from_version, to_version])))}
    if from_version not in rows or to_version not in rows:
        raise NotFound("No such pathway version.")
    return rows[from_version], rows[to_version]


LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def _end_threads_at_removed_joins(workflow: Any, target_specs: dict[str, Any]) -> list[str]:
    """End the threads waiting at a join the target no longer has, when the case goes on elsewhere.

    The thread has done its part (the judicial branch waiting at the join before orientation,
    which the target removed so that care no longer waits on justice); in the target nothing
    waits for it. A case whose only open thread is there cannot move."""
    tasks = workflow.tasks
    ended = []
    for task in list(tasks.values()):
        if (task.id not in tasks or task.state != TaskState.WAITING or task.task_spec.name in target_specs
                or not isinstance(task.task_spec, UnstructuredJoin)):
            continue
        if not any(other is not task and other.has_state(LIVE) and other.task_spec.name in target_specs
                   for other in tasks.values()):
            continue
        doomed, frontier = [], [task]
        while frontier:
            node = frontier.pop()
            doomed.append(node.id)
            frontier.extend(node.children)
        parent = task.parent
        if parent is not None:
            parent._children = [c for c in parent._children if c != task.id]
        for task_id in doomed:
            del tasks[task_id]
        ended.append(task.task_spec.name)
    return sorted(ended)


def _splice_finished_ancestors(workflow: Any, target_specs: dict[str, Any]) -> None:
    """Splice out the finished steps the target no longer has, unless an open step hangs right
    under one (a join reads its waiting task's parent): the state keeps such steps only as
    ancestors (see :func:`engine.workflow_state.compact`), and what they did is in the history.
    Done on the loaded workflow, whose tasks hold their whole data: the stored state keeps each
    task's data as a change from its parent's."""
    tasks = workflow.tasks
    for task in list(tasks.values()):
        parent = task.parent
        if task.task_spec.name in target_specs or not task.has_state(TaskState.FINISHED_MASK) or parent is None:
            continue
        if any(child.has_state(LIVE) for child in task.children):
            continue
        index = parent._children.index(task.id)
        parent._children[index:index + 1] = task._children
        for child in task.children:
            child._parent = parent.id
        del tasks[task.id]
        if workflow.last_task is task:
            workflow.last_task = None


def _adapt(state_text: str, target_specs: dict[str, Any]) -> tuple[str | None, str | None]:
    """(adapted state, reason it cannot move) for a target spec."""
    state = json.loads(state_text)
    tasks: dict[str, Any] = state["tasks"]
    missing = sorted({t["task_spec"] for t in tasks.values()
                      if not t["state"] & PREDICTED and t["task_spec"] not in target_specs})
    if missing:
        return None, "steps not in the target version: " + ", ".join(missing)

    def follows_in_target(t: dict[str, Any]) -> bool:
        """A future step the target still has, right after its parent's step as the target draws it."""
        parent = tasks.get(t["parent"]) if t.get("parent") else None
        if t["task_spec"] not in target_specs or parent is None or parent["task_spec"] not in target_specs:
            return t["task_spec"] in target_specs
        return t["task_spec"] in {o.name for o in target_specs[parent["task_spec"]].outputs}

    dropped = {task_id for task_id, t in tasks.items() if t["state"] & PREDICTED and not follows_in_target(t)}
    # A dropped prediction takes its predicted subtree with it.
    frontier = list(dropped)
    while frontier:
        for child in tasks[frontier.pop()]["children"]:
            if child not in dropped:
                dropped.add(child)
                frontier.append(child)
    for task_id in dropped:
        tasks.pop(task_id, None)
    for t in tasks.values():
        t["children"] = [c for c in t["children"] if c not in dropped]
    return json.dumps(state, separators=(",", ":"), ensure_ascii=False), None


def _case_values(workflow: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The case-wide values (the target's ``shared_data``) a step of the case has set: a version
    without them kept each on its branch (the prosecutor's measure)."""
    values: dict[str, Any] = {name: None for name in names}
    for task in workflow.tasks.values():
        values.update({k: task.data[k] for k in names if task.data.get(k) is not None})
    return values


def _graft_listeners(workflow: Any, compiled: Any) -> list[str]:
    """Start the target's listening events the case is not waiting at (process property ``listens_at``).

    A branch that runs alongside care for the whole case, such as the judicial branch waiting for
    a new fact of violence, starts at the report: a case that moves to the version bringing it
    never passed there. Its catch event is started under the root, with the data of the case's
    latest step, so that a fact recorded after the move still reaches the prosecutor.
    """
    started = []
    for name in compiled.listed("listens_at"):
        spec = compiled.spec.task_specs.get(name)
        if spec is None or any(t.task_spec is spec for t in workflow.get_tasks(state=TaskState.WAITING)):
            continue
        live = [t for t in workflow.tasks.values() if t.has_state(TaskState.READY | TaskState.WAITING)]
        task = workflow.task_tree._add_child(spec, TaskState.FUTURE)
        if live:
            task.data = copy.deepcopy(max(live, key=lambda t: t.last_state_change).data)
        spec._update(task)  # now waiting for its event
        spec._predict(task, mask=TaskState.NOT_FINISHED_MASK)  # and its next steps drawn, as for any waiting task
        started.append(name)
    return started


def migrate(engine: Engine, key: str, from_version: int, to_version: int, *, actor: Actor,
            dry_run: bool = True) -> MigrationReport:
    source, target = _versions(engine, key, from_version, to_version)
    compiled = engine.definitions.get(target)
    report = MigrationReport(key, from_version, to_version, dry_run)
    with engine.db.reading() as session:
        case_ids = list(session.scalars(select(Case.id).where(
            Case.pathway_version_id == source.id, Case.status == "open").order_by(Case.opened_at, Case.id)))
    for case_id in case_ids:
        report.cases.append(_migrate_case(engine, case_id, source, target, compiled, actor, dry_run))
    return report


def _migrate_case(engine: Engine, case_id: str, source: PathwayVersion, target: PathwayVersion, compiled: Any,
                  actor: Actor, dry_run: bool) -> CaseMigration:
    with engine._unit() as unit:
        case = engine._lock_case(unit, case_id)
        outcome = CaseMigration(case.id, case.reference, [], False)
        if case.pathway_version_id != source.id:
            outcome.reason = "the case moved meanwhile"
            return outcome
        if not case.state:
            outcome.reason = "the case has no running workflow"
            return outcome
        origin = engine.definitions.get(source)
        current = load_state(case.state, origin.spec, origin.subprocess_specs)
        outcome.open_steps = sorted({t.task_spec.name for t in current.get_tasks(state=LIVE)
                                     if not t.task_spec.name.startswith(("Start", "End", "Root"))})
        values = _case_values(current, compiled.shared_data)
        ended = _end_threads_at_removed_joins(current, compiled.spec.task_specs)
        _splice_finished_ancestors(current, compiled.spec.task_specs)
        adapted, outcome.reason = _adapt(dump_state(current), compiled.spec.task_specs)
        if adapted is None:
            return outcome
        try:
            workflow = load_state(adapted, compiled.spec, compiled.subprocess_specs)
            workflow._predict()
        except Exception as error:  # the state does not fit the target's structure
            outcome.reason = f"the workflow does not fit version {target.version}: {type(error).__name__}"
            return outcome
        grafted = _graft_listeners(workflow, compiled)
        missing_forms = sorted({t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
                               - set(compiled.user_tasks))
        if missing_forms:
            outcome.reason = "open steps without role, form or due rule in the target: " + ", ".join(missing_forms)
            return outcome
        outcome.can_migrate = True
        outcome.started, outcome.ended = grafted, ended
        share(workflow, values)
        if dry_run:
            return outcome
        engine.workflows.take(case.id, case.version)  # the cached workflow belongs to the old version
        for row in engine._open_rows(unit, case.id):
            info = compiled.user_tasks[row.step]
            unit.conn.execute(update(OPEN_TASKS).where(OPEN_TASKS.c.id == row.id).values(
                role=info.role, sector=info.sector, form=info.form, pathway_key=compiled.key))
            row.role, row.sector, row.form = info.role, info.sector, info.form
        case.pathway_version_id = target.id
        case.set(pathway_version_id=target.id)
        unit.event(case, actor, "case_migrated", detail={"from": source.version, "to": target.version,
                                                          "open_steps": outcome.open_steps, "started": grafted,
                                                          "ended": ended})
        unit.timers_before[case.id] = _waiting_timers(workflow)  # same timers, same ids: nothing to rewrite
        engine._advance(unit, case, compiled, workflow, actor)
        outcome.migrated = True
        return outcome
