"""A completed step's answers as people read them: each field's label in the reader's language,
the recorded value, and its display text (a choice by its label, a box as yes or no)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from engine.forms import CompiledForm, iter_components

from ..i18n import RTL_LANGUAGES

CHOICES = ("radio", "select")
MANY = ("checklist", "taglist")


def _choice_labels(component: dict[str, Any]) -> dict[Any, str]:
    return {v.get("value"): str(v.get("label") or v.get("value")) for v in component.get("values") or []
            if isinstance(v, dict)}


def display(component: dict[str, Any] | None, value: Any, language: str) -> str:
    """The display text of one answer."""
    if value is None or value == "" or value == []:
        return "—"
    kind = (component or {}).get("type")
    if isinstance(value, bool) or kind == "checkbox":
        return _("Yes") if value else _("No")
    if kind in CHOICES:
        return _choice_labels(component or {}).get(value, str(value))
    if kind in MANY and isinstance(value, list):
        labels = _choice_labels(component or {})
        comma = "، " if language in RTL_LANGUAGES else ", "
        return comma.join(labels.get(v, str(v)) for v in value)
    if kind == "datetime" and isinstance(value, str) and "T" in value:
        return value[:16].replace("T", " ")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def step_answers(form: CompiledForm | None, data: dict[str, Any], language: str) -> list[dict[str, Any]]:
    """``[{key, label, value, display}]`` in the form's order; a recorded key the form no longer
    has (an older version's field) comes last, labelled by its key."""
    if not data:
        return []
    answers, seen = [], set()
    components = form.localized(language).get("components", []) if form is not None else []
    for component in iter_components(components):
        key = component.get("key")
        if not isinstance(key, str) or key not in data or key in seen:
            continue
        seen.add(key)
        label = component.get("label") or component.get("dateLabel") or key  # a date field: its dateLabel
        answers.append({"key": key, "label": str(label), "value": data[key],
                        "display": display(component, data[key], language)})
    for key in sorted(set(data) - seen):
        answers.append({"key": key, "label": key, "value": data[key], "display": display(None, data[key], language)})
    return answers
