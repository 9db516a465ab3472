"""A unit's partnership convention and the follow-up of its milestones.

The UPE projects run under three-year conventions between the association, the ministry, the
Entraide Nationale and the province (41 signed in November 2023): each has its reference, its
period, its partners and its milestones (the unit opened, the team recruited, the first yearly
report…). The CAPE technical committee (the province's coordinators) records a convention and
adds milestones to it; each milestone is then followed like an action of the provincial plan
(:mod:`engine.plan_progress`): its state, percentage done, actual dates and a follow-up note,
updated by the unit's own staff or by the committee, every update kept
(``convention_milestone_updates``).

A milestone is **late** when its due date has passed and it is neither done nor dropped: listed
for the CPPE beside the plan's late actions (:func:`late_milestones`). Bad input is refused with
field errors and nothing changes: a period that ends before it starts or lasts over ten years, a
milestone due outside the period, a reference already recorded, a unit of another province, a
percentage outside 0–100, a done milestone without its end date, dates to come.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import Database
from .errors import Conflict, Forbidden, NotFound, ValidationFailed
from .intake import plain_line
from .models import ConventionMilestone, ConventionMilestoneUpdate, Unit, UnitConvention
from .plan_progress import CLOSED, DROPPED, NOT_STARTED, STATES, ProgressSchema, load_progress
from .vocabulary import CASE_WORKER, COORDINATOR, SAS_MOBILE, UPE

COMMITTEE, UNIT_STAFF = "committee", "unit"
# The units run by an association under a convention.
CONVENTION_UNIT_KINDS = (UPE, SAS_MOBILE)
MAX_MILESTONES = 60
MAX_YEARS = 10
EARLIEST = date(2000, 1, 1)
CONVENTIONS, MILESTONES = UnitConvention.__table__, ConventionMilestone.__table__
UPDATES = ConventionMilestoneUpdate.__table__
RUNNING, TO_COME, ENDED = "running", "to_come", "ended"

MILESTONE_WORDS = {
    "done_without_end": "A done milestone needs its actual end date.",
    "done_not_full": "A done milestone is 100 % done.",
    "not_started_with_percent": "A milestone not started is 0 % done: choose \"in progress\".",
    "not_started_with_start": "A milestone not started has no start date yet.",
    "open_with_end": "Only a done or dropped milestone has an end date.",
    "started_without_start": "Give the date work on the milestone actually started.",
    "ends_before_start": "The milestone ends before it starts.",
}
INVALID = "The convention has invalid fields."


class MilestoneProgress(ProgressSchema):
    WORDS: ClassVar[dict[str, str]] = MILESTONE_WORDS


def _date(required: bool = True) -> fields.Date:
    return fields.Date(required=required, error_messages={"invalid": "Write the date as YYYY-MM-DD.",
                                                           "required": "Give the date."})


class NewMilestone(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(required=True, validate=[validate.Length(min=1, max=300), plain_line])
    due_on = _date()

    @validates_schema
    def _named(self, data: dict[str, Any], **_: Any) -> None:
        if "title" in data and not " ".join(data["title"].split()):
            raise ValidationError("Name the milestone.", "title")

    @post_load
    def _clean(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["title"] = " ".join(data["title"].split())
        return data


class NewConvention(Schema):
    class Meta:
        unknown = RAISE

    unit = fields.String(required=True, validate=validate.Length(min=1, max=100))
    reference = fields.String(required=True, validate=[validate.Length(min=1, max=64), plain_line])
    title = fields.String(required=True, validate=[validate.Length(min=1, max=200), plain_line])
    partners = fields.List(fields.String(validate=[validate.Length(min=1, max=200), plain_line]),
                           required=True, validate=validate.Length(
                               min=1, max=30, error="Name from one to thirty partners."))
    signed_on = _date()
    starts_on = _date()
    ends_on = _date()
    milestones = fields.List(fields.Nested(NewMilestone), load_default=list, validate=validate.Length(
        max=MAX_MILESTONES, error="A convention has at most 60 milestones."))

    @validates_schema
    def _sensible(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, Any] = {}
        for key in ("reference", "title"):
            if key in data and not " ".join(data[key].split()):
                errors[key] = ["Write it as on the signed convention."]
        if "partners" in data and not any(p.strip() for p in data["partners"]):
            errors["partners"] = ["Name at least one partner (the ministry, the Entraide Nationale…)."]
        signed, starts, ends = data.get("signed_on"), data.get("starts_on"), data.get("ends_on")
        for key, value in (("signed_on", signed), ("starts_on", starts), ("ends_on", ends)):
            if value is not None and value < EARLIEST:
                errors[key] = ["Choose a date in 2000 or later."]
        if starts and ends and ends <= starts:
            errors["ends_on"] = ["The convention ends before it starts."]
        elif starts and ends and ends > _years_after(starts, MAX_YEARS):
            errors["ends_on"] = ["A convention lasts at most ten years: check the end date."]
        if signed and ends and signed > ends:
            errors["signed_on"] = ["The convention is signed after its period ends."]
        if starts and ends and "ends_on" not in errors:
            for index, milestone in enumerate(data.get("milestones") or []):
                if not starts <= milestone["due_on"] <= ends:
                    errors.setdefault("milestones", {})[index] = {"due_on": [
                        "The milestone is due outside the convention's period."]}
        if errors:
            raise ValidationError(errors)

    @post_load
    def _clean(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["reference"] = " ".join(data["reference"].split())
        data["title"] = " ".join(data["title"].split())
        data["partners"] = [" ".join(p.split()) for p in data["partners"] if p.strip()]
        return data


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def load_convention(payload: Any, *, today: date) -> dict[str, Any]:
    """Validated fields (field errors otherwise; a signature to come is refused)."""
    try:
        values = NewConvention().load(payload if isinstance(payload, dict) else {})
    except ValidationError as exc:
        raise ValidationFailed(INVALID, exc.messages) from None
    if values["signed_on"] > today + timedelta(days=1):
        raise ValidationFailed(INVALID, {"signed_on": ["Record the convention once it is signed."]})
    return values


def _milestone_row(convention_id: int, position: int, milestone: dict[str, Any], actor: str,
                   now: datetime) -> dict[str, Any]:
    return {"convention_id": convention_id, "position": position, "title": milestone["title"],
            "due_on": milestone["due_on"], "state": NOT_STARTED, "percent_done": 0, "started_on": None,
            "ended_on": None, "note": "", "revision": 0, "updated_at": now, "updated_by": actor}


def _unit_of_province(conn: Connection, unit: str, province: str) -> None:
    row = conn.execute(select(Unit.__table__).where(Unit.__table__.c.code == unit)).first()
    if row is None or row.province != province or not row.active or row.kind not in CONVENTION_UNIT_KINDS:
        raise ValidationFailed(INVALID, {"unit": ["Choose a UPE or a SAS mobile unit of your province."]})


def record_convention(database: Database, payload: Any, *, province: str, actor: str, now: datetime) -> int:
    """Store a convention of a unit of ``province`` with its milestones; its id."""
    values = load_convention(payload, today=now.date())  # checked before the write transaction
    try:
        with database.write_connection() as conn:
            _unit_of_province(conn, values["unit"], province)
            if conn.execute(select(CONVENTIONS.c.id).where(CONVENTIONS.c.reference == values["reference"])).first():
                raise ValidationFailed(INVALID, {"reference": ["A convention with this reference is already "
                                                               "recorded."]})
            convention_id = conn.execute(insert(CONVENTIONS).values(
                province=province, unit=values["unit"], reference=values["reference"], title=values["title"],
                partners=values["partners"], signed_on=values["signed_on"], starts_on=values["starts_on"],
                ends_on=values["ends_on"], recorded_at=now, recorded_by=actor, revision=1, updated_at=now,
                updated_by=actor).returning(CONVENTIONS.c.id)).scalar_one()
            if values["milestones"]:
                conn.execute(insert(MILESTONES), [_milestone_row(convention_id, position, milestone, actor, now)
                                                  for position, milestone in enumerate(values["milestones"])])
    except IntegrityError:  # the same reference recorded by someone else at the same moment
        raise ValidationFailed(INVALID, {"reference": ["A convention with this reference is already recorded."]}
                               ) from None
    return int(convention_id)


class ConventionCorrection(NewConvention):
    """A convention's own fields corrected (its unit and milestones stay), at the revision read."""

    revision = fields.Integer(required=True, strict=True, validate=validate.Range(min=1),
                              error_messages={"invalid": "Reload the convention and try again."})


