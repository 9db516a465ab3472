"""The SpiffWorkflow script engine Himaya gives every workflow.

Conditions and timer expressions go through :mod:`engine.sandbox`; scripts are refused
(they are also refused at deploy); service tasks are dispatched to :mod:`handlers` through
the command context that the runtime binds while it runs a command.
"""
from __future__ import annotations

import contextvars
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from . import sandbox

if TYPE_CHECKING:
    from SpiffWorkflow.task import Task as SpiffTask

# Set by the runtime for the duration of one command: a callable that runs a service task.
ServiceDispatcher = Callable[[Any, str, dict[str, Any]], Any]
service_dispatcher: contextvars.ContextVar[ServiceDispatcher | None] = contextvars.ContextVar(
    "himaya_service_dispatcher", default=None
)


class SandboxScriptEngine(PythonScriptEngine):
    def validate(self, expression: str) -> None:
        sandbox.check(expression)

    def evaluate(self, task: SpiffTask, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        data = dict(task.data)
        if external_context:
            data.update(external_context)
        try:
            return sandbox.evaluate(expression, data)
        except sandbox.SandboxError as exc:
            raise WorkflowTaskException(
                f"Error evaluating expression '{expression}': {exc}", task=task, exception=exc
            ) from None

    def execute(self, task: SpiffTask, script: str, external_context: dict[str, Any] | None = None) -> NoReturn:
        raise WorkflowTaskException("Scripts are not allowed in Himaya pathways", task=task)

    def call_service(self, task: SpiffTask, **kwargs: Any) -> str:
        dispatch = service_dispatcher.get()
        if dispatch is None:
            raise WorkflowTaskException("No service dispatcher bound to this command", task=task)
        params = {name: p.get("value") for name, p in (kwargs.get("operation_params") or {}).items()}
        result = dispatch(task, kwargs["operation_name"], params)
        return json.dumps(result if result is not None else {})


SCRIPT_ENGINE = SandboxScriptEngine()
