"""User administration shared by the command line and the administrators' API and pages.

A territorial user holds a province; a case worker also a unit of it (:func:`_case_worker_unit`):
a UPE, the CAPE (whose social workers take the UPE's steps where the province has none, and may
receive a child directly where it has one), a SAS mobile team or a care institution (its social
mediators). Coordinators, partners and supervisors hold no unit; partners a sector.

Each command is in two halves, so that no slow or pure work runs inside a write transaction:
:func:`check_new_user` / :func:`check_changes` (formats, the password's strength, then its argon2
hash: :func:`prepare_password`) before it, then :func:`add_user` / :func:`change_user` inside it
(what only the database knows: a name taken, a province or unit that exists). Every change is
written to the audit (:mod:`engine.admin_log`) by the transaction that makes it.

Messages are English sentences translated by the catalogues (:mod:`api.messages`).

Passwords (:func:`password_problems`): at least 10 characters (at most 200), at least two kinds
of characters among lower-case letters, upper-case letters, digits and other signs, not the user
name (nor the user name with a few characters added), and not one of the commonly used passwords of
:data:`COMMON_PASSWORDS`.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import admin_log
from engine.models import Province, Unit, User
from engine.vocabulary import CASE_WORKER, CASE_WORKER_UNIT_KINDS, PARTNER, SECTORS, TERRITORIAL_ROLES

from .auth import ROLES, hash_password, revoke_all
from .messages import N_

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,99}$")
EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")
PHONE = re.compile(r"^\+?[0-9][0-9 ]{5,30}$")
PHONE_DIGITS = (6, 15)  # a plausible number has this many digits (E.164: at most 15)
MIN_PASSWORD = 10
MAX_PASSWORD = 200
LANGUAGES = ("fr", "ar", "en")
NAME_MAX = 200
# Passwords people choose first (and the service's own name): refused whatever their length.
COMMON_PASSWORDS = frozenset({
    "1234567890", "12345678910", "0123456789", "1234512345", "1111111111", "0000000000", "9876543210",
    "qwertyuiop", "azertyuiop", "password1", "password12", "password123", "password1234", "motdepasse",
    "motdepasse1", "motdepasse123", "azerty1234", "azerty12345", "qwerty1234", "qwerty12345", "abcdef1234",
    "abcd123456", "iloveyou12", "welcome123", "bienvenue1", "bienvenue123", "marhaba123", "maroc12345",
    "morocco123", "himaya1234", "himaya12345", "himaya2026", "admin12345", "administrator", "changeme123",
    "letmein123", "passw0rd123", "p@ssw0rd123", "soleil1234", "casablanca1", "casablanca123", "tanger1234",
    "rabat12345", "12345678a", "a123456789", "aa12345678", "1q2w3e4r5t", "1qaz2wsx3edc", "zaq12wsx34",
})

# --- messages (listed in api.messages for the catalogues) --------------------------------------
BAD_USERNAME = N_("Use 3 to 100 characters: lower-case letters, digits, '.', '_' or '-'.")
TAKEN = N_("This user name is already taken.")
NO_SUCH_USER = N_("No such user.")
UNKNOWN_ROLE = N_("Unknown role.")
BAD_LANGUAGE = N_("Choose French (fr), Arabic (ar) or English (en).")
NEEDS_PROVINCE = N_("An existing province is required for this role.")
NO_TERRITORY = N_("This role has no province, unit or sector.")
NEEDS_UNIT = N_("An existing unit of the province is required for a case worker.")
UNIT_CLOSED = N_("This unit is closed (inactive).")
WRONG_UNIT_KIND = N_("A case worker's unit is a UPE, a CAPE, a SAS mobile team or a care institution.")
UNIT_ONLY_CASE_WORKERS = N_("Only case workers belong to a unit.")
NEEDS_SECTOR = N_("Choose the partner's sector.")
SECTOR_ONLY_PARTNERS = N_("Only partners have a sector.")
SHORT_PASSWORD = N_("Use at least 10 characters.")
LONG_PASSWORD = N_("Use at most 200 characters.")
ONE_KIND_PASSWORD = N_(
    "Mix at least two kinds of characters: lower-case letters, upper-case letters, digits, other signs.")
USERNAME_PASSWORD = N_("Do not use the user name as the password.")
COMMON_PASSWORD = N_("This password is too common: choose another one.")
BAD_EMAIL = N_("Enter an e-mail address such as name@example.ma.")
BAD_PHONE = N_("Enter a phone number: digits and spaces, with + before the country code, e.g. +212 661 23 45 67.")
BAD_NAME = N_("Give the person's full name (200 characters at most).")
AWAY_NEEDS_START = N_("Give the first day of the absence.")
AWAY_ENDS_BEFORE = N_("The last day of the absence is before its first day.")
ALREADY_DISABLED = N_("This account is disabled already.")
ALREADY_ACTIVE = N_("This account is active already.")
DISABLE_YOURSELF = N_("You cannot disable your own account.")

CONTACT_FIELDS = ("email", "phone")  # audited by name only
PROFILE_FIELDS = ("full_name", "email", "phone", "language")
TERRITORY_FIELDS = ("role", "province", "unit", "sector")
AWAY_FIELDS = ("away_from", "away_until")


class UserError(ValueError):
    """A refused command: ``errors`` maps each field to its message (nothing was changed)."""

    status = 400

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class UserNotFound(UserError):
    status = 404


class UserConflict(UserError):
    """The account is not in the state the command expects (disabled twice…): 409."""

    status = 409


# --- checks without the database ------------------------------------------------------------

def _kinds(password: str) -> int:
    return sum(bool(re.search(pattern, password)) for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]"))


def password_problems(password: str, username: str | None = None) -> list[str]:
    """What makes ``password`` too weak (empty: strong enough); see the module's rules."""
    if len(password) < MIN_PASSWORD:
        return [SHORT_PASSWORD]
    if len(password) > MAX_PASSWORD:
        return [LONG_PASSWORD]
    lowered = password.lower()
    if username and len(username) >= 3 and (lowered == username.lower()
                                            or (username.lower() in lowered and len(lowered) - len(username) < 6)):
        return [USERNAME_PASSWORD]
    if lowered in COMMON_PASSWORDS or len(set(lowered)) <= 2:
        return [COMMON_PASSWORD]
    if _kinds(password) < 2 and not re.search(r"[^\x00-\x7f]", password):
        return [ONE_KIND_PASSWORD]
    return []


