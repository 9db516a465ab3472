"""Message templates: ``templates/<topic>.<language>.txt`` (first line ``Subject: …``).

Templates are data: an administrator can reword them without code. They receive the case
reference, the step's title, dates and a link — never the child's identity.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent / "templates"
LANGUAGES = ("fr", "ar", "en")


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "—"


@functools.cache
def _template(topic: str, language: str) -> tuple[str, str]:
    path = FOLDER / f"{topic}.{language}.txt"
    if not path.exists():
        path = FOLDER / f"{topic}.fr.txt"
    if not path.exists():
        return "[Himaya] {reference}", "{link}"
    first, _newline, body = path.read_text(encoding="utf-8").partition("\n")
    return first.removeprefix("Subject:").strip(), body.strip()


def payload_values(payload: dict[str, Any] | None, step_title: str | None = None,
                   language: str = "fr") -> dict[str, Any]:
    """The template fields of an outbox or notification payload (the province's name in
    ``language`` when the payload carries it: Arabic, else French)."""
    payload = payload or {}
    names = payload.get("province_names") or {}
    return {"reference": payload.get("case_reference", ""), "link": payload.get("link", ""),
            "due": (payload.get("due_at") or "")[:16].replace("T", " "), "since": (payload.get("since") or "")[:10],
            "step_title": step_title or payload.get("step", ""),
            "province": names.get(language) or names.get("fr") or payload.get("province", ""),
            "username": payload.get("username", ""), "count": payload.get("tasks", ""),
            "references": ", ".join(payload.get("case_references") or []),
            "from_unit": payload.get("from_unit", ""), "to_unit": payload.get("to_unit", ""),
            "respond_by": (payload.get("respond_by") or "")[:16].replace("T", " ")}


def render(topic: str, language: str, values: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of a message in ``language`` (French when it has no template)."""
    subject, body = _template(topic, language if language in LANGUAGES else "fr")
    fields = _Blank({k: "" if v is None else str(v) for k, v in values.items()})
    return subject.format_map(fields), body.format_map(fields)


def topics() -> set[str]:
    return {path.name.split(".")[0] for path in FOLDER.glob("*.txt")}
