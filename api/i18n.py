"""Languages: French (default), Arabic (right-to-left) and English.

Messages of the API live in gettext catalogues (``api/translations``); task titles and form
labels come translated from the pathway definitions. The language of a request is, in order:
``?lang=``, the ``Accept-Language`` header, the user's preference, French.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Babel, get_locale, gettext

LANGUAGES = ("fr", "ar", "en")
DEFAULT_LANGUAGE = "fr"
RTL_LANGUAGES = ("ar",)
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def select_language() -> str:
    if not has_request_context():
        return DEFAULT_LANGUAGE
    # ``X-Himaya-Language``: the service worker keeping a page in each language for offline use.
    asked = request.args.get("lang") or request.headers.get("X-Himaya-Language")
    if asked in LANGUAGES:
        return asked
    if not request.path.startswith("/api/"):  # pages: the chosen language, the user's, else French
        from flask import session

        chosen = session.get("lang") or getattr(g.get("principal"), "language", None)
        return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE
    best = request.accept_languages.best_match(LANGUAGES)
    if best:
        return best
    principal = g.get("principal")
    if principal is not None and principal.language in LANGUAGES:
        return principal.language
    return DEFAULT_LANGUAGE


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else DEFAULT_LANGUAGE


def compile_catalogues(folder: Path = TRANSLATIONS) -> None:
    """Compile each ``messages.po`` whose ``.mo`` is missing or older (idempotent)."""
    for po_path in folder.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        temporary = mo_path.with_suffix(".mo.tmp")
        with temporary.open("wb") as handle:
            write_mo(handle, catalog)
        temporary.replace(mo_path)


def init_i18n(app: Flask) -> None:
    try:
        compile_catalogues()
    except OSError:  # a read-only install: `make` compiled them already
        pass
    Babel(app, locale_selector=select_language, default_translation_directories=str(TRANSLATIONS))


# Messages with a variable part, as marshmallow and webargs word them.
_PATTERNS = [
    (re.compile(r"^Must be one of: (?P<choices>.*)\.$"), "Must be one of: %(choices)s."),
    (re.compile(r"^Longer than maximum length (?P<max>\d+)\.$"), "Longer than maximum length %(max)s."),
    (re.compile(r"^Shorter than minimum length (?P<min>\d+)\.$"), "Shorter than minimum length %(min)s."),
    (re.compile(r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$"),
     "Length must be between %(min)s and %(max)s."),
    (re.compile(r"^Must be greater than or equal to (?P<min>[-\d.]+) and less than or equal to (?P<max>[-\d.]+)\.$"),
     "Must be greater than or equal to %(min)s and less than or equal to %(max)s."),
    (re.compile(r"^Must be greater than or equal to (?P<min>[-\d.]+)\.$"), "Must be greater than or equal to %(min)s."),
    (re.compile(r"^Must be less than or equal to (?P<max>[-\d.]+)\.$"), "Must be less than or equal to %(max)s."),
    (re.compile(r"^Must be less than (?P<max>[-\d.]+)\.$"), "Must be less than %(max)s."),
    (re.compile(r"^Keep it to (?P<max>\d+) characters at most\.$"), "Keep it to %(max)s characters at most."),
    # a step form's plain messages (engine/forms.py)
    (re.compile(r"^Write at most (?P<max>\d+) characters\.$"), "Write at most %(max)s characters."),
    (re.compile(r"^Write at least (?P<min>\d+) characters\.$"), "Write at least %(min)s characters."),
    (re.compile(r"^Tick at most (?P<max>\d+) options\.$"), "Tick at most %(max)s options."),
    (re.compile(r"^Enter a number from (?P<min>[-\d.]+) to (?P<max>[-\d.]+)\.$"),
     "Enter a number from %(min)s to %(max)s."),
    (re.compile(r"^Enter a number of at least (?P<min>[-\d.]+)\.$"), "Enter a number of at least %(min)s."),
    (re.compile(r"^Enter a number of at most (?P<max>[-\d.]+)\.$"), "Enter a number of at most %(max)s."),
    (re.compile(r"^This pathway serves people under (?P<limit>\d+) at the report date \(age (?P<age>\d+)\)\.$"),
     "This pathway serves people under %(limit)s at the report date (age %(age)s)."),
    (re.compile(r"^This pathway serves people between (?P<low>\d+) and (?P<high>\d+) at the report date "
                r"\(age (?P<age>\d+)\)\.$"),
     "This pathway serves people between %(low)s and %(high)s at the report date (age %(age)s)."),
    (re.compile(r"^This pathway's cases are filed to units of kind: (?P<kinds>.*)\.$"),
     "This pathway's cases are filed to units of kind: %(kinds)s."),
]


_CHOICE = re.compile(r"^Must be one of: (?P<choices>.*)\.$")
CHOOSE = "Choose one of the options offered."  # engine.forms.CHOOSE
CHOICE_LABELLER = "himaya_choice_labels"  # app.extensions: codes -> their labels on the pages (or None)


def choose_among(labels: list[str]) -> str:
    """"Choose one of: …" with the choices' labels (never their internal codes)."""
    return gettext("Choose one of: %(choices)s.", choices=", ".join(labels)) if labels else gettext(CHOOSE)


