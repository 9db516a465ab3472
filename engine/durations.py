"""ISO 8601 durations and due-date rules.

A user task's due rule is the BPMN extension property ``due``: either one duration
(``PT4H``), or one per risk level (``high=PT24H;medium=P3D;low=P7D``), or a deadline held
in the workflow's data (``by:deadline`` — the ISO datetime in the ``deadline`` field, set
when the instance started: a quarterly report is due 15 days after its quarter, whenever
its steps open).
"""
from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

RISK_LEVELS = ("high", "medium", "low")
DEFAULT_TIMER_MINIMUM = timedelta(hours=1)  # the shortest timer a pathway may deploy (HIMAYA_TIMER_MINIMUM)
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


@dataclass(frozen=True)
class Duration:
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    def after(self, start: datetime) -> datetime:
        """``start`` plus this duration (calendar months, day clamped to the month's end)."""
        month_index = start.month - 1 + self.months + 12 * self.years
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        moved = start.replace(year=year, month=month, day=day)
        return moved + timedelta(
            weeks=self.weeks, days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds
        )


    def exact(self) -> timedelta:
        """The duration as a fixed length; raises ValueError when it counts years or months."""
        if self.years or self.months:
            raise ValueError("years and months have no fixed length")
        return timedelta(weeks=self.weeks, days=self.days, hours=self.hours, minutes=self.minutes,
                         seconds=self.seconds)


def format_duration(length: timedelta) -> str:
    """A fixed length as an ISO 8601 duration (``PT1H``, ``P1DT30M``)."""
    seconds = int(length.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    if not days and not time:
        return "PT0S"
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")


def parse_duration(text: str) -> Duration:
    match = _DURATION.match(text.strip().upper())
    if not match:
        raise ValueError(f"'{text}' is not an ISO 8601 duration such as P3D or PT24H")
    parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    duration = Duration(**parts)
    if duration == Duration():
        raise ValueError(f"'{text}' is a zero duration")
    return duration


@dataclass(frozen=True)
class DueRule:
    by_risk: dict[str, Duration]
    data_field: str | None = None

    def due_at(self, start: datetime, risk_level: str, data: Mapping[str, Any] | None = None) -> datetime:
        if self.data_field is not None:
            return self._deadline(data or {})
        duration = self.by_risk.get(risk_level) or self.by_risk.get("*")
        if duration is None:
            # A rule that names only some levels: use the shortest one it gives.
            duration = next(self.by_risk[level] for level in RISK_LEVELS if level in self.by_risk)
        return duration.after(start)

    def _deadline(self, data: Mapping[str, Any]) -> datetime:
        value = data.get(self.data_field or "")
        try:
            deadline = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"the due date field '{self.data_field}' holds no ISO datetime") from None
        if deadline.tzinfo is None:
            raise ValueError(f"the due date field '{self.data_field}' has no time zone")
        return deadline


def parse_due_rule(text: str) -> DueRule:
    """Parse ``PT4H``, ``high=PT24H;medium=P3D;low=P7D`` (``,`` also separates) or ``by:field``."""
    text = (text or "").strip()
    if not text:
        raise ValueError("the due rule is empty")
    if text.startswith("by:"):
        name = text[3:].strip()
        if not _FIELD.match(name):
            raise ValueError(f"'{text}': expected by:<data field name>")
        return DueRule({}, data_field=name)
    if "=" not in text:
        return DueRule({"*": parse_duration(text)})
    rules: dict[str, Duration] = {}
    for part in re.split(r"[;,]", text):
        if not part.strip():
            continue
        level, sep, value = part.partition("=")
        level = level.strip().lower()
        if not sep or level not in RISK_LEVELS:
            raise ValueError(f"'{part.strip()}': expected high=…, medium=… or low=…")
        if level in rules:
            raise ValueError(f"risk level '{level}' given twice")
        rules[level] = parse_duration(value)
    return DueRule(rules)
