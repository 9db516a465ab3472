"""Task forms: bpmn.io form-js JSON schemas, turned into marshmallow schemas.

A form file (``bpmn/forms/<name>.json``) is a form-js schema: the format the admin form
editor edits and the task pages render. French is the source language of its strings;
the top-level ``i18n`` object maps a language to ``{French string: translation}`` for
every label, description, text and choice label. The server validates submitted data
with a marshmallow schema built from the components (types, required, choices, min/max,
length, pattern), so changing a form needs no code.

A ``pattern`` is compiled and matched by RE2 (the ``re2`` module), whose matching time is
linear in the text: a pattern such as ``^(a+)+$`` cannot hold a request, or the case's write
lock, for seconds. RE2 has no back-references or look-arounds; a pattern it cannot compile is
refused when the form is compiled (at deploy), naming the form and the field.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, ClassVar, cast

import re2
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

LANGUAGES = ("fr", "ar", "en")
SOURCE_LANGUAGE = "fr"
TRANSLATABLE_KEYS = ("label", "dateLabel", "timeLabel", "description", "text", "placeholder")
# The components a form may hold: those the task page renders (templates/_formjs.html), and the only
# ones the admin form editor's palette offers (passed to the page). Any other type is refused.
STATIC_TYPES = {"text"}
CONTAINER_TYPES = {"group"}
INPUT_TYPES = {"textfield", "textarea", "number", "checkbox", "checklist", "radio", "select", "datetime"}
COMPONENT_TYPES = (*sorted(INPUT_TYPES), *sorted(STATIC_TYPES), *sorted(CONTAINER_TYPES))
MAX_PATTERN_LENGTH = 200
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported to the administrator, not logged by RE2
DEFAULT_MAX_TEXT = 10_000
PATTERN_MISMATCH = "Does not match the expected format."
# Dates answered in a step lie from 1900 to 2100 (0001 or 9999 is a typing slip); times have no window.
DATE_WINDOW = (date(1900, 1, 1), date(2100, 12, 31))
DATE_WINDOW_MESSAGE = "Choose a date between 1900 and 2100."


class FormDefinitionError(ValueError):
    """The form file is not a usable form-js schema; ``problems`` lists why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class FormField:
    key: str
    type: str
    component: dict[str, Any]


@dataclass
class CompiledForm:
    """A form ready for use: its marshmallow schema and its localized variants."""

    name: str
    definition: dict[str, Any]
    fields: list[FormField]
    warnings: list[str] = field(default_factory=list)
    _schema: Schema | None = None
    _localized: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [f.key for f in self.fields]

    def choices(self, key: str) -> list[Any] | None:
        """The finite set of values a field can take (None if unbounded)."""
        for f in self.fields:
            if f.key != key:
                continue
            if f.type == "checkbox":
                return [True, False]
            if f.type in ("radio", "select"):
                return [v["value"] for v in f.component.get("values", [])]
            return None
        return None

    def validate(self, data: Any) -> dict[str, Any]:
        """Validated, JSON-ready data; raises ``ValidationError`` with field messages."""
        if not isinstance(data, dict):
            raise ValidationError({"_schema": ["Expected an object of form fields."]})
        if self._schema is None:
            self._schema = _build_schema(self.fields)()
        loaded = self._schema.load(data)
        return {key: _to_json(value) for key, value in loaded.items()}

    def localized(self, language: str) -> dict[str, Any]:
        """The form-js schema with its strings in ``language`` (French when missing)."""
        if language not in self._localized:
            self._localized[language] = localize(self.definition, language)
        return self._localized[language]


def _to_json(value: Any) -> Any:
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    return value


def iter_components(components: list[Any]) -> Iterator[dict[str, Any]]:
    """All components, groups flattened."""
    for component in components:
        if not isinstance(component, dict):
            continue
        yield component
        nested = component.get("components")
        if isinstance(nested, list):
            yield from iter_components(nested)


