"""Prevention and awareness activities of the UPE units and the CAPE (seed 002: "التحسيس ونشر
ثقافة حقوق الطفل"): a school talk, a mosque meeting, a radio programme, an online campaign…

Each records its date, the kind and name of the place, the theme, the audience in words, the
number of children, parents and professionals reached, and the partners. They are counted in
the indicators (:mod:`engine.indicators`: ``prevention``) and in the unit's quarterly statistical
report. Who records what is decided by :mod:`api.policy` (a UPE's staff for their unit, the
CAPE for any unit of its province); this module checks the fields and the territory.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema
from sqlalchemy.orm import Session

from .db import Database
from .errors import ValidationFailed
from .intake import plain_line
from .models import PreventionActivity, Unit
from .vocabulary import CAPE, UPE

PLACE_KINDS = ("school", "mosque", "community_centre", "youth_centre", "health_facility", "media", "online",
               "public_space", "association", "other")
THEMES = ("childrens_rights", "violence", "sexual_abuse", "begging", "child_labour", "school_drop_out",
          "online_risks", "civil_registration", "early_marriage", "positive_parenting", "other")
AUDIENCES = ("children", "parents", "professionals")
# A count above this is a typing slip (one activity, one place): a media audience is not counted.
MAX_PARTICIPANTS = 20_000
EARLIEST = date(2000, 1, 1)
RECORDING_UNIT_KINDS = (UPE, CAPE)


def _count() -> fields.Integer:
    return fields.Integer(load_default=0, strict=True, validate=validate.Range(
        min=0, max=MAX_PARTICIPANTS, error="Give a number from 0 to 20000."),
        error_messages={"invalid": "Give a whole number."})


class ParticipantsSchema(Schema):
    class Meta:
        unknown = RAISE

    children = _count()
    parents = _count()
    professionals = _count()


class NewActivity(Schema):
    class Meta:
        unknown = RAISE

    held_on = fields.Date(required=True, error_messages={"invalid": "Write the date as YYYY-MM-DD."})
    unit = fields.String(required=True, validate=validate.Length(min=1, max=100))
    place_kind = fields.String(required=True, validate=validate.OneOf(PLACE_KINDS))
    place_name = fields.String(required=True, validate=[validate.Length(min=1, max=200), plain_line])
    theme = fields.String(required=True, validate=validate.OneOf(THEMES))
    audience = fields.String(load_default="", validate=[validate.Length(max=300), plain_line])
    participants = fields.Nested(ParticipantsSchema, required=True)
    partners = fields.List(fields.String(validate=[validate.Length(min=1, max=200), plain_line]),
                           load_default=list, validate=validate.Length(max=30))

    @validates_schema
    def _sensible(self, data: dict[str, Any], **_: Any) -> None:
        held = data.get("held_on")
        if held is not None and not EARLIEST <= held:
            raise ValidationError("Choose a date in 2000 or later.", "held_on")
        counts = data.get("participants") or {}
        if counts and not any(counts.get(kind) for kind in AUDIENCES):
            raise ValidationError({"children": ["Give how many people took part (children, parents or "
                                                "professionals)."]}, "participants")
        if not " ".join(str(data.get("place_name") or "").split()):
            raise ValidationError("Name the place (the school, the mosque, the radio…).", "place_name")

    @post_load
    def _clean(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["place_name"] = " ".join(data["place_name"].split())
        data["audience"] = " ".join(data.get("audience", "").split())
        data["partners"] = [" ".join(p.split()) for p in data.get("partners") or [] if p.strip()]
        return data


def load(payload: Any, *, today: date) -> dict[str, Any]:
    """Validated fields (field errors otherwise; a date past tomorrow is refused: not held yet)."""
    try:
        values = NewActivity().load(payload if isinstance(payload, dict) else {})
    except ValidationError as exc:
        raise ValidationFailed("The request has invalid fields.", exc.messages) from None
    if values["held_on"] > today + timedelta(days=1):
        raise ValidationFailed("The request has invalid fields.", {"held_on": [
            "The activity is in the future: record it once it has taken place."]})
    return values


def record(session: Session, values: dict[str, Any], *, province: str, actor: str, now: datetime
           ) -> PreventionActivity:
    """Store an activity of a UPE or the CAPE of ``province`` (field error for another unit)."""
    unit = session.get(Unit, values["unit"])
    if unit is None or unit.province != province or not unit.active or unit.kind not in RECORDING_UNIT_KINDS:
        raise ValidationFailed("The request has invalid fields.", {"unit": [
            "Choose a UPE or the CAPE of your province."]})
    counts = values["participants"]
    row = PreventionActivity(
        held_on=values["held_on"], province=province, unit=unit.code, place_kind=values["place_kind"],
        place_name=values["place_name"], theme=values["theme"], audience=values["audience"],
        children=counts.get("children", 0), parents=counts.get("parents", 0),
        professionals=counts.get("professionals", 0), partners=values["partners"],
        recorded_at=now, recorded_by=actor)
    session.add(row)
    session.flush()
    return row


def record_activity(database: Database, payload: Any, *, province: str, actor: str, now: datetime,
                    allowed_units: set[str] | None = None) -> PreventionActivity:
    """Validate (outside the transaction) and record an activity; ``allowed_units``: the units the
    caller records for (None: any UPE or CAPE of the province)."""
    values = load(payload, today=now.date())
    if allowed_units is not None and values["unit"] not in allowed_units:
        raise ValidationFailed("The request has invalid fields.", {"unit": ["You record your own unit's activities."]})
    with database.transaction() as session:
        return record(session, values, province=province, actor=actor, now=now)


def participants(row: Any) -> int:
    return int(row.children or 0) + int(row.parents or 0) + int(row.professionals or 0)
