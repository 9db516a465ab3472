"""``himaya check``: does every open case's stored workflow agree with its projections?

For each open case, the stored SpiffWorkflow state is loaded with its pathway version and
compared with what queries read: the open tasks (ids and steps), the waiting timers (ids and
due times), and the case's status. A step of any case whose completion is dated before its
start (a negative duration, which no chart may draw) is reported too. Any difference is
reported; nothing is changed.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from .models import Case, CaseTimer, CaseWorkflow, OpenTask, TaskRecord
from .runtime import Engine, _waiting_timers
from .workflow_state import load_state


@dataclass(frozen=True)
class Difference:
    case_id: str
    reference: str
    problem: str

    def __str__(self) -> str:
        return f"{self.reference} ({self.case_id}): {self.problem}"


def check(engine: Engine, *, batch: int = 500) -> Iterator[Difference]:
    with engine.db.reading() as session:
        case_ids = list(session.scalars(select(Case.id).where(Case.status == "open").order_by(Case.id)))
    for start in range(0, len(case_ids), batch):
        chunk = case_ids[start:start + batch]
        with engine.db.reading() as session:
            cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(chunk)))}
            states = dict(session.execute(select(CaseWorkflow.case_id, CaseWorkflow.state)
                                          .where(CaseWorkflow.case_id.in_(chunk))).all())
            tasks: dict[str, dict[str, str]] = {case_id: {} for case_id in chunk}
            for row in session.execute(select(OpenTask.case_id, OpenTask.id, OpenTask.step)
                                       .where(OpenTask.case_id.in_(chunk))):
                tasks[row.case_id][row.id] = row.step
            timers: dict[str, dict[str, object]] = {case_id: {} for case_id in chunk}
            for timer in session.execute(select(CaseTimer.case_id, CaseTimer.task_id, CaseTimer.due_at)
                                         .where(CaseTimer.case_id.in_(chunk))):
                timers[timer.case_id][timer.task_id] = timer.due_at
        for case_id in chunk:
            case = cases[case_id]
            yield from _check_case(engine, case, states.get(case_id), tasks[case_id], timers[case_id])
    yield from negative_durations(engine)


def negative_durations(engine: Engine) -> Iterator[Difference]:
    """Steps ended before they started (a clock set wrong, a hand-made import): a data error."""
    with engine.db.reading() as session:
        rows = session.execute(select(TaskRecord.id, TaskRecord.step, TaskRecord.created_at, TaskRecord.ended_at,
                                      Case.id, Case.reference).join(Case, Case.id == TaskRecord.case_id)
                               .where(TaskRecord.ended_at < TaskRecord.created_at).order_by(TaskRecord.ended_at)).all()
    for task_id, step, created_at, ended_at, case_id, reference in rows:
        yield Difference(case_id, reference, f"step {step} ({task_id}) ended {ended_at.isoformat()}, before it "
                                             f"started {created_at.isoformat()}: a negative duration")


def _check_case(engine: Engine, case: Case, state: str | None, tasks: dict[str, str],
                timers: dict[str, object]) -> Iterator[Difference]:
    def differ(problem: str) -> Difference:
        return Difference(case.id, case.reference, problem)

    if not state:
        yield differ("no stored workflow")
        return
    try:
        compiled = engine.definition(case.pathway_version_id)
        workflow = load_state(state, compiled.spec, compiled.subprocess_specs)
    except Exception as error:  # a state that cannot be read is exactly what this command reports
        yield differ(f"stored workflow unreadable: {type(error).__name__}: {error}")
        return
    if workflow.completed:
        yield differ("the workflow has ended but the case is open")
    ready = {str(t.id): t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    for task_id, step in sorted(ready.items()):
        if task_id not in tasks:
            yield differ(f"ready step {step} ({task_id}) has no open-task row")
        elif tasks[task_id] != step:
            yield differ(f"open-task row {task_id} says {tasks[task_id]}, the workflow says {step}")
    for task_id, step in sorted(tasks.items()):
        if task_id not in ready:
            yield differ(f"open-task row {step} ({task_id}) is not ready in the workflow")
    waiting = {task_id: due for task_id, (_step, due) in _waiting_timers(workflow).items()}
    for task_id, due in sorted(waiting.items()):
        if task_id not in timers:
            yield differ(f"waiting timer {task_id} has no timer row")
        elif timers[task_id] != due:
            yield differ(f"timer {task_id} is due {due.isoformat()} in the workflow, {timers[task_id]} in its row")
    for task_id in sorted(set(timers) - set(waiting)):
        yield differ(f"timer row {task_id} has no waiting timer in the workflow")
