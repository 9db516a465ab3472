"""The stored form of a running workflow, kept small and history-independent.

SpiffWorkflow keeps every task it ever ran in its task tree, and its serializer embeds the
whole process spec in every snapshot. A case that loops (follow-up visits, closure sent back
to orientation) would then get slower and larger with each iteration: in memory, a step at
visit 200 costs 12× a step at visit 1.

Himaya stores instead:

- only the workflow's *live* part. :func:`compact` keeps, of the finished tasks, only those
  SpiffWorkflow still reads: the parent and grandparent of every unfinished task (joins read a
  waiting task's parent; a boundary event's join finds its split two levels up), the tasks of
  a join gathering threads (it counts those that reached it, finished or not) and the
  branch points where the paths to two of these part. Every other finished task is
  spliced out, its kept descendants hung under its nearest kept ancestor, so the order of
  ancestors is kept and a branch that runs for the whole life of a case alongside care (the
  judicial branch waiting for a new fact) does not pin every step ever run below it. What was
  removed is already recorded in ``task_history`` and ``case_events``.
- no spec: the compiled spec is cached per pathway version (:class:`DefinitionCache`) and
  handed to :func:`load_state`.
"""
from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from .script_engine import SCRIPT_ENGINE

STATE_FORMAT = "himaya-state-1"
_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
_WORKFLOW_CONVERTER = _REGISTRY.convert_from_dict[_REGISTRY.typenames[BpmnWorkflow]].args[0].__self__


def dump_state(workflow: BpmnWorkflow) -> str:
    """JSON of the workflow's runtime state, without its spec."""
    state = {
        "format": STATE_FORMAT,
        "data": _REGISTRY.convert(workflow.data),
        "correlations": workflow.correlations,
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "root": str(workflow.task_tree.id),
        "tasks": {str(task_id): _REGISTRY.convert(task) for task_id, task in workflow.tasks.items()},
        "subprocesses": {str(k): _REGISTRY.convert(sp) for k, sp in workflow.subprocesses.items()},
        "bpmn_events": _REGISTRY.convert(workflow.bpmn_events),
    }
    return json.dumps(state, separators=(",", ":"), ensure_ascii=False)


def load_state(text: str, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
    """Rebuild a workflow from :func:`dump_state` output and its (cached) spec."""
    state = json.loads(text)
    if state.get("format") != STATE_FORMAT:
        raise ValueError(f"unknown workflow state format {state.get('format')!r}")
    workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
    workflow.tasks = _WORKFLOW_CONVERTER.mapping_from_dict(state["tasks"], UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks[UUID(state["root"])]
    _WORKFLOW_CONVERTER.set_default_attributes(workflow, state)
    _WORKFLOW_CONVERTER.subprocesses_from_dict(state["subprocesses"], workflow)
    workflow.bpmn_events = _REGISTRY.restore(state.get("bpmn_events", []))
    workflow.script_engine = SCRIPT_ENGINE
    return workflow


def compact(workflow: BpmnWorkflow) -> int:
    """Splice the finished tasks SpiffWorkflow no longer reads out of the task tree; returns tasks removed."""
    root = workflow.task_tree
    tasks = workflow.tasks
    live = [t for t in tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not live:
        return 0
    # A join gathering threads counts those that reached it by its tasks' parents, finished ones
    # included: while a join waits, its finished tasks are kept like open ones. (Once it fired,
    # they are its past: a later round of a loop must not count them. The process end's join
    # counts only unfinished tasks.)
    pending_joins = {t.task_spec for t in live if isinstance(t.task_spec, UnstructuredJoin)
                     and not isinstance(t.task_spec, _EndJoin) and t.has_state(TaskState.READY | TaskState.WAITING)}
    live += [t for t in tasks.values() if t.task_spec in pending_joins and t.has_state(TaskState.FINISHED_MASK)]
    keep: set[UUID] = {root.id}
    reaches_live: dict[UUID, int] = {}  # task → how many of its children lead to unfinished tasks
    for task in live:
        keep.add(task.id)
        parent = task.parent
        if parent is not None:
            keep.add(parent.id)
            if parent.parent is not None:
                keep.add(parent.parent.id)
    counted: set[UUID] = set()  # tasks whose path up to the root has been walked
    for task in live:
        child, node = task, task.parent
        while node is not None and child.id not in counted:
            counted.add(child.id)
            reaches_live[node.id] = reaches_live.get(node.id, 0) + 1
            child, node = node, node.parent
    keep.update(task_id for task_id, branches in reaches_live.items() if branches >= 2)
    removed = [task_id for task_id in tasks if task_id not in keep]
    if not removed:
        return 0
    # Hang every kept task under its nearest kept ancestor, children in their former order.
    new_children: dict[UUID, list[UUID]] = {task_id: [] for task_id in keep}
    for task_id in _depth_first(root):
        if task_id == root.id or task_id not in keep:
            continue
        ancestor = tasks[task_id].parent
        while ancestor is not None and ancestor.id not in keep:
            ancestor = ancestor.parent
        parent_id = ancestor.id if ancestor is not None else root.id
        tasks[task_id]._parent = parent_id
        new_children[parent_id].append(task_id)
    for task_id, children in new_children.items():
        tasks[task_id]._children = children
    for task_id in removed:
        del tasks[task_id]
        workflow.subprocesses.pop(task_id, None)
    if workflow.last_task is not None and workflow.last_task.id not in keep:
        workflow.last_task = None
    return len(removed)


def _depth_first(root: Any) -> list[UUID]:
    """Task ids from the root down, parents before children, children in order."""
    order, stack = [], [root]
    while stack:
        node = stack.pop()
        order.append(node.id)
        stack.extend(reversed(node.children))
    return order


class WorkflowCache:
    """Live workflows of recently changed cases, each tagged with the case version it matches.

    A command *takes* the entry (so no two threads ever share a workflow object) and uses it
    only when its version equals the case row's version read under the row lock; otherwise
    the state is loaded from the database. The entry is put back only after the command's
    transaction committed, with the new version; a failed command simply loses it. Any
    other process writing the case bumps the version, so a stale entry is never used.
    """

    def __init__(self, size: int = 1024) -> None:
        from collections import OrderedDict
        from threading import Lock

        self.size = size
        self._entries: OrderedDict[str, tuple[int, BpmnWorkflow]] = OrderedDict()
        self._lock = Lock()

    def take(self, case_id: str, version: int) -> BpmnWorkflow | None:
        with self._lock:
            entry = self._entries.pop(case_id, None)
        if entry is None or entry[0] != version:
            return None
        return entry[1]

    def put(self, case_id: str, version: int, workflow: BpmnWorkflow) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[case_id] = (version, workflow)
            self._entries.move_to_end(case_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def retag(self, case_id: str, old_version: int, new_version: int) -> None:
        """A command changed the case but not its workflow (a claim): keep the entry valid."""
        with self._lock:
            entry = self._entries.get(case_id)
            if entry is not None and entry[0] == old_version:
                self._entries[case_id] = (new_version, entry[1])

    def __len__(self) -> int:
        return len(self._entries)