def _page_choice(message: str) -> str | None:
    """On a page, marshmallow's "Must be one of: phone_line, walk_in." said with the labels of
    those codes (or as a plain sentence); None on the API, whose clients read the codes."""
    match = _CHOICE.match(message)
    if match is None or not has_request_context() or request.path.startswith("/api/"):
        return None
    labeller = current_app.extensions.get(CHOICE_LABELLER)
    codes = [code.strip() for code in match.group("choices").split(",")]
    labels = labeller(codes) if labeller is not None else None
    return choose_among(labels or [])


def translate_message(message: str) -> str:
    on_page = _page_choice(message)
    if on_page is not None:
        return on_page
    for pattern, template in _PATTERNS:
        match = pattern.match(message)
        if match:
            return gettext(template, **match.groupdict())
    return gettext(message)


def translate_problem(problem: dict[str, Any]) -> str:
    """A definition's problem (``engine.definitions.model.Problem.as_dict``) in the reader's
    language: the sentence of its ``code`` with its ``params``, else its message translated."""
    from .messages import PROBLEM_TEXTS

    template = PROBLEM_TEXTS.get(problem.get("code") or "")
    if template is None:
        return translate_message(str(problem.get("message") or ""))
    params = {key: str(value) for key, value in (problem.get("params") or {}).items()}
    return gettext(template, **params)


def translate_errors(errors: Any) -> Any:
    """Translate every message of a (nested) marshmallow error structure."""
    if isinstance(errors, dict):
        return {key: translate_errors(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [translate_errors(value) for value in errors]
    if isinstance(errors, str):
        return translate_message(errors)
    return errors


def _choice_labels(form: dict[str, Any]) -> dict[str, list[str]]:
    from engine.forms import iter_components

    return {c["key"]: [str(v.get("label") or v.get("value")) for v in c.get("values") or [] if isinstance(v, dict)]
            for c in iter_components(form.get("components", [])) if c.get("key") and c.get("values")}


def _messages_of(value: Any) -> list[str]:
    """Every message of a field's errors, once each (a checklist's per-item errors become the field's)."""
    found: list[str] = []
    if isinstance(value, dict):
        for inner in value.values():
            found.extend(_messages_of(inner))
    elif isinstance(value, list):
        for inner in value:
            found.extend(_messages_of(inner))
    elif value is not None:
        found.append(str(value))
    return list(dict.fromkeys(found))


def translate_form_errors(errors: Any, form: dict[str, Any]) -> dict[str, list[str]]:
    """A step form's errors (``engine.forms``), each field's messages translated; a choice
    error names the choices by their labels in ``form`` (the form-js schema in the reader's
    language)."""
    choices = _choice_labels(form)
    if not isinstance(errors, dict):
        return {"_schema": [translate_message(m) for m in _messages_of(errors)]}
    result: dict[str, list[str]] = {}
    for key, value in errors.items():
        messages = []
        for message in _messages_of(value):
            if key in choices and (message == CHOOSE or _CHOICE.match(message)):
                messages.append(choose_among(choices[key]))
            else:
                messages.append(translate_message(message))
        result[str(key)] = list(dict.fromkeys(messages))
    return result
