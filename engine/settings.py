"""Himaya's settings: every ``HIMAYA_*`` environment variable, read once at start-up.

:meth:`Settings.from_environment` reads and checks them all; a bad value stops the start with a
:class:`SettingsError` that names the variable and says what it expects. The settings are then
handed to what needs them: the database, the engine (escalation ladder, stalled delay, the
shortest timer a deploy accepts), the scheduled jobs and the outbox deliverer, the web
application and the server. Nothing else in the code reads the environment. The table of
variables is in ``docs/configuration.md``.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .durations import DEFAULT_TIMER_MINIMUM, parse_duration
from .escalation import EscalationPolicy
from .private_files import private_folder
from .retention import RetentionPolicy

DEFAULT_SQLITE_NAME = "himaya.sqlite"
DEFAULT_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024


class SettingsError(ValueError):
    """A variable has a value Himaya cannot use."""

    def __init__(self, variable: str, expected: str, value: str) -> None:
        super().__init__(f"{variable}: expected {expected}, got {value!r}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None  # None: SQLite in the instance folder
    instance_path: Path | None = None  # None: ./instance for the database, Flask's own for the web key
    secret_key: str | None = None  # None: a random key kept in the instance folder
    https: bool = False
    port: int = 5000
    threads: int = 4
    scheduler: bool | None = None  # jobs inside the web process; unset: on with ``himaya serve``, else off
    job_interval: timedelta | None = None  # None: each job's own interval
    smtp_url: str | None = None
    outbox_lease: timedelta = timedelta(minutes=5)
    pdf_font: Path | None = None
    timezone: str = "Africa/Casablanca"
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)
    timer_minimum: timedelta = DEFAULT_TIMER_MINIMUM  # the shortest BPMN timer duration or cycle a deploy accepts
    draft_days: int = 14  # a step form's unsent draft is purged after this many days
    document_max_bytes: int = DEFAULT_DOCUMENT_MAX_BYTES  # the largest document a case accepts
    clamd_address: str | None = None  # a ClamAV daemon: a unix socket path or host:port; None: scanning off
    clamd_timeout: timedelta = timedelta(seconds=30)  # for one scan
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)  # how long files are kept
    national_figures_max_age: timedelta = timedelta(minutes=5)  # how long the national figures are reused
    idempotency_hours: int = 72  # a command's Idempotency-Key and its answer are kept this long
    offline_queue_hours: int = 48  # an outreach phone's encrypted queue (and its key) is wiped after this

    @property
    def database(self) -> str:
        """The database URL: the configured one, or the SQLite file of the instance folder."""
        if self.database_url:
            return self.database_url
        folder = private_folder(self.instance_path or Path("instance"))
        return f"sqlite:///{(folder / DEFAULT_SQLITE_NAME).resolve()}"

    @property
    def idempotency_lifetime(self) -> timedelta:
        return timedelta(hours=self.idempotency_hours)

    @property
    def offline_queue_lifetime(self) -> timedelta:
        return timedelta(hours=self.offline_queue_hours)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of ``env`` (the process environment by default); unset variables keep
        their defaults, empty ones count as unset."""
        read = _Reader(os.environ if env is None else env)
        defaults = cls()
        policy = defaults.escalation
        kept = defaults.retention
        font, instance = read.text("HIMAYA_PDF_FONT"), read.text("HIMAYA_INSTANCE_PATH")
        return cls(
            database_url=read.text("HIMAYA_DATABASE_URL"),
            instance_path=Path(instance) if instance else None,
            secret_key=read.text("HIMAYA_SECRET_KEY"),
            https=bool(read.flag("HIMAYA_HTTPS", defaults.https, on="1", off="0")),
            port=read.integer("HIMAYA_PORT", defaults.port, "a port number from 1 to 65535", 1, 65535),
            threads=read.integer("HIMAYA_THREADS", defaults.threads, "a whole number of threads from 1 to 256", 1, 256),
            scheduler=read.flag("HIMAYA_SCHEDULER", None, on="on", off="off"),
            job_interval=read.seconds("HIMAYA_JOB_INTERVAL_SECONDS"),
            smtp_url=read.text("HIMAYA_SMTP_URL"),
            outbox_lease=read.seconds("HIMAYA_OUTBOX_LEASE_SECONDS") or defaults.outbox_lease,
            pdf_font=Path(font) if font else None,
            timezone=read.zone("HIMAYA_TIMEZONE", defaults.timezone),
            escalation=EscalationPolicy(
                coordinator_fraction=read.decimal(
                    "HIMAYA_ESCALATION_COORDINATOR_FRACTION", policy.coordinator_fraction,
                    "a share of the step's time from 0 to 10 (0.25 is a quarter)", 0, 10),
                coordinator_minimum=timedelta(hours=read.decimal(
                    "HIMAYA_ESCALATION_COORDINATOR_MIN_HOURS", policy.coordinator_minimum / timedelta(hours=1),
                    "a number of hours from 0 to 8760", 0, 8760)),
                supervisor_fraction=read.decimal(
                    "HIMAYA_ESCALATION_SUPERVISOR_FRACTION", policy.supervisor_fraction,
                    "a share of the step's time from 0 to 10 (0.5 is a half)", 0, 10),
                stalled_after=timedelta(days=read.integer(
                    "HIMAYA_STALLED_DAYS", policy.stalled_after.days, "a whole number of days from 1 to 3650",
                    1, 3650)),
            ),
            timer_minimum=read.duration(
                "HIMAYA_TIMER_MINIMUM", defaults.timer_minimum,
                "an ISO 8601 duration of weeks, days, hours, minutes or seconds, such as PT1H, PT30M or P1D"),
            draft_days=read.integer("HIMAYA_DRAFT_DAYS", defaults.draft_days, "a whole number of days from 1 to 365",
                                    1, 365),
            document_max_bytes=read.integer(
                "HIMAYA_DOCUMENT_MAX_BYTES", defaults.document_max_bytes,
                "a number of bytes from 1024 to 104857600 (100 MB)", 1024, 100 * 1024 * 1024),
            clamd_address=read.socket_address("HIMAYA_CLAMD_SOCKET"),
            clamd_timeout=read.seconds("HIMAYA_CLAMD_TIMEOUT_SECONDS") or defaults.clamd_timeout,
            retention=_retention(read, kept),
            national_figures_max_age=timedelta(seconds=read.integer(
                "HIMAYA_NATIONAL_FIGURES_MAX_AGE_SECONDS", int(defaults.national_figures_max_age.total_seconds()),
                "a whole number of seconds from 0 (always recounted) to 86400", 0, 86400)),
            idempotency_hours=read.integer(
                "HIMAYA_IDEMPOTENCY_HOURS", defaults.idempotency_hours,
                "a whole number of hours from 1 to 2160 (90 days)", 1, 2160),
            offline_queue_hours=read.integer(
                "HIMAYA_OFFLINE_QUEUE_HOURS", defaults.offline_queue_hours,
                "a whole number of hours from 1 to 720 (30 days)", 1, 720),
        )


