"""Changing the pathway without code: only the API, only BPMN and form files."""
from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from werkzeug.test import TestResponse

from api.setup import BPMN_FOLDER
from engine.definitions.storage import read_forms_folder
from tests.api_data import intake
from tests.conftest import ApiClient
from tests.helpers import ANSWERS, WIDE_ENCODINGS, encoded, with_entities

XML = (BPMN_FOLDER / "child_protection.bpmn").read_text(encoding="utf-8")
FORMS = read_forms_folder(BPMN_FOLDER / "forms")

FAMILY_MEDIATION = """    <bpmn:userTask id="family_mediation" name="Médiation familiale">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="role" value="case_worker" />
          <spiffworkflow:property name="form" value="family_mediation" />
          <spiffworkflow:property name="due" value="high=P7D;medium=P14D;low=P21D" />
          <spiffworkflow:property name="title_ar" value="الوساطة الأسرية" />
          <spiffworkflow:property name="title_en" value="Family mediation" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_to_family_mediation</bpmn:incoming>
      <bpmn:outgoing>flow_family_mediation_out</bpmn:outgoing>
    </bpmn:userTask>
"""
FAMILY_FORM = {
    "type": "default", "id": "form_family_mediation", "schemaVersion": 16,
    "components": [
        {"type": "textarea", "id": "Field_mediation_summary", "key": "mediation_summary",
         "label": "Résumé de la médiation", "validate": {"required": True, "maxLength": 4000}},
    ],
    "i18n": {"ar": {"Résumé de la médiation": "ملخص الوساطة"}, "en": {"Résumé de la médiation": "Mediation summary"}},
}


def _with_family_mediation() -> str:
    """reintegration → family_mediation → gw_placement, by editing the BPMN text only."""
    start = XML.index('<bpmn:sequenceFlow id="flow_reintegration_to_placement"') if \
        '<bpmn:sequenceFlow id="flow_reintegration_to_placement"' in XML else None
    assert start is not None, "fixture drift: the flow out of reintegration was renamed"
    end = XML.index("/>", start) + 2
    xml = XML[:start] + (
        '<bpmn:sequenceFlow id="flow_to_family_mediation" sourceRef="reintegration" targetRef="family_mediation" />\n'
        '    <bpmn:sequenceFlow id="flow_family_mediation_out" sourceRef="family_mediation" targetRef="gw_placement" />'
    ) + XML[end:]
    xml = xml.replace("<bpmn:outgoing>flow_reintegration_to_placement</bpmn:outgoing>",
                      "<bpmn:outgoing>flow_to_family_mediation</bpmn:outgoing>")
    xml = xml.replace("<bpmn:incoming>flow_reintegration_to_placement</bpmn:incoming>",
                      "<bpmn:incoming>flow_family_mediation_out</bpmn:incoming>")
    xml = xml.replace("<bpmn:flowNodeRef>reintegration</bpmn:flowNodeRef>",
                      "<bpmn:flowNodeRef>reintegration</bpmn:flowNodeRef>\n"
                      "        <bpmn:flowNodeRef>family_mediation</bpmn:flowNodeRef>")
    # the diagram: drop the old edge (the new flows are drawn by the modeler later)
    edge = xml.find('bpmnElement="flow_reintegration_to_placement"')
    if edge != -1:
        edge_start = xml.rindex("<bpmndi:BPMNEdge", 0, edge)
        edge_end = xml.index("</bpmndi:BPMNEdge>", edge) + len("</bpmndi:BPMNEdge>")
        xml = xml[:edge_start] + xml[edge_end:]
    return xml.replace("    <bpmn:exclusiveGateway id=\"gw_placement\"",
                       FAMILY_MEDIATION + "    <bpmn:exclusiveGateway id=\"gw_placement\"", 1)


def _deploy(api: ApiClient, xml: str, forms: dict[str, Any] | None = None) -> TestResponse:
    data: dict[str, Any] = {"file": (io.BytesIO(xml.encode("utf-8")), "child_protection.bpmn")}
    if forms:
        data["forms"] = [(io.BytesIO(json.dumps(f).encode("utf-8")), f"{name}.json") for name, f in forms.items()]
    return api.post("/api/v1/pathways", "admin", data=data, content_type="multipart/form-data")


def _walk_to_orientation(api: ApiClient, case: dict) -> None:
    for step in ("reception_listening", "diagnosis_medical", "diagnosis_social"):
        _complete(api, case["id"], step, ANSWERS[step])


