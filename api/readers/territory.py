"""Provinces and units, their trainings, prevention activities and indicators."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from engine import figures_cache
from engine.disclosure import protect
from engine.errors import NotFound
from engine.indicators import Period, compute
from engine.models import PreventionActivity, Province, Training, Unit
from engine.vocabulary import RECEIVING_UNIT_KINDS, receives_children

from .. import policy
from ..messages import N_
from .context import ReadContext
from .paging import page_rows


def check_province(ctx: ReadContext, code: str) -> None:
    """:class:`NotFound` for a province code that does not exist."""
    with ctx.engine.db.reading() as session:
        if session.get(Province, code) is None:
            raise NotFound(N_("Unknown province."))


def provinces(ctx: ReadContext) -> dict[str, str]:
    """Every province: code → name in the reader's language (French for English), by French name."""
    with ctx.engine.db.reading() as session:
        rows = session.scalars(select(Province).order_by(Province.name_fr)).all()
    return {p.code: (p.name_ar if ctx.language == "ar" else p.name_fr) for p in rows}


def units(ctx: ReadContext, province: str | None, *, receiving_only: bool = False) -> list[Unit]:
    """The active units of a province by code; ``receiving_only``: those a child is reported to
    (its UPE units and its CAPE centre, not the SAS mobile teams)."""
    query = select(Unit).where(Unit.province == province, Unit.active.is_(True))
    if receiving_only:
        query = query.where(Unit.kind.in_(RECEIVING_UNIT_KINDS))
    with ctx.engine.db.reading() as session:
        return list(session.scalars(query.order_by(Unit.code)))


def unit_names(ctx: ReadContext) -> dict[str, str]:
    """Every unit's name by code (what a timeline shows of a transfer)."""
    with ctx.engine.db.reading() as session:
        return {code: name for code, name in session.execute(select(Unit.code, Unit.name))}


def province_of_unit(ctx: ReadContext, code: str) -> str | None:
    """The province of a unit (None for an unknown code)."""
    with ctx.engine.db.reading() as session:
        province: str | None = session.scalar(select(Unit.province).where(Unit.code == code))
    return province


def own_unit_kind(ctx: ReadContext) -> str | None:
    """The kind of the reader's unit (``upe``, ``cape``, ``sas_mobile``), None without one."""
    if not ctx.principal.unit:
        return None
    with ctx.engine.db.reading() as session:
        return session.scalar(select(Unit.kind).where(Unit.code == ctx.principal.unit))


def may_report(ctx: ReadContext, province: str, unit: str) -> bool:
    """:func:`api.policy.can_report` for the reader, knowing the kind of its own unit."""
    return policy.can_report(ctx.principal, province, unit, own_unit_kind=own_unit_kind(ctx))


def report_units(ctx: ReadContext, own_kind: str | None) -> list[Unit]:
    """The units of its province the reader (whose unit is of ``own_kind``) may report a child to:
    the report form's choice."""
    province = ctx.principal.province or ""
    return [u for u in units(ctx, province, receiving_only=True)
            if policy.can_report(ctx.principal, province, u.code, own_unit_kind=own_kind)]


def unit_list(ctx: ReadContext, province: str, *, receiving: bool | None = None) -> list[dict[str, Any]]:
    """The active units of a province, each saying whether it receives children and whether the
    reader may report a child to it; ``receiving``: only those that do (True) or do not (False).
    :class:`NotFound` for an unknown province."""
    check_province(ctx, province)
    kind = own_unit_kind(ctx)
    found = [u for u in units(ctx, province) if receiving is None or receives_children(u.kind) == receiving]
    return [{"code": u.code, "name": u.name, "kind": u.kind, "province": u.province,
             "receives_children": receives_children(u.kind),
             "can_report": receives_children(u.kind) and policy.can_report(ctx.principal, province, u.code,
                                                                            own_unit_kind=kind)}
            for u in found]


def present_training(row: Training) -> dict[str, Any]:
    return {"id": row.id, "title": row.title, "start_date": row.start_date, "end_date": row.end_date,
            "province": row.province, "units": row.units, "participants": row.participants}


def training_page(ctx: ReadContext, page: int, per_page: int) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's training sessions of the reader's province, latest first)."""
    query = select(Training).where(Training.province == ctx.principal.province)
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, Training.start_date.desc(), Training.id)
    return total, [present_training(training) for (training,) in rows]


def present_activity(row: PreventionActivity) -> dict[str, Any]:
    return {"id": row.id, "held_on": row.held_on, "province": row.province, "unit": row.unit,
            "place_kind": row.place_kind, "place_name": row.place_name, "theme": row.theme,
            "audience": row.audience, "participants": {"children": row.children, "parents": row.parents,
                                                       "professionals": row.professionals},
            "participants_total": row.children + row.parents + row.professionals, "partners": row.partners,
            "recorded_at": row.recorded_at, "recorded_by": row.recorded_by}


def activity_page(ctx: ReadContext, page: int, per_page: int, unit: str | None = None
                  ) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's prevention activities the reader sees, latest first; of one unit if given)."""
    query = select(PreventionActivity).where(policy.prevention_scope(ctx.principal))
    if unit:
        query = query.where(PreventionActivity.unit == unit)
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, PreventionActivity.held_on.desc(),
                                PreventionActivity.id.desc())
    return total, [present_activity(activity) for (activity,) in rows]


def indicators(ctx: ReadContext, period: Period, scope: list[str] | None, *,
               max_age: timedelta = figures_cache.DEFAULT_MAX_AGE) -> dict[str, Any]:
    """The indicators of a period for these provinces (None: the whole country). The national
    level reads them from the country's table, small counts and their complementary cells
    hidden in every province together (:mod:`engine.disclosure`), whichever province it asks for
    — reused while younger than ``max_age`` (:mod:`engine.figures_cache`)."""
    if policy.reads_every_province(ctx.principal):
        figures = figures_cache.figures(ctx.engine.db, period, ctx.now, max_age=max_age)
    with ctx.engine.db.reading() as session:
        if not policy.reads_every_province(ctx.principal):
            return compute(session, period, scope)
        if scope is None:
            return figures[None]
        if len(scope) == 1 and scope[0] in figures:
            return figures[scope[0]]
        return protect({scope[0] if len(scope) == 1 else "": compute(session, period, scope)}).popitem()[1]