def _retention(read: _Reader, kept: RetentionPolicy) -> RetentionPolicy:
    policy = RetentionPolicy(
        closed_case_years=read.integer(
            "HIMAYA_RETENTION_CLOSED_CASE_YEARS", kept.closed_case_years,
            "a whole number of years from 1 to 100 (a closed case may be reopened: it is kept a year at least)",
            1, 100),
        after_majority_years=read.integer(
            "HIMAYA_RETENTION_AFTER_MAJORITY_YEARS", kept.after_majority_years,
            "a whole number of years from 0 to 50 after the child turns 18", 0, 50),
        document_years=read.integer(
            "HIMAYA_RETENTION_DOCUMENT_YEARS", kept.document_years,
            "a whole number of years from 1 to 100 after the case is closed", 1, 100),
        rejected_duplicate_days=read.integer(
            "HIMAYA_RETENTION_REJECTED_DUPLICATE_DAYS", kept.rejected_duplicate_days,
            "a whole number of days from 30 to 3650 after the review's decision", 30, 3650),
    )
    for name, problem in policy.problems().items():
        variable = f"HIMAYA_RETENTION_{name.upper()}"
        raise SettingsError(variable, f"no more than HIMAYA_RETENTION_CLOSED_CASE_YEARS ({problem})",
                            read.text(variable) or str(getattr(policy, name)))
    return policy


class _Reader:
    """Reads one variable at a time, each with the words of what it expects."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def flag(self, name: str, default: bool | None, *, on: str, off: str) -> bool | None:
        value = self.text(name)
        if value is None:
            return default
        if value.lower() not in (on, off):
            raise SettingsError(name, f"'{on}' or '{off}'", value)
        return value.lower() == on

    def integer(self, name: str, default: int, expected: str, low: int, high: int) -> int:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(name, expected, value) from None
        if not low <= number <= high:
            raise SettingsError(name, expected, value)
        return number

    def decimal(self, name: str, default: float, expected: str, low: float, high: float) -> float:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise SettingsError(name, expected, value) from None
        if not low <= number <= high:  # also refuses nan
            raise SettingsError(name, expected, value)
        return number

    def seconds(self, name: str) -> timedelta | None:
        value = self.text(name)
        if value is None:
            return None
        expected = "a number of seconds greater than 0"
        try:
            amount = timedelta(seconds=float(value))
        except (ValueError, OverflowError):  # not a number, nan, infinity
            raise SettingsError(name, expected, value) from None
        if amount <= timedelta(0):
            raise SettingsError(name, expected, value)
        return amount

    def duration(self, name: str, default: timedelta, expected: str) -> timedelta:
        value = self.text(name)
        if value is None:
            return default
        try:
            return parse_duration(value).exact()
        except ValueError:  # not a duration, zero, or counted in years or months
            raise SettingsError(name, expected, value) from None

    def socket_address(self, name: str) -> str | None:
        """A unix socket path (``/run/clamav/clamd.ctl``) or ``host:port``."""
        value = self.text(name)
        if value is None or value.startswith("/"):
            return value
        host, separator, port = value.rpartition(":")
        if not separator or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise SettingsError(name, "a unix socket path such as /run/clamav/clamd.ctl, or host:port", value)
        return value

    def zone(self, name: str, default: str) -> str:
        value = self.text(name)
        if value is None:
            return default
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(name, "a time zone name such as Africa/Casablanca", value) from None
        return value
