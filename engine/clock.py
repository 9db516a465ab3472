"""An injectable clock, and SpiffWorkflow's timers running on it.

Everything in the engine that needs "now" asks a :class:`Clock`. SpiffWorkflow's timer
events read the wall clock through the module-level name ``datetime`` of
``SpiffWorkflow.bpmn.specs.event_definitions.timer``; :func:`install_timer_clock` replaces
that name with a subclass whose ``now()`` reads the clock bound to the current context, so
that tests, ``--now`` and the scheduler control when timers start and fire.

A cycle timer (``R5/P1W``) that fires moves to its next time by one interval; left alone,
a timer whose times were missed (the scheduler stopped, a cycle shorter than the scheduler's
interval) would fire again at every refresh until it caught up, each firing starting the
steps after it once more. :func:`install_cycle_coalescing` makes every firing skip the times
already past: missed cycles coalesce into that one firing, and they count as spent, so a
timer with a count still ends when its last time has passed.
"""
from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol


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


def skip_missed_cycles(event_value: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A fired cycle's ``event_value`` (``next``, ``duration`` in seconds, ``cycles`` left, -1
    for no end) moved past ``now``: the times already past are dropped, and spent."""
    interval = timedelta(seconds=float(event_value["duration"]))
    following = datetime.fromisoformat(event_value["next"])
    if following > now:
        return event_value
    cycles = int(event_value["cycles"])
    if interval <= timedelta(0):  # a cycle of no length never moves: it is over
        return {**event_value, "cycles": 0}
    missed = (now - following) // interval + 1
    left = cycles if cycles < 0 else max(cycles - missed, 0)
    return {**event_value, "next": (following + missed * interval).isoformat(), "cycles": left}


def install_cycle_coalescing() -> None:
    """Make every firing of a SpiffWorkflow cycle timer skip its missed times (idempotent)."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition

    fire = CycleTimerEventDefinition.cycle_complete
    if getattr(fire, "himaya_coalescing", False):
        return

    def cycle_complete(definition: CycleTimerEventDefinition, task: Any) -> bool:
        fired = bool(fire(definition, task))
        event_value = task._get_internal_data("event_value")
        if fired and isinstance(event_value, dict):
            task._set_internal_data(event_value=skip_missed_cycles(event_value, _current.get().now()))
        return fired

    cycle_complete.himaya_coalescing = True  # type: ignore[attr-defined]  # marks the installed wrapper
    CycleTimerEventDefinition.cycle_complete = cycle_complete


install_timer_clock()
install_cycle_coalescing()
