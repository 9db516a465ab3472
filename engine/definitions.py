"""Pathway definitions: parse, validate, version, deploy, and compile for execution.

A BPMN file goes through four gates before it can run, and every problem is reported
with the element id and line:

1. a hardened lxml parse: no DTD, no entities, no network, a size and depth cap;
2. the BPMN 2.0 XSD (with SpiffWorkflow's extension schema);
3. SpiffWorkflow's own parser;
4. Himaya's rules: every user task has a role, an existing form and a due rule; service
   tasks name a registered handler; no scripts; every expression passes the sandbox;
   every exclusive/inclusive gateway has a default flow or conditions that provably cover
   every case.

Deploys are versioned per process key; deploying identical content returns the existing
version.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from . import sandbox
from .durations import DueRule, parse_due_rule
from .errors import Conflict, DefinitionInvalid, DefinitionTooLarge, NotFound
from .forms import CompiledForm, FormDefinitionError, compile_form
from .intake import INTAKE_VARIABLE_DOMAINS
from .models import CaseEvent, PathwayVersion

MAX_BPMN_BYTES = 2 * 1024 * 1024
MAX_FORM_BYTES = 512 * 1024
MAX_DEPTH = 64
MAX_ENUMERATED_CASES = 4096

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
ROLES = ("case_worker", "coordinator", "partner", "supervisor")
# What a pathway's instances are about (process property ``subject``; a child by default).
SUBJECTS = ("child", "statistical_report", "action_plan")
SECTORS = ("justice", "health", "education", "police", "gendarmerie", "youth", "employment",
           "social_action", "civil_status", "other")
_KEY_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,99}$")
FORM_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,99}$")
_FORM_NAME = FORM_NAME


@dataclass
class Problem:
    message: str
    element: str | None = None
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"element": self.element, "line": self.line, "message": self.message}

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

    def form_for(self, step: str) -> CompiledForm:
        return self.forms[self.user_tasks[step].form]


def _refuse_dtd(data: bytes) -> None:
    lowered = data.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise DefinitionInvalid(
            "BPMN rejected", [Problem("DTDs and entity declarations are not allowed in BPMN files").as_dict()]
        )


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
    huge_tree=False, remove_pis=True, collect_ids=False,
)


def parse_xml(data: bytes | str) -> etree._Element:
    """Parse BPMN XML safely; raises DefinitionInvalid / DefinitionTooLarge."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_BPMN_BYTES:
        raise DefinitionTooLarge(f"BPMN file larger than {MAX_BPMN_BYTES // 1024} KB")
    _refuse_dtd(data)
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if hasattr(exc, "lineno") else None
        raise DefinitionInvalid("BPMN rejected", [Problem(f"not well-formed XML: {exc.msg}", None, line).as_dict()]) from None
    if root is None:
        raise DefinitionInvalid("BPMN rejected", [Problem("empty document").as_dict()])
    for element in root.iter():
        if isinstance(element, etree._Entity) or isinstance(element, etree._ProcessingInstruction):
            raise DefinitionInvalid("BPMN rejected", [Problem("entities are not allowed", None, element.sourceline).as_dict()])
    deepest = max((len(list(e.iterancestors())) for e in root.iter()), default=0)
    if deepest > MAX_DEPTH:
        raise DefinitionInvalid("BPMN rejected", [Problem(f"elements nested deeper than {MAX_DEPTH} levels").as_dict()])
    if root.tag != f"{{{NS['bpmn']}}}definitions":
        raise DefinitionInvalid("BPMN rejected", [Problem("the root element must be bpmn:definitions", None, root.sourceline).as_dict()])
    return root


def _xsd_problems(root: etree._Element) -> list[Problem]:
    schema = VALIDATOR.validator
    document = etree.ElementTree(etree.fromstring(etree.tostring(root), parser=_PARSER))
    VALIDATOR.preprocess(document.getroot())
    if schema.validate(document):
        return []
    problems = []
    for error in list(schema.error_log)[:20]:
        problems.append(Problem(f"BPMN schema: {error.message}", None, error.line))
    return problems


