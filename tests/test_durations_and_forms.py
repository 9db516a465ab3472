"""Due rules (ISO 8601 durations by risk level) and form-js → marshmallow validation."""
import time
from datetime import UTC, datetime

import pytest
from marshmallow import ValidationError

from engine.durations import parse_due_rule, parse_duration
from engine.forms import FormDefinitionError, compile_form

T0 = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("rule, risk, expected", [
    ("PT4H", "low", datetime(2026, 1, 31, 14, 0, tzinfo=UTC)),
    ("high=PT24H;medium=P3D;low=P7D", "high", datetime(2026, 2, 1, 10, 0, tzinfo=UTC)),
    ("high=PT24H;medium=P3D;low=P7D", "medium", datetime(2026, 2, 3, 10, 0, tzinfo=UTC)),
    ("high=PT24H;medium=P3D;low=P7D", "low", datetime(2026, 2, 7, 10, 0, tzinfo=UTC)),
    ("P1M", "low", datetime(2026, 2, 28, 10, 0, tzinfo=UTC)),  # clamped to the month's end
    ("P1Y2M", "low", datetime(2027, 3, 31, 10, 0, tzinfo=UTC)),
    ("P2W", "low", datetime(2026, 2, 14, 10, 0, tzinfo=UTC)),
    ("high=P3D, low=P14D", "medium", datetime(2026, 2, 3, 10, 0, tzinfo=UTC)),  # shortest given
])
def test_due_rules(rule, risk, expected):
    assert parse_due_rule(rule).due_at(T0, risk) == expected


@pytest.mark.parametrize("text", ["", "3 days", "P", "PT", "P0D", "PT4", "high=3D", "urgent=P1D", "high=P1D;high=P2D",
                                  "P1DT"])
def test_bad_due_rules_are_refused(text):
    with pytest.raises(ValueError):
        parse_due_rule(text)


def test_duration_parts():
    assert parse_duration("P1DT2H30M").hours == 2


FORM = {
    "type": "default",
    "components": [
        {"type": "text", "id": "intro", "text": "Renseignez la visite."},
        {"type": "datetime", "id": "f1", "key": "visit_date", "subtype": "date", "dateLabel": "Date",
         "validate": {"required": True}},
        {"type": "textarea", "id": "f2", "key": "summary", "label": "Résumé",
         "validate": {"required": True, "maxLength": 20}},
        {"type": "checkbox", "id": "f3", "key": "stable", "label": "Stable"},
        {"type": "number", "id": "f4", "key": "score", "label": "Score", "validate": {"min": 0, "max": 10}},
        {"type": "radio", "id": "f5", "key": "kind", "label": "Type", "validate": {"required": True},
         "values": [{"label": "Famille", "value": "family"}, {"label": "École", "value": "school"}]},
        {"type": "checklist", "id": "f6", "key": "needs", "label": "Besoins",
         "values": [{"label": "Soins", "value": "care"}, {"label": "Logement", "value": "housing"}]},
        {"type": "textfield", "id": "f7", "key": "code", "label": "Code", "validate": {"pattern": "^[A-Z]{3}$"}},
    ],
    "i18n": {"ar": {"Date": "التاريخ", "Famille": "الأسرة"}, "en": {"Date": "Date", "Famille": "Family"}},
}


def test_valid_data_is_normalised():
    form = compile_form("visit", FORM)
    data = form.validate({"visit_date": "2026-12-01", "summary": "ok", "kind": "family", "score": 3})
    assert data == {"visit_date": "2026-12-01", "summary": "ok", "kind": "family", "score": 3.0,
                    "stable": False, "needs": []}


def test_every_bad_field_is_listed():
    form = compile_form("visit", FORM)
    with pytest.raises(ValidationError) as caught:
        form.validate({"visit_date": "tomorrow", "summary": "x" * 21, "stable": "maybe", "score": 11,
                       "kind": "street", "needs": ["care", "gold"], "code": "ab", "extra": 1})
    errors = caught.value.messages
    assert set(errors) == {"visit_date", "summary", "stable", "score", "kind", "needs", "code", "extra"}


def test_missing_required_fields_are_listed():
    form = compile_form("visit", FORM)
    with pytest.raises(ValidationError) as caught:
        form.validate({})
    assert set(caught.value.messages) == {"visit_date", "summary", "kind"}


def test_localized_labels_and_choice_labels():
    form = compile_form("visit", FORM)
    arabic = form.localized("ar")
    assert arabic["components"][1]["dateLabel"] == "التاريخ"
    assert arabic["components"][5]["values"][0]["label"] == "الأسرة"
    assert "i18n" not in arabic
    assert form.localized("fr")["components"][1]["dateLabel"] == "Date"


def test_missing_translations_are_warnings():
    form = compile_form("visit", FORM)
    assert any("'ar' translation" in w for w in form.warnings)


@pytest.mark.parametrize("components, message", [
    ([{"type": "textfield", "key": "a"}, {"type": "textfield", "key": "a"}], "used twice"),
    ([{"type": "radio", "key": "a", "values": []}], "values"),
    ([{"type": "filepicker", "key": "a"}], "unsupported component type"),
    ([{"type": "textfield", "key": "1bad"}], "'key'"),
    ([{"type": "textfield", "key": "a", "validate": {"pattern": "("}}], "regular expression"),
    ([{"type": "number", "key": "a", "validate": {"min": "zero"}}], "validate.min"),
    ([{"type": "textarea", "key": "a", "properties": {"requiredWhen": "b"}}], "requiredWhen names 'b'"),
    ([{"type": "textarea", "key": "a", "properties": {"requiredWhen": "a=yes"}}], "requiredWhen names 'a'"),
])
def test_bad_forms_are_refused(components, message):
    with pytest.raises(FormDefinitionError) as caught:
        compile_form("bad", {"type": "default", "components": components})
    assert message in str(caught.value)


def _form_with_pattern(pattern: str) -> dict:
    return {"type": "default", "components": [
        {"type": "textfield", "id": "Field_code", "key": "code", "label": "Code", "validate": {"pattern": pattern}}]}


def test_a_catastrophic_pattern_is_matched_in_linear_time():
    # Python's backtracking engine takes seconds on 26 × "a" + "!" with this pattern; RE2 takes microseconds.
    form = compile_form("nested", _form_with_pattern("^(a+)+$"))
    started = time.perf_counter()
    with pytest.raises(ValidationError) as caught:
        form.validate({"code": "a" * 26 + "!"})
    assert time.perf_counter() - started < 0.5
    assert caught.value.messages == {"code": ["Does not match the expected format."]}
    assert form.validate({"code": "a" * 5000}) == {"code": "a" * 5000}


@pytest.mark.parametrize("pattern", [r"^(a)\1$", r"^(?=a)a$", r"(?<!x)a", "a{1001}"])
def test_a_pattern_the_linear_engine_cannot_run_is_refused_naming_form_and_field(pattern):
    with pytest.raises(FormDefinitionError) as caught:
        compile_form("visit_code", _form_with_pattern(pattern))
    [problem] = caught.value.problems
    assert problem.startswith("form 'visit_code', component 'Field_code': validate.pattern of field 'code'")
    assert "not a regular expression Himaya can run" in problem


def test_patterns_still_match_from_the_start_of_the_text():
    form = compile_form("visit", FORM)
    answers = {"visit_date": "2026-12-01", "summary": "ok", "kind": "family"}
    assert form.validate({**answers, "code": "ABC"})["code"] == "ABC"
    with pytest.raises(ValidationError) as caught:
        form.validate({**answers, "code": "xABC"})
    assert caught.value.messages == {"code": ["Does not match the expected format."]}