def compile_form(name: str, definition: Any) -> CompiledForm:
    """Check a form-js schema and compile it; raises :class:`FormDefinitionError`."""
    problems: list[str] = []
    warnings: list[str] = []
    if not isinstance(definition, dict) or not isinstance(definition.get("components"), list):
        raise FormDefinitionError([f"form '{name}': expected an object with a 'components' list"])
    form_fields: list[FormField] = []
    seen: set[str] = set()
    for component in iter_components(definition["components"]):
        ctype = component.get("type")
        where = f"form '{name}', component '{component.get('id') or component.get('key') or ctype}'"
        if ctype in STATIC_TYPES or ctype in CONTAINER_TYPES:
            continue
        if ctype not in INPUT_TYPES:
            problems.append(f"{where}: unsupported component type '{ctype}'")
            continue
        key = component.get("key")
        if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", key):
            problems.append(f"{where}: 'key' must be a name of letters, digits and _ (starting with a letter)")
            continue
        if key in seen:
            problems.append(f"{where}: key '{key}' used twice")
            continue
        seen.add(key)
        problems.extend(_check_component(where, component, key))
        if component.get("conditional"):
            warnings.append(f"{where}: conditional visibility is not evaluated by the server; "
                            "the field is treated as optional")
        form_fields.append(FormField(key, ctype, component))
    problems.extend(_required_when_problems(name, form_fields))
    warnings.extend(_missing_translations(name, definition))
    if problems:
        raise FormDefinitionError(problems)
    compiled = CompiledForm(name=name, definition=definition, fields=form_fields, warnings=warnings)
    compiled._schema = _build_schema(form_fields)()
    return compiled


def _check_component(where: str, component: dict[str, Any], key: str) -> list[str]:
    problems: list[str] = []
    ctype = component["type"]
    rules = component.get("validate") or {}
    if not isinstance(rules, dict):
        return [f"{where}: 'validate' must be an object"]
    if ctype in ("radio", "select", "checklist"):
        values = component.get("values")
        if component.get("valuesKey") or component.get("valuesExpression"):
            problems.append(f"{where}: dynamic choices are not supported; list the 'values'")
        elif not isinstance(values, list) or not values or not all(
            isinstance(v, dict) and "value" in v for v in values
        ):
            problems.append(f"{where}: a choice field needs a non-empty 'values' list of {{label, value}}")
    for bound in ("min", "max", "minLength", "maxLength"):
        if bound in rules and rules[bound] is not None and not isinstance(rules[bound], (int, float)):
            problems.append(f"{where}: validate.{bound} must be a number")
    if rules.get("pattern"):
        pattern = rules["pattern"]
        if not isinstance(pattern, str) or len(pattern) > MAX_PATTERN_LENGTH:
            problems.append(f"{where}: validate.pattern must be text of at most {MAX_PATTERN_LENGTH} characters")
        else:
            problems.extend(_pattern_problems(where, key, pattern))
    if ctype == "datetime" and component.get("subtype", "date") not in ("date", "time", "datetime"):
        problems.append(f"{where}: datetime subtype must be date, time or datetime")
    return problems


def compile_pattern(pattern: str) -> Any:
    """``pattern`` compiled by RE2 (linear-time matching); raises ``re2.error``."""
    return re2.compile(pattern, options=_RE2_OPTIONS)


def _pattern_problems(where: str, key: str, pattern: str) -> list[str]:
    try:
        compile_pattern(pattern)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return [f"{where}: validate.pattern of field '{key}' is not a regular expression Himaya can run "
                f"({reason}); back-references and look-arounds are not supported"]
    return []


class _Pattern(validate.Validator):
    """Like marshmallow's ``Regexp`` (the text must match from its start), matched by RE2."""

    def __init__(self, pattern: str) -> None:
        self.regex = compile_pattern(pattern)
        self.error = PATTERN_MISMATCH

    def __call__(self, value: str) -> str:
        if self.regex.match(value) is None:
            raise ValidationError(PATTERN_MISMATCH)
        return value


def _strings(definition: dict[str, Any]) -> Iterator[str]:
    for component in iter_components(definition.get("components", [])):
        for key in TRANSLATABLE_KEYS:
            if isinstance(component.get(key), str) and component[key].strip():
                yield component[key]
        for value in component.get("values") or []:
            if isinstance(value, dict) and isinstance(value.get("label"), str):
                yield value["label"]


