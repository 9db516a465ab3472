"""Bad input: each is refused with a clear message, and nothing is deployed or changed."""
from __future__ import annotations

import codecs
import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from api.setup import BPMN_FOLDER
from engine.definitions.storage import read_forms_folder
from engine.errors import Conflict, DefinitionInvalid, DefinitionTooLarge, NotFound, ValidationFailed
from engine.forms import CompiledForm
from engine.models import Case, CaseEvent, OpenTask, PathwayVersion, TaskRecord
from engine.runtime import Actor, Engine, _ValidatedData
from tests.helpers import ANSWERS, KEY_ENV, UPE, WIDE_ENCODINGS, do, encoded, open_steps, report, task_id, with_entities

XML = (BPMN_FOLDER / "child_protection.bpmn").read_text(encoding="utf-8")
FORMS = read_forms_folder(BPMN_FOLDER / "forms")


def _versions(engine: Engine) -> int:
    with engine.db.reading() as session:
        return session.execute(select(func.count()).select_from(PathwayVersion)
                               .where(PathwayVersion.key == "child_protection")).scalar_one()


def _deploy_refused(engine: Engine, xml: str | bytes, forms=None) -> list[dict]:
    before = _versions(engine)
    with pytest.raises(DefinitionInvalid) as caught:
        engine.deploy(xml, FORMS if forms is None else forms)
    assert _versions(engine) == before, "nothing may be deployed"
    return caught.value.errors


def _swap(old: str, new: str, text: str = XML) -> str:
    assert old in text, f"fixture drift: {old!r} not in the BPMN"
    return text.replace(old, new, 1)


XXE_FILE = ('<?xml version="1.0"?>\n'
            '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">'
            '<bpmn:process id="p" isExecutable="true"><bpmn:documentation>&x;</bpmn:documentation></bpmn:process>'
            '</bpmn:definitions>')
XXE_NETWORK = XXE_FILE.replace("file:///etc/passwd", "http://169.254.169.254/latest/meta-data/")
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">&lol3;</bpmn:definitions>"""


@pytest.mark.parametrize("document, message", [
    ("this is not XML", "not well-formed"),
    ("", "not well-formed"),
    ("<bpmn:definitions", "not well-formed"),
    (XXE_FILE, "DTDs and entity declarations are not allowed"),
    (XXE_NETWORK, "DTDs and entity declarations are not allowed"),
    (BILLION_LAUGHS, "DTDs and entity declarations are not allowed"),
    ("<html><body/></html>", "root element must be bpmn:definitions"),
])
def test_unsafe_or_broken_xml_is_refused(engine: Engine, document: str, message: str):
    errors = _deploy_refused(engine, document)
    assert message in errors[0]["message"]
    assert "root:" not in json.dumps(errors), "no file content may leak into the message"


def test_huge_bpmn_is_refused_as_too_large(engine: Engine):
    with pytest.raises(DefinitionTooLarge):
        engine.deploy(XML + "<!--" + "x" * (3 * 1024 * 1024) + "-->", FORMS)
    assert _versions(engine) == 1


def test_deeply_nested_xml_is_refused(engine: Engine):
    nested = "<a>" * 5000 + "</a>" * 5000
    errors = _deploy_refused(engine, XML.replace("</bpmn:definitions>", f"<x>{nested}</x></bpmn:definitions>"))
    assert errors


def test_schema_violation_names_the_line(engine: Engine):
    errors = _deploy_refused(engine, _swap('<bpmn:userTask id="orientation"', '<bpmn:userTusk id="orientation"')
                             .replace("</bpmn:userTask>\n    <bpmn:parallelGateway id=\"fork_plan\"",
                                      "</bpmn:userTusk>\n    <bpmn:parallelGateway id=\"fork_plan\"", 1))
    assert errors[0]["line"] and "schema" in errors[0]["message"]


def test_missing_form_is_refused_with_the_element_id(engine: Engine):
    forms = {k: v for k, v in FORMS.items() if k != "follow_up"}
    errors = _deploy_refused(engine, XML, forms)
    assert {"element": "follow_up", "message": "form 'follow_up' does not exist"}.items() <= errors[0].items()
    assert isinstance(errors[0]["line"], int)


def test_user_task_without_role_or_due_rule_is_refused(engine: Engine):
    xml = _swap('<spiffworkflow:property name="role" value="coordinator" />',
                '<spiffworkflow:property name="role" value="anyone" />')
    errors = _deploy_refused(engine, xml)
    assert "'role'" in errors[0]["message"]


