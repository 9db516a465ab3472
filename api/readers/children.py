"""How a child is named in lists and headers: display name (or alias) and age today; or, for a
reader who may not know who the child is (:func:`api.policy.sees_child_identity`), masked: the
age and sex only."""
from __future__ import annotations

from datetime import date
from typing import Any

from engine.intake import age_on
from engine.models import Case

# The case columns a child's brief reads (selected next to task rows in the task list).
BRIEF_COLUMNS = (Case.child_identity_known, Case.child_first_name, Case.child_last_name, Case.child_alias,
                 Case.child_sex, Case.child_birth_date, Case.child_age_estimate, Case.child_age_at_report,
                 Case.opened_at, Case.risk_level, Case.consent)


def display_name(first: str | None, last: str | None, alias: str | None, known: bool | None) -> str:
    if known is False or not (first or last):
        return alias or ""
    return " ".join(n for n in (first, last) if n)


def age_today(born: date | None, estimate: int | None, reported_on: date, today: date) -> int | None:
    """The child's age now: from the birth date, or the age estimated at the report plus the years since."""
    if born is not None:
        return age_on(born, today)
    if estimate is not None:
        return estimate + max(0, age_on(reported_on, today))
    return None


def child_brief(row: Any, today: date, *, masked: bool = False) -> dict[str, Any]:
    """``{display_name, identity_known, alias, sex, age, age_estimated, identity_masked}`` of a case
    row (a ``Case`` or a row holding :data:`BRIEF_COLUMNS`); ``masked``: no name, no alias."""
    known = row.child_identity_known is not False
    # an anonymised file has lost the birth date: its age at the report remains
    estimate = row.child_age_estimate if row.child_age_estimate is not None else getattr(
        row, "child_age_at_report", None)
    age = age_today(row.child_birth_date, estimate, row.opened_at.date(), today)
    if masked:
        return {"display_name": "", "identity_known": known, "alias": None, "sex": row.child_sex, "age": age,
                "age_estimated": row.child_birth_date is None, "identity_masked": True}
    return {"display_name": display_name(row.child_first_name, row.child_last_name, row.child_alias, known),
            "identity_known": known, "alias": row.child_alias, "sex": row.child_sex, "age": age,
            "age_estimated": row.child_birth_date is None, "identity_masked": False}
