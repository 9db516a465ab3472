"""What checking a definition produces: its problems, its user tasks, the checked definition."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from ..durations import DueRule
from ..forms import CompiledForm


def listed_property(value: str | None) -> tuple[str, ...]:
    """The items of a comma-separated BPMN property, in their order, blanks left out."""
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


@dataclass
class Problem:
    """One problem of a definition: its English message, the element it is on (id and line)
    and, for the kinds the modeler explains in the page's language, a ``code`` with the
    ``params`` its sentence names (see :data:`api.messages.PROBLEM_TEXTS`)."""

    message: str
    element: str | None = None
    line: int | None = None
    code: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"element": self.element, "line": self.line, "message": self.message, "code": self.code,
                "params": dict(self.params)}

    def __str__(self) -> str:
        where = f"{self.element or '-'}" + (f" (line {self.line})" if self.line else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class UserTaskInfo:
    step: str
    role: str
    sector: str | None
    form: str
    due_rule: DueRule
    titles: dict[str, str]
    lane: str | None

    def title(self, language: str) -> str:
        return self.titles.get(language) or self.titles["fr"]


@dataclass
class CheckedDefinition:
    """A definition that passed every gate, ready to store or run."""

    key: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]
    user_tasks: dict[str, UserTaskInfo]
    forms: dict[str, CompiledForm]
    properties: dict[str, str]
    warnings: list[Problem] = field(default_factory=list)
    # pathway version id → version number, for every stored version with this content
    versions: dict[int, int] = field(default_factory=dict)

    def listed(self, name: str) -> tuple[str, ...]:
        """A comma-separated process property (``start_roles``, ``categories``…) as its items."""
        return listed_property(self.properties.get(name))

    @functools.cached_property
    def shared_data(self) -> tuple[str, ...]:
        """The process property ``shared_data``: values that are the case's, not one branch's
        (see :func:`engine.runtime.share`); read on every command, so split once."""
        return self.listed("shared_data")

    @functools.cached_property
    def element_names(self) -> dict[str, str]:
        """Every named BPMN element of the pathway by id (service tasks, events…): the name the
        model gives it, for lines about it that have no step title."""
        specs = [self.spec, *self.subprocess_specs.values()]
        return {spec.bpmn_id: spec.bpmn_name for process in specs for spec in process.task_specs.values()
                if getattr(spec, "bpmn_id", None) and getattr(spec, "bpmn_name", None)}

    def form_for(self, step: str) -> CompiledForm:
        return self.forms[self.user_tasks[step].form]