def test_gateway_without_default_and_partial_conditions_is_refused(engine: Engine):
    # gw_closure loses its default flow; its only condition covers "approve" but not "return_to_orientation".
    xml = _swap(' default="flow_closure_return"', '')
    errors = _deploy_refused(engine, xml)
    assert errors[0]["element"] == "gw_closure"
    assert "no condition and is not the default flow" in errors[0]["message"]


def test_gateway_whose_conditions_miss_a_case_is_refused(engine: Engine):
    xml = _swap(' default="flow_closure_return"', '')
    start = xml.index('<bpmn:sequenceFlow id="flow_closure_return"')
    end = xml.index(">", start)
    tag = xml[start:end]
    self_closing = tag.endswith("/")
    condition = ('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
                 'closure_decision == "escalate"</bpmn:conditionExpression>')
    if self_closing:
        xml = xml[:start] + tag[:-1] + ">" + condition + "</bpmn:sequenceFlow>" + xml[end + 1:]
    else:
        xml = xml[:end + 1] + condition + xml[end + 1:]
    errors = _deploy_refused(engine, xml)
    assert errors[0]["element"] == "gw_closure"
    assert "closure_decision='return_to_orientation'" in errors[0]["message"]


@pytest.mark.parametrize("condition", [
    "().__class__.__base__.__subclasses__()",
    "__import__('os').system('touch /tmp/pwned')",
    "situation_stable.__class__",
    "open('/etc/passwd')",
])
def test_condition_escaping_the_sandbox_is_refused(engine: Engine, condition: str):
    xml = _swap(">situation_stable<", f">{condition.replace('<', '&lt;')}<")
    errors = _deploy_refused(engine, xml)
    assert errors[0]["element"] == "flow_stable_yes"
    assert "refused" in errors[0]["message"]


def test_script_task_is_refused(engine: Engine):
    xml = _swap('<bpmn:userTask id="follow_up"', '<bpmn:scriptTask id="follow_up"')
    xml = xml.replace("</bpmn:userTask>\n    <bpmn:intermediateThrowEvent id=\"signal_follow_up\"",
                      "<bpmn:script>import os</bpmn:script></bpmn:scriptTask>\n"
                      "    <bpmn:intermediateThrowEvent id=\"signal_follow_up\"", 1)
    errors = _deploy_refused(engine, xml)
    assert any("scripts are not allowed" in e["message"] for e in errors)


def test_unknown_handler_is_refused(engine: Engine):
    errors = _deploy_refused(engine, _swap('id="himaya.notify_prosecutor"', 'id="himaya.send_fax"'))
    assert errors[0]["element"] == "notify_prosecutor" and "no handler named" in errors[0]["message"]


def test_identical_definition_returns_the_same_version(engine: Engine):
    again = engine.deploy(XML, FORMS)
    assert (again.created, again.pathway.version) == (False, 1)
    changed = engine.deploy(XML.replace("Signalement reçu", "Signalement reçu (v2)"), FORMS)
    assert (changed.created, changed.pathway.version, changed.pathway.is_active) == (True, 2, True)


def test_cli_names_a_database_it_cannot_open_without_a_traceback(tmp_path: Path):
    env = {"HIMAYA_DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'folder' / 'cli.sqlite'}",
           "PATH": "/usr/bin:/bin", **KEY_ENV}
    done = subprocess.run([sys.executable, "-m", "api.cli", "check"], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).parent.parent)
    assert done.returncode == 2, done.stderr
    assert "error: cannot open the database sqlite:///" in done.stderr and "Traceback" not in done.stderr


def test_cli_deploy_exits_non_zero_with_the_element_and_line(tmp_path: Path):
    folder = tmp_path / "pathways"
    (folder / "forms").mkdir(parents=True)
    for name, form in FORMS.items():
        if name != "closure_approval":
            (folder / "forms" / f"{name}.json").write_text(json.dumps(form), encoding="utf-8")
    (folder / "child_protection.bpmn").write_text(XML, encoding="utf-8")
    env = {"HIMAYA_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}", "PATH": "/usr/bin:/bin", **KEY_ENV}
    done = subprocess.run([sys.executable, "-m", "api.cli", "deploy", str(folder / "child_protection.bpmn")],
                          capture_output=True, text=True, env=env, cwd=Path(__file__).parent.parent)
    assert done.returncode == 1
    assert "closure_approval (line" in done.stderr and "form 'closure_approval' does not exist" in done.stderr
    (folder / "forms" / "closure_approval.json").write_text(json.dumps(FORMS["closure_approval"]), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "api.cli", "deploy", str(folder / "child_protection.bpmn")],
                          capture_output=True, text=True, env=env, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr
    assert "child_protection version 1: deployed" in done.stdout


