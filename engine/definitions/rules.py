"""Himaya's rules: what a definition must hold beyond valid BPMN before it may run.

Every element is connected and reached from a start event; every user task has a role, an
existing form and a due rule; service tasks name a registered handler; no scripts; every
expression passes the sandbox; every timer duration and cycle is one of the ISO 8601 values
its expression shows, each no shorter than the deploy's minimum, and every cycle has a count;
every exclusive/inclusive gateway has a default flow or conditions that provably cover every
case. Call activities and sub-processes are refused for now.

There is one function per kind of element; each adds what it finds to :class:`Findings`,
every problem naming the element id and line.
"""
from __future__ import annotations

import ast
import itertools
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .. import sandbox
from ..durations import DueRule, format_duration, parse_due_rule
from ..errors import DefinitionInvalid
from ..forms import CompiledForm, FormDefinitionError, compile_form
from ..intake import INTAKE_VARIABLE_DOMAINS
from ..vocabulary import CHILD, PARTNER, SECTORS, SUBJECT_KINDS
from ..vocabulary import TERRITORIAL_ROLES as ROLES  # a user task's role is a lane of the province
from .model import Problem, UserTaskInfo
from .parsing import NS, lanes_by_step, properties_of

FORM_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,99}$")
MAX_ENUMERATED_CASES = 4096  # combinations of one gateway's variables
# What one deploy may spend proving its gateways' conditions cover every case, all gateways together.
MAX_GATEWAY_EVALUATIONS = 20_000
MAX_GATEWAY_SECONDS = 2.0

_KEY_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,99}$")
_SCRIPTS = ("scriptTask", "script", "preScript", "postScript")
_SUB_PROCESSES = ("callActivity", "subProcess", "transaction", "adHocSubProcess")


@dataclass
class GatewayBudget:
    """What a deploy may still spend proving its gateways' coverage: condition evaluations and seconds."""

    evaluations: int = MAX_GATEWAY_EVALUATIONS
    seconds: float = MAX_GATEWAY_SECONDS
    clock: Callable[[], float] = time.monotonic
    limits: str = field(init=False)
    _deadline: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.limits = f"{self.evaluations} condition evaluations or {self.seconds:g} seconds"

    def spend(self) -> bool:
        """Take one evaluation; False once none, or no time, is left."""
        if self._deadline is None:
            self._deadline = self.clock() + self.seconds
        if self.evaluations <= 0 or self.clock() > self._deadline:
            self.evaluations = 0
            return False
        self.evaluations -= 1
        return True


