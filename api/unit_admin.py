"""Unit administration (administrators' API and pages): a province's UPE units, its CAPE, its SAS
mobile teams and its care institutions, created, renamed, deactivated and reactivated.

A unit's code and kind never change (cases, tasks and reports are filed under the code). A unit
that still has open cases or open tasks cannot be deactivated: they would be left in a lane
nobody works. As in :mod:`api.users`, the formats are checked before the write transaction
(:func:`check_new_unit`), what the database knows inside it; each change is audited
(:mod:`engine.admin_log`).
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import admin_log
from engine.models import Case, OpenTask, Province, Unit
from engine.vocabulary import UNIT_KINDS

from .messages import N_
from .users import UserConflict, UserError, UserNotFound

CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,99}$")
NAME_MAX = 200

BAD_CODE = N_("Use 2 to 100 characters: lower-case letters, digits and '-'.")
CODE_TAKEN = N_("This unit code is already taken.")
UNKNOWN_PROVINCE = N_("Unknown province.")
BAD_KIND = N_("Choose the kind of unit: UPE, CAPE, SAS mobile team or care institution.")
BAD_UNIT_NAME = N_("Give the unit's name (200 characters at most).")
NO_SUCH_UNIT = N_("No such unit.")
STILL_WORKING = N_("This unit still has open cases or tasks: transfer or close them before deactivating it.")


def _name_errors(name: Any) -> dict[str, str]:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > NAME_MAX:
        return {"name": BAD_UNIT_NAME}
    return {}


def check_new_unit(values: dict[str, Any]) -> dict[str, str]:
    """The errors of a new unit found without the database."""
    errors = _name_errors(values.get("name"))
    if not isinstance(values.get("code"), str) or not CODE.match(values["code"]):
        errors["code"] = BAD_CODE
    if values.get("kind") not in UNIT_KINDS:
        errors["kind"] = BAD_KIND
    if not isinstance(values.get("province"), str) or not values["province"]:
        errors["province"] = UNKNOWN_PROVINCE
    return errors


def create_unit(session: Session, values: dict[str, Any], *, now: datetime, actor: str,
                errors: dict[str, str] | None = None) -> Unit:
    errors = dict(errors or {})
    if "code" not in errors and session.get(Unit, values["code"]) is not None:
        errors["code"] = CODE_TAKEN
    if "province" not in errors and session.get(Province, values["province"]) is None:
        errors["province"] = UNKNOWN_PROVINCE
    if errors:
        raise UserError(errors)
    unit = Unit(code=values["code"], province=values["province"], kind=values["kind"],
                name=values["name"].strip(), active=True)
    session.add(unit)
    session.flush()
    admin_log.record(session, at=now, actor=actor, action=admin_log.UNIT_CREATED, target_kind=admin_log.UNIT,
                     target=unit.code, fields=["code", "kind", "name", "province"])
    return unit


def open_work(session: Session, code: str) -> tuple[int, int]:
    """(open cases filed at the unit, open tasks in its lanes)."""
    cases = session.scalar(select(func.count()).select_from(Case).where(Case.unit == code, Case.status == "open"))
    tasks = session.scalar(select(func.count()).select_from(OpenTask).where(OpenTask.unit == code))
    return cases or 0, tasks or 0


def change_unit(session: Session, code: str, changes: dict[str, Any], *, now: datetime, actor: str) -> Unit:
    """Rename, deactivate or reactivate (``name``, ``active``); a unit with open work stays active
    (:class:`UserConflict`)."""
    errors = _name_errors(changes["name"]) if "name" in changes else {}
    unit = session.get(Unit, code)
    if unit is None:
        raise UserNotFound({"code": NO_SUCH_UNIT})
    if errors:
        raise UserError(errors)
    values = {**changes, **({"name": changes["name"].strip()} if "name" in changes else {})}
    changed = [k for k in ("name", "active") if k in values and values[k] != getattr(unit, k)]
    if "active" in changed and not values["active"] and any(open_work(session, code)):
        raise UserConflict({"active": STILL_WORKING})
    for key in changed:
        setattr(unit, key, values[key])
    if changed:
        admin_log.record(session, at=now, actor=actor, action=admin_log.UNIT_CHANGED, target_kind=admin_log.UNIT,
                         target=code, fields=changed)
    return unit
