"""HTML forms: a step's form-js schema read back from a posted form, and the report form.

The task page renders the step's form-js schema on the server (templates/_formjs.html): every
field is a plain labelled input that works without JavaScript on a phone, and the server's
field errors sit next to their field. Posted values are turned into the JSON the engine
validates, so the web and the API share one validation.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from engine.forms import iter_components

_INTEGER = re.compile(r"^-?\d+$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def form_data(schema: dict[str, Any], posted: MultiDict) -> dict[str, Any]:
    """The form's data as the API would receive it (empty optional fields left out)."""
    data: dict[str, Any] = {}
    for component in iter_components(schema.get("components", [])):
        key, kind = component.get("key"), component.get("type")
        if not key:
            continue
        if kind == "checkbox":
            data[key] = posted.get(key) == "on"
        elif kind in ("checklist", "taglist"):
            values = [v for v in posted.getlist(key) if v != ""]
            if values or (component.get("validate") or {}).get("required"):
                data[key] = values
        else:
            value = (posted.get(key) or "").strip()
            if value == "":
                continue
            if kind == "number":
                data[key] = int(value) if _INTEGER.match(value) else float(value) if _NUMBER.match(value) else value
            else:
                data[key] = value
    return data


def flat_errors(errors: Any) -> dict[str, list[str]]:
    """Nested marshmallow errors as ``{"child.sex": [...], "categories": [...]}``."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            flat.setdefault(prefix or "_", []).extend(value)
        elif isinstance(value, list):
            for inner in value:
                walk(prefix, inner)
        else:
            flat.setdefault(prefix or "_", []).append(str(value))
    walk("", errors)
    return flat


REPORT_FIELDS = ("first_name", "last_name", "sex", "birth_date", "age_estimate", "nationality", "unit",
                 "source", "received_at", "description", "legal_basis", "given_by", "notes")
REPORT_LINE_FIELDS = ("first_name", "last_name", "given_by")  # one line: no control characters


def report_payload(posted: MultiDict, province: str, timezone: str) -> dict[str, Any]:
    """The intake JSON of ``POST /api/v1/cases`` from the report form."""
    def text(name: str) -> str | None:
        value = (posted.get(name) or "").strip()
        return value or None

    age = text("age_estimate")
    received = text("received_at")
    if received:
        try:
            moment = datetime.fromisoformat(received)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ZoneInfo(timezone))
            received = moment.isoformat()
        except ValueError:
            pass  # the schema says it is not a valid datetime
    consent = {"legal_basis": text("legal_basis") or "protection_mandate",
               "child_informed": posted.get("child_informed") == "on",
               "guardian_informed": posted.get("guardian_informed") == "on", "notes": text("notes") or ""}
    if text("given_by"):
        consent["given_by"] = text("given_by")
    return {
        "child": {"first_name": text("first_name") or "", "last_name": text("last_name") or "",
                  "sex": text("sex") or "", "birth_date": text("birth_date"),
                  "age_estimate": int(age) if age and _INTEGER.match(age) else age,
                  "civil_status_registered": posted.get("civil_status_registered") == "on",
                  "nationality": (text("nationality") or "").upper() or None},
        "province": province, "unit": text("unit") or "",
        "categories": posted.getlist("categories"),
        "report": {"source": text("source") or "", "received_at": received or "",
                   "description": text("description") or ""},
        "emergency": {"medical": posted.get("emergency_medical") == "on",
                      "immediate_danger": posted.get("immediate_danger") == "on"},
        "consent": consent,
    }


# Where each intake error shows on the report form.
REPORT_ERROR_FIELDS = {
    "child.first_name": "first_name", "child.last_name": "last_name", "child.sex": "sex",
    "child.birth_date": "birth_date", "child.age_estimate": "age_estimate", "child.nationality": "nationality",
    "unit": "unit", "categories": "categories", "report.source": "source", "report.received_at": "received_at",
    "report.description": "description", "consent.given_by": "given_by", "consent.legal_basis": "legal_basis",
    "consent.notes": "notes",
}


def local_moment(value: str | None, timezone: str) -> str | None:
    """A form's ``datetime-local`` value as ISO 8601 in the installation's time zone (None when
    empty; given back as typed when it does not parse, for the schema to say so)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.isoformat()


def resolution_payload(posted: MultiDict, timezone: str) -> dict[str, Any]:
    """The body of ``POST /api/v1/incidents/{id}/resolve`` from the incident's form."""
    def text(name: str) -> str | None:
        value = (posted.get(name) or "").strip()
        return value or None

    payload = {"informed_via": text("informed_via"), "informed_at": local_moment(text("informed_at"), timezone),
               "note": text("note"), "acknowledgment_reference": text("acknowledgment_reference")}
    return {key: value for key, value in payload.items() if value is not None}  # empty: "required" where it is
