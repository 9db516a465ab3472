"""Answers of the busiest endpoints dumped without marshmallow's per-field machinery.

A task list of 20 tasks is some 450 field serialisations; marshmallow spends more on them than
the list's query takes. :func:`dumper` compiles a response schema once into plain functions that
give exactly what ``schema.dump`` gives (tests/test_fast_dump.py compares the two on real
answers), for the field kinds those schemas use: text, integers, booleans, ISO 8601 dates,
decimals, dictionaries and raw values, and nested schemas or lists of them. A schema holding any other
kind of field is refused when compiled, so nothing is dumped differently in silence.

The schemas stay the contract: the routes keep them in ``@blp.response`` for the OpenAPI
document, and :func:`respond` returns the JSON answer the route would have returned.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from flask import Response, jsonify
from marshmallow import Schema, fields

Dump = Callable[[Any], Any]


def _text(value: Any) -> Any:
    return None if value is None else value if isinstance(value, str) else str(value)


def _integer(value: Any) -> Any:
    return None if value is None else int(value)


def _float(value: Any) -> Any:
    return None if value is None else float(value)


def _same(value: Any) -> Any:
    return value


def _iso(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _mapping(value: Any) -> Any:
    return None if value is None else dict(value)


def _field_dump(field: fields.Field) -> Dump:
    if isinstance(field, fields.Nested):
        if field.many or field.only or field.exclude:
            raise TypeError(f"nested field options not supported: {field!r}")
        nested = field.nested
        if not (isinstance(nested, type) and issubclass(nested, Schema)):
            raise TypeError(f"nested schema given by name or instance: {field!r}")
        inner = dumper(nested)
        return lambda value: None if value is None else inner(value)
    if isinstance(field, fields.List):
        item = _field_dump(field.inner)
        return lambda value: None if value is None else [item(v) for v in value]
    kind = type(field)
    options: Any = field  # the options of the kinds below (as_string, format, key_field…)
    if kind is fields.String:
        return _text
    if kind is fields.Integer and not options.as_string:
        return _integer
    if kind is fields.Float and not options.as_string:
        return _float
    if kind is fields.Boolean or kind is fields.Raw:
        return _same
    if kind is fields.DateTime and (options.format or "iso") == "iso":
        return _iso
    if kind is fields.Dict and options.key_field is None and options.value_field is None:
        return _mapping
    raise TypeError(f"field kind not supported: {field!r}")


@cache
def dumper(schema: type[Schema]) -> Dump:
    """``schema().dump`` for a mapping (the readers' answers), compiled once per schema."""
    instance = schema()
    if instance.only or instance.exclude or instance.dump_fields.keys() != instance.fields.keys():
        raise TypeError(f"{schema.__name__}: field selection not supported")
    plan = []
    for name, field in instance.dump_fields.items():
        if field.attribute not in (None, name) or field.data_key not in (None, name):
            raise TypeError(f"{schema.__name__}.{name}: renamed fields not supported")
        plan.append((name, _field_dump(field)))
    if any(hook for hook in instance._hooks.values()):  # noqa: SLF001 (pre_dump/post_dump would be skipped)
        raise TypeError(f"{schema.__name__}: dump hooks not supported")

    def dump(value: Any) -> dict[str, Any]:
        return {name: convert(value[name]) for name, convert in plan if name in value}
    return dump


def respond(schema: type[Schema], value: Any, status: int = 200) -> Response:
    """The JSON answer ``@blp.response(status, schema)`` would give for ``value``."""
    answer = jsonify(dumper(schema)(value))
    answer.status_code = status
    return answer

