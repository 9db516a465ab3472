"""Every message of the code has a French and an Arabic translation in the catalogues."""
import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def _code_messages() -> set[str]:
    messages = set()
    for method_map in ([("**.py", "python")], [("templates/**.html", "jinja2.ext:babel_extract")]):
        found = extract_from_dir(str(ROOT / "api"), method_map=method_map,
                                 keywords={"_": None, "_l": None, "N_": None, "gettext": None})
        messages |= {message for _file, _line, message, _comments, _context in found if isinstance(message, str)}
    return messages


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_every_message_is_translated(language):
    with (ROOT / "api" / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id for m in catalog if m.id and m.string}
    missing = sorted(_code_messages() - translated)
    assert not missing, f"{len(missing)} message(s) without a '{language}' translation: {missing[:5]}"


# Errors whose message (first argument) and field messages (second argument) reach a user.
ERROR_CLASSES = {"EngineError", "NotFound", "Forbidden", "Conflict", "ValidationFailed", "DefinitionInvalid",
                 "DefinitionTooLarge", "PathwayFailure", "ValidationError"}


def _literal_strings(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, (ast.List, ast.Tuple)):
        for element in node.elts:
            yield from _literal_strings(element)
    elif isinstance(node, ast.Dict):
        for value in node.values:
            yield from _literal_strings(value)


def _error_messages() -> dict[str, str]:
    """Literal messages given to the engine's errors and marshmallow's ValidationError, and those
    set aside for them (:func:`_set_aside_messages`), with where they are."""
    found: dict[str, str] = {}
    for folder in ("engine", "api", "handlers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name not in ERROR_CLASSES:
                    continue
                # ValidationError(message, field_name): the second argument names a field, not a message.
                for argument in node.args[:1 if name == "ValidationError" else 2]:
                    for message in _literal_strings(argument):
                        found.setdefault(message, f"{path.relative_to(ROOT)}:{node.lineno}")
            for message, line in _set_aside_messages(tree):
                found.setdefault(message, f"{path.relative_to(ROOT)}:{line}")
    return found


def _sentence(value: object) -> bool:
    return isinstance(value, str) and value[:1].isupper() and " " in value and value.rstrip(")").endswith((".", "…"))


def _set_aside_messages(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """Messages set before they reach an error: a field's list of sentences in an errors
    dictionary (``errors["ends_on"] = ["The convention ends before it starts."]``), a validator's
    ``error=``, a field's ``error_messages``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.List) and node.elts and all(isinstance(e, ast.Constant) for e in node.elts):
            for element in node.elts:
                if isinstance(element, ast.Constant) and isinstance(element.value, str) and _sentence(element.value):
                    yield element.value, node.lineno
        elif isinstance(node, ast.keyword) and node.arg == "error" and isinstance(node.value, ast.Constant):
            if isinstance(node.value.value, str):
                yield node.value.value, node.value.lineno
        elif isinstance(node, ast.keyword) and node.arg == "error_messages" and isinstance(node.value, ast.Dict):
            yield from ((v.value, v.lineno) for v in node.value.values
                        if isinstance(v, ast.Constant) and isinstance(v.value, str))


def test_the_error_extraction_finds_the_engine_messages() -> None:
    messages = _error_messages()
    assert "The form has invalid fields." in messages and "The task is claimed by someone else." in messages
    assert "Unknown unit for this province." in messages  # inside an errors dict
    assert "The convention ends before it starts." in messages  # a field's list, set before the error
    assert "Give a number from 0 to 20000." in messages  # a validator's error=
    assert "Write the date as YYYY-MM-DD." in messages  # a field's error_messages


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_every_engine_and_api_error_message_is_translated(language: str) -> None:
    with (ROOT / "api" / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        translated = {m.id for m in read_po(handle) if m.id and m.string}
    missing = {message: where for message, where in _error_messages().items() if message not in translated}
    assert not missing, f"{len(missing)} error message(s) without a '{language}' translation: {missing}"
