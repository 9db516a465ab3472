"""The follow-up of a validated provincial action plan, action by action (seed 000's follow-up
table: start, end, state, percentage done).

Between the yearly reviews, each action of the plan's validated version carries its state (not
started, in progress, done, dropped), its percentage done, its actual start and end dates and a
follow-up note, updated by its pilot (the user the action names as pilot, of the province) or
by the CAPE technical committee (the province's coordinators). Every update is kept
(``plan_action_updates``); the current state is ``plan_action_progress``. An action is named by
its place in the version's content (``p.g.s.a``), which a validated version never changes.

An action is **late** when its deadline has passed and it is neither done nor dropped: listed
for the CPPE (:func:`late_actions`). Bad input is refused with field errors and nothing changes:
a percentage outside 0–100, a done action without its end date, dates to come, a plan that is
not validated, another province's plan.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from .db import Database
from .errors import Conflict, Forbidden, NotFound, ValidationFailed
from .models import ActionPlan, ActionPlanVersion, PlanActionProgress, PlanActionUpdate, User
from .vocabulary import COORDINATOR, TERRITORIAL_ROLES

NOT_STARTED, IN_PROGRESS, DONE, DROPPED = "not_started", "in_progress", "done", "dropped"
STATES = (NOT_STARTED, IN_PROGRESS, DONE, DROPPED)
CLOSED = (DONE, DROPPED)  # neither is late
COMMITTEE, PILOT = "committee", "pilot"
PROGRESS, UPDATES = PlanActionProgress.__table__, PlanActionUpdate.__table__
FOLLOWED = ("validated",)  # a plan is followed up at its validated version


# The rules' messages, worded for a plan's action (engine.conventions words them for a milestone).
ACTION_WORDS = {
    "done_without_end": "A done action needs its actual end date.",
    "done_not_full": "A done action is 100 % done.",
    "not_started_with_percent": "An action not started is 0 % done: choose \"in progress\".",
    "not_started_with_start": "An action not started has no start date yet.",
    "open_with_end": "Only a done or dropped action has an end date.",
    "started_without_start": "Give the date the action actually started.",
    "ends_before_start": "The action ends before it starts.",
}


def coherence_errors(data: dict[str, Any], words: dict[str, str]) -> dict[str, list[str]]:
    """The state, percentage and actual dates that contradict one another, by field."""
    state, percent = data.get("state"), data.get("percent_done")
    started, ended = data.get("started_on"), data.get("ended_on")
    errors: dict[str, list[str]] = {}
    if state == DONE and ended is None:
        errors["ended_on"] = [words["done_without_end"]]
    if state == DONE and percent is not None and percent != 100:
        errors["percent_done"] = [words["done_not_full"]]
    if state == NOT_STARTED and percent:
        errors["percent_done"] = [words["not_started_with_percent"]]
    if state == NOT_STARTED and started is not None:
        errors["started_on"] = [words["not_started_with_start"]]
    if state in (NOT_STARTED, IN_PROGRESS) and ended is not None:
        errors["ended_on"] = [words["open_with_end"]]
    if state in (IN_PROGRESS, DONE) and started is None:
        errors["started_on"] = [words["started_without_start"]]
    if started and ended and ended < started:
        errors["ended_on"] = [words["ends_before_start"]]
    return errors


class ProgressSchema(Schema):
    class Meta:
        unknown = RAISE

    WORDS: ClassVar[dict[str, str]] = ACTION_WORDS
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    percent_done = fields.Integer(required=True, strict=True, validate=validate.Range(
        min=0, max=100, error="Give a percentage from 0 to 100."),
        error_messages={"invalid": "Give the percentage as a whole number from 0 to 100."})
    started_on = fields.Date(load_default=None, allow_none=True,
                             error_messages={"invalid": "Write the date as YYYY-MM-DD."})
    ended_on = fields.Date(load_default=None, allow_none=True,
                           error_messages={"invalid": "Write the date as YYYY-MM-DD."})
    note = fields.String(load_default="", validate=validate.Length(max=2000))

    @validates_schema
    def _coherent(self, data: dict[str, Any], **_: Any) -> None:
        errors = coherence_errors(data, self.WORDS)
        if errors:
            raise ValidationError(errors)


@dataclass(frozen=True)
class Updater:
    """Who updates: a user of the province (their name, to recognise the action's pilot)."""

    username: str
    role: str
    province: str | None
    full_name: str = ""


@dataclass(frozen=True)
class Action:
    path: str
    priority: int
    content: dict[str, Any]


def actions(content: dict[str, Any]) -> Iterator[Action]:
    """Every action of a plan's content with its path ``p.g.s.a``."""
    for p, priority in enumerate(content.get("priorities") or []):
        for g, general in enumerate(priority.get("general_objectives") or []):
            for s, specific in enumerate(general.get("specific_objectives") or []):
                for a, action in enumerate(specific.get("actions") or []):
                    yield Action(f"{p}.{g}.{s}.{a}", p, action)


def _same_person(left: str, right: str) -> bool:
    return " ".join(left.split()).casefold() == " ".join(right.split()).casefold() != ""


def update_role(updater: Updater, plan_province: str, action: dict[str, Any]) -> str | None:
    """``committee`` (a coordinator of the province), ``pilot`` (the user the action names as its
    pilot, by user name or full name), or None."""
    if updater.province != plan_province or updater.role not in TERRITORIAL_ROLES:
        return None
    if updater.role == COORDINATOR:
        return COMMITTEE
    pilot = str(action.get("pilot") or "")
    if _same_person(pilot, updater.username) or _same_person(pilot, updater.full_name):
        return PILOT
    return None


def load_progress(payload: Any, *, today: date, schema: type[ProgressSchema] = ProgressSchema) -> dict[str, Any]:
    """The follow-up's fields checked, dates to come refused (field errors; nothing written)."""
    try:
        values = schema().load(payload if isinstance(payload, dict) else {})
    except ValidationError as exc:
        raise ValidationFailed("The follow-up has invalid fields.", exc.messages) from None
    errors = {key: ["An actual date cannot be in the future."] for key in ("started_on", "ended_on")
              if values[key] is not None and values[key] > today + timedelta(days=1)}
    if errors:
        raise ValidationFailed("The follow-up has invalid fields.", errors)
    values["note"] = values["note"].strip()
    return values


def update_progress(database: Database, plan_id: int, path: str, payload: Any, updater: Updater, *,
                    now: datetime) -> dict[str, Any]:
    """Record an action's follow-up (its current state and one more line of its history)."""
    values = load_progress(payload, today=now.date())  # checked before the write transaction
    with database.write_connection() as conn:
        plan = conn.execute(select(ActionPlan.__table__).where(ActionPlan.__table__.c.id == plan_id)).first()
        if plan is None:
            raise NotFound("No such action plan.")
        if updater.province != plan.province:
            raise ValidationFailed("The follow-up has invalid fields.", {"plan": [
                "This plan is another province's: you follow up your province's plan."]})
        version = _followed_version(conn, plan_id)
        if version is None:
            raise ValidationFailed("The follow-up has invalid fields.", {"plan": [
                "Only a validated plan is followed up: this one is not validated yet."]})
        action = next((a for a in actions(version.content) if a.path == path), None)
        if action is None:
            raise ValidationFailed("The follow-up has invalid fields.", {"action": [
                "No such action in the plan's validated version."]})
        full_name = conn.execute(select(User.__table__.c.full_name).where(
            User.__table__.c.username == updater.username)).scalar() or ""
        role = update_role(Updater(updater.username, updater.role, updater.province, full_name), plan.province,
                           action.content)
        if role is None:
            raise Forbidden("Only the action's pilot or the CAPE technical committee follow it up.")
        row = {"plan_id": plan_id, "version_id": version.id, "action_path": path, **values, "updated_at": now,
               "updated_by": updater.username}
        current = conn.execute(select(PROGRESS.c.id, PROGRESS.c.revision).where(
            PROGRESS.c.version_id == version.id, PROGRESS.c.action_path == path)).first()
        if current is None:
            conn.execute(insert(PROGRESS).values(**row, revision=1))
            revision = 1
        else:
            written = conn.execute(update(PROGRESS).where(PROGRESS.c.id == current.id,
                                                          PROGRESS.c.revision == current.revision)
                                   .values(**row, revision=current.revision + 1))
            if written.rowcount != 1:
                raise Conflict("The action was updated meanwhile: reload it and try again.")
            revision = current.revision + 1
        conn.execute(insert(UPDATES).values(**row, updated_as=role))
        return {**values, "action_path": path, "revision": revision, "updated_as": role}


def _followed_version(conn: Connection, plan_id: int) -> Any:
    versions = ActionPlanVersion.__table__
    return conn.execute(select(versions).where(versions.c.plan_id == plan_id, versions.c.status.in_(FOLLOWED))
                        .order_by(versions.c.number.desc()).limit(1)).first()


def _present(row: Any) -> dict[str, Any]:
    return {"state": row.state, "percent_done": row.percent_done, "started_on": row.started_on,
            "ended_on": row.ended_on, "note": row.note, "updated_at": row.updated_at, "updated_by": row.updated_by}


def version_progress(session: Session, version_id: int) -> dict[str, dict[str, Any]]:
    """``{path: current follow-up with its history, oldest first}`` of one version's actions."""
    found = {row.action_path: {**_present(row), "revision": row.revision, "history": []}
             for row in session.scalars(select(PlanActionProgress).where(PlanActionProgress.version_id == version_id))}
    for row in session.scalars(select(PlanActionUpdate).where(PlanActionUpdate.version_id == version_id)
                               .order_by(PlanActionUpdate.id)):
        if row.action_path in found:
            found[row.action_path]["history"].append({**_present(row), "updated_as": row.updated_as})
    return found


def is_late(action: dict[str, Any], progress: dict[str, Any] | None, today: date) -> bool:
    if action.get("ongoing") or not action.get("deadline"):
        return False
    if progress is not None and progress.get("state") in CLOSED:
        return False
    return date.fromisoformat(str(action["deadline"])) < today


def summary(content: dict[str, Any], progress: dict[str, dict[str, Any]], today: date) -> dict[str, Any]:
    """Progress per priority and for the whole plan: the mean percentage done of the actions not
    dropped, and how many actions are in each state (an action never updated is not started)."""
    def empty() -> dict[str, Any]:
        return {"actions": 0, "late": 0, "percent_done": None, **{state: 0 for state in STATES}, "_sum": 0, "_n": 0}

    per_priority: dict[int, dict[str, Any]] = {}
    total = empty()
    for action in actions(content):
        state = progress.get(action.path, {}).get("state", NOT_STARTED)
        percent = progress.get(action.path, {}).get("percent_done", 0)
        for bucket in (per_priority.setdefault(action.priority, empty()), total):
            bucket["actions"] += 1
            bucket[state] += 1
            bucket["late"] += is_late(action.content, progress.get(action.path), today)
            if state != DROPPED:
                bucket["_sum"] += percent
                bucket["_n"] += 1
    for bucket in (*per_priority.values(), total):
        bucket["percent_done"] = round(bucket.pop("_sum") / bucket["_n"]) if bucket["_n"] else None
        bucket.pop("_n")
    priorities = content.get("priorities") or []
    return {"priorities": [per_priority.get(p, {**empty(), "percent_done": None}) for p in range(len(priorities))],
            "plan": total}


def late_actions(session: Session, province: str, today: date, limit: int = 100) -> list[dict[str, Any]]:
    """The province's late actions (deadline passed, neither done nor dropped) of its plans'
    validated versions, the longest late first."""
    late: list[dict[str, Any]] = []
    rows = session.execute(select(ActionPlan, ActionPlanVersion).join(
        ActionPlanVersion, ActionPlanVersion.plan_id == ActionPlan.id).where(
        ActionPlan.province == province, ActionPlanVersion.status.in_(FOLLOWED))).all()
    for plan, version in rows:
        progress = version_progress(session, version.id)
        for action in actions(version.content):
            current = progress.get(action.path)
            if is_late(action.content, current, today):
                deadline = date.fromisoformat(str(action.content["deadline"]))
                late.append({"plan_id": plan.id, "plan_title": plan.title, "path": action.path,
                             "title": action.content.get("title", ""), "pilot": action.content.get("pilot", ""),
                             "deadline": deadline, "days_late": (today - deadline).days,
                             "state": (current or {}).get("state", NOT_STARTED),
                             "percent_done": (current or {}).get("percent_done", 0)})
    late.sort(key=lambda item: (item["deadline"], item["plan_id"], item["path"]))
    return late[:limit]


