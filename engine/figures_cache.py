"""The national level's figures, kept a few minutes per period.

Counting the whole country and every province, then hiding small cells and their complements
(:func:`engine.disclosure.national_figures`), takes seconds at 100,000 cases: far too long for a
page. So the figures of a period are stored once computed (``national_figures``) and read from
there while younger than ``max_age`` (``HIMAYA_NATIONAL_FIGURES_MAX_AGE_SECONDS``, 5 minutes by
default); the scheduler's ``figures`` job keeps the national page's default period (the last
twelve months) fresh, so its reader never waits. Another period is computed at its first request
and kept likewise. The figures are aggregates whose small cells are already hidden.

Stored as JSON with every mapping written as pairs, so that keys which are not strings (a
province's key None for the country) come back as they were.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from .db import Database
from .disclosure import national_figures
from .indicators import Period
from .models import NationalFigures

TABLE = NationalFigures.__table__
DEFAULT_MAX_AGE = timedelta(minutes=5)
MAP = "__map__"


def pack(value: Any) -> Any:
    if isinstance(value, dict):
        return {MAP: [[pack(k), pack(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [pack(v) for v in value]
    return value


def unpack(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {MAP}:
        return {unpack(k): unpack(v) for k, v in value[MAP]}
    if isinstance(value, list):
        return [unpack(v) for v in value]
    return value


def default_period(today: date) -> Period:
    """The national page's period when none is asked for: the last twelve months."""
    return Period(today - timedelta(days=365), today)


def figures(database: Database, period: Period, now: datetime, *,
            max_age: timedelta = DEFAULT_MAX_AGE) -> dict[str | None, dict[str, Any]]:
    """The period's national figures: the stored ones while fresh, else computed and stored."""
    with database.reading() as session:
        row = session.execute(select(TABLE.c.computed_at, TABLE.c.figures).where(
            TABLE.c.period_start == period.start, TABLE.c.period_end == period.end)).first()
    if row is not None and now - row.computed_at <= max_age:
        stored: dict[str | None, dict[str, Any]] = unpack(row.figures)
        return stored
    return refresh(database, period, now)


def refresh(database: Database, period: Period, now: datetime) -> dict[str | None, dict[str, Any]]:
    """Compute the period's figures (a read) and store them (one short write)."""
    with database.reading() as session:
        computed = national_figures(session, period)
    packed = pack(computed)
    try:
        with database.write_connection() as conn:
            where = (TABLE.c.period_start == period.start) & (TABLE.c.period_end == period.end)
            conn.execute(delete(TABLE).where(where))
            conn.execute(insert(TABLE).values(period_start=period.start, period_end=period.end, computed_at=now,
                                              figures=packed))
            conn.execute(delete(TABLE).where(TABLE.c.computed_at < now - timedelta(days=7)))  # periods nobody reads
    except IntegrityError:  # another node stored the same period meanwhile: its figures serve as well
        pass
    return computed
