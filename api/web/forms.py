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


REPORT_FIELDS = ("name_unknown", "alias", "first_name", "last_name", "other_first_name", "other_last_name", "sex",
                 "birth_date", "age_estimate", "nationality", "unit", "source", "received_at", "description",
                 "reporter_name", "reporter_relation", "reporter_phone", "location_commune", "location_place",
                 "legal_basis", "given_by", "notes")
# One line each: no control characters (a page offers them back cleaned).
REPORT_LINE_FIELDS = ("alias", "first_name", "last_name", "other_first_name", "other_last_name", "given_by",
                      "reporter_name", "reporter_relation", "reporter_phone", "location_commune", "location_place")
IDENTITY_LINE_FIELDS = ("alias", "first_name", "last_name", "other_first_name", "other_last_name")


def _texts(posted: MultiDict) -> Any:
    def text(name: str) -> str | None:
        value = (posted.get(name) or "").strip()
        return value or None
    return text


def _some(values: dict[str, Any]) -> dict[str, Any] | None:
    """A nested part of the intake (names in the other script, reporter, place), or None when empty."""
    return values if any(v is not None for v in values.values()) else None


def child_payload(posted: MultiDict) -> dict[str, Any]:
    """The ``child`` of the intake (and of an identity correction) from the identity fields of a form."""
    text = _texts(posted)
    age = text("age_estimate")
    known = posted.get("name_unknown") != "on"
    return {"identity_known": known, "alias": text("alias"),
            "first_name": text("first_name"), "last_name": text("last_name"),
            "names_other_script": _some({"first_name": text("other_first_name"),
                                         "last_name": text("other_last_name")}),
            "sex": text("sex") or "", "birth_date": text("birth_date"),
            "age_estimate": int(age) if age and _INTEGER.match(age) else age,
            "civil_status_registered": posted.get("civil_status_registered") == "on",
            "nationality": (text("nationality") or "").upper() or None}


def report_payload(posted: MultiDict, province: str, timezone: str) -> dict[str, Any]:
    """The intake JSON of ``POST /api/v1/cases`` from the report form."""
    text = _texts(posted)
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
        "child": child_payload(posted),
        "province": province, "unit": text("unit") or "",
        "categories": posted.getlist("categories"),
        "report": {"source": text("source") or "", "received_at": received or "",
                   "description": text("description") or "",
                   "reporter": _some({"name": text("reporter_name"), "relation": text("reporter_relation"),
                                      "phone": text("reporter_phone")}),
                   "location": _some({"commune": text("location_commune"), "place": text("location_place")})},
        "emergency": {"medical": posted.get("emergency_medical") == "on",
                      "immediate_danger": posted.get("immediate_danger") == "on"},
        "consent": consent,
    }


# Where each error of the child's identity shows on a form (the report, the identity correction).
CHILD_ERROR_FIELDS = {
    "identity_known": "name_unknown", "alias": "alias", "first_name": "first_name", "last_name": "last_name",
    "names_other_script.first_name": "other_first_name", "names_other_script.last_name": "other_last_name",
    "names_other_script": "other_first_name", "sex": "sex", "birth_date": "birth_date",
    "age_estimate": "age_estimate", "nationality": "nationality", "civil_status_registered": "civil_status_registered",
}
# Where each intake error shows on the report form.
REPORT_ERROR_FIELDS = {
    **{f"child.{key}": field for key, field in CHILD_ERROR_FIELDS.items()},
    "unit": "unit", "categories": "categories", "report.source": "source", "report.received_at": "received_at",
    "report.description": "description", "report.reporter.name": "reporter_name",
    "report.reporter.relation": "reporter_relation", "report.reporter.phone": "reporter_phone",
    "report.location.commune": "location_commune", "report.location.place": "location_place",
    "consent.given_by": "given_by", "consent.legal_basis": "legal_basis", "consent.notes": "notes",
}


def report_errors(translated: Any) -> dict[str, list[str]]:
    """The intake's field errors (already translated) under the report form's field names
    (:data:`REPORT_ERROR_FIELDS`; any other by its last part)."""
    errors: dict[str, list[str]] = {}
    for key, messages in flat_errors(translated).items():
        errors.setdefault(REPORT_ERROR_FIELDS.get(key, key.split(".")[-1]), []).extend(messages)
    return errors


def identity_values(recorded: dict[str, Any]) -> dict[str, Any]:
    """The identity correction form's values from the recorded identity (``engine.runtime.identity_of``)."""
    other = recorded.get("names_other_script") or {}
    age = recorded.get("age_estimate")
    return {"name_unknown": recorded.get("identity_known") is False, "alias": recorded.get("alias") or "",
            "first_name": recorded.get("first_name") or "", "last_name": recorded.get("last_name") or "",
            "other_first_name": other.get("first_name") or "", "other_last_name": other.get("last_name") or "",
            "sex": recorded.get("sex") or "", "birth_date": recorded.get("birth_date") or "",
            "age_estimate": "" if age is None else str(age), "nationality": recorded.get("nationality") or "",
            "civil_status_registered": bool(recorded.get("civil_status_registered"))}


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


def choice_labels(codes: list[str]) -> list[str] | None:
    """The labels of a page's choice codes (a report's source, a category…) when one list of
    labels knows them all: "Must be one of: phone_line, walk_in." then reads with the labels."""
    from . import labels

    tables = (labels.SOURCE_LABELS, labels.CATEGORY_LABELS, labels.LEGAL_BASIS_LABELS, labels.CONSENT_METHOD_LABELS,
              labels.CHILD_SEX_LABELS, labels.RISK_LABELS, labels.INFORMED_VIA_LABELS)
    for table in tables:
        if codes and all(code in table for code in codes):
            return [str(table[code]) for code in codes]
    return None


def field_anchor(component: dict[str, Any]) -> str:
    """The id of the input an error summary links to (a choice list's first option)."""
    key = component["key"]
    return f"f-{key}-1" if component.get("type") in ("radio", "checklist") else f"f-{key}"


def error_summary(form: dict[str, Any], errors: dict[str, list[str]]) -> list[dict[str, str]]:
    """The errors of a step form in the form's order, each with its field's label and the id of
    the input to link to (``<a href="#f-key">``); errors of no field link to the form."""
    shown: list[dict[str, str]] = []
    seen: set[str] = set()
    for component in iter_components(form.get("components", [])):
        key = component.get("key")
        if not key or key not in errors:
            continue
        seen.add(key)
        label = component.get("dateLabel") if component.get("type") == "datetime" else component.get("label")
        for message in errors[key]:
            shown.append({"anchor": field_anchor(component), "label": str(label or key), "message": message})
    for key, messages in errors.items():
        if key not in seen:
            shown.extend({"anchor": "step-form", "label": "", "message": message} for message in messages)
    return shown


def follow_up_values(form: Any) -> dict[str, Any]:
    """A follow-up form (a plan's action, a convention's milestone) as typed: the percentage a
    number when it reads as one ("40 %" too), kept as typed otherwise for its field error."""
    raw = (form.get("percent_done") or "").strip().rstrip("%").strip()
    percent: Any = int(raw) if raw.lstrip("-").isdigit() else (raw or None)
    return {"state": form.get("state") or "", "percent_done": percent,
            "started_on": form.get("started_on") or None, "ended_on": form.get("ended_on") or None,
            "note": (form.get("note") or "").strip()}