@dataclass
class Findings:
    """What the rules found: any problem refuses the definition, warnings are shown at deploy."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def problem(self, message: str, element: etree._Element, code: str | None = None, **params: str) -> None:
        self.problems.append(Problem(message, element.get("id"), element.sourceline, code, params))

    def warning(self, message: str, element: etree._Element, code: str | None = None, **params: str) -> None:
        self.warnings.append(Problem(message, element.get("id"), element.sourceline, code, params))


def executable_process(root: etree._Element) -> etree._Element:
    """The one executable process of a document, whose id is a usable key; raises DefinitionInvalid."""
    executable = root.xpath("./bpmn:process[@isExecutable='true']", namespaces=NS)
    if len(executable) != 1:
        raise DefinitionInvalid("BPMN rejected", [Problem(
            f"expected exactly one executable process, found {len(executable)}").as_dict()])
    process: etree._Element = executable[0]
    key = process.get("id", "")
    if not _KEY_PATTERN.match(key):
        raise DefinitionInvalid("BPMN rejected", [Problem(
            "the process id must start with a letter and hold only letters, digits, _ and -",
            key, process.sourceline).as_dict()])
    return process


def check_scripts_and_sub_processes(process: etree._Element, findings: Findings) -> None:
    """No script of any kind, and no call activity or sub-process."""
    for element in process.iter():
        if not isinstance(element.tag, str):
            continue
        tag = etree.QName(element).localname
        if tag in _SCRIPTS:
            owner = next((e for e in itertools.chain([element], element.iterancestors()) if e.get("id")), element)
            findings.problem("scripts are not allowed: use a service task with a registered handler", owner)
        if tag in _SUB_PROCESSES:
            # Compaction and migration are proven on flat processes only: sub-processes wait for tests.
            findings.problem(f"{tag} is not supported by Himaya pathways (draw the steps in the main process)",
                             element)


_FLOW_NODES = ("task", "userTask", "serviceTask", "sendTask", "receiveTask", "manualTask", "businessRuleTask",
               "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
               "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway")


def check_connections(process: etree._Element, findings: Findings) -> None:
    """Every element of the flow is connected and reached: an element no flow leads to (other
    than a start or a boundary event), one that leads nowhere (other than an end event), a
    flow whose end is missing, and a step no path from a start event reaches (a loop drawn
    apart); a process without a start event is a problem on the process. Each problem has its
    ``code`` for the modeler (``no_incoming``, ``no_outgoing``, ``flow_unconnected``,
    ``unreachable``, ``no_start_event``)."""
    nodes = {e.get("id"): e for e in process if isinstance(e.tag, str) and etree.QName(e).localname in _FLOW_NODES}
    outgoing: dict[str, list[str]] = {node: [] for node in nodes}
    incoming: dict[str, int] = dict.fromkeys(nodes, 0)
    for flow in process.xpath("./bpmn:sequenceFlow", namespaces=NS):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source not in nodes or target not in nodes:
            findings.problem("this flow is not connected at both ends", flow, "flow_unconnected")
            continue
        outgoing[source].append(target)
        incoming[target] += 1
    attached: dict[str, list[str]] = {}
    for node_id, node in nodes.items():
        kind = etree.QName(node).localname
        if kind == "boundaryEvent":
            attached.setdefault(node.get("attachedToRef", ""), []).append(node_id)
        if incoming[node_id] == 0 and kind not in ("startEvent", "boundaryEvent"):
            findings.problem("not connected: no flow leads to this element", node, "no_incoming")
        if not outgoing[node_id] and kind != "endEvent" and not _compensation(node):
            findings.problem("not connected: no flow leaves this element (end the path with an end event)", node,
                             "no_outgoing")
    reached: set[str] = set()
    waiting = [n for n, node in nodes.items() if etree.QName(node).localname == "startEvent"]
    if not waiting:
        findings.problem("the process has no start event", process, "no_start_event")
        return
    while waiting:
        current = waiting.pop()
        if current in reached:
            continue
        reached.add(current)
        waiting.extend(outgoing[current])
        waiting.extend(attached.get(current, []))
    for node_id, node in nodes.items():
        if node_id not in reached and incoming[node_id] > 0:
            findings.problem("unreachable: no path from the start event leads to this step", node, "unreachable")


def _compensation(node: etree._Element) -> bool:
    return node.get("isForCompensation") == "true" or bool(
        node.xpath("./bpmn:compensateEventDefinition", namespaces=NS))


def check_user_tasks(process: etree._Element, forms: dict[str, Any], findings: Findings
                     ) -> tuple[dict[str, UserTaskInfo], dict[str, CompiledForm]]:
    """Role, sector, form and due rule of every user task; returns the valid tasks and their compiled forms."""
    lanes = lanes_by_step(process)
    user_tasks: dict[str, UserTaskInfo] = {}
    compiled_forms: dict[str, CompiledForm] = {}
    for task in process.xpath(".//bpmn:userTask", namespaces=NS):
        info = _check_user_task(task, forms, compiled_forms, lanes, findings)
        if info is not None:
            user_tasks[info.step] = info
    return user_tasks, compiled_forms


def _check_user_task(task: etree._Element, forms: dict[str, Any], compiled_forms: dict[str, CompiledForm],
                     lanes: dict[str, str], findings: Findings) -> UserTaskInfo | None:
    step, props = task.get("id"), properties_of(task)
    role, sector, form_name = props.get("role"), props.get("sector") or None, props.get("form")
    _check_role(task, role, sector, findings)
    _check_form(task, form_name, forms, compiled_forms, findings)
    rule = _due_rule(task, props.get("due"), findings)
    if step not in lanes:
        findings.warning("user task is not in a lane", task, "not_in_lane")
    titles = _titles(task, props, findings)
    if (step is not None and rule is not None and role is not None and role in ROLES
            and form_name is not None and form_name in compiled_forms):
        return UserTaskInfo(step, role, sector, form_name, rule, titles, lanes.get(step))
    return None


def _check_role(task: etree._Element, role: str | None, sector: str | None, findings: Findings) -> None:
    if role not in ROLES:
        findings.problem(f"user task needs a 'role' property, one of {', '.join(ROLES)}", task,
                         "role_unknown" if role else "role_missing", role=role or "")
    if role == PARTNER and sector not in SECTORS:
        findings.problem(f"a partner task needs a 'sector' property, one of {', '.join(SECTORS)}", task,
                         "sector_missing")
    if role != PARTNER and sector:
        findings.problem("only partner tasks have a 'sector'", task, "sector_not_partner")


def _check_form(task: etree._Element, form_name: str | None, forms: dict[str, Any],
                compiled_forms: dict[str, CompiledForm], findings: Findings) -> None:
    """The task's form exists and compiles (compiled once per definition, into ``compiled_forms``)."""
    if not form_name:
        findings.problem("user task needs a 'form' property naming a form of bpmn/forms/", task, "form_missing")
    elif not FORM_NAME.match(form_name):
        findings.problem(f"form name '{form_name}' must be lower-case letters, digits, _ or -", task,
                         "form_unknown", form=form_name)
    elif form_name not in forms:
        findings.problem(f"form '{form_name}' does not exist", task, "form_unknown", form=form_name)
    elif form_name not in compiled_forms:
        try:
            compiled_forms[form_name] = compile_form(form_name, forms[form_name])
            for warning in compiled_forms[form_name].warnings:
                findings.warning(warning, task)
        except FormDefinitionError as exc:
            for message in exc.problems:
                findings.problem(message, task)


