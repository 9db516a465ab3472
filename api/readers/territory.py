"""Provinces and units, their trainings and their indicators."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.errors import NotFound
from engine.indicators import Period, compute, suppress
from engine.models import Province, Training, Unit
from engine.vocabulary import CAPE, DEFAULT_CASE_UNIT_KINDS

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


def units(ctx: ReadContext, province: str | None, *, reporting_only: bool = False) -> list[Unit]:
    """The active units of a province by code; ``reporting_only``: those a child is reported to
    (not the CAPE centre)."""
    query = select(Unit).where(Unit.province == province, Unit.active.is_(True))
    if reporting_only:
        query = query.where(Unit.kind != CAPE)
        query = query.where(Unit.kind.in_(DEFAULT_CASE_UNIT_KINDS))  # not a care institution (aftercare's)
    with ctx.engine.db.reading() as session:
        return list(session.scalars(query.order_by(Unit.code)))


def present_training(row: Training) -> dict[str, Any]:
    return {"id": row.id, "title": row.title, "start_date": row.start_date, "end_date": row.end_date,
            "province": row.province, "units": row.units, "participants": row.participants}


def training_page(ctx: ReadContext, page: int, per_page: int) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's training sessions of the reader's province, latest first)."""
    query = select(Training).where(Training.province == ctx.principal.province)
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, Training.start_date.desc(), Training.id)
    return total, [present_training(training) for (training,) in rows]


def indicators(ctx: ReadContext, period: Period, scope: list[str] | None) -> dict[str, Any]:
    """The indicators of a period for these provinces (None: the whole country); small counts
    are hidden from the national level."""
    with ctx.engine.db.reading() as session:
        result = compute(session, period, scope)
    return suppress(result) if policy.reads_every_province(ctx.principal) else result
