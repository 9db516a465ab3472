"""The stored form of a running workflow, kept small and history-independent.

SpiffWorkflow keeps every task it ever ran in its task tree, and its serializer embeds the
whole process spec in every snapshot. A case that loops (follow-up visits, closure sent back
to orientation) would then get slower and larger with each iteration: in memory, a step at
visit 200 costs 12× a step at visit 1.

Himaya stores instead:

- only the workflow's *live* part. :func:`compact` removes the finished tasks above the
  lowest common ancestor of every unfinished task and hangs that ancestor under the root.
  Nothing below it changes, so joins, boundary events and timers behave as before; what was
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
    """Drop the finished part of the task tree above the live tasks; returns tasks removed."""
    root = workflow.task_tree
    live = [t for t in workflow.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not live:
        return 0
    paths = []
    for task in live:
        path = []
        node = task
        while node is not None:
            path.append(node)
            node = node.parent
        paths.append(path[::-1])  # root … task
    ancestor = root
    for depth in range(min(len(p) for p in paths)):
        candidate = paths[0][depth]
        if all(p[depth] is candidate for p in paths):
            ancestor = candidate
        else:
            break
    if ancestor is root or ancestor.parent is root:
        return 0
    keep = {root.id}
    stack = [ancestor]
    while stack:
        node = stack.pop()
        keep.add(node.id)
        stack.extend(node.children)
    removed = [task_id for task_id in workflow.tasks if task_id not in keep]
    for task_id in removed:
        del workflow.tasks[task_id]
        workflow.subprocesses.pop(task_id, None)
    root._children = [ancestor.id]
    ancestor._parent = root.id
    if workflow.last_task is not None and workflow.last_task.id not in keep:
        workflow.last_task = None
    return len(removed)


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