def _due_rule(task: etree._Element, due: str | None, findings: Findings) -> DueRule | None:
    if not due:
        findings.problem("user task needs a 'due' property (e.g. P3D or high=PT24H;medium=P3D;low=P7D)", task,
                         "due_missing")
        return None
    try:
        return parse_due_rule(due)
    except ValueError as exc:
        findings.problem(f"due rule: {exc}", task, "due_invalid", due=due)
        return None


def _titles(task: etree._Element, props: dict[str, str], findings: Findings) -> dict[str, str]:
    """The task's title by language: its name in French, ``title_ar`` and ``title_en`` properties."""
    titles = {"fr": task.get("name") or task.get("id") or ""}
    for language in ("ar", "en"):
        if props.get(f"title_{language}"):
            titles[language] = props[f"title_{language}"]
        else:
            findings.warning(f"no '{language}' title (property title_{language})", task, f"no_title_{language}")
    return titles


def check_service_tasks(process: etree._Element, handler_names: Collection[str], findings: Findings) -> None:
    """Every service task names one registered handler, with parameters the sandbox accepts."""
    for service in process.xpath(".//bpmn:serviceTask", namespaces=NS):
        operators = service.xpath("./bpmn:extensionElements/spiffworkflow:serviceTaskOperator", namespaces=NS)
        if len(operators) != 1:
            findings.problem("service task needs one spiffworkflow:serviceTaskOperator naming a handler", service)
            continue
        name = operators[0].get("id")
        if name not in handler_names:
            findings.problem(f"no handler named '{name}' (known: {', '.join(sorted(handler_names))})", service)
        for param in operators[0].xpath(".//spiffworkflow:parameter", namespaces=NS):
            check_expression(param.get("value", ""), service, findings)


def check_expressions(process: etree._Element, findings: Findings) -> None:
    """Every sequence-flow condition and timer expression passes the sandbox."""
    for expr in process.xpath(".//bpmn:conditionExpression | .//bpmn:timeDuration | .//bpmn:timeDate"
                              " | .//bpmn:timeCycle", namespaces=NS):
        owner = expr.getparent()
        if etree.QName(owner).localname == "timerEventDefinition":
            owner = owner.getparent()
        check_expression(expr.text or "", owner, findings)


def check_expression(text: str, owner: etree._Element, findings: Findings) -> None:
    try:
        sandbox.check(text.strip())
    except sandbox.SandboxError as exc:
        findings.problem(f"expression '{text.strip()[:80]}' refused: {exc}", owner)


def check_timers(process: etree._Element, forms: dict[str, CompiledForm], minimum: timedelta,
                 findings: Findings) -> None:
    """Every timer duration and cycle interval is at least ``minimum``, and every cycle has a count.

    A timer expression is evaluated when the timer starts; what it can give is read from it here:
    the texts written in it (``"P1M"``, ``{"high": "P1M", "low": "P3M"}[risk_level]``,
    ``"P1D" if c else "P7D"``) or a form field's choices. An expression whose values cannot be
    seen is refused, since its interval could not be checked.
    """
    domains = _field_domains(forms)
    for definition in process.xpath(".//bpmn:timerEventDefinition", namespaces=NS):
        event = definition.getparent()
        for expression in definition.xpath("./bpmn:timeDuration | ./bpmn:timeCycle", namespaces=NS):
            kind = etree.QName(expression).localname
            _check_timer(kind, (expression.text or "").strip(), domains, minimum, event, findings)


