"""Units' partnership conventions and their milestones' follow-up (:mod:`engine.conventions`)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine import conventions
from engine.errors import NotFound
from engine.models import Unit, UnitConvention

from .. import policy
from ..messages import N_
from .context import ReadContext
from .paging import page_rows


def _convention(row: UnitConvention, unit_name: str, milestones: list[dict[str, Any]], ctx: ReadContext
                ) -> dict[str, Any]:
    today = ctx.now.date()
    return {"id": row.id, "province": row.province, "unit": row.unit, "unit_name": unit_name,
            "reference": row.reference, "title": row.title, "partners": list(row.partners or []),
            "signed_on": row.signed_on, "starts_on": row.starts_on, "ends_on": row.ends_on,
            "period_state": conventions.period_state(row, today), "recorded_at": row.recorded_at,
            "recorded_by": row.recorded_by, "revision": row.revision, "updated_at": row.updated_at,
            "updated_by": row.updated_by, "summary": conventions.summary(milestones), "milestones": milestones}


def convention_page(ctx: ReadContext, unit: str | None, page: int, per_page: int
                    ) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's conventions the caller may see, the latest start first, with their
    milestones and progress)."""
    query = (select(UnitConvention, Unit.name).join(Unit, Unit.code == UnitConvention.unit)
             .where(policy.convention_scope(ctx.principal)))
    if unit:
        query = query.where(UnitConvention.unit == unit)
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, UnitConvention.starts_on.desc(), UnitConvention.id)
        milestones = conventions.milestones_of(session, [row.id for row, _name in rows], ctx.now.date())
    return total, [_convention(row, name, milestones[row.id], ctx) for row, name in rows]


def load_convention(ctx: ReadContext, convention_id: int) -> dict[str, Any]:
    """A convention with its milestones, each with its follow-up history, oldest first, and whether
    the reader updates them (:class:`NotFound` out of scope)."""
    with ctx.engine.db.reading() as session:
        found = session.execute(select(UnitConvention, Unit.name).join(Unit, Unit.code == UnitConvention.unit)
                                .where(UnitConvention.id == convention_id,
                                       policy.convention_scope(ctx.principal))).first()
        if found is None:
            raise NotFound(N_("No such convention."))
        row, name = found
        milestones = conventions.milestones_of(session, [row.id], ctx.now.date())[row.id]
        history = conventions.history_of(session, [row.id])
    for milestone in milestones:
        milestone["history"] = history.get(milestone["id"], [])
    body = _convention(row, name, milestones, ctx)
    p = ctx.principal
    body["follows_as"] = conventions.follow_role(conventions.Follower(p.username, p.role, p.province, p.unit),
                                                 row.province, row.unit)
    body["may_add_milestones"] = policy.can_record_convention(p) and p.province == row.province
    return body


EXPORTED = 500  # conventions in one export (a province has a few dozen)


def exported(ctx: ReadContext, unit: str | None) -> list[dict[str, Any]]:
    """The conventions the caller sees, each milestone with its history (the follow-up table)."""
    _total, items = convention_page(ctx, unit, 1, EXPORTED)
    with ctx.engine.db.reading() as session:
        history = conventions.history_of(session, [item["id"] for item in items])
    for item in items:
        for milestone in item["milestones"]:
            milestone["history"] = history.get(milestone["id"], [])
    return items


def milestone_of(convention: dict[str, Any], milestone_id: int) -> dict[str, Any]:
    """One milestone of a loaded convention (:class:`NotFound` otherwise)."""
    milestone = next((m for m in convention["milestones"] if m["id"] == milestone_id), None)
    if milestone is None:
        raise NotFound(N_("No such milestone in this convention."))
    return milestone