# --- runtime -------------------------------------------------------------------------

def _snapshot(engine: Engine) -> tuple[int, ...]:
    with engine.db.reading() as session:
        return tuple(session.execute(select(func.count()).select_from(model)).scalar_one()
                     for model in (Case, OpenTask, TaskRecord, CaseEvent))


def test_completing_with_missing_and_wrongly_typed_fields_lists_each_field(engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    before = _snapshot(engine)
    with pytest.raises(ValidationFailed) as caught:
        engine.complete(task_id(engine, case_id, "reception_listening"),
                        {"listening_date": "yesterday", "child_heard": "perhaps", "diagnoses": ["astrology"],
                         "unexpected": 1}, UPE)
    errors = caught.value.errors
    assert set(errors) == {"listening_date", "child_heard", "diagnoses", "listening_summary", "unexpected"}
    assert errors["listening_summary"] == ["This field is required."]
    assert _snapshot(engine) == before
    assert open_steps(engine, case_id) == ["reception_listening"]


@pytest.mark.parametrize("data", [None, [], "text", 42])
def test_completing_with_data_that_is_not_an_object_is_refused(engine: Engine, data):
    case_id = engine.start_case(report(engine), UPE).case_id
    with pytest.raises(ValidationFailed):
        engine.complete(task_id(engine, case_id, "reception_listening"), data, UPE)


def test_completing_a_task_that_is_not_open_is_a_conflict(engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    finished = task_id(engine, case_id, "reception_listening")
    do(engine, case_id, "reception_listening", **ANSWERS["reception_listening"])
    before = _snapshot(engine)
    with pytest.raises(Conflict, match="no longer open"):
        engine.complete(finished, ANSWERS["reception_listening"], UPE)
    assert _snapshot(engine) == before


@pytest.mark.parametrize("bogus", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_task_is_not_found(engine: Engine, bogus: str):
    with pytest.raises(NotFound):
        engine.complete(bogus, {}, UPE)


def test_a_task_claimed_by_someone_else_cannot_be_completed(engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    tid = task_id(engine, case_id, "reception_listening")
    engine.claim(tid, Actor("upe.other", "case_worker"))
    with pytest.raises(Conflict, match="claimed by someone else"):
        engine.complete(tid, ANSWERS["reception_listening"], UPE)
    with pytest.raises(Conflict):
        engine.claim(tid, UPE)
    engine.unclaim(tid, Actor("upe.other", "case_worker"))
    engine.claim(tid, UPE)
    engine.complete(tid, ANSWERS["reception_listening"], UPE)


@pytest.mark.parametrize("change, field", [
    (lambda r: r["child"].update(birth_date="2000-01-01"), "child"),
    (lambda r: r["child"].update(birth_date=None, age_estimate=None), "child"),
    (lambda r: r["child"].update(sex="X"), "child"),
    (lambda r: r.update(categories=["alien_abduction"]), "categories"),
    (lambda r: r.update(categories=[]), "categories"),
    (lambda r: r.update(province="atlantis"), "province"),
    (lambda r: r["report"].update(received_at="2030-01-01T00:00:00+00:00"), "report"),
    (lambda r: r["report"].update(received_at="2026-11-20T09:00:00"), "report"),
    (lambda r: r.update(consent={"legal_basis": "consent"}), "consent"),
    (lambda r: r.pop("report"), "report"),
    (lambda r: r.update(surprise=True), "surprise"),
])
def test_bad_reports_are_refused_field_by_field(engine: Engine, change, field):
    payload = report(engine)
    change(payload)
    before = _snapshot(engine)
    with pytest.raises(ValidationFailed) as caught:
        engine.start_case(payload, UPE)
    assert field in caught.value.errors
    assert _snapshot(engine) == before


def test_sub_processes_are_refused_with_the_element(engine: Engine):
    xml = _swap('<bpmn:userTask id="follow_up"',
                '<bpmn:subProcess id="follow_up_group"><bpmn:startEvent id="inner_start" />'
                '</bpmn:subProcess>\n    <bpmn:userTask id="follow_up"')
    errors = _deploy_refused(engine, xml)
    assert any(e["element"] == "follow_up_group" and "not supported" in e["message"] for e in errors)


def test_a_form_pattern_the_linear_engine_cannot_run_is_refused_at_deploy(engine: Engine):
    forms = copy.deepcopy(FORMS)
    summary = next(c for c in forms["reception_listening"]["components"] if c.get("key") == "listening_summary")
    summary["validate"]["pattern"] = r"^(\w+)\s\1$"  # a back-reference: backtracking only
    errors = _deploy_refused(engine, XML, forms)
    assert errors[0]["element"] == "reception_listening"
    assert errors[0]["message"].startswith("form 'reception_listening', component 'Field_listening_summary': "
                                           "validate.pattern of field 'listening_summary'")


def test_form_data_are_validated_before_the_case_is_locked(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    case_id = engine.start_case(report(engine), UPE).case_id
    tid = task_id(engine, case_id, "reception_listening")
    open_writes: list[object] = []
    write_open_at_validation: list[bool] = []
    write_connection, validate = engine.db.write_connection, CompiledForm.validate

    @contextmanager
    def recorded_write_connection() -> Iterator[Any]:
        with write_connection() as connection:
            open_writes.append(connection)
            try:
                yield connection
            finally:
                open_writes.remove(connection)

    def recorded_validate(form: CompiledForm, data: Any) -> dict[str, Any]:
        write_open_at_validation.append(bool(open_writes))
        return validate(form, data)

    monkeypatch.setattr(engine.db, "write_connection", recorded_write_connection)
    monkeypatch.setattr(CompiledForm, "validate", recorded_validate)
    before = _snapshot(engine)
    with pytest.raises(ValidationFailed) as caught:
        engine.complete(tid, {**ANSWERS["reception_listening"], "listening_date": "yesterday"}, UPE)
    assert set(caught.value.errors) == {"listening_date"}
    assert _snapshot(engine) == before, "400 with field errors: nothing changes"
    engine.complete(tid, ANSWERS["reception_listening"], UPE)
    assert write_open_at_validation == [False, False], "no form check inside the write transaction"
    assert "reception_listening" not in open_steps(engine, case_id)


def test_data_validated_for_another_form_are_never_used(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    case_id = engine.start_case(report(engine), UPE).case_id
    tid = task_id(engine, case_id, "reception_listening")
    validate_before_lock = Engine._validate_before_lock

    def validated_for_another_step(self: Engine, *args: Any) -> _ValidatedData | None:
        validated = validate_before_lock(self, *args)
        assert validated is not None
        return replace(validated, step="follow_up")  # as if the task's form changed before the lock

    monkeypatch.setattr(Engine, "_validate_before_lock", validated_for_another_step)
    before = _snapshot(engine)
    with pytest.raises(Conflict, match="changed meanwhile"):
        engine.complete(tid, ANSWERS["reception_listening"], UPE)
    assert _snapshot(engine) == before


FLAGS = [f"flag_{i}" for i in range(12)]  # 12 checkboxes: 4 096 combinations, the most one gateway may enumerate
FLAGS_FORM = {"type": "default", "components": [
    {"type": "checkbox", "id": f"Field_{flag}", "key": flag, "label": flag} for flag in FLAGS]}


def _gateways_to_prove(count: int) -> str:
    """A process whose ``count`` gateways have no default flow and read the 12 flags: proving that
    each one's two conditions cover every case takes 2 × 4 096 evaluations."""
    always = "(" + " or ".join([f"{FLAGS[0]} or not {FLAGS[0]}", *FLAGS[1:]]) + ")"

    def flow(flow_id: str, source: str, target: str, condition: str | None) -> str:
        expression = (f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
                      '</bpmn:conditionExpression>') if condition else ""
        ends = f'sourceRef="{source}" targetRef="{target}"'
        return f'<bpmn:sequenceFlow id="{flow_id}" {ends}>{expression}</bpmn:sequenceFlow>'

    gateways, flows, previous = [], [flow("to_flags", "start", "flags", None)], "flags"
    for number in range(1, count + 1):
        gateways.append(f'<bpmn:exclusiveGateway id="gw_{number}" />')
        flows.append(flow(f"to_gw_{number}", previous, f"gw_{number}", None if previous == "flags" else always))
        flows.append(flow(f"gw_{number}_never", f"gw_{number}", "done", "False"))
        previous = f"gw_{number}"
    flows.append(flow("to_done", previous, "done", always))
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://himaya.ma/bpmn">
  <bpmn:process id="gateway_budget" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="flags" name="Drapeaux"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="role" value="case_worker" /><spiffworkflow:property name="form" value="flags" />
      <spiffworkflow:property name="due" value="P1D" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    {"".join(gateways)}
    <bpmn:endEvent id="done" />
    {"".join(flows)}
  </bpmn:process>
</bpmn:definitions>'''


def test_gateway_proofs_share_one_budget_per_deploy(engine: Engine):
    assert engine.deploy(_gateways_to_prove(2), {"flags": FLAGS_FORM}).created  # 16 384 evaluations: within
    with pytest.raises(DefinitionInvalid) as caught:
        engine.deploy(_gateways_to_prove(40), {"flags": FLAGS_FORM})  # 327 680 evaluations: refused at once
    refused = [e for e in caught.value.errors if "a deploy may spend on its gateways" in e["message"]]
    assert refused and refused[0]["element"] in {"gw_2", "gw_3"} and refused[-1]["element"] == "gw_40"
    assert refused[0]["message"].endswith("add a default flow")
    assert "20000 condition evaluations or 2 seconds" in refused[0]["message"]
    with engine.db.reading() as session:
        assert session.scalar(select(func.max(PathwayVersion.version))
                              .where(PathwayVersion.key == "gateway_budget")) == 1, "nothing more deployed"


def test_the_gateway_budget_also_counts_seconds():
    from engine.definitions.rules import GatewayBudget

    ticks = iter(range(100))
    budget = GatewayBudget(evaluations=1_000, seconds=3, clock=lambda: float(next(ticks)))
    assert [budget.spend() for _ in range(5)] == [True, True, True, False, False]
    assert budget.limits == "1000 condition evaluations or 3 seconds"


@pytest.mark.parametrize("codec, declared, mark", WIDE_ENCODINGS[::2])
def test_cli_deploy_refuses_a_dtd_in_any_encoding(tmp_path: Path, codec: str, declared: str, mark: bytes):
    (tmp_path / "forms").mkdir()
    for name, form in FORMS.items():
        (tmp_path / "forms" / f"{name}.json").write_text(json.dumps(form), encoding="utf-8")
    hostile, shipped = tmp_path / "hostile.bpmn", tmp_path / "child_protection.bpmn"
    hostile.write_bytes(encoded(with_entities(XML), codec, declared, mark))
    shipped.write_bytes(encoded(XML, codec, declared, mark))
    env = {"HIMAYA_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}", "PATH": "/usr/bin:/bin", **KEY_ENV}

    def deploy(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "api.cli", "deploy", str(path)], capture_output=True, text=True,
                              env=env, cwd=Path(__file__).parent.parent, timeout=120)

    refused = deploy(hostile)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "DTDs and entity declarations are not allowed in BPMN files" in refused.stderr
    accepted = deploy(shipped)
    assert accepted.returncode == 0, accepted.stderr
    assert "child_protection version 1: deployed" in accepted.stdout


def test_the_parsed_tree_is_checked_for_a_document_type_too():
    from lxml import etree

    from engine.definitions.parsing import _refuse_dtd_in_tree

    tree = etree.fromstring(b'<!DOCTYPE d [<!ENTITY a "b">]><d/>', etree.XMLParser(resolve_entities=False))
    with pytest.raises(DefinitionInvalid) as caught:
        _refuse_dtd_in_tree(tree)
    assert caught.value.errors[0]["message"] == "DTDs and entity declarations are not allowed in BPMN files"


@pytest.mark.parametrize("document, message", [
    (b'<?xml version="1.0" encoding="EBCDIC-CP-US"?><d/>', "encoding 'EBCDIC-CP-US' is not supported"),
    (b'<?xml version="1.0" encoding="x-unknown"?><d/>', "encoding 'x-unknown' is not supported"),
    (b'<?xml version="1.0" encoding="UTF-16"?><d/>', "says UTF-16 but the file is not written in it"),
    (codecs.BOM_UTF16_LE + b"<\x00d", "not valid UTF-16-LE text"),
    ("<d/>".encode("utf-16-le"), "NUL characters"),
    (b'<?xml version="1.0" encoding="ascii"?><d>\xe9</d>', "not valid ASCII text"),
])
def test_an_encoding_that_cannot_be_read_is_refused_clearly(engine: Engine, document: bytes, message: str):
    errors = _deploy_refused(engine, document)
    assert message in errors[0]["message"]