def _complete(api: ApiClient, case_id: str, step: str, data: dict[str, Any],
              user: str | None = None) -> dict[str, Any]:
    user = user or {"orientation": "cape.tanger", "closure_approval": "cape.tanger",
                    "diagnosis_medical": "sante.tanger"}.get(step, "upe.tanger")
    tasks = api.get(f"/api/v1/tasks?case_id={case_id}&step={step}", user).get_json()["items"]
    assert tasks, f"no open {step}"
    response = api.post(f"/api/v1/tasks/{tasks[0]['id']}/complete", user, json={"data": data})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _new_case(api: ApiClient) -> dict:
    engine = api.app.extensions["himaya"]
    body = intake(engine, categories=["out_of_school"], emergency={"medical": False, "immediate_danger": False})
    response = api.post("/api/v1/cases", "upe.tanger", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_add_a_step_new_cases_get_it_running_ones_after_migration(api: ApiClient):
    running = _new_case(api)
    _walk_to_orientation(api, running)
    deployed = _deploy(api, _with_family_mediation(), {"family_mediation": FAMILY_FORM})
    assert deployed.status_code == 201, deployed.get_json()
    assert deployed.get_json()["version"] == 2
    fresh = _new_case(api)
    assert fresh["pathway"]["version"] == 2 and running["pathway"]["version"] == 1

    for case in (running, fresh):
        if case is fresh:
            _walk_to_orientation(api, case)
        _complete(api, case["id"], "orientation", {**ANSWERS["orientation"], "accompaniments": []})
    after_running = _complete(api, running["id"], "reintegration", ANSWERS["reintegration"])
    after_fresh = _complete(api, fresh["id"], "reintegration", ANSWERS["reintegration"])
    assert [t["name"] for t in after_fresh["open_tasks"]] == ["family_mediation"]
    assert after_running["open_tasks"] == [], "the running case stays on version 1: straight to follow-up"

    # A second running case, still on version 1, moves to version 2 by migration.
    moving = _new_case(api)
    assert moving["pathway"]["version"] == 2
    api.post("/api/v1/pathways/child_protection/versions/1/activate", "admin")
    old = _new_case(api)
    assert old["pathway"]["version"] == 1
    _walk_to_orientation(api, old)
    dry = api.post("/api/v1/pathways/child_protection/migrations", "admin",
                   json={"from_version": 1, "to_version": 2}).get_json()
    assert dry["dry_run"] and dry["migrated"] == 0
    plans = {c["case_id"]: c for c in dry["cases"]}
    # at orientation, and the judicial branch waiting alongside for a new fact
    assert plans[old["id"]]["can_migrate"] and plans[old["id"]]["open_steps"] == ["orientation", "wait_concern"]
    applied = api.post("/api/v1/pathways/child_protection/migrations", "admin",
                       json={"from_version": 1, "to_version": 2, "dry_run": False}).get_json()
    assert applied["migrated"] >= 1
    assert api.get(f"/api/v1/cases/{old['id']}", "cape.tanger").get_json()["pathway"]["version"] == 2
    _complete(api, old["id"], "orientation", {**ANSWERS["orientation"], "accompaniments": []})
    after_old = _complete(api, old["id"], "reintegration", ANSWERS["reintegration"])
    assert [t["name"] for t in after_old["open_tasks"]] == ["family_mediation"]
    history = api.get(f"/api/v1/cases/{old['id']}/history", "cape.tanger").get_json()["events"]
    assert any(e["kind"] == "case_migrated" and e["detail"]["to"] == 2 for e in history)


def test_a_case_at_a_removed_step_stays_with_the_reason(api: ApiClient):
    case = _new_case(api)  # at reception_listening
    xml = XML.replace('name="Accueil et écoute"', 'name="Accueil et écoute (v2)"')
    xml = xml.replace('id="reception_listening"', 'id="reception"').replace(">reception_listening<", ">reception<")
    xml = xml.replace('sourceRef="reception_listening"', 'sourceRef="reception"').replace(
        'targetRef="reception_listening"', 'targetRef="reception"').replace(
        'bpmnElement="reception_listening"', 'bpmnElement="reception"')
    assert _deploy(api, xml).status_code == 201
    report = api.post("/api/v1/pathways/child_protection/migrations", "admin",
                      json={"from_version": 1, "to_version": 2, "dry_run": False}).get_json()
    [plan] = report["cases"]
    assert not plan["can_migrate"] and not plan["migrated"] and "reception_listening" in plan["reason"]
    assert api.get(f"/api/v1/cases/{case['id']}", "cape.tanger").get_json()["pathway"]["version"] == 1


def test_a_new_required_field_is_enforced(api: ApiClient):
    form = copy.deepcopy(FORMS["reception_listening"])
    form["components"].append({"type": "textfield", "id": "Field_school_contact", "key": "school_contact",
                               "label": "Contact à l'école", "validate": {"required": True, "maxLength": 200}})
    form["i18n"]["ar"]["Contact à l'école"] = "جهة الاتصال بالمدرسة"
    form["i18n"]["en"]["Contact à l'école"] = "School contact"
    assert _deploy(api, XML, {"reception_listening": form}).status_code == 201
    case = _new_case(api)
    task = api.get(f"/api/v1/tasks?case_id={case['id']}", "upe.tanger").get_json()["items"][0]
    refused = api.post(f"/api/v1/tasks/{task['id']}/complete", "upe.tanger",
                       json={"data": ANSWERS["reception_listening"]})
    assert refused.status_code == 400 and "school_contact" in refused.get_json()["errors"]["json"]["data"]
    accepted = api.post(f"/api/v1/tasks/{task['id']}/complete", "upe.tanger",
                        json={"data": {**ANSWERS["reception_listening"], "school_contact": "M. Alaoui"}})
    assert accepted.status_code == 200


def test_migration_bad_input(api: ApiClient):
    assert api.post("/api/v1/pathways/child_protection/migrations", "admin",
                    json={"from_version": 1, "to_version": 9}).status_code == 404
    assert api.post("/api/v1/pathways/child_protection/migrations", "admin",
                    json={"from_version": 1, "to_version": 1}).status_code == 400
    assert api.post("/api/v1/pathways/child_protection/migrations", "admin",
                    json={"from_version": "x"}).status_code == 400
    assert api.post("/api/v1/pathways/child_protection/migrations", "cape.tanger",
                    json={"from_version": 1, "to_version": 2}).status_code == 403


# --- hostile input: keep the list growing ----------------------------------------------

def _condition(expression: str) -> str:
    return XML.replace(">situation_stable<", f">{expression}<", 1)


HOSTILE = {
    "xxe local file": ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                       '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>'),
    "xxe network": ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "http://169.254.169.254/">]>'
                    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>'),
    "billion laughs": ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
                       '<!ENTITY c "&b;&b;&b;&b;&b;&b;">]><bpmn:definitions '
                       'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&c;</bpmn:definitions>'),
    "quadratic blow-up": ('<?xml version="1.0"?><!DOCTYPE q [<!ENTITY x "' + "x" * 50_000 + '">]>'
                          '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
                          + "&x;" * 15 + '</bpmn:definitions>'),
    "10 000 nested elements": XML.replace("</bpmn:definitions>",
                                          "<a>" * 10_000 + "</a>" * 10_000 + "</bpmn:definitions>"),
    "condition with an import": _condition("__import__('os').system('id')"),
    "attribute access": _condition("situation_stable.real"),
    "dunder access": _condition("situation_stable.__class__"),
    "__subclasses__ walking": _condition("().__class__.__base__.__subclasses__()"),
    "lambda": _condition("(lambda: 1)()"),
    "comprehension bomb": _condition("[x for x in [1] for y in [1]*1000000]"),
    "power tower": _condition("9**9**9"),
    "string bomb": _condition("'a'*10**9"),
    "deep recursion": _condition("(" * 300 + "1" + ")" * 300),
    "form that is not form-js": (XML, {"follow_up": {"title": "not a form"}}),
    "task pointing to a missing form": XML.replace('value="follow_up" />', 'value="no_such_form" />', 1),
    "script task": XML.replace('<bpmn:userTask id="follow_up"', '<bpmn:scriptTask id="follow_up"', 1)
                      .replace('</bpmn:userTask>\n    <bpmn:exclusiveGateway id="gw_stable"',
                               '<bpmn:script>import os</bpmn:script></bpmn:scriptTask>\n'
                               '    <bpmn:exclusiveGateway id="gw_stable"', 1),
    "not XML": "this is not xml <",
    "malformed due rule": XML.replace('<spiffworkflow:property name="due" value="P7D" />',
                                      '<spiffworkflow:property name="due" value="in a week" />', 1),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_definitions_are_refused_and_nothing_is_deployed(api: ApiClient, name: str):
    body = HOSTILE[name]
    xml, forms = body if isinstance(body, tuple) else (body, None)
    response = _deploy(api, xml, forms)
    assert response.status_code in (413, 422), (response.status_code, response.get_json())
    assert response.get_json()["message"]
    listing = {p["key"]: p for p in api.get("/api/v1/pathways", "admin").get_json()}
    assert [v["version"] for v in listing["child_protection"]["versions"]] == [1], "nothing deployed"