def _properties(element: etree._Element) -> dict[str, str]:
    found = {}
    for prop in element.xpath("./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=NS):
        name = prop.get("name")
        if name:
            found[name] = prop.get("value", "")
    return found


def _lane_of(process: etree._Element) -> dict[str, str]:
    lanes = {}
    for lane in process.xpath(".//bpmn:lane", namespaces=NS):
        for ref in lane.xpath("./bpmn:flowNodeRef", namespaces=NS):
            lanes[(ref.text or "").strip()] = lane.get("id")
    return lanes


def check_definition(
    data: bytes | str,
    forms: dict[str, Any],
    *,
    handler_names: set[str] | frozenset[str] | None = None,
) -> CheckedDefinition:
    """Run every gate; raises :class:`DefinitionInvalid` listing all problems."""
    if handler_names is None:
        from handlers import registry
        handler_names = set(registry.names())
    root = parse_xml(data)
    problems = _xsd_problems(root)
    if problems:
        raise DefinitionInvalid("BPMN rejected by the BPMN 2.0 schema", [p.as_dict() for p in problems])

    executable = root.xpath("./bpmn:process[@isExecutable='true']", namespaces=NS)
    if len(executable) != 1:
        raise DefinitionInvalid("BPMN rejected", [Problem(
            f"expected exactly one executable process, found {len(executable)}").as_dict()])
    process = executable[0]
    key = process.get("id", "")
    if not _KEY_PATTERN.match(key):
        raise DefinitionInvalid("BPMN rejected", [Problem(
            "the process id must start with a letter and hold only letters, digits, _ and -",
            key, process.sourceline).as_dict()])

    problems, warnings = [], []
    compiled_forms: dict[str, CompiledForm] = {}
    user_tasks: dict[str, UserTaskInfo] = {}
    lanes = _lane_of(process)

    def problem(message: str, element: etree._Element) -> None:
        problems.append(Problem(message, element.get("id"), element.sourceline))

    for element in process.iter():
        if not isinstance(element.tag, str):
            continue
        tag = etree.QName(element).localname
        if tag in ("scriptTask", "script", "preScript", "postScript"):
            owner = next((e for e in itertools.chain([element], element.iterancestors()) if e.get("id")), element)
            problem("scripts are not allowed: use a service task with a registered handler", owner)
        if tag in ("callActivity", "subProcess", "transaction", "adHocSubProcess"):
            # Compaction and migration are proven on flat processes only: sub-processes wait for tests.
            problem(f"{tag} is not supported by Himaya pathways (draw the steps in the main process)", element)

    for task in process.xpath(".//bpmn:userTask", namespaces=NS):
        step, props = task.get("id"), _properties(task)
        role, sector, form_name, due = props.get("role"), props.get("sector") or None, props.get("form"), props.get("due")
        if role not in ROLES:
            problem(f"user task needs a 'role' property, one of {', '.join(ROLES)}", task)
        if role == "partner" and sector not in SECTORS:
            problem(f"a partner task needs a 'sector' property, one of {', '.join(SECTORS)}", task)
        if role != "partner" and sector:
            problem("only partner tasks have a 'sector'", task)
        if not form_name:
            problem("user task needs a 'form' property naming a form of bpmn/forms/", task)
        elif not _FORM_NAME.match(form_name):
            problem(f"form name '{form_name}' must be lower-case letters, digits, _ or -", task)
        elif form_name not in forms:
            problem(f"form '{form_name}' does not exist", task)
        elif form_name not in compiled_forms:
            try:
                compiled_forms[form_name] = compile_form(form_name, forms[form_name])
                warnings.extend(Problem(w, task.get("id"), task.sourceline) for w in compiled_forms[form_name].warnings)
            except FormDefinitionError as exc:
                for message in exc.problems:
                    problem(message, task)
        rule = None
        if not due:
            problem("user task needs a 'due' property (e.g. P3D or high=PT24H;medium=P3D;low=P7D)", task)
        else:
            try:
                rule = parse_due_rule(due)
            except ValueError as exc:
                problem(f"due rule: {exc}", task)
        if step not in lanes:
            warnings.append(Problem("user task is not in a lane", step, task.sourceline))
        titles = {"fr": task.get("name") or step}
        for language in ("ar", "en"):
            if props.get(f"title_{language}"):
                titles[language] = props[f"title_{language}"]
            else:
                warnings.append(Problem(f"no '{language}' title (property title_{language})", step, task.sourceline))
        if rule is not None and role in ROLES and form_name in compiled_forms:
            user_tasks[step] = UserTaskInfo(step, role, sector, form_name, rule, titles, lanes.get(step))

    for service in process.xpath(".//bpmn:serviceTask", namespaces=NS):
        operators = service.xpath("./bpmn:extensionElements/spiffworkflow:serviceTaskOperator", namespaces=NS)
        if len(operators) != 1:
            problem("service task needs one spiffworkflow:serviceTaskOperator naming a handler", service)
            continue
        name = operators[0].get("id")
        if name not in handler_names:
            problem(f"no handler named '{name}' (known: {', '.join(sorted(handler_names))})", service)
        for param in operators[0].xpath(".//spiffworkflow:parameter", namespaces=NS):
            _check_expression(param.get("value", ""), service, problem)

    for expr in process.xpath(".//bpmn:conditionExpression | .//bpmn:timeDuration | .//bpmn:timeDate"
                              " | .//bpmn:timeCycle", namespaces=NS):
        owner = expr.getparent()
        if etree.QName(owner).localname == "timerEventDefinition":
            owner = owner.getparent()
        _check_expression(expr.text or "", owner, problem)

    subject = _properties(process).get("subject", "child")
    if subject not in SUBJECTS:
        problem(f"process property 'subject' must be one of {', '.join(SUBJECTS)}", process)

    field_domains = _field_domains(compiled_forms)
    for gateway in process.xpath(".//bpmn:exclusiveGateway | .//bpmn:inclusiveGateway", namespaces=NS):
        _check_gateway(process, gateway, field_domains, problem)

    if problems:
        raise DefinitionInvalid("BPMN rejected by Himaya's rules", [p.as_dict() for p in problems])

    parser = SpiffBpmnParser()
    try:
        parser.add_bpmn_xml(root, filename=f"{key}.bpmn")
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        raise DefinitionInvalid("BPMN rejected by the workflow parser", [Problem(
            str(exc).splitlines()[0], getattr(exc, "id", None) or None,
            getattr(exc, "line_number", None) or None).as_dict()]) from None
    except Exception as exc:  # the parser raises plain exceptions on some malformed models
        raise DefinitionInvalid("BPMN rejected by the workflow parser", [Problem(
            f"{type(exc).__name__}: {exc}").as_dict()]) from None

    return CheckedDefinition(
        key=key, name=process.get("name") or key, spec=spec, subprocess_specs=subprocess_specs,
        user_tasks=user_tasks, forms=compiled_forms, properties=_properties(process), warnings=warnings,
    )


def _check_expression(text: str, owner: etree._Element, problem: Any) -> None:
    try:
        sandbox.check(text.strip())
    except sandbox.SandboxError as exc:
        problem(f"expression '{text.strip()[:80]}' refused: {exc}", owner)


def _field_domains(forms: dict[str, CompiledForm]) -> dict[str, list[Any] | None]:
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
                   problem: Any) -> None:
    gateway_id = gateway.get("id")
    outgoing = process.xpath(f"./bpmn:sequenceFlow[@sourceRef='{gateway_id}']", namespaces=NS)
    if len(outgoing) < 2:
        return
    default = gateway.get("default")
    conditions = []
    for flow in outgoing:
        expr = flow.xpath("./bpmn:conditionExpression", namespaces=NS)
        if flow.get("id") == default:
            continue
        if not expr or not (expr[0].text or "").strip():
            problem(f"flow '{flow.get('id')}' has no condition and is not the default flow", gateway)
            return
        conditions.append((flow.get("id"), expr[0].text.strip()))
    if default:
        return
    try:
        variables = sorted(set().union(*(sandbox.names_used(c) for _, c in conditions)))
    except sandbox.SandboxError:
        return  # reported by the expression check
    unbounded = [v for v in variables if domains.get(v) is None]
    if unbounded:
        problem("gateway has no default flow and its conditions cannot be proven to cover every case "
                f"(unbounded: {', '.join(unbounded)}): add a default flow", gateway)
        return
    value_sets = [domains[v] for v in variables]
    total = 1
    for values in value_sets:
        total *= max(len(values or []), 1)
    if total > MAX_ENUMERATED_CASES:
        problem("gateway has no default flow and too many combinations to check: add a default flow", gateway)
        return
    for combination in itertools.product(*value_sets):  # type: ignore[arg-type]
        data = dict(zip(variables, combination))
        if not any(_truthy(cond, data) for _, cond in conditions):
            shown = ", ".join(f"{k}={v!r}" for k, v in data.items())
            problem(f"gateway has no default flow and no condition holds when {shown}: add a default flow",
                    gateway)
            return