def check_password(password: str, username: str | None = None) -> None:
    problems = password_problems(password, username)
    if problems:
        raise UserError({"password": problems[0]})


def prepare_password(password: str, username: str | None = None) -> str:
    """The argon2 hash of an acceptable password (UserError otherwise): before the transaction."""
    check_password(password, username)
    return hash_password(password)


def _contact_errors(values: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    email = values.get("email")
    if email is not None and (not isinstance(email, str) or len(email) > 200 or not EMAIL.match(email)):
        errors["email"] = BAD_EMAIL
    phone = values.get("phone")
    if phone is not None:
        digits = sum(ch.isdigit() for ch in phone) if isinstance(phone, str) else 0
        if not isinstance(phone, str) or not PHONE.match(phone) or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
            errors["phone"] = BAD_PHONE
    if "full_name" in values:
        name = values["full_name"]
        if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX):
            errors["full_name"] = BAD_NAME
    if "language" in values and values["language"] not in LANGUAGES:
        errors["language"] = BAD_LANGUAGE
    return errors


def _away_errors(away_from: date | None, away_until: date | None) -> dict[str, str]:
    if away_until is not None and away_from is None:
        return {"away_from": AWAY_NEEDS_START}
    if away_from is not None and away_until is not None and away_until < away_from:
        return {"away_until": AWAY_ENDS_BEFORE}
    return {}


def clean(values: dict[str, Any]) -> dict[str, Any]:
    """Texts trimmed; an empty e-mail, phone, unit or sector is none."""
    cleaned = {k: v.strip() if isinstance(v, str) and k != "password" else v for k, v in values.items()}
    for key in ("email", "phone", "unit", "sector", "province", "full_name"):
        if key in cleaned and cleaned[key] == "":
            cleaned[key] = None
    return cleaned


