"""The national figures kept a few minutes (issue 21), on SQLite and PostgreSQL: stored exactly
as computed, reused while fresh, recounted when older than HIMAYA_NATIONAL_FIGURES_MAX_AGE_SECONDS,
kept fresh for the default period by the scheduler's job."""
from __future__ import annotations

from datetime import timedelta

import pytest

from api.jobs import Jobs
from engine import figures_cache
from engine.clock import ManualClock
from engine.disclosure import national_figures
from engine.runtime import Engine
from engine.settings import Settings, SettingsError
from tests.conftest import ApiClient
from tests.helpers import UPE, report


def _served(api: ApiClient) -> object:
    body = api.get("/api/v1/indicators", "national").get_json()
    return body["children_served"]["total"]


def test_stored_figures_are_the_computed_ones(engine: Engine):
    for categories in (["out_of_school"], ["victim_violence"], ["out_of_school", "poor_family"]):
        engine.start_case(report(engine, categories=categories), UPE)
        engine.start_case(report(engine, categories=categories, province="casablanca"), UPE)
    period = figures_cache.default_period(engine.now().date())
    with engine.db.reading() as session:
        computed = national_figures(session, period)
    assert None in computed  # the country's key is not a string
    figures_cache.refresh(engine.db, period, engine.now())
    assert figures_cache.figures(engine.db, period, engine.now()) == computed


def test_the_national_figures_are_reused_while_fresh(api: ApiClient, engine: Engine, clock: ManualClock):
    for _ in range(6):
        engine.start_case(report(engine), UPE)
    first = _served(api)
    for _ in range(6):
        engine.start_case(report(engine), UPE)
    assert _served(api) == first  # within five minutes: the stored figures
    clock.advance(timedelta(minutes=6))
    api.forget_tokens()
    assert _served(api) != first  # older than that: counted again


def test_the_job_keeps_the_default_period_fresh(engine: Engine, clock: ManualClock):
    for _ in range(6):
        engine.start_case(report(engine), UPE)
    assert Jobs(engine).refresh_figures() >= 1
    period = figures_cache.default_period(clock.now().date())
    with engine.db.reading() as session:
        from engine.models import NationalFigures
        stored = session.get(NationalFigures, (period.start, period.end))
    assert stored is not None and stored.computed_at == clock.now()


@pytest.mark.parametrize("value", ["-1", "ten", "86401"])
def test_a_bad_max_age_stops_the_start(value: str):
    with pytest.raises(SettingsError, match="HIMAYA_NATIONAL_FIGURES_MAX_AGE_SECONDS"):
        Settings.from_environment({"HIMAYA_NATIONAL_FIGURES_MAX_AGE_SECONDS": value})
