"""User administration shared by the command line (and, later, the admin pages).

A territorial user holds a province; a case worker also a unit of it (:func:`_case_worker_unit`):
a UPE, the CAPE (whose social workers take the UPE's steps where the province has none, and may
receive a child directly where it has one) or a SAS mobile team. Coordinators, partners and
supervisors hold no unit.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Province, Unit, User
from engine.vocabulary import CASE_WORKER, CASE_WORKER_UNIT_KINDS, PARTNER, SECTORS, TERRITORIAL_ROLES

from .auth import ROLES, hash_password, revoke_all

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,99}$")
MIN_PASSWORD = 8


class UserError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError({"password": f"at least {MIN_PASSWORD} characters"})


def add_user(session: Session, *, username: str, password: str, role: str, now: datetime,
             province: str | None = None, unit: str | None = None, sector: str | None = None,
             full_name: str | None = None, language: str = "fr") -> User:
    errors: dict[str, str] = {}
    if not USERNAME.match(username or ""):
        errors["username"] = "3 to 100 characters: lower-case letters, digits, '.', '_' or '-'"
    elif session.scalar(select(User.id).where(User.username == username)) is not None:
        errors["username"] = "already taken"
    if role not in ROLES:
        errors["role"] = f"one of {', '.join(ROLES)}"
    if language not in ("fr", "ar", "en"):
        errors["language"] = "fr, ar or en"
    if role in TERRITORIAL_ROLES:
        if not province or session.get(Province, province) is None:
            errors["province"] = "an existing province code is required for this role"
    elif province or unit or sector:
        errors["role"] = f"a {role} has no province, unit or sector"
    if role == CASE_WORKER:
        errors.update(_case_worker_unit(session, province, unit))
    elif unit and role in TERRITORIAL_ROLES:
        errors["unit"] = "only case workers belong to a unit"
    if role == PARTNER and sector not in SECTORS:
        errors["sector"] = f"one of {', '.join(SECTORS)}"
    elif role != PARTNER and sector:
        errors["sector"] = "only partners have a sector"
    try:
        check_password(password)
    except UserError as error:
        errors.update(error.errors)
    if errors:
        raise UserError(errors)
    user = User(username=username, password_hash=hash_password(password), full_name=full_name or username,
                role=role, province=province, unit=unit, sector=sector, language=language, active=True,
                created_at=now, password_changed_at=now)
    session.add(user)
    session.flush()
    return user


def _case_worker_unit(session: Session, province: str | None, unit: str | None) -> dict[str, str]:
    """A case worker belongs to an active unit of its province: a UPE, a CAPE (its social workers,
    who take the UPE's steps, in a province without a UPE or receiving a child directly) or a SAS
    mobile team (which reports the children it finds to the province's UPE or CAPE)."""
    found = session.get(Unit, unit) if unit else None
    if found is None or found.province != province:
        return {"unit": "an existing unit of the province is required for a case worker"}
    if not found.active:
        return {"unit": f"the unit {found.code} is closed (inactive)"}
    if found.kind not in CASE_WORKER_UNIT_KINDS:
        return {"unit": f"a case worker's unit is one of {', '.join(CASE_WORKER_UNIT_KINDS)}"}
    return {}


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserError({"username": "no such user"})
    return user


def disable_user(session: Session, username: str, *, now: datetime) -> User:
    """Disable the account and revoke its tokens at once."""
    user = _user(session, username)
    user.active = False
    revoke_all(session, user.id, now=now)
    return user


def set_password(session: Session, username: str, password: str, *, now: datetime) -> User:
    check_password(password)
    user = _user(session, username)
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    revoke_all(session, user.id, now=now)
    return user


def describe(user: User) -> dict[str, Any]:
    return {"username": user.username, "role": user.role, "province": user.province, "unit": user.unit,
            "sector": user.sector, "active": user.active}