def _missing_translations(name: str, definition: dict[str, Any]) -> list[str]:
    i18n = definition.get("i18n") or {}
    warnings = []
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        table = i18n.get(language) or {}
        missing = [s for s in _strings(definition) if s not in table]
        if missing:
            warnings.append(f"form '{name}': {len(missing)} text(s) without a '{language}' translation "
                            f"(first: '{missing[0][:60]}')")
    return warnings


def localize(definition: dict[str, Any], language: str) -> dict[str, Any]:
    table: dict[str, str] = (definition.get("i18n") or {}).get(language) or {}
    result = copy.deepcopy(definition)
    result.pop("i18n", None)
    for component in iter_components(result.get("components", [])):
        for key in TRANSLATABLE_KEYS:
            if isinstance(component.get(key), str):
                component[key] = table.get(component[key], component[key])
        for value in component.get("values") or []:
            if isinstance(value, dict) and isinstance(value.get("label"), str):
                value["label"] = table.get(value["label"], value["label"])
    return result


REQUIRED_WITH_ANSWER = "Required with your answer above."


def required_when(component: dict[str, Any]) -> tuple[str, str | None] | None:
    """When this field is required (Himaya's custom property ``requiredWhen`` of a form-js
    component): ``"other"`` once the field ``other`` is answered (the facts observed, once a kind
    of violence is ticked), ``"other=value"`` once it holds that value; None when not set."""
    properties = component.get("properties")
    value = properties.get("requiredWhen") if isinstance(properties, dict) else None
    if not isinstance(value, str) or not value.strip():
        return None
    key, _, expected = value.strip().partition("=")
    return key.strip(), (expected.strip() if _ else None)


def _required_when_problems(name: str, form_fields: list[FormField]) -> list[str]:
    keys = {f.key for f in form_fields}
    problems = []
    for f in form_fields:
        condition = required_when(f.component)
        if condition is not None and (condition[0] not in keys or condition[0] == f.key):
            problems.append(f"form '{name}', field '{f.key}': requiredWhen names '{condition[0]}', "
                            "which is not another field of this form")
    return problems


def _answered(value: Any) -> bool:
    """An answer that counts: a ticked box, a choice, a non-empty text or list."""
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple, dict)):
        return len(value) > 0
    return value is not None and value is not False


def _condition_holds(data: dict[str, Any], condition: tuple[str, str | None]) -> bool:
    key, expected = condition
    value = data.get(key)
    return _answered(value) if expected is None else str(value) == expected


class _FormSchema(Schema):
    class Meta:
        unknown = RAISE

    conditions: ClassVar[dict[str, tuple[str, str | None]]] = {}  # field key → what makes it required

    @validates_schema
    def _required_with_answer(self, data: dict[str, Any], **_: Any) -> None:
        errors = {key: [REQUIRED_WITH_ANSWER] for key, condition in self.conditions.items()
                  if _condition_holds(data, condition) and not _answered(data.get(key))}
        if errors:
            raise ValidationError(errors)


def _build_schema(form_fields: list[FormField]) -> type[Schema]:
    # from_dict builds a subclass of _FormSchema, whose conditions are this form's
    schema = cast(type[_FormSchema], _FormSchema.from_dict({f.key: _marshmallow_field(f) for f in form_fields}))
    schema.conditions = {f.key: condition for f in form_fields
                         if (condition := required_when(f.component)) is not None}
    return schema


# Plain messages (English msgids, translated by the API): what to do, never the rule's jargon or
# a choice's internal code (the API words a choice error with the choices' labels).
REQUIRED = "This field is required."
TOO_LONG = "Write at most {max} characters."
TOO_SHORT = "Write at least {min} characters."
CHOOSE = "Choose one of the options offered."
TICK_ONE = "Tick at least one option."
TOO_MANY = "Tick at most {max} options."
NUMBER_BETWEEN = "Enter a number from {min} to {max}."
NUMBER_AT_LEAST = "Enter a number of at least {min}."
NUMBER_AT_MOST = "Enter a number of at most {max}."
WHOLE_NUMBER = "Enter a whole number."
NUMBER = "Enter a number."
EMAIL = "Enter an email address, such as name@example.ma."
YES_OR_NO = "Answer yes or no."
INVALID = {"date": "Enter a valid date.", "time": "Enter a valid time.",
           "datetime": "Enter a valid date and time."}
