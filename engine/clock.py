"""An injectable clock.

Everything in the engine that needs "now" asks a :class:`Clock`. SpiffWorkflow's timer
events read the wall clock through the module-level name ``datetime`` of
``SpiffWorkflow.bpmn.specs.event_definitions.timer``; :func:`install_timer_clock` replaces
that name with a subclass whose ``now()`` reads the clock bound to the current context, so
that tests, ``--now`` and the scheduler control when timers start and fire.
"""
from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: for tests and ``--now``."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware datetime")
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        self._now = self._now + delta
        return self._now


_SYSTEM = SystemClock()
_current: contextvars.ContextVar[Clock] = contextvars.ContextVar("himaya_clock", default=_SYSTEM)


def current_clock() -> Clock:
    return _current.get()


@contextmanager
def using_clock(clock: Clock) -> Iterator[None]:
    """Bind ``clock`` for SpiffWorkflow's timers during an engine call."""
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)


class _ClockAwareDatetime(datetime):
    """Stands in for ``datetime`` inside SpiffWorkflow's timer module."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]  # returns a plain datetime, not this subclass
        moment = _current.get().now()
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)

    @classmethod
    def utcnow(cls) -> datetime:  # type: ignore[override]  # returns a plain datetime, not this subclass
        return _current.get().now().astimezone(UTC).replace(tzinfo=None)


def install_timer_clock() -> None:
    """Make SpiffWorkflow's timer events read :func:`current_clock` (idempotent)."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _ClockAwareDatetime


install_timer_clock()
