"""The check of a drawn pathway (the modeler's "Check" and every deploy): an element connected to
nothing, one no arrow leads to or leaves, one no path from the start reaches, a user task
without a role or a form are each refused, named by the element's id and a ``code``; the page's
check answers each with its sentence in the page's language (``text``), so the modeler draws it
on the element."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from api.setup import BPMN_FOLDER
from engine.definitions.checking import check_definition
from engine.definitions.storage import read_forms_folder
from engine.errors import DefinitionInvalid
from tests.helpers import page_csrf, page_login

XML = (BPMN_FOLDER / "child_protection.bpmn").read_text(encoding="utf-8")
FORMS = read_forms_folder(BPMN_FOLDER / "forms")
END = "</bpmn:process>"


def _task(step: str, *, role: str | None = "case_worker", form: str | None = "follow_up",
          incoming: tuple[str, ...] = (), outgoing: tuple[str, ...] = ()) -> str:
    props = "".join(f'<spiffworkflow:property name="{name}" value="{value}" />'
                    for name, value in (("role", role), ("form", form), ("due", "P7D"),
                                        ("title_ar", "خطوة"), ("title_en", "Step")) if value is not None)
    flows = "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f in incoming)
    flows += "".join(f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f in outgoing)
    return (f'<bpmn:userTask id="{step}" name="Étape {step}"><bpmn:extensionElements><spiffworkflow:properties>'
            f"{props}</spiffworkflow:properties></bpmn:extensionElements>{flows}</bpmn:userTask>\n")


def _flow(flow: str, source: str, target: str) -> str:
    return f'<bpmn:sequenceFlow id="{flow}" sourceRef="{source}" targetRef="{target}" />\n'


def _with(*elements: str) -> str:
    return XML.replace(END, "".join(elements) + END, 1)


def _without_property(step: str, name: str) -> str:
    start = XML.index(f'<bpmn:userTask id="{step}"')
    end = XML.index("</bpmn:userTask>", start)
    task = XML[start:end]
    line = next(part for part in task.split("\n") if f'name="{name}"' in part)
    return XML[:start] + task.replace(line + "\n", "") + XML[end:]


def _replace_property(step: str, name: str, value: str) -> str:
    start = XML.index(f'<bpmn:userTask id="{step}"')
    end = XML.index("</bpmn:userTask>", start)
    task = XML[start:end]
    line = next(part for part in task.split("\n") if f'name="{name}"' in part)
    return XML[:start] + task.replace(line, f'<spiffworkflow:property name="{name}" value="{value}" />') + XML[end:]


# each kind of problem: the diagram that has it, and the (element, code) the check must name
KINDS: dict[str, tuple[str, set[tuple[str, str]]]] = {
    "a step connected to nothing": (_with(_task("lonely")), {("lonely", "no_incoming"), ("lonely", "no_outgoing")}),
    "an arrow with one end missing": (_with(_flow("flow_nowhere", "follow_up", "no_such_step")),
                                      {("flow_nowhere", "flow_unconnected")}),
    "a step no arrow leaves": (_with(_task("dead_end", incoming=("flow_to_dead_end",)),
                                     _flow("flow_to_dead_end", "follow_up", "dead_end")),
                               {("dead_end", "no_outgoing")}),
    "a step no arrow leads to": (_with(_task("orphan", outgoing=("flow_orphan_out",)),
                                       _flow("flow_orphan_out", "orphan", "case_closed")),
                                 {("orphan", "no_incoming")}),
    "a loop no path from the start reaches": (
        _with(_task("loop_a", incoming=("flow_b_a",), outgoing=("flow_a_b",)),
              _task("loop_b", incoming=("flow_a_b",), outgoing=("flow_b_a", "flow_b_end")),
              _flow("flow_a_b", "loop_a", "loop_b"), _flow("flow_b_a", "loop_b", "loop_a"),
              _flow("flow_b_end", "loop_b", "case_closed")),
        {("loop_a", "unreachable"), ("loop_b", "unreachable")}),
    "a user task without a role": (_without_property("follow_up", "role"), {("follow_up", "role_missing")}),
    "a user task with an unknown role": (_replace_property("follow_up", "role", "chef"),
                                         {("follow_up", "role_unknown")}),
    "a user task without a form": (_without_property("follow_up", "form"), {("follow_up", "form_missing")}),
    "a user task with a form that does not exist": (_replace_property("follow_up", "form", "no_such_form"),
                                                    {("follow_up", "form_unknown")}),
}


def _refusal(xml: str) -> list[dict[str, Any]]:
    with pytest.raises(DefinitionInvalid) as refused:
        check_definition(xml, FORMS)
    return list(refused.value.errors)


def test_the_shipped_pathways_pass_the_check():
    for path in sorted(BPMN_FOLDER.glob("*.bpmn")):
        check_definition(path.read_bytes(), FORMS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_problem_is_named_by_its_element_and_code(kind: str):
    xml, expected = KINDS[kind]
    errors = _refusal(xml)
    found = {(e["element"], e["code"]) for e in errors}
    assert expected <= found, errors
    assert all(e["line"] for e in errors if (e["element"], e["code"]) in expected), "each has its line"
    # nothing else is blamed for it: the other elements are still fine
    assert {e["element"] for e in errors} == {element for element, _code in expected}, errors


def test_a_process_without_a_start_event_is_refused():
    xml = XML.replace('<bpmn:startEvent id="report_received"', '<bpmn:intermediateThrowEvent id="report_received"')
    xml = xml.replace("</bpmn:startEvent>", "</bpmn:intermediateThrowEvent>", 1)
    found = {(e["element"], e["code"]) for e in _refusal(xml)}
    assert found == {("child_protection", "no_start_event"), ("report_received", "no_incoming")}, found
    assert not any(code == "unreachable" for _element, code in found), "not every element again"


def test_the_form_and_role_problems_carry_what_they_name():
    [unknown] = [e for e in _refusal(_replace_property("follow_up", "form", "no_such_form"))
                 if e["element"] == "follow_up"]
    assert unknown["params"] == {"form": "no_such_form"} and "does not exist" in unknown["message"]
    [role] = [e for e in _refusal(_replace_property("follow_up", "role", "chef")) if e["element"] == "follow_up"]
    assert role["params"] == {"role": "chef"}


# --- the page's check and deploy (on both databases) -------------------------------------------

def _post(web: Any, path: str, xml: str, language: str = "fr") -> Any:
    return web.post(f"{path}?lang={language}", data=xml.encode(), content_type="application/xml",
                    headers={"X-CSRF-Token": page_csrf(web, "/admin/pathways")})


@pytest.mark.parametrize("language, unconnected, no_role", [
    ("fr", "Aucune flèche ne mène à cet élément", "Choisissez qui réalise cette étape"),
    ("ar", "لا يؤدي أي سهم إلى هذا العنصر", "اختر من ينجز هذه الخطوة"),
    ("en", "No arrow leads to this element", "Choose who does this step"),
])
def test_the_check_answers_each_problem_on_its_element_in_the_page_language(web, language, unconnected, no_role):
    page_login(web, "admin")
    xml = _without_property("follow_up", "role").replace(END, _task("lonely") + END, 1)
    answer = _post(web, "/admin/pathways/check", xml, language)
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["ok"] is False
    by_element = {(e["element"], e["code"]): e for e in body["errors"]}
    assert unconnected in by_element[("lonely", "no_incoming")]["text"]
    assert no_role in by_element[("follow_up", "role_missing")]["text"]
    # the answer keeps what it said before: the English message and the line
    assert by_element[("lonely", "no_incoming")]["message"] == "not connected: no flow leads to this element"
    assert isinstance(by_element[("lonely", "no_incoming")]["line"], int)


def test_the_check_names_a_missing_form_by_its_name(web):
    page_login(web, "admin")
    answer = _post(web, "/admin/pathways/check", _replace_property("follow_up", "form", "no_such_form"))
    [problem] = [e for e in answer.get_json()["errors"] if e["element"] == "follow_up"]
    assert problem["code"] == "form_unknown" and "« no_such_form »" in problem["text"]


def test_a_deploy_with_an_unconnected_step_is_refused_and_nothing_is_stored(web, engine):
    from engine.models import PathwayVersion

    page_login(web, "admin")
    with engine.db.reading() as session:
        before = session.scalar(select(func.count()).select_from(PathwayVersion))
    answer = _post(web, "/admin/pathways/deploy", _with(_task("lonely")))
    assert answer.status_code == 422
    assert sorted((e["element"], e["code"]) for e in answer.get_json()["errors"]) == [
        ("lonely", "no_incoming"), ("lonely", "no_outgoing")]
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(PathwayVersion)) == before


def test_a_sound_diagram_checks_ok_with_its_remarks_in_the_page_language(web):
    page_login(web, "admin")
    answer = _post(web, "/admin/pathways/check", _without_property("follow_up", "title_en"))
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["ok"] is True
    [remark] = [w for w in body["warnings"] if w["element"] == "follow_up"]
    assert remark["code"] == "no_title_en" and remark["text"] == "Cette étape n'a pas encore de titre en anglais."


def test_a_version_deployed_before_the_connection_rule_still_runs(engine):
    """The rule holds new deploys only: a stored version with a step drawn apart still loads."""
    from engine.definitions.cache import DefinitionCache
    from engine.models import PathwayVersion

    with engine.db.transaction() as session:
        row = session.scalar(select(PathwayVersion).where(PathwayVersion.key == "child_protection",
                                                          PathwayVersion.is_active.is_(True)))
        assert row is not None
        row.bpmn_xml = _with(_task("lonely"))
        row.content_hash = "deployed-before-the-connection-rule"
        version_id = row.id
    with engine.db.reading() as session:
        stored = session.get(PathwayVersion, version_id)
        assert stored is not None
        compiled = DefinitionCache().get(stored)
    assert "lonely" in compiled.user_tasks and "follow_up" in compiled.user_tasks
    with pytest.raises(DefinitionInvalid):  # a new deploy of it is refused
        check_definition(stored.bpmn_xml, FORMS)