def test_ten_megabytes_of_xml_is_413(api: ApiClient):
    response = api.post("/api/v1/pathways", "admin", data="<x>" + "a" * (10 * 1024 * 1024) + "</x>",
                        headers={"Content-Type": "application/xml"})
    assert response.status_code == 413


def test_aftercare_is_deployed_from_its_file_and_runs_a_young_person_to_exit(api: ApiClient, clock):
    from datetime import timedelta

    xml = (BPMN_FOLDER / "aftercare.bpmn").read_bytes()
    deployed = api.post("/api/v1/pathways", "admin",
                        data={"file": (io.BytesIO(xml), "aftercare.bpmn")}, content_type="multipart/form-data")
    assert deployed.status_code in (200, 201) and deployed.get_json()["key"] == "aftercare"
    engine = api.app.extensions["himaya"]
    body = intake(engine, pathway="aftercare", categories=["in_institution"], unit="eps-tanger-assilah",
                  emergency={"medical": False, "immediate_danger": False},
                  consent={"legal_basis": "consent", "given_by": "Amina Test", "young_person": {
                      "given": True, "given_on": engine.now().date().isoformat(), "method": "signed_form"}})
    body["child"]["birth_date"] = (engine.now() - timedelta(days=19 * 366)).date().isoformat()
    fifteen = (engine.now() - timedelta(days=15 * 366)).date().isoformat()
    too_young = {**body, "child": {**body["child"], "birth_date": fifteen}}
    mediator = "mediateur.tanger"
    assert api.post("/api/v1/cases", mediator, json=too_young).status_code == 400
    assert api.post("/api/v1/cases", mediator, json={**body, "categories": ["out_of_school"]}).status_code == 400
    started = api.post("/api/v1/cases", mediator, json=body)
    assert started.status_code == 201, started.get_json()
    case = started.get_json()
    assert case["pathway"]["key"] == "aftercare" and [t["name"] for t in case["open_tasks"]] == ["enrolment"]

    def complete(step: str, data: dict, user: str = mediator) -> dict:
        return _complete(api, case["id"], step, data, user)

    complete("enrolment", {"institution_name": "Centre Dar Al Atfal", "exit_date": "2026-11-01",
                           "consent_to_accompaniment": True})
    complete("self_assessment", {"strengths": "Motivé", "needs": ["employment", "housing"]})
    after = complete("integration_programme", {"programme_summary": "Projet", "goals": ["job", "housing"],
                                               "review_interval": "monthly"}, "cape.tanger")
    assert sorted(t["name"] for t in after["open_tasks"]) == ["housing_search", "job_search"]
    complete("job_search", {"job_outcome": "employed"})
    complete("housing_search", {"housing_outcome": "housed"})
    for ready in (False, True):
        clock.advance(timedelta(days=32))
        assert engine.fire_due_timers() == 1
        api.forget_tokens()
        complete("mediator_review", {"review_date": "2027-01-05", "review_summary": "Point d'étape",
                                     "ready_for_exit": ready})
    closed = complete("exit", {"exit_outcome": "autonomous", "exit_summary": "Autonome"}, "cape.tanger")
    assert closed["status"] == "closed"


