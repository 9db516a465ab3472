"""The administrators' commands on units and accounts, for the API and the pages alike: the
checks and the password's hash first (:mod:`api.users`, :mod:`api.unit_admin`), then one short
write transaction that also writes the audit, then what follows outside it (a disabled account's
tasks, or an absent person's, back to their lanes with the coordinators told:
:mod:`engine.staffing`). Each raises :class:`api.users.UserError` (400), ``UserNotFound`` (404) or
``UserConflict`` (409) with the field's message, and then nothing was changed.
"""
from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine import staffing
from engine.models import User
from engine.runtime import Actor, Engine

from . import unit_admin, users
from .readers.administration import present_unit, present_user

LANE_FIELDS = ("role", "province", "unit", "sector")  # what says which tasks a person works


def local_today(himaya: Engine, zone: ZoneInfo) -> date:
    return himaya.now().astimezone(zone).date()


def account(himaya: Engine, username: str) -> User | None:
    """The account of that name (read only), or None."""
    with himaya.db.reading() as session:
        return session.scalar(select(User).where(User.username == username))


def create_unit(himaya: Engine, values: dict[str, Any], actor: Actor) -> dict[str, Any]:
    errors = unit_admin.check_new_unit(values)
    try:
        with himaya.db.transaction() as session:
            unit = unit_admin.create_unit(session, values, now=himaya.now(), actor=actor.username, errors=errors)
            return present_unit(unit)
    except IntegrityError:  # the same code created by someone else at the same moment
        raise users.UserConflict({"code": unit_admin.CODE_TAKEN}) from None


def change_unit(himaya: Engine, code: str, changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    with himaya.db.transaction() as session:
        unit = unit_admin.change_unit(session, code, changes, now=himaya.now(), actor=actor.username)
        return present_unit(unit)


def create_user(himaya: Engine, values: dict[str, Any], actor: Actor) -> dict[str, Any]:
    values = users.clean(values)
    errors, password_hash = users.check_new_user(values)  # the slow hash before the transaction
    try:
        return _add_user(himaya, values, password_hash, errors, actor)
    except IntegrityError:  # the same name created by someone else at the same moment
        raise users.UserConflict({"username": users.TAKEN}) from None


def _add_user(himaya: Engine, values: dict[str, Any], password_hash: str | None, errors: dict[str, str],
              actor: Actor) -> dict[str, Any]:
    with himaya.db.transaction() as session:
        user = users.add_user(session, username=values.get("username") or "", role=values.get("role") or "",
                              now=himaya.now(), password_hash=password_hash, errors=errors,
                              province=values.get("province"), unit=values.get("unit"), sector=values.get("sector"),
                              full_name=values.get("full_name"), language=values.get("language") or "fr",
                              email=values.get("email"), phone=values.get("phone"),
                              away_from=values.get("away_from"), away_until=values.get("away_until"),
                              actor=actor.username)
        shown = present_user(user)
    return shown


def change_user(himaya: Engine, username: str, changes: dict[str, Any], actor: Actor,
                zone: ZoneInfo) -> tuple[dict[str, Any], list[str]]:
    """The fields given changed (a password reset among them); an absence that has begun sends
    the tasks the person holds back to their lanes at once."""
    changes = users.clean(changes)
    errors, password_hash = users.check_changes(changes, username)
    with himaya.db.transaction() as session:
        user, changed = users.change_user(session, username, {k: v for k, v in changes.items() if k != "password"},
                                          now=himaya.now(), actor=actor.username, password_hash=password_hash,
                                          errors=errors)
        shown = present_user(user)
    if any(k in changed for k in LANE_FIELDS):  # the tasks held were of the former lane
        staffing.release_all_of(himaya, username, actor, reason=staffing.LANE_CHANGED)
    if any(k in changed for k in users.AWAY_FIELDS):
        staffing.release_of_away(himaya, local_today(himaya, zone), actor, username=username)
    return shown, changed


def disable_user(himaya: Engine, username: str, actor: Actor) -> tuple[dict[str, Any], list[staffing.Released]]:
    """Disable the account (tokens revoked), then every task it held back to its lane, the
    coordinators told (as ``himaya user disable`` does)."""
    if username == actor.username:
        raise users.UserConflict({"username": users.DISABLE_YOURSELF})
    with himaya.db.transaction() as session:
        shown = present_user(users.disable_user(session, username, now=himaya.now(), actor=actor.username,
                                                strict=True))
    return shown, staffing.release_all_of(himaya, username, actor)


def enable_user(himaya: Engine, username: str, actor: Actor) -> dict[str, Any]:
    with himaya.db.transaction() as session:
        return present_user(users.enable_user(session, username, now=himaya.now(), actor=actor.username))
