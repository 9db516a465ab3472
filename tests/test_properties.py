"""Property-based tests (hypothesis): the sandbox and the form validation never fail in an
unplanned way, whatever they are given."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from engine import sandbox
from engine.forms import compile_form
from engine.sandbox import SandboxError

FORMS = Path(__file__).resolve().parent.parent / "bpmn" / "forms"
TOKENS = ["x", "y", "categories", "risk_level", "1", "0", "'a'", "None", "True", "(", ")", "[", "]", "{", "}", ",",
          ":", "+", "-", "*", "/", "//", "%", "**", "==", "<", ">", "and", "or", "not", "in", "if", "else", ".",
          "__class__", "__import__", "lambda", "for", "has_any", "len", "min", "open", "eval", "9", "10", "'a'*9"]
DATA = {"x": 3, "y": [1, 2], "categories": ["street"], "risk_level": "high"}
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
                    lambda inner: (st.lists(inner, max_size=4)
                                   | st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                    max_leaves=12)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=14).map(" ".join))
def test_the_sandbox_only_ever_answers_or_refuses(expression):
    try:
        sandbox.evaluate(expression, DATA)
    except SandboxError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=80))
def test_the_sandbox_refuses_arbitrary_text_cleanly(expression):
    try:
        sandbox.evaluate(expression, DATA)
    except SandboxError:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(sorted(p.stem for p in FORMS.glob("*.json"))), JSON)
def test_form_validation_accepts_or_lists_fields(name, data):
    form = compile_form(name, json.loads((FORMS / f"{name}.json").read_text(encoding="utf-8")))
    try:
        cleaned = form.validate(data)
    except ValidationError as error:
        assert error.messages  # every refusal says why
    else:
        assert set(cleaned) <= set(form.keys)
        json.dumps(cleaned)  # what is accepted can be stored


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(["type", "components", "key", "values", "validate"]), JSON, max_size=4))
def test_any_form_file_compiles_or_is_refused_with_reasons(definition):
    from engine.forms import FormDefinitionError

    try:
        compile_form("fuzzed", definition)
    except FormDefinitionError as error:
        assert error.problems


# Plan content: arbitrary JSON, and near-valid plans with one field replaced by anything.
VALID_ACTION = {"title": "Former", "pilot": "Mme A", "budget_mad": "10", "deadline": "2027-01-01"}


def _near_valid(value: Any, where: str) -> dict[str, Any]:
    action = dict(VALID_ACTION)
    action[where] = value
    return {"priorities": [{"area": "prevention", "title": "P", "general_objectives": [
        {"title": "G", "specific_objectives": [{"title": "S", "actions": [action]}]}]}]}


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(JSON, st.builds(_near_valid, JSON, st.sampled_from(
    ["title", "pilot", "budget_mad", "deadline", "ongoing", "partners", "indicators", "follow_up"]))))
def test_plan_content_is_either_stored_as_json_or_refused_with_field_errors(payload):
    from engine.action_plans import load_content
    from engine.errors import ValidationFailed

    try:
        content = load_content(payload)
    except ValidationFailed as refused:
        assert refused.errors, "a refusal names its fields"
        return
    json.dumps(content)  # what is stored is plain JSON
    for priority in content["priorities"]:
        for general in priority["general_objectives"]:
            for specific in general["specific_objectives"]:
                for action in specific["actions"]:
                    assert action["pilot"].strip() and float(action["budget_mad"]) >= 0
                    assert action["ongoing"] != (action["deadline"] is not None)