def _check_timer(kind: str, text: str, domains: dict[str, list[Any] | None], minimum: timedelta,
                 event: etree._Element, findings: Findings) -> None:
    try:
        tree = sandbox.check(text)
    except sandbox.SandboxError:
        return  # reported by the expression check
    values = _timer_values(tree.body, domains)
    if values is None:
        findings.problem(f"timer expression '{text[:80]}' must choose among ISO 8601 values written in it "
                         "(e.g. {\"high\": \"P1M\", \"low\": \"P3M\"}[risk_level]) or a form field's choices, "
                         "so that its interval can be checked", event)
        return
    check_value = _cycle_problem if kind == "timeCycle" else _duration_problem
    for value in dict.fromkeys(values):  # each once, in order
        problem = check_value(value, minimum)
        if problem:
            findings.problem(f"timer {value!r}: {problem}", event)


def _timer_values(node: ast.AST, domains: dict[str, list[Any] | None]) -> list[Any] | None:
    """Every value a timer expression can give, or None when some cannot be seen."""
    if isinstance(node, ast.Constant):
        return [node.value]
    if isinstance(node, ast.Name):
        choices = domains.get(node.id)
        return list(choices) if choices is not None else None
    branches: list[ast.AST]
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Dict):
        branches = list(node.value.values)  # {…}[key] gives one of the values
    elif isinstance(node, ast.IfExp):
        branches = [node.body, node.orelse]
    elif isinstance(node, ast.BoolOp):
        branches = list(node.values)  # `a or b` gives one of its operands
    else:
        return None
    values: list[Any] = []
    for branch in branches:
        found = _timer_values(branch, domains)
        if found is None:
            return None
        values.extend(found)
    return values


def _duration_problem(value: Any, minimum: timedelta) -> str | None:
    """What is wrong with a timer duration (``PT4H``, ``P1M``), if anything."""
    length = _shortest_length(value)
    if length is None:
        return "not an ISO 8601 duration such as PT4H, P3D or P1M"
    if length < minimum:
        return f"shorter than the minimum timer of {format_duration(minimum)} (HIMAYA_TIMER_MINIMUM)"
    return None


def _cycle_problem(value: Any, minimum: timedelta) -> str | None:
    """What is wrong with a timer cycle (``R12/P1M``, ``R4/2027-01-01T09:00:00Z/P1W``), if anything."""
    if not isinstance(value, str) or not value.strip().upper().startswith("R"):
        return "not an ISO 8601 repeating interval such as R12/P1M"
    parts = value.strip().upper().replace("--", "/").removeprefix("R").split("/")
    count = parts[0]
    if count in ("", "-1"):
        return "repeats without end: give the number of repetitions, e.g. R12/P1M"
    if not count.isdigit() or int(count) < 1:
        return "the number of repetitions must be a whole number from 1, e.g. R12/P1M"
    intervals = [part for part in parts[1:] if part.startswith("P")]
    if len(parts) not in (2, 3) or len(intervals) != 1:
        return "a repeating interval needs one duration, e.g. R12/P1M or R4/2027-01-01T09:00:00Z/P1W"
    try:
        TimerEventDefinition.parse_iso_recurring_interval(value.strip())
    except Exception:  # SpiffWorkflow raises plain exceptions on a malformed interval
        return "not an ISO 8601 repeating interval such as R12/P1M"
    return _duration_problem(intervals[0], minimum)


# The shortest length a calendar unit can have: a year of 365 days, a month of 28.
_SHORTEST_UNIT = {"years": timedelta(days=365), "months": timedelta(days=28), "weeks": timedelta(weeks=1),
                  "days": timedelta(days=1), "hours": timedelta(hours=1), "minutes": timedelta(minutes=1),
                  "seconds": timedelta(seconds=1)}


def _shortest_length(value: Any) -> timedelta | None:
    """The shortest time an ISO 8601 duration can last, as SpiffWorkflow reads it (None if it cannot)."""
    if not isinstance(value, str) or not value.strip().upper().startswith("P"):
        return None
    try:
        parts = TimerEventDefinition.parse_iso_duration(value.strip())
    except Exception:  # SpiffWorkflow raises a plain Exception('Invalid duration')
        return None
    if not parts:
        return None
    return sum((_SHORTEST_UNIT[unit] * amount for unit, amount in parts.items() if unit in _SHORTEST_UNIT),
               timedelta(0))