def load_correction(payload: Any, *, today: date) -> dict[str, Any]:
    try:
        values = ConventionCorrection(exclude=("unit", "milestones")).load(payload if isinstance(payload, dict) else {})
    except ValidationError as exc:
        raise ValidationFailed(INVALID, exc.messages) from None
    if values["signed_on"] > today + timedelta(days=1):
        raise ValidationFailed(INVALID, {"signed_on": ["Record the convention once it is signed."]})
    return values


def correct_convention(database: Database, convention_id: int, payload: Any, *, province: str | None, actor: str,
                       now: datetime) -> int:
    """Correct a convention's reference, title, partners, signature date or period (a typing slip,
    an amendment extending it); its new revision. Every milestone stays within the period."""
    values = load_correction(payload, today=now.date())  # checked before the write transaction
    revision = values.pop("revision")
    try:
        with database.write_connection() as conn:
            current = _convention(conn, convention_id, province)
            if current.revision != revision:
                raise Conflict("The convention was corrected meanwhile: reload it and try again.")
            outside = conn.execute(select(func.count()).where(
                MILESTONES.c.convention_id == convention_id,
                (MILESTONES.c.due_on < values["starts_on"]) | (MILESTONES.c.due_on > values["ends_on"]))).scalar()
            if outside:
                raise ValidationFailed(INVALID, {"ends_on": [
                    "A milestone would be due outside this period: keep every milestone within it."]})
            if conn.execute(select(CONVENTIONS.c.id).where(CONVENTIONS.c.reference == values["reference"],
                                                          CONVENTIONS.c.id != convention_id)).first():
                raise ValidationFailed(INVALID, {"reference": ["A convention with this reference is already "
                                                               "recorded."]})
            written = conn.execute(update(CONVENTIONS).where(CONVENTIONS.c.id == convention_id,
                                                             CONVENTIONS.c.revision == revision)
                                   .values(**values, revision=revision + 1, updated_at=now, updated_by=actor))
            if written.rowcount != 1:
                raise Conflict("The convention was corrected meanwhile: reload it and try again.")
    except IntegrityError:
        raise ValidationFailed(INVALID, {"reference": ["A convention with this reference is already recorded."]}
                               ) from None
    return revision + 1