def check_new_user(values: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    """(the errors found without the database, the password's hash when it is acceptable)."""
    errors: dict[str, str] = {}
    username = values.get("username") or ""
    if not isinstance(username, str) or not USERNAME.match(username):
        errors["username"] = BAD_USERNAME
    if values.get("role") not in ROLES:
        errors["role"] = UNKNOWN_ROLE
    errors.update(_contact_errors({"language": values.get("language") or "fr",
                                   **{k: values.get(k) for k in ("email", "phone")},
                                   **({"full_name": values["full_name"]} if values.get("full_name") else {})}))
    errors.update(_away_errors(values.get("away_from"), values.get("away_until")))
    problems = password_problems(values.get("password") or "", username if isinstance(username, str) else None)
    if problems:
        errors["password"] = problems[0]
    return errors, None if errors else hash_password(values["password"])


def check_changes(changes: dict[str, Any], username: str) -> tuple[dict[str, str], str | None]:
    """(the errors of a change found without the database, the new password's hash if one is given)."""
    errors = _contact_errors({k: v for k, v in changes.items() if k in PROFILE_FIELDS})
    if "full_name" in changes and changes["full_name"] is None:  # a name is kept: cleared, it is refused
        errors["full_name"] = BAD_NAME
    if "role" in changes and changes["role"] not in ROLES:
        errors["role"] = UNKNOWN_ROLE
    if "away_from" in changes or "away_until" in changes:
        errors.update(_away_errors(changes.get("away_from"), changes.get("away_until")))
    password_hash = None
    if changes.get("password") is not None:
        problems = password_problems(changes["password"], username)
        if problems:
            errors["password"] = problems[0]
        elif not errors:
            password_hash = hash_password(changes["password"])
    return errors, password_hash


# --- commands (inside the write transaction) ------------------------------------------------

def _territory_errors(session: Session, role: str, province: str | None, unit: str | None,
                      sector: str | None) -> dict[str, str]:
    """The same rules for a new account and a changed one."""
    errors: dict[str, str] = {}
    if role not in ROLES:
        return {"role": UNKNOWN_ROLE}
    if role in TERRITORIAL_ROLES:
        if not province or session.get(Province, province) is None:
            errors["province"] = NEEDS_PROVINCE
    elif province or unit or sector:
        errors["role"] = NO_TERRITORY
    if role == CASE_WORKER:
        errors.update(_case_worker_unit(session, province, unit))
    elif unit and role in TERRITORIAL_ROLES:
        errors["unit"] = UNIT_ONLY_CASE_WORKERS
    if role == PARTNER and sector not in SECTORS:
        errors["sector"] = NEEDS_SECTOR
    elif role != PARTNER and sector and role in TERRITORIAL_ROLES:
        errors["sector"] = SECTOR_ONLY_PARTNERS
    return errors


def add_user(session: Session, *, username: str, role: str, now: datetime, password: str | None = None,
             password_hash: str | None = None, province: str | None = None, unit: str | None = None,
             sector: str | None = None, full_name: str | None = None, language: str = "fr",
             email: str | None = None, phone: str | None = None, away_from: date | None = None,
             away_until: date | None = None, actor: str | None = None, errors: dict[str, str] | None = None) -> User:
    """Create the account (audited ``user_created`` when ``actor`` is given). Give
    ``password_hash`` from :func:`check_new_user` (with the ``errors`` it found); a plain
    ``password`` is checked and hashed here (the demo data, tests)."""
    errors = dict(errors or {})
    if password_hash is None and not errors:
        found, password_hash = check_new_user({"username": username, "password": password or "", "role": role,
                                               "language": language, "email": email, "phone": phone,
                                               "full_name": full_name, "away_from": away_from,
                                               "away_until": away_until})
        errors.update(found)
    if "username" not in errors and session.scalar(select(User.id).where(User.username == username)) is not None:
        errors["username"] = TAKEN
    if "role" not in errors:
        errors.update(_territory_errors(session, role, province, unit, sector))
    if errors or password_hash is None:
        raise UserError(errors or {"password": SHORT_PASSWORD})
    user = User(username=username, password_hash=password_hash, full_name=full_name or username,
                role=role, province=province, unit=unit, sector=sector, language=language, active=True,
                email=email, phone=phone, away_from=away_from, away_until=away_until,
                created_at=now, password_changed_at=now)
    session.add(user)
    session.flush()
    if actor is not None:
        given = [k for k, v in {"full_name": full_name, "province": province, "unit": unit, "sector": sector,
                                "email": email, "phone": phone, "away_from": away_from}.items() if v]
        admin_log.record(session, at=now, actor=actor, action=admin_log.USER_CREATED, target_kind=admin_log.USER,
                         target=username, fields=["role", "language", "password", *given])
    return user


def _case_worker_unit(session: Session, province: str | None, unit: str | None) -> dict[str, str]:
    """A case worker belongs to an active unit of its province: a UPE, a CAPE (its social workers,
    who take the UPE's steps, in a province without a UPE or receiving a child directly), a SAS
    mobile team (which reports the children it finds to the province's UPE or CAPE) or a care
    institution (its social mediators)."""
    found = session.get(Unit, unit) if unit else None
    if found is None or found.province != province:
        return {"unit": NEEDS_UNIT}
    if not found.active:
        return {"unit": UNIT_CLOSED}
    if found.kind not in CASE_WORKER_UNIT_KINDS:
        return {"unit": WRONG_UNIT_KIND}
    return {}


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserNotFound({"username": NO_SUCH_USER})
    return user


def change_user(session: Session, username: str, changes: dict[str, Any], *, now: datetime, actor: str,
                password_hash: str | None = None, errors: dict[str, str] | None = None) -> tuple[User, list[str]]:
    """Change the fields given (checked by :func:`check_changes` first, whose ``errors`` and hash
    are passed on); role, province, unit and sector are checked together, as for a new account.
    A password reset revokes the account's tokens. Audited: ``user_changed`` with the names of the
    fields changed, ``password_reset``, ``away_changed``. Returns the user and the fields changed."""
    user = _user(session, username)
    errors = dict(errors or {})
    changes = dict(changes)
    if any(k in changes for k in TERRITORY_FIELDS):
        territory = {k: changes.get(k, getattr(user, k)) for k in TERRITORY_FIELDS}
        if territory["role"] != user.role:  # a new role: the unit, sector (and province) it does not hold go
            for key in ("unit", "sector") if territory["role"] in TERRITORIAL_ROLES else ("province", "unit", "sector"):
                if key not in changes:
                    territory[key] = None
        changes.update(territory)
        if "role" not in errors:
            errors.update(_territory_errors(session, territory["role"], territory["province"], territory["unit"],
                                            territory["sector"]))
    if "away_from" in changes or "away_until" in changes:
        away = {k: changes.get(k, getattr(user, k)) for k in AWAY_FIELDS}
        errors.update(_away_errors(away["away_from"], away["away_until"]))
    if errors:
        raise UserError(errors)
    changed = [k for k in (*PROFILE_FIELDS, *TERRITORY_FIELDS, *AWAY_FIELDS)
               if k in changes and changes[k] != getattr(user, k)]
    for key in changed:
        setattr(user, key, changes[key])
    def audit(action: str, fields: list[str]) -> None:
        admin_log.record(session, at=now, actor=actor, action=action, target_kind=admin_log.USER, target=username,
                         fields=fields)

    profile = [k for k in changed if k not in AWAY_FIELDS]
    if profile:
        audit(admin_log.USER_CHANGED, profile)
    if any(k in AWAY_FIELDS for k in changed):
        audit(admin_log.AWAY_CHANGED, [k for k in changed if k in AWAY_FIELDS])
    if password_hash is not None:
        user.password_hash = password_hash
        user.password_changed_at = now
        revoke_all(session, user.id, now=now)
        audit(admin_log.PASSWORD_RESET, ["password"])
        changed.append("password")
    session.flush()
    return user, changed


def disable_user(session: Session, username: str, *, now: datetime, actor: str | None = None,
                 strict: bool = False) -> User:
    """Disable the account and revoke its tokens at once (audited ``user_disabled`` when ``actor``
    is given); ``strict``: an account disabled already is a :class:`UserConflict`. The caller
    then releases the tasks it held (:func:`engine.staffing.release_all_of`)."""
    user = _user(session, username)
    if strict and not user.active:
        raise UserConflict({"username": ALREADY_DISABLED})
    user.active = False
    revoke_all(session, user.id, now=now)
    if actor is not None:
        admin_log.record(session, at=now, actor=actor, action=admin_log.USER_DISABLED,
                         target_kind=admin_log.USER, target=username, fields=["active"])
    return user


def enable_user(session: Session, username: str, *, now: datetime, actor: str) -> User:
    """Enable a disabled account again (audited ``user_enabled``); it signs in with its password."""
    user = _user(session, username)
    if user.active:
        raise UserConflict({"username": ALREADY_ACTIVE})
    user.active = True
    admin_log.record(session, at=now, actor=actor, action=admin_log.USER_ENABLED, target_kind=admin_log.USER,
                     target=username, fields=["active"])
    return user


def set_password(session: Session, username: str, password: str | None = None, *, now: datetime,
                 password_hash: str | None = None, actor: str | None = None) -> User:
    """A new password (its tokens revoked; audited ``password_reset`` when ``actor`` is given)."""
    user = _user(session, username)
    if password_hash is None:
        password_hash = prepare_password(password or "", username)
    user.password_hash = password_hash
    user.password_changed_at = now
    revoke_all(session, user.id, now=now)
    if actor is not None:
        admin_log.record(session, at=now, actor=actor, action=admin_log.PASSWORD_RESET,
                         target_kind=admin_log.USER, target=username, fields=["password"])
    return user


def describe(user: User) -> dict[str, Any]:
    return {"username": user.username, "role": user.role, "province": user.province, "unit": user.unit,
            "sector": user.sector, "active": user.active}
