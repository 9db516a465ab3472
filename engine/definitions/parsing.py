"""The first two gates: a hardened XML parse and the BPMN 2.0 schema.

1. a hardened lxml parse: no DTD, no entities, no network, a size and depth cap;
2. the BPMN 2.0 XSD (with SpiffWorkflow's extension schema).

Also the readers of what Himaya keeps in a BPMN file: extension properties and lanes.
"""
from __future__ import annotations

from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from ..errors import DefinitionInvalid, DefinitionTooLarge
from .model import Problem

MAX_BPMN_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}


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
        raise DefinitionInvalid("BPMN rejected", [
            Problem(f"not well-formed XML: {exc.msg}", None, line).as_dict()]) from None
    if root is None:
        raise DefinitionInvalid("BPMN rejected", [Problem("empty document").as_dict()])
    for element in root.iter():
        if isinstance(element, etree._Entity) or isinstance(element, etree._ProcessingInstruction):
            raise DefinitionInvalid("BPMN rejected", [
                Problem("entities are not allowed", None, element.sourceline).as_dict()])
    deepest = max((len(list(e.iterancestors())) for e in root.iter()), default=0)
    if deepest > MAX_DEPTH:
        raise DefinitionInvalid("BPMN rejected", [
            Problem(f"elements nested deeper than {MAX_DEPTH} levels").as_dict()])
    if root.tag != f"{{{NS['bpmn']}}}definitions":
        raise DefinitionInvalid("BPMN rejected", [
            Problem("the root element must be bpmn:definitions", None, root.sourceline).as_dict()])
    return root


def schema_problems(root: etree._Element) -> list[Problem]:
    """What the BPMN 2.0 XSD finds wrong with a parsed document (the first 20 errors)."""
    schema = VALIDATOR.validator
    document = etree.ElementTree(etree.fromstring(etree.tostring(root), parser=_PARSER))
    VALIDATOR.preprocess(document.getroot())
    if schema.validate(document):
        return []
    problems = []
    for error in list(schema.error_log)[:20]:
        problems.append(Problem(f"BPMN schema: {error.message}", None, error.line))
    return problems


def properties_of(element: etree._Element) -> dict[str, str]:
    """The ``spiffworkflow:property`` name/value pairs of an element's extension elements."""
    found = {}
    path = "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"
    for prop in element.xpath(path, namespaces=NS):
        name = prop.get("name")
        if name:
            found[name] = prop.get("value", "")
    return found


def lanes_by_step(process: etree._Element) -> dict[str, str]:
    """The lane id of every flow node placed in a lane, by node id."""
    lanes = {}
    for lane in process.xpath(".//bpmn:lane", namespaces=NS):
        for ref in lane.xpath("./bpmn:flowNodeRef", namespaces=NS):
            lanes[(ref.text or "").strip()] = lane.get("id")
    return lanes