def _convention(conn: Connection, convention_id: int, province: str | None) -> Any:
    row = conn.execute(select(CONVENTIONS).where(CONVENTIONS.c.id == convention_id)).first()
    if row is None:
        raise NotFound("No such convention.")
    if row.province != province:
        raise ValidationFailed(INVALID, {"convention": [
            "This convention is another province's: you follow up your province's conventions."]})
    return row


def add_milestone(database: Database, convention_id: int, payload: Any, *, province: str | None, actor: str,
                  now: datetime) -> int:
    """Add a milestone to a convention (an amendment); its id."""
    try:
        milestone = NewMilestone().load(payload if isinstance(payload, dict) else {})
    except ValidationError as exc:
        raise ValidationFailed(INVALID, exc.messages) from None
    try:
        return _insert_milestone(database, convention_id, milestone, province=province, actor=actor, now=now)
    except IntegrityError:  # another milestone added at the same moment took the position
        raise Conflict("The convention was changed meanwhile: reload it and try again.") from None


def _insert_milestone(database: Database, convention_id: int, milestone: dict[str, Any], *, province: str | None,
                      actor: str, now: datetime) -> int:
    with database.write_connection() as conn:
        convention = _convention(conn, convention_id, province)
        if not convention.starts_on <= milestone["due_on"] <= convention.ends_on:
            raise ValidationFailed(INVALID, {"due_on": ["The milestone is due outside the convention's period."]})
        count, last = conn.execute(select(func.count(), func.max(MILESTONES.c.position)).where(
            MILESTONES.c.convention_id == convention_id)).one()
        if count >= MAX_MILESTONES:
            raise ValidationFailed(INVALID, {"title": ["A convention has at most 60 milestones."]})
        position = 0 if last is None else last + 1
        return int(conn.execute(insert(MILESTONES).values(**_milestone_row(convention_id, position, milestone, actor,
                                                                             now)).returning(MILESTONES.c.id)).scalar_one())


@dataclass(frozen=True)
class Follower:
    """Who updates a milestone: a user with their role, province and unit."""

    username: str
    role: str
    province: str | None
    unit: str | None


def follow_role(follower: Follower, convention_province: str, convention_unit: str) -> str | None:
    """``committee`` (a coordinator of the province), ``unit`` (a case worker of the convention's
    unit), or None (may not update)."""
    if follower.province != convention_province:
        return None
    if follower.role == COORDINATOR:
        return COMMITTEE
    if follower.role == CASE_WORKER and follower.unit == convention_unit:
        return UNIT_STAFF
    return None