@pytest.mark.parametrize("codec, declared, mark", WIDE_ENCODINGS)
@pytest.mark.parametrize("upload", ["multipart", "xml body"])
def test_a_dtd_in_any_encoding_is_refused_with_a_422(api: ApiClient, codec: str, declared: str, mark: bytes,
                                                      upload: str):
    body = encoded(with_entities(XML), codec, declared, mark)
    if upload == "multipart":
        response = api.post("/api/v1/pathways", "admin", data={"file": (io.BytesIO(body), "child_protection.bpmn")},
                            content_type="multipart/form-data")
    else:
        response = api.post("/api/v1/pathways", "admin", data=body, headers={"Content-Type": "application/xml"})
    assert response.status_code == 422, (response.status_code, response.get_data(as_text=True)[:300])
    problem = response.get_json()["errors"][0]["message"]
    assert problem == "DTDs and entity declarations are not allowed in BPMN files"
    assert len(response.get_data()) < 5000, "no entity was expanded"
    listing = {p["key"]: p for p in api.get("/api/v1/pathways", "admin").get_json()}
    assert [v["version"] for v in listing["child_protection"]["versions"]] == [1], "nothing deployed"


@pytest.mark.parametrize("codec, declared, mark", WIDE_ENCODINGS[::2])
def test_a_pathway_in_utf_16_or_utf_32_deploys_as_the_text_it_holds(api: ApiClient, codec: str, declared: str,
                                                                     mark: bytes):
    same = api.post("/api/v1/pathways", "admin", data=encoded(XML, codec, declared, mark),
                    headers={"Content-Type": "application/xml"})
    assert same.status_code == 200 and same.get_json()["created"] is False, "the text of version 1, re-encoded"
    changed = XML.replace("Signalement reçu", "Signalement reçu (v2)")
    deployed = api.post("/api/v1/pathways", "admin", data=encoded(changed, codec, declared, mark),
                        headers={"Content-Type": "application/xml"})
    assert deployed.status_code == 201, deployed.get_json()
    stored = api.get("/api/v1/pathways/child_protection/versions/2/bpmn", "admin").get_data(as_text=True)
    assert stored.startswith('<?xml version="1.0" encoding="UTF-8"?>') and "Signalement reçu (v2)" in stored