def _truthy(condition: str, data: dict[str, Any]) -> bool:
    try:
        return bool(sandbox.evaluate(condition, data))
    except sandbox.SandboxError:
        return False


# --- storage -------------------------------------------------------------------------

def content_hash(xml: bytes | str, forms: dict[str, Any]) -> str:
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    digest = hashlib.sha256(xml)
    digest.update(json.dumps(forms, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


@dataclass
class DeployResult:
    pathway: PathwayVersion
    created: bool
    warnings: list[Problem]


def deploy(session: Session, xml: bytes | str, forms: dict[str, Any], *, actor: str, now: datetime,
           activate: bool = True) -> DeployResult:
    """Validate and store a definition as a new version of its key (or return the same one)."""
    checked = check_definition(xml, forms)
    used_forms = {name: forms[name] for name in sorted(checked.forms)}
    xml_text = xml.decode("utf-8") if isinstance(xml, bytes) else xml
    digest = content_hash(xml_text, used_forms)
    existing = session.scalar(select(PathwayVersion).where(
        PathwayVersion.key == checked.key, PathwayVersion.content_hash == digest))
    if existing is not None:
        return DeployResult(existing, False, checked.warnings)
    latest = session.scalar(select(func.max(PathwayVersion.version)).where(PathwayVersion.key == checked.key)) or 0
    row = PathwayVersion(
        key=checked.key, version=latest + 1, name=checked.name, content_hash=digest, bpmn_xml=xml_text,
        forms=used_forms, properties=checked.properties, is_active=False, deployed_at=now, deployed_by=actor,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"another deploy of '{checked.key}' happened at the same time; try again") from None
    if activate:
        activate_version(session, row, actor=actor, now=now)
    session.add(CaseEvent(case_id=None, at=now, actor=actor, kind="pathway_deployed", step=None, task_id=None,
                          detail={"key": row.key, "version": row.version, "activated": activate}))
    return DeployResult(row, True, checked.warnings)


def activate_version(session: Session, row: PathwayVersion, *, actor: str, now: datetime) -> None:
    session.execute(update(PathwayVersion).where(PathwayVersion.key == row.key, PathwayVersion.id != row.id)
                    .values(is_active=False))
    row.is_active = True
    session.flush()


def active_version(session: Session, key: str) -> PathwayVersion:
    row = session.scalar(select(PathwayVersion).where(PathwayVersion.key == key, PathwayVersion.is_active.is_(True)))
    if row is None:
        raise NotFound(f"no active pathway '{key}'")
    return row


def read_forms_folder(folder: Path) -> dict[str, Any]:
    """Every ``*.json`` form of a folder, by name; raises DefinitionInvalid on a bad file."""
    forms: dict[str, Any] = {}
    if not folder.is_dir():
        return forms
    for path in sorted(folder.glob("*.json")):
        if path.stat().st_size > MAX_FORM_BYTES:
            raise DefinitionInvalid("form rejected", [Problem(f"form file {path.name} is too large").as_dict()])
        try:
            forms[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise DefinitionInvalid("form rejected", [Problem(f"form file {path.name} is not valid JSON: {exc}").as_dict()]) from None
    return forms


def deploy_folder(session: Session, folder: Path, *, actor: str, now: datetime) -> list[DeployResult]:
    """Deploy every ``*.bpmn`` of a folder with the forms of its ``forms/`` sub-folder."""
    forms = read_forms_folder(folder / "forms")
    return [deploy(session, path.read_bytes(), forms, actor=actor, now=now) for path in sorted(folder.glob("*.bpmn"))]


# --- compiled definitions for execution --------------------------------------------

class DefinitionCache:
    """Compiled definitions by content hash: each version is parsed once per process.

    Keyed by content rather than by row id, so the cache can never hand out the spec of
    another definition, whatever happens to the table.
    """

    def __init__(self) -> None:
        self._compiled: dict[str, CheckedDefinition] = {}

    def by_hash(self, content_hash: str | None) -> CheckedDefinition | None:
        return self._compiled.get(content_hash) if content_hash else None

    def get(self, row: PathwayVersion) -> CheckedDefinition:
        compiled = self._compiled.get(row.content_hash)
        if compiled is None:
            compiled = check_definition(row.bpmn_xml, row.forms, handler_names=_any_names())
            self._compiled[row.content_hash] = compiled
        compiled.versions[row.id] = row.version
        return compiled


class _AnyNames(frozenset):
    """Stored definitions were checked at deploy; a handler missing now fails at run time."""

    def __contains__(self, item: object) -> bool:
        return True


def _any_names() -> frozenset[str]:
    return _AnyNames()