def update_milestone(database: Database, convention_id: int, milestone_id: int, payload: Any, follower: Follower,
                     *, now: datetime) -> dict[str, Any]:
    """Record where a milestone stands (its current state and one more line of its history)."""
    values = load_progress(payload, today=now.date(), schema=MilestoneProgress)  # before the write transaction
    with database.write_connection() as conn:
        convention = _convention(conn, convention_id, follower.province)
        milestone = conn.execute(select(MILESTONES.c.id, MILESTONES.c.revision).where(
            MILESTONES.c.id == milestone_id, MILESTONES.c.convention_id == convention_id)).first()
        if milestone is None:
            raise ValidationFailed(INVALID, {"milestone": ["No such milestone in this convention."]})
        role = follow_role(follower, convention.province, convention.unit)
        if role is None:
            raise Forbidden("Only the unit's staff or the CAPE technical committee follow up its convention.")
        row = {**values, "updated_at": now, "updated_by": follower.username}
        written = conn.execute(update(MILESTONES).where(MILESTONES.c.id == milestone_id,
                                                        MILESTONES.c.revision == milestone.revision)
                               .values(**row, revision=milestone.revision + 1))
        if written.rowcount != 1:
            raise Conflict("The milestone was updated meanwhile: reload it and try again.")
        conn.execute(insert(UPDATES).values(**row, convention_id=convention_id, milestone_id=milestone_id,
                                            updated_as=role))
    return {**values, "revision": milestone.revision + 1, "updated_as": role}


# --- reading -------------------------------------------------------------------------------

def is_late(milestone: Any, today: date) -> bool:
    return milestone.state not in CLOSED and milestone.due_on < today


def period_state(convention: Any, today: date) -> str:
    if today < convention.starts_on:
        return TO_COME
    return ENDED if today > convention.ends_on else RUNNING


def present_milestone(row: ConventionMilestone, today: date) -> dict[str, Any]:
    return {"id": row.id, "position": row.position, "title": row.title, "due_on": row.due_on, "state": row.state,
            "percent_done": row.percent_done, "started_on": row.started_on, "ended_on": row.ended_on,
            "note": row.note, "revision": row.revision, "late": is_late(row, today),
            "updated_at": row.updated_at if row.revision else None,
            "updated_by": row.updated_by if row.revision else None}


def summary(milestones: list[dict[str, Any]]) -> dict[str, Any]:
    """How many milestones in each state, how many late, and the mean percentage done of those not
    dropped (None when there is none)."""
    counted = [m["percent_done"] for m in milestones if m["state"] != DROPPED]
    return {"milestones": len(milestones), "late": sum(1 for m in milestones if m["late"]),
            **{state: sum(1 for m in milestones if m["state"] == state) for state in STATES},
            "percent_done": round(sum(counted) / len(counted)) if counted else None}


def milestones_of(session: Session, convention_ids: list[int], today: date) -> dict[int, list[dict[str, Any]]]:
    """``{convention id: its milestones in order}``."""
    found: dict[int, list[dict[str, Any]]] = {cid: [] for cid in convention_ids}
    if convention_ids:
        for row in session.scalars(select(ConventionMilestone).where(
                ConventionMilestone.convention_id.in_(convention_ids)).order_by(ConventionMilestone.position)):
            found[row.convention_id].append(present_milestone(row, today))
    return found


def history_of(session: Session, convention_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """``{milestone id: its follow-up updates, oldest first}`` of these conventions' milestones."""
    found: dict[int, list[dict[str, Any]]] = {}
    if not convention_ids:
        return found
    for row in session.scalars(select(ConventionMilestoneUpdate).where(
            ConventionMilestoneUpdate.convention_id.in_(convention_ids)).order_by(ConventionMilestoneUpdate.id)):
        found.setdefault(row.milestone_id, []).append({
            "state": row.state, "percent_done": row.percent_done, "started_on": row.started_on,
            "ended_on": row.ended_on, "note": row.note, "updated_at": row.updated_at, "updated_by": row.updated_by,
            "updated_as": row.updated_as})
    return found


def late_milestones(session: Session, province: str, today: date, limit: int = 100) -> list[dict[str, Any]]:
    """The province's late milestones (due date passed, neither done nor dropped), the longest
    late first."""
    rows = session.execute(
        select(ConventionMilestone, UnitConvention.reference, UnitConvention.title, UnitConvention.unit)
        .join(UnitConvention, UnitConvention.id == ConventionMilestone.convention_id)
        .where(UnitConvention.province == province, ConventionMilestone.state.not_in(CLOSED),
               ConventionMilestone.due_on < today)
        .order_by(ConventionMilestone.due_on, ConventionMilestone.convention_id, ConventionMilestone.position)
        .limit(limit)).all()
    return [{**present_milestone(milestone, today), "convention_id": milestone.convention_id,
             "reference": reference, "convention_title": title, "unit": unit,
             "days_late": (today - milestone.due_on).days} for milestone, reference, title, unit in rows]