# What marshmallow says of a missing or empty required field, and of a value of the wrong type.
_PRESENCE = {"required": REQUIRED, "null": REQUIRED}


def _messages(invalid: str | None = None) -> dict[str, Any]:
    return {**_PRESENCE, **({"invalid": invalid} if invalid else {})}


def _number_range(low: Any, high: Any) -> validate.Range:
    if low is not None and high is not None:
        return validate.Range(min=low, max=high, error=NUMBER_BETWEEN)
    if low is not None:
        return validate.Range(min=low, error=NUMBER_AT_LEAST)
    return validate.Range(max=high, error=NUMBER_AT_MOST)


def _marshmallow_field(form_field: FormField) -> fields.Field:
    component = form_field.component
    rules = component.get("validate") or {}
    required = bool(rules.get("required")) and not component.get("conditional")
    validators: list[Any] = []
    ctype = form_field.type

    if ctype in ("textfield", "textarea"):
        max_length = rules.get("maxLength") or DEFAULT_MAX_TEXT
        min_length = rules.get("minLength") or 0
        if required and min_length <= 1:
            validators.append(validate.Length(min=1, error=REQUIRED))  # "" is not an answer
        elif min_length:
            validators.append(validate.Length(min=min_length, error=TOO_SHORT))
        validators.append(validate.Length(max=max_length, error=TOO_LONG))
        if rules.get("pattern"):
            validators.append(_Pattern(rules["pattern"]))
        if rules.get("validationType") == "email":
            validators.append(validate.Email(error=EMAIL))
        return fields.String(required=required, allow_none=not required, validate=validators,
                             error_messages=_messages())
    if ctype == "number":
        if rules.get("min") is not None or rules.get("max") is not None:
            validators.append(_number_range(rules.get("min"), rules.get("max")))
        options: dict[str, Any] = {"required": required, "allow_none": not required, "validate": validators}
        if component.get("decimalDigits") == 0:
            return fields.Integer(strict=True, error_messages=_messages(WHOLE_NUMBER), **options)
        return fields.Float(allow_nan=False, error_messages={**_messages(NUMBER), "special": NUMBER}, **options)
    if ctype == "checkbox":
        if required:  # must be sent, and checked (a default would skip the validator)
            validators.append(validate.Equal(True, error="This box must be checked."))
            return fields.Boolean(required=True, validate=validators,
                                  error_messages={**_messages(YES_OR_NO), "required": "This box must be checked."})
        return fields.Boolean(load_default=False, validate=validators, error_messages=_messages(YES_OR_NO))
    if ctype in ("radio", "select"):
        choices = [v["value"] for v in component.get("values", [])]
        return fields.Raw(required=required, allow_none=not required,
                          validate=validate.OneOf(choices, error=CHOOSE), error_messages=_messages())
    if ctype in ("checklist", "taglist"):
        inner: fields.Field = fields.String()
        if ctype == "checklist":
            choices = [v["value"] for v in component.get("values", [])]
            inner = fields.Raw(validate=validate.OneOf(choices, error=CHOOSE))
        lengths = [validate.Length(min=1, error=TICK_ONE)] if required else []
        lengths.append(validate.Length(max=200, error=TOO_MANY))
        if required:
            return fields.List(inner, required=True, validate=lengths, error_messages=_messages())
        return fields.List(inner, load_default=list, validate=lengths, error_messages=_messages())
    if ctype == "datetime":
        subtype = component.get("subtype", "date")
        kinds: dict[str, type[fields.Field]] = {"date": fields.Date, "time": fields.Time,
                                                "datetime": fields.AwareDateTime}
        kind = kinds[subtype]
        return kind(required=required, allow_none=not required, validate=_date_window(subtype),
                    error_messages=_messages(INVALID[subtype]))
    raise FormDefinitionError([f"unsupported component type '{ctype}'"])  # pragma: no cover


def _date_window(subtype: str) -> list[Any]:
    first, last = DATE_WINDOW
    if subtype == "date":
        return [validate.Range(min=first, max=last, error=DATE_WINDOW_MESSAGE)]
    if subtype == "datetime":
        return [validate.Range(min=datetime.combine(first, time.min, UTC), max=datetime.combine(last, time.max, UTC),
                               error=DATE_WINDOW_MESSAGE)]
    return []
