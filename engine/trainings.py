"""Training sessions for UPE staff: recorded by the province's coordinators, they feed the
"trainings organised" and "staff trained" indicators."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import Database
from .errors import NotFound, ValidationFailed
from .models import Province, Training, Unit

EARLIEST = date(2000, 1, 1)


class NewTraining(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    province = fields.String(required=True, validate=validate.Length(min=1, max=64))
    units = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                        validate=validate.Length(min=1, max=200))
    participants = fields.List(fields.String(validate=validate.Length(min=1, max=200)), required=True,
                               validate=validate.Length(min=1, max=1000))

    @validates_schema
    def _dates(self, data: dict[str, Any], **_: Any) -> None:
        if data["end_date"] < data["start_date"]:
            raise ValidationError("The training ends before it starts.", "end_date")
        if not EARLIEST <= data["start_date"] <= date.today() + timedelta(days=366):
            raise ValidationError("Choose a date between 2000 and next year.", "start_date")


def record(session: Session, payload: Any, *, actor: str, now: datetime) -> Training:
    """Validate and store a training session (404 for an unknown province)."""
    try:
        values = NewTraining().load(payload if isinstance(payload, dict) else {})
    except ValidationError as exc:
        raise ValidationFailed("The request has invalid fields.", exc.messages) from None
    if session.get(Province, values["province"]) is None:
        raise NotFound("Unknown province.")
    known = set(session.scalars(select(Unit.code).where(Unit.province == values["province"])))
    if any(unit not in known for unit in values["units"]):
        raise ValidationFailed("The request has invalid fields.", {"units": ["Unknown unit for this province."]})
    participants = [name.strip() for name in values["participants"] if name.strip()]
    if not participants:
        raise ValidationFailed("The request has invalid fields.",
                               {"participants": ["Missing data for required field."]})
    row = Training(title=values["title"].strip(), start_date=values["start_date"], end_date=values["end_date"],
                   province=values["province"], units=values["units"], participants=participants,
                   recorded_at=now, recorded_by=actor)
    session.add(row)
    session.flush()
    return row


def record_training(database: Database, payload: Any, *, actor: str, now: datetime) -> Training:
    """Record a training session in its own transaction (the command the API and the page run)."""
    with database.transaction() as session:
        return record(session, payload, actor=actor, now=now)
