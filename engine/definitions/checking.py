"""Checking a definition: every gate in order, every problem reported with its element id and line.

A BPMN file goes through four gates before it can run:

1. a hardened lxml parse of the file decoded per its BOM or XML declaration: no DTD, no
   entities, no network, a size and depth cap;
2. the BPMN 2.0 XSD (with SpiffWorkflow's extension schema);
3. Himaya's rules: every element is connected and reached from a start event; every user
   task has a role, an existing form and a due rule; service tasks name a registered
   handler; no scripts; every expression passes the sandbox;
   timers last at least the deploy's minimum and cycles repeat a given number of times;
   every exclusive/inclusive gateway has a default flow or conditions that provably cover
   every case; a thrown signal is caught, and (a warning) a step recording violence reaches a
   prosecutor notification;
4. SpiffWorkflow's own parser.

The first two are in :mod:`.parsing`, the rules in :mod:`.rules`.
"""
from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from ..durations import DEFAULT_TIMER_MINIMUM
from ..errors import DefinitionInvalid
from . import rules
from .model import CheckedDefinition, Problem
from .parsing import parse_xml, properties_of, schema_problems


def check_definition(
    data: bytes | str,
    forms: dict[str, Any],
    *,
    handler_names: Collection[str] | None = None,
    timer_minimum: timedelta | None = DEFAULT_TIMER_MINIMUM,
    connections: bool = True,
) -> CheckedDefinition:
    """Run every gate; raises :class:`DefinitionInvalid` listing all problems.

    ``timer_minimum`` is the shortest timer a deploy accepts; None skips the timer rules, for a
    version stored before them (it runs, and its missed cycles coalesce: :mod:`engine.clock`).
    ``connections=False`` skips the rule that every element is connected and reached, for the
    same reason: a version deployed before it still runs (an element it never reaches is inert).
    """
    if handler_names is None:
        handler_names = registered_handler_names()
    root = parse_xml(data)
    _refuse(schema_problems(root), "BPMN rejected by the BPMN 2.0 schema")
    process = rules.executable_process(root)

    findings = rules.Findings()
    rules.check_scripts_and_sub_processes(process, findings)
    if connections:
        rules.check_connections(process, findings)
    user_tasks, compiled_forms = rules.check_user_tasks(process, forms, findings)
    rules.check_service_tasks(process, handler_names, findings)
    rules.check_expressions(process, findings)
    if timer_minimum is not None:
        rules.check_timers(process, compiled_forms, timer_minimum, findings)
    rules.check_subject(process, findings)
    rules.check_gateways(process, compiled_forms, findings)
    rules.check_signals(root, process, compiled_forms, findings)
    _refuse(findings.problems, "BPMN rejected by Himaya's rules")

    key = process.get("id", "")
    spec, subprocess_specs = _workflow_specs(root, key)
    return CheckedDefinition(
        key=key, name=process.get("name") or key, spec=spec, subprocess_specs=subprocess_specs,
        user_tasks=user_tasks, forms=compiled_forms, properties=properties_of(process), warnings=findings.warnings,
    )


def registered_handler_names() -> set[str]:
    """The names of the service-task handlers registered in this process."""
    from handlers import registry
    return set(registry.names())


def _refuse(problems: list[Problem], message: str) -> None:
    if problems:
        raise DefinitionInvalid(message, [p.as_dict() for p in problems])


def _workflow_specs(root: etree._Element, key: str) -> tuple[Any, dict[str, Any]]:
    """SpiffWorkflow's parse of the process: its spec and its sub-process specs."""
    parser = SpiffBpmnParser()
    try:
        parser.add_bpmn_xml(root, filename=f"{key}.bpmn")
        return parser.get_spec(key), parser.get_subprocess_specs(key)
    except ValidationException as exc:
        raise DefinitionInvalid("BPMN rejected by the workflow parser", [Problem(
            str(exc).splitlines()[0], getattr(exc, "id", None) or None,
            getattr(exc, "line_number", None) or None).as_dict()]) from None
    except Exception as exc:  # the parser raises plain exceptions on some malformed models
        raise DefinitionInvalid("BPMN rejected by the workflow parser", [Problem(
            f"{type(exc).__name__}: {exc}").as_dict()]) from None