def check_subject(process: etree._Element, findings: Findings) -> None:
    """The process property ``subject`` (a child by default) is a known subject."""
    subject = properties_of(process).get("subject", CHILD)
    if subject not in SUBJECT_KINDS:
        findings.problem(f"process property 'subject' must be one of {', '.join(SUBJECT_KINDS)}", process)


def check_gateways(process: etree._Element, forms: dict[str, CompiledForm], findings: Findings,
                   budget: GatewayBudget | None = None) -> None:
    """Every exclusive/inclusive gateway has a default flow or conditions proven to cover every case.

    The proofs of all gateways share one ``budget`` per deploy; a gateway whose proof would go
    past it is refused (add a default flow).
    """
    domains = _field_domains(forms)
    budget = budget or GatewayBudget()
    for gateway in process.xpath(".//bpmn:exclusiveGateway | .//bpmn:inclusiveGateway", namespaces=NS):
        _check_gateway(process, gateway, domains, budget, findings)


def _field_domains(forms: dict[str, CompiledForm]) -> dict[str, list[Any] | None]:
    """The finite values of each variable (intake flags, form choices); None when unbounded."""
    domains: dict[str, list[Any] | None] = dict(INTAKE_VARIABLE_DOMAINS)
    for form in forms.values():
        for key in form.keys:
            choices = form.choices(key)
            if key in domains and domains[key] != choices:
                domains[key] = None
            else:
                domains[key] = choices
    return domains


def _check_gateway(process: etree._Element, gateway: etree._Element, domains: dict[str, list[Any] | None],
                   budget: GatewayBudget, findings: Findings) -> None:
    gateway_id = gateway.get("id")
    outgoing = process.xpath(f"./bpmn:sequenceFlow[@sourceRef='{gateway_id}']", namespaces=NS)
    if len(outgoing) < 2:
        return
    default = gateway.get("default")
    conditions = []
    for flow in outgoing:
        if flow.get("id") == default:
            continue
        expr = flow.xpath("./bpmn:conditionExpression", namespaces=NS)
        if not expr or not (expr[0].text or "").strip():
            findings.problem(f"flow '{flow.get('id')}' has no condition and is not the default flow", gateway)
            return
        conditions.append(expr[0].text.strip())
    if not default:
        _prove_coverage(gateway, conditions, domains, budget, findings)


def _prove_coverage(gateway: etree._Element, conditions: list[str], domains: dict[str, list[Any] | None],
                    budget: GatewayBudget, findings: Findings) -> None:
    """Enumerate the values of the variables the conditions read; name a combination none of them holds for."""
    try:
        variables = sorted(set().union(*(sandbox.names_used(c) for c in conditions)))
    except sandbox.SandboxError:
        return  # reported by the expression check
    unbounded = [v for v in variables if domains.get(v) is None]
    if unbounded:
        findings.problem("gateway has no default flow and its conditions cannot be proven to cover every case "
                         f"(unbounded: {', '.join(unbounded)}): add a default flow", gateway)
        return
    value_sets = [domains[v] or [] for v in variables]  # every one bounded (checked above)
    total = 1
    for values in value_sets:
        total *= max(len(values), 1)
    if total > MAX_ENUMERATED_CASES:
        findings.problem("gateway has no default flow and too many combinations to check: add a default flow",
                         gateway)
        return
    for combination in itertools.product(*value_sets):
        data = dict(zip(variables, combination))
        holds = False
        for condition in conditions:
            if not budget.spend():
                findings.problem("gateway has no default flow and proving that its conditions cover every case "
                                 f"would take more than a deploy may spend on its gateways ({budget.limits}): "
                                 "add a default flow", gateway)
                return
            if _truthy(condition, data):
                holds = True
                break
        if not holds:
            shown = ", ".join(f"{k}={v!r}" for k, v in data.items())
            findings.problem(f"gateway has no default flow and no condition holds when {shown}: add a default flow",
                             gateway)
            return


def _truthy(condition: str, data: dict[str, Any]) -> bool:
    try:
        return bool(sandbox.evaluate(condition, data))
    except sandbox.SandboxError:
        return False


