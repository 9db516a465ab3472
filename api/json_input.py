"""Request bodies parsed as JSON within bounds: nesting depth, integer size.

Python's JSON parser recurses once per level (600 nested brackets raise RecursionError, a 500)
and refuses integers of more than 4,300 digits with a ValueError raised deep inside; both
arrived before authentication. Here a body nested deeper than :data:`MAX_DEPTH` or holding an
integer longer than :data:`MAX_INTEGER_DIGITS` is refused as a ``ValueError``, which Flask turns
into a 400 — no traceback, nothing logged beyond the request line.
"""
from __future__ import annotations

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 32  # the deepest legitimate body (an action plan's content) is 6 levels deep
MAX_INTEGER_DIGITS = 30  # larger than any count, amount or identifier Himaya takes


class JSONTooDeep(ValueError):
    """Nested deeper than :data:`MAX_DEPTH`."""


class JSONNumberTooLong(ValueError):
    """An integer of more than :data:`MAX_INTEGER_DIGITS` digits."""


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings (a linear scan, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        elif character in "]}":
            depth -= 1
    return deepest


def _bounded_integer(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise JSONNumberTooLong(f"integers have at most {MAX_INTEGER_DIGITS} digits")
    return int(literal)


def loads_bounded(data: str | bytes, **options: Any) -> Any:
    """``json.loads`` that refuses too deep a nesting or too long an integer (ValueError)."""
    text = data.decode(json.detect_encoding(data)) if isinstance(data, bytes | bytearray) else data
    # Fewer opening brackets than the bound cannot nest deeper: two counts in C spare the
    # character-by-character scan for the bodies of everyday requests.
    if text.count("[") + text.count("{") > MAX_DEPTH and nesting_depth(text) > MAX_DEPTH:
        raise JSONTooDeep(f"JSON nested deeper than {MAX_DEPTH} levels")
    return json.loads(text, parse_int=_bounded_integer, **options)


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON with bounded parsing of request bodies (responses are unchanged)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_bounded(s, **kwargs)
