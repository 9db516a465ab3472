"""The check refuses a pathway with an element nothing leads to, one that leads nowhere, or a
step no path from the start reaches, naming each element (the modeler marks it)."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from engine.definitions.checking import check_definition
from engine.definitions.parsing import NS
from engine.definitions.storage import read_forms_folder
from engine.errors import DefinitionInvalid

ROOT = Path(__file__).resolve().parent.parent
FORMS = read_forms_folder(ROOT / "bpmn" / "forms")
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _pathway() -> tuple[etree._ElementTree, etree._Element]:
    tree = etree.parse(str(ROOT / "bpmn" / "child_protection.bpmn"))
    process = tree.getroot().xpath("//bpmn:process[@isExecutable='true']", namespaces=NS)[0]
    return tree, process


def _copy_of_step(process: etree._Element, new_id: str) -> etree._Element:
    """A user task like follow_up (role, form, due rule) without its flows."""
    task = etree.fromstring(etree.tostring(process.xpath("./bpmn:userTask[@id='follow_up']", namespaces=NS)[0]))
    task.set("id", new_id)
    for flow_ref in task.xpath("./bpmn:incoming|./bpmn:outgoing", namespaces=NS):
        task.remove(flow_ref)
    process.append(task)
    return task


def _problems(tree: etree._ElementTree) -> list[dict]:
    with pytest.raises(DefinitionInvalid) as refused:
        check_definition(etree.tostring(tree), FORMS)
    return refused.value.errors


def test_the_shipped_pathways_are_connected():
    for path in sorted((ROOT / "bpmn").glob("*.bpmn")):
        check_definition(path.read_bytes(), FORMS)


def test_a_step_dropped_on_the_diagram_and_not_connected_is_named_both_ways():
    tree, process = _pathway()
    _copy_of_step(process, "loose_step")
    messages = {p["message"] for p in _problems(tree) if p["element"] == "loose_step"}
    assert messages == {"not connected: no flow leads to this element",
                        "not connected: no flow leaves this element (end the path with an end event)"}


def test_a_step_only_an_unconnected_step_leads_to_is_unreachable():
    tree, process = _pathway()
    _copy_of_step(process, "orphan_first")
    _copy_of_step(process, "orphan_second")
    end = process.xpath("./bpmn:endEvent", namespaces=NS)[0].get("id")
    for number, (source, target) in enumerate((("orphan_first", "orphan_second"), ("orphan_second", end))):
        etree.SubElement(process, f"{{{BPMN}}}sequenceFlow", id=f"orphan_flow_{number}", sourceRef=source,
                         targetRef=target)
    found = {(p["element"], p["message"]) for p in _problems(tree)}
    assert ("orphan_first", "not connected: no flow leads to this element") in found
    assert ("orphan_second", "unreachable: no path from the start event leads to this step") in found
    assert not any(element == "orphan_second" and "not connected" in message for element, message in found)
    assert all(p["line"] for p in _problems(tree) if p["element"] in ("orphan_first", "orphan_second"))