# --- signals and judicial safety -------------------------------------------------------------
CONCERNS_FIELD = "concerns_found"  # a step's form field that records violence, exploitation or danger
PROSECUTOR_HANDLER = "himaya.notify_prosecutor"
_SIGNAL_DEFINITION = "bpmn:signalEventDefinition"


def check_signals(root: etree._Element, process: etree._Element, forms: dict[str, CompiledForm],
                  findings: Findings) -> None:
    """Signals: their payload expressions pass the sandbox, each names a declared signal, and a
    signal thrown is caught by some event of the process (else it would vanish). Judicial
    safety, as a warning: a step whose form records violence (``concerns_found``) is followed,
    through engine steps only, by a signal caught on the way to a prosecutor notification."""
    signals = {s.get("id"): s for s in root.xpath("./bpmn:signal", namespaces=NS)}
    for signal in signals.values():
        for expr in signal.xpath("./bpmn:extensionElements/spiffworkflow:payloadExpression", namespaces=NS):
            check_expression(expr.text or "", signal, findings)

    def signal_name(event: etree._Element) -> str | None:
        definition = event.find(_SIGNAL_DEFINITION.replace("bpmn:", f"{{{NS['bpmn']}}}"))
        if definition is None:
            return None
        signal = signals.get(definition.get("signalRef"))
        if signal is None:
            findings.problem(f"the signal event names no declared signal ('{definition.get('signalRef')}')", event)
            return None
        return signal.get("name") or signal.get("id")

    throws = process.xpath(f".//bpmn:intermediateThrowEvent[{_SIGNAL_DEFINITION}] | .//bpmn:endEvent"
                           f"[{_SIGNAL_DEFINITION}]", namespaces=NS)
    catches = process.xpath(f".//bpmn:intermediateCatchEvent[{_SIGNAL_DEFINITION}] | .//bpmn:boundaryEvent"
                            f"[{_SIGNAL_DEFINITION}] | .//bpmn:startEvent[{_SIGNAL_DEFINITION}]", namespaces=NS)
    caught: dict[str, list[etree._Element]] = {}
    for catch in catches:
        name = signal_name(catch)
        if name is not None:
            caught.setdefault(name, []).append(catch)
    thrown: dict[str, str | None] = {}
    for throw in throws:
        name = signal_name(throw)
        thrown[throw.get("id", "")] = name
        if name is not None and name not in caught:
            findings.problem(f"signal '{name}' is thrown here but no event of the process catches it", throw)

    by_id = {e.get("id"): e for e in process.iter() if isinstance(e.tag, str) and e.get("id")}
    successors: dict[str, list[str]] = {}
    for flow in process.xpath(".//bpmn:sequenceFlow", namespaces=NS):
        successors.setdefault(flow.get("sourceRef", ""), []).append(flow.get("targetRef", ""))

    def engine_steps_after(start: str) -> list[etree._Element]:
        """The nodes reached from ``start`` before any user task (which may never run)."""
        seen, queue, reached = {start}, list(successors.get(start, [])), []
        while queue:
            node_id = queue.pop()
            if node_id in seen or node_id not in by_id:
                continue
            seen.add(node_id)
            node = by_id[node_id]
            reached.append(node)
            if etree.QName(node).localname != "userTask":
                queue.extend(successors.get(node_id, []))
        return reached

    def notifies(node: etree._Element) -> bool:
        return etree.QName(node).localname == "serviceTask" and any(
            op.get("id") == PROSECUTOR_HANDLER
            for op in node.xpath("./bpmn:extensionElements/spiffworkflow:serviceTaskOperator", namespaces=NS))

    for task in process.xpath(".//bpmn:userTask", namespaces=NS):
        form = forms.get(properties_of(task).get("form", ""))
        if form is None or CONCERNS_FIELD not in form.keys:
            continue
        after = engine_steps_after(task.get("id", ""))
        informs = any(notifies(node) for node in after) or any(
            notifies(node)
            for throw in after if thrown.get(throw.get("id", "")) is not None
            for catch in caught.get(thrown[throw.get("id", "")] or "", [])
            for node in engine_steps_after(catch.get("id", "")))
        if not informs:
            findings.warning(f"this step records violence, exploitation or danger ('{CONCERNS_FIELD}') but no path "
                             "from it informs the prosecutor: follow it with a signal caught before a "
                             f"'{PROSECUTOR_HANDLER}' service task", task)
