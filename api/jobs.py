"""Scheduled jobs and the scheduler that runs them.

APScheduler 3 runs one copy of each job per process (every gunicorn worker, every
``himaya scheduler``): the jobs are written so that the database claim, not the scheduler,
makes each action happen once (see engine.escalation and notifications.delivery).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.base import BaseScheduler

from engine import audit, figures_cache, idempotency, retention, transfers
from engine.escalation import EscalationPolicy, escalate_overdue, flag_stalled
from engine.referrals import escalate_overdue_referrals
from engine.runtime import SYSTEM, Engine
from engine.settings import Settings
from engine.staffing import release_of_away
from engine.statistical_reports import open_due_reports
from engine.worktray import purge_drafts
from notifications.channels import EmailSender, LogSmsSender, parse_smtp_url
from notifications.delivery import Deliverer

log = logging.getLogger("himaya.jobs")

INTERVALS = {"timers": 60, "escalation": 60, "stalled": 3600, "outbox": 10, "reports": 3600, "drafts": 3600,
             "away": 900, "audit": 60, "retention": 86400, "figures": 240,
             "idempotency": 3600}


def email_sender(settings: Settings) -> EmailSender | None:
    """The SMTP sender of ``HIMAYA_SMTP_URL`` (None when unset); a bad URL raises SmtpUrlError."""
    return EmailSender(parse_smtp_url(settings.smtp_url)) if settings.smtp_url else None


class Jobs:
    """The scheduled jobs of one process. ``settings`` gives the outbox lease and the job interval;
    the escalation ladder and the stalled delay are the engine's (from the same settings)."""

    def __init__(self, engine: Engine, *, email: EmailSender | None = None, sms: Any = None,
                 settings: Settings | None = None) -> None:
        self.engine = engine
        self.settings = settings or Settings(escalation=engine.escalation)
        self.deliverer = Deliverer(engine, email=email, sms=sms or LogSmsSender(), lease=self.settings.outbox_lease)

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> Jobs:
        """The jobs of a deployment, with its email channel (a bad HIMAYA_SMTP_URL raises SmtpUrlError)."""
        return cls(engine, email=email_sender(settings), settings=settings)

    @property
    def policy(self) -> EscalationPolicy:
        return self.engine.escalation

    def fire_timers(self) -> int:
        return self.engine.fire_due_timers()

    def escalate(self) -> int:
        """Overdue steps, transfers left unanswered and overdue referrals each climb their ladder
        (one rung each, once)."""
        now = self.engine.now()
        return (escalate_overdue(self.engine.db, now, self.policy)
                + transfers.escalate_overdue(self.engine.db, now, self.policy)
                + escalate_overdue_referrals(self.engine.db, now, self.policy))

    def flag_stalled(self) -> int:
        return flag_stalled(self.engine.db, self.engine.now(), self.policy)

    def open_reports(self) -> int:
        """Open the quarterly statistical reports due (one per UPE unit and quarter)."""
        return open_due_reports(self.engine, SYSTEM)

    def purge_drafts(self) -> int:
        """Delete the step forms' drafts older than HIMAYA_DRAFT_DAYS, and those of ended tasks."""
        return purge_drafts(self.engine.db, self.engine.now(), timedelta(days=self.settings.draft_days))

    def purge_idempotency_keys(self) -> int:
        """Delete the idempotency keys (and their stored answers) older than HIMAYA_IDEMPOTENCY_HOURS."""
        return idempotency.purge(self.engine.db, self.engine.now())

    def release_of_away(self) -> int:
        """The tasks held by people whose absence has begun (today in the deployment's time zone)
        back to their lanes, the coordinators told."""
        today = self.engine.now().astimezone(self.settings.zone).date()
        return len(release_of_away(self.engine, today, SYSTEM))

    def chain_audit(self) -> int:
        """Seal the events written since the last run into the audit trail's hash chain."""
        return audit.extend(self.engine.db, self.engine.now())

    def apply_retention(self) -> int:
        """Anonymise the files whose retention has run out (HIMAYA_RETENTION_*), remove the
        documents and rejected duplicate reviews kept long enough; the number of files anonymised."""
        now = self.engine.now()
        expired = retention.plan(self.engine.db, now, self.settings.retention)
        outcome = retention.apply(self.engine.db, self.engine.definition, now, expired)
        if outcome.files or outcome.documents or outcome.rejected_reviews:
            log.info("retention: %d file(s) anonymised, %d document(s) and %d rejected review(s) removed",
                     outcome.files, outcome.documents, outcome.rejected_reviews)
        return outcome.files

    def refresh_figures(self) -> int:
        """Recount the national page's default period (the last twelve months) before its figures
        age past HIMAYA_NATIONAL_FIGURES_MAX_AGE_SECONDS, so that the page never waits; the number
        of provinces counted."""
        now = self.engine.now()
        return len(figures_cache.refresh(self.engine.db, figures_cache.default_period(now.date()), now)) - 1

    def deliver(self) -> dict[str, Any]:
        return asdict(self.deliverer.run())

    def run_once(self) -> dict[str, Any]:
        """Every job once, in the order that lets one run finish a chain (timer → task → …)."""
        return {"timers": self.fire_timers(), "reports": self.open_reports(), "escalations": self.escalate(),
                "stalled": self.flag_stalled(), "away": self.release_of_away(), "delivery": self.deliver(),
                "audit": self.chain_audit()}

    def _guarded(self, name: str) -> Callable[[], None]:
        job = {"timers": self.fire_timers, "escalation": self.escalate, "stalled": self.flag_stalled,
               "outbox": self.deliver, "reports": self.open_reports,
               "drafts": self.purge_drafts, "away": self.release_of_away, "audit": self.chain_audit,
               "retention": self.apply_retention, "figures": self.refresh_figures,
               "idempotency": self.purge_idempotency_keys}[name]

        def run() -> None:
            try:
                job()
            except Exception:  # a failing job must not stop the scheduler; it runs again next time
                log.exception("scheduled job %s failed", name)
        return run

    def scheduler(self, *, blocking: bool = False) -> BaseScheduler:
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.schedulers.blocking import BlockingScheduler

        scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
        # HIMAYA_JOB_INTERVAL_SECONDS runs every job at one interval (tests, small installations).
        override = self.settings.job_interval
        for name, seconds in INTERVALS.items():
            scheduler.add_job(self._guarded(name), "interval",
                              seconds=override.total_seconds() if override else seconds,
                              id=name, max_instances=1, coalesce=True)
        return scheduler
