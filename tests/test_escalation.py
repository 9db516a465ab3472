"""Deadlines, the escalation ladder, stalled cases and notification delivery."""
from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from api.jobs import Jobs
from engine.escalation import EscalationPolicy
from engine.models import CaseEvent, Notification, OpenTask, OutboxMessage, User
from engine.runtime import Engine
from notifications.channels import EmailSender, LogSmsSender, SmtpUrlError, parse_smtp_url
from tests.conftest import ApiClient
from tests.helpers import ANSWERS, CAPE, KEY_ENV, UPE, do, report
from tests.live import free_port

ROOT = Path(__file__).resolve().parent.parent


class Inbox:
    """A real SMTP server (aiosmtpd) on a local port, keeping what it receives."""

    def __init__(self, port: int = 0) -> None:
        self.messages: list = []
        self.port = port or free_port()
        inbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                message = message_from_bytes(envelope.content, policy=email_policy.default)
                inbox.messages.append((envelope.rcpt_tos, message))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> Inbox:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from=himaya@himaya.example"

    def texts(self) -> list[str]:
        out = []
        for _rcpt, message in self.messages:
            subject = str(make_header(decode_header(message["Subject"])))
            out.append(subject + "\n" + message.get_content())
        return out


def _jobs(engine: Engine, inbox: Inbox | None = None, sms: LogSmsSender | None = None) -> Jobs:
    email = EmailSender(parse_smtp_url(inbox.url)) if inbox else None
    return Jobs(engine, email=email, sms=sms)


def _levels(engine: Engine, case_id: str) -> dict[str, int]:
    with engine.db.reading() as session:
        rows = session.scalars(select(OpenTask).where(OpenTask.case_id == case_id))
        return {r.step: r.escalation_level for r in rows}


def _rungs(engine: Engine) -> list[tuple[str | None, int]]:
    with engine.db.reading() as session:
        return [(e.step, e.detail["level"]) for e in session.scalars(
            select(CaseEvent).where(CaseEvent.kind == "escalated").order_by(CaseEvent.id))]


@pytest.mark.parametrize("categories, danger, hours", [
    (["victim_violence"], True, 24), (["street"], False, 72), (["out_of_school"], False, 168)])
def test_due_dates_per_risk_level(engine: Engine, categories, danger, hours):
    started = engine.start_case(report(engine, categories=categories, danger=danger), UPE)
    reception = [t for t in started.open_tasks if t.step == "reception_listening"]
    if danger:  # reception opens after immediate assistance
        do(engine, started.case_id, "immediate_assistance", **ANSWERS["immediate_assistance"])
        with engine.db.reading() as session:
            reception = list(session.scalars(select(OpenTask).where(OpenTask.case_id == started.case_id,
                                                                    OpenTask.step == "reception_listening")))
    due_at = reception[0].due_at
    assert due_at is not None and due_at - reception[0].created_at == timedelta(hours=hours)


def test_the_three_rungs_come_at_the_right_times(engine: Engine, clock):
    started = engine.start_case(report(engine, categories=["out_of_school"]), UPE)  # low: reception due in 7 days
    jobs = _jobs(engine)
    case_id = started.case_id
    clock.advance(timedelta(days=7) - timedelta(minutes=1))
    assert jobs.escalate() == 0 and _levels(engine, case_id) == {"reception_listening": 0}
    clock.advance(timedelta(minutes=2))  # due date passed: reminder
    assert jobs.escalate() == 1 and _levels(engine, case_id) == {"reception_listening": 1}
    assert jobs.escalate() == 0, "a rung happens once"
    # coordinator alert after a further 25 % of 7 days = 42 h
    clock.advance(timedelta(hours=41, minutes=58))
    assert jobs.escalate() == 0
    clock.advance(timedelta(minutes=2))
    assert jobs.escalate() == 1 and _levels(engine, case_id) == {"reception_listening": 2}
    # supervisor alert after a further 50 % = 84 h
    clock.advance(timedelta(hours=84))
    assert jobs.escalate() == 1 and _levels(engine, case_id) == {"reception_listening": 3}
    clock.advance(timedelta(days=30))
    assert jobs.escalate() == 0, "the ladder has three rungs"
    assert _rungs(engine) == [("reception_listening", 1), ("reception_listening", 2), ("reception_listening", 3)]
    with engine.db.reading() as session:
        messages = session.scalars(select(OutboxMessage).where(OutboxMessage.topic != "prosecutor_notification")
                                   .order_by(OutboxMessage.id)).all()
    assert [(m.topic, m.recipient) for m in messages] == [
        ("reminder", {"role": "case_worker", "province": "tanger-assilah", "unit": "upe-tanger-assilah"}),
        ("coordinator_alert", {"role": "coordinator", "province": "tanger-assilah"}),
        ("supervisor_alert", {"role": "supervisor", "province": "tanger-assilah"}),
    ]


def test_minimum_delay_before_the_coordinator_alert(engine: Engine, clock):
    started = engine.start_case(report(engine, categories=["victim_violence"], danger=True), UPE)
    jobs = _jobs(engine)  # immediate assistance: due in 4 h; 25 % is 1 h, so the 4 h minimum applies
    clock.advance(timedelta(hours=4, minutes=1))
    jobs.escalate()
    assert _levels(engine, started.case_id)["immediate_assistance"] == 1
    clock.advance(timedelta(hours=3, minutes=58))
    jobs.escalate()
    assert _levels(engine, started.case_id)["immediate_assistance"] == 1
    clock.advance(timedelta(minutes=2))
    jobs.escalate()
    assert _levels(engine, started.case_id)["immediate_assistance"] == 2


def test_a_completed_task_gets_no_rung(engine: Engine, clock):
    started = engine.start_case(report(engine, categories=["out_of_school"]), UPE)
    clock.advance(timedelta(days=6))
    do(engine, started.case_id, "reception_listening", **ANSWERS["reception_listening"])
    clock.advance(timedelta(days=2))
    _jobs(engine).escalate()
    assert ("reception_listening", 1) not in _rungs(engine)


def test_a_claimed_task_reminds_its_assignee_only(engine: Engine, clock):
    started = engine.start_case(report(engine, categories=["out_of_school"]), UPE)
    engine.claim(started.open_tasks[0].id, UPE)
    clock.advance(timedelta(days=8))
    _jobs(engine).escalate()
    with engine.db.reading() as session:
        reminder = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "reminder")).one()
    assert reminder.recipient == {"usernames": ["upe.tanger"]}


def test_risk_change_moves_the_ladder(engine: Engine, clock):
    from engine.runtime import Actor

    started = engine.start_case(report(engine, categories=["out_of_school"]), UPE)
    engine.set_risk_level(started.case_id, "high", "Danger révélé", Actor("cape.tanger", "coordinator"))
    clock.advance(timedelta(hours=25))
    assert _jobs(engine).escalate() == 1


def test_stalled_cases_are_flagged_once_and_unflagged_by_progress(engine: Engine, clock):
    started = engine.start_case(report(engine, categories=["out_of_school"]), UPE)
    jobs = _jobs(engine)
    clock.advance(timedelta(days=13))
    assert jobs.flag_stalled() == 0
    clock.advance(timedelta(days=2))
    assert jobs.flag_stalled() == 1
    assert jobs.flag_stalled() == 0, "flagged once"
    do(engine, started.case_id, "reception_listening", **ANSWERS["reception_listening"])
    clock.advance(timedelta(days=15))
    assert jobs.flag_stalled() == 1, "progress clears the flag; a new stall is flagged again"
    with engine.db.reading() as session:
        kinds = session.scalars(select(CaseEvent.kind).where(CaseEvent.kind == "case_stalled")).all()
    assert len(kinds) == 2


def test_follow_up_timer_fires_through_the_scheduler_jobs(engine: Engine, clock):
    case_id = engine.start_case(report(engine, categories=["out_of_school"]), UPE).case_id
    for step in ("reception_listening", "diagnosis_medical", "diagnosis_social"):
        do(engine, case_id, step, **ANSWERS[step])
    do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": []})
    do(engine, case_id, "reintegration", **ANSWERS["reintegration"])
    clock.advance(timedelta(days=93))
    assert _jobs(engine).run_once()["timers"] == 1
    with engine.db.reading() as session:
        assert session.scalar(select(OpenTask.step).where(OpenTask.case_id == case_id)) == "follow_up"


def test_delivery_expands_to_users_and_emails_in_their_language(engine: Engine, clock):
    with engine.db.transaction() as session:
        session.execute(update(User).where(User.username == "cape.tanger").values(language="ar"))
    engine.start_case(report(engine, categories=["out_of_school"]), UPE)
    clock.advance(timedelta(days=8, hours=19))  # reminder and coordinator alert due
    with Inbox() as inbox:
        jobs = _jobs(engine, inbox)
        outcome = jobs.run_once()
        assert outcome["escalations"] == 2
        jobs.deliver()  # the emails queued by the expansion
        texts = {tuple(rcpt): text for rcpt, text in zip((m[0] for m in inbox.messages), inbox.texts())}
    assert set(texts) == {("upe.tanger@himaya.example",), ("cape.tanger@himaya.example",)}
    arabic = texts[("cape.tanger@himaya.example",)]
    assert "تنبيه" in arabic and "الإنصات" in arabic, arabic  # Arabic template and step title
    french = texts[("upe.tanger@himaya.example",)]
    assert "Rappel" in french and "Accueil et écoute" in french
    for text in texts.values():
        assert "Amina" not in text and "2014-03-01" not in text, "no personal data in emails"
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 2


def test_smtp_down_then_back_sends_once(engine: Engine, clock):
    engine.start_case(report(engine, categories=["out_of_school"]), UPE)
    clock.advance(timedelta(days=7, minutes=1))
    port = free_port()
    down = Inbox(port)  # not started yet: nothing listens on the port
    jobs = _jobs(engine, down)
    first = jobs.run_once()["delivery"]  # expands the reminder, then fails to send its email
    assert first["expanded"] == 1 and first["retried"] == 1 and first["sent"] == 0
    with engine.db.reading() as session:
        waiting = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email")).one()
    assert waiting.status == "pending" and waiting.attempts == 1 and waiting.last_error
    with down as inbox:
        assert jobs.deliver()["sent"] == 0, "it waits for its backoff"
        clock.advance(timedelta(minutes=2))
        assert jobs.deliver()["sent"] == 1
        clock.advance(timedelta(hours=1))
        jobs.run_once()
        assert len(inbox.messages) == 1, "sent once"


def test_a_deliverer_whose_lease_ran_out_mid_batch_sends_nothing_more(engine: Engine, clock):
    """A slow batch: while the first email goes out the lease runs out and another deliverer claims
    and sends the rest. The slow one must not send those rows too, and every email arrives once."""
    from notifications.delivery import LEASE, Deliverer, DeliveryReport

    now = clock.now()
    with engine.db.transaction() as session:
        session.add_all(OutboxMessage(created_at=now, case_id=None, topic="case_stalled", channel="email",
                                      recipient={"email": f"worker{i}@himaya.example", "language": "fr"},
                                      payload={"case_reference": f"REF-{i}"}, status="pending", attempts=0,
                                      next_attempt_at=now) for i in range(4))
    with Inbox() as inbox:
        fast = Deliverer(engine, email=EmailSender(parse_smtp_url(inbox.url)))

        class SlowDeliverer(Deliverer):
            def _send(self, row: Any, report: DeliveryReport) -> None:
                if row.id == 2:  # the first email took longer than the lease
                    clock.advance(LEASE + timedelta(seconds=1))
                    assert fast.run().sent == 3
                super()._send(row, report)

        slow = SlowDeliverer(engine, email=EmailSender(parse_smtp_url(inbox.url)))
        outcome = slow.run()
        recipients = sorted(rcpt[0] for rcpt, _message in inbox.messages)
        message_ids = {message["Message-ID"] for _rcpt, message in inbox.messages}
    assert outcome.sent == 1 and not outcome.errors
    assert recipients == [f"worker{i}@himaya.example" for i in range(4)], "each email exactly once"
    assert len(message_ids) == 4 and all(m.startswith("<outbox-") for m in message_ids)
    with engine.db.reading() as session:
        assert set(session.scalars(select(OutboxMessage.status))) == {"sent"}


def test_dead_letter_after_the_last_attempt_and_admin_retry(api: ApiClient, clock):
    engine = api.app.extensions["himaya"]
    engine.start_case(report(engine, categories=["out_of_school"]), UPE)
    clock.advance(timedelta(days=7, minutes=1))
    down = Inbox(free_port())
    jobs = _jobs(engine, down)
    jobs.run_once()
    for _ in range(5):
        jobs.deliver()
        clock.advance(timedelta(hours=1))
    api.forget_tokens()
    dead = api.get("/api/v1/admin/outbox?status=dead", "admin").get_json()
    assert dead["total"] == 1 and dead["items"][0]["attempts"] == 5
    assert api.get("/api/v1/admin/outbox", "cape.tanger").status_code == 403
    outbox_id = dead["items"][0]["id"]
    assert api.post(f"/api/v1/admin/outbox/{outbox_id}/retry", "admin").status_code == 204
    assert api.post(f"/api/v1/admin/outbox/{outbox_id}/retry", "admin").status_code == 409
    with down as inbox:
        jobs.deliver()
        assert len(inbox.messages) == 1


def test_in_app_notifications(api: ApiClient, clock):
    engine = api.app.extensions["himaya"]
    engine.start_case(report(engine, categories=["out_of_school"]), UPE)
    clock.advance(timedelta(days=7, minutes=1))
    _jobs(engine).run_once()
    page = api.get("/api/v1/notifications", "upe.tanger").get_json()
    assert page["total"] == 1 and page["unread"] == 1
    item = page["items"][0]
    assert item["topic"] == "reminder" and item["case_reference"].startswith("TNG-") and "Rappel" in item["subject"]
    assert "Accueil et écoute" in item["body"], "the step's title, not its id"
    arabic = api.get("/api/v1/notifications?lang=ar", "upe.tanger").get_json()["items"][0]
    assert "تذكير" in arabic["subject"]
    read = api.post(f"/api/v1/notifications/{item['id']}/read", "upe.tanger")
    assert read.status_code == 200 and read.get_json()["read_at"]
    assert api.get("/api/v1/notifications?unread=true", "upe.tanger").get_json()["total"] == 0
    assert api.post(f"/api/v1/notifications/{item['id']}/read", "cape.tanger").status_code == 404
    assert api.get("/api/v1/notifications", "cape.tanger").get_json()["total"] == 0


def test_three_scheduler_processes_produce_each_rung_and_email_once(engine: Engine, clock):
    for _ in range(5):
        engine.start_case(report(engine, categories=["out_of_school"]), UPE)
        engine.start_case(report(engine, categories=["street"]), UPE)
    now = (clock.now() + timedelta(days=30)).isoformat()  # every rung of every task is due
    with Inbox() as inbox:
        env = {"HIMAYA_DATABASE_URL": engine.db.url, "HIMAYA_SMTP_URL": inbox.url, "PATH": "/usr/bin:/bin", **KEY_ENV}
        processes = [subprocess.Popen([sys.executable, "-m", "api.cli", "scheduler", "run-once", "--now", now],
                                      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(3)]
        outputs = [p.communicate(timeout=180) for p in processes]
        assert all(p.returncode == 0 for p in processes), outputs
        second = subprocess.run([sys.executable, "-m", "api.cli", "scheduler", "run-once", "--now", now],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
        assert second.returncode == 0, second.stderr
        deadline = time.time() + 5
        while len(inbox.messages) < 30 and time.time() < deadline:
            time.sleep(0.05)
        received = [rcpt[0] for rcpt, _message in inbox.messages]
    rungs = _rungs(engine)
    assert len(rungs) == 30 and len(set((s, lvl) for s, lvl in rungs)) == 3  # 10 tasks × 3 rungs, no repeat
    # per task: a reminder to upe.tanger, alerts to cape.tanger and cppe.tanger; per case (30 days
    # without progress): a stalled-case alert to cape.tanger
    counts = {address: received.count(address) for address in set(received)}
    assert counts == {"upe.tanger@himaya.example": 10, "cape.tanger@himaya.example": 20,
                      "cppe.tanger@himaya.example": 10}, f"each email exactly once: {counts}; {outputs}"
    with engine.db.reading() as session:
        statuses = dict(session.execute(select(OutboxMessage.status, func.count())
                                        .group_by(OutboxMessage.status)).all())
        stalled = session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "case_stalled"))
    assert stalled == 10
    assert statuses == {"sent": 80}  # 40 group rows + 40 emails


@pytest.mark.parametrize("url", ["http://mail", "smtp://", "smtp://host:notaport", "mail.example.org"])
def test_bad_smtp_urls_are_refused(url: str, tmp_path: Path):
    with pytest.raises(SmtpUrlError):
        parse_smtp_url(url)
    env = {"HIMAYA_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "HIMAYA_SMTP_URL": url,
           "PATH": "/usr/bin:/bin", **KEY_ENV}
    done = subprocess.run([sys.executable, "-m", "api.cli", "scheduler", "run-once"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "HIMAYA_SMTP_URL" in done.stderr


def test_sms_channel_logs_without_content(engine: Engine, clock, caplog):
    with engine.db.transaction() as session:
        session.execute(update(User).where(User.username == "upe.tanger").values(phone="+212600000001"))
    engine.start_case(report(engine, categories=["out_of_school"]), UPE)
    clock.advance(timedelta(days=7, minutes=1))
    sms = LogSmsSender()
    jobs = _jobs(engine, sms=sms)
    jobs.run_once()
    jobs.deliver()
    assert len(sms.sent) == 1 and "TNG-" in sms.sent[0][1] and "Amina" not in sms.sent[0][1]
    assert "+212600000001" not in caplog.text


def test_escalation_policy_is_configurable():
    policy = EscalationPolicy(coordinator_fraction=0.5, coordinator_minimum=timedelta(0), supervisor_fraction=1.0)
    from datetime import datetime
    created = datetime(2026, 1, 1, tzinfo=UTC)
    due = created + timedelta(days=4)
    assert policy.next_rung_at(0, created, due) == due
    assert policy.next_rung_at(1, created, due) == due + timedelta(days=2)
    assert policy.next_rung_at(2, created, due) == due + timedelta(days=6)
    assert policy.next_rung_at(3, created, due) is None



def test_the_application_refuses_to_start_on_a_bad_smtp_url(engine: Engine, monkeypatch):
    from api.app import create_app

    monkeypatch.setenv("HIMAYA_SMTP_URL", "smtp://host:notaport")
    with pytest.raises(SmtpUrlError, match="HIMAYA_SMTP_URL"):
        create_app({"TESTING": True, "SECRET_KEY": "x"}, engine=engine)


# --- stalled: the wait on a scheduled visit does not count (engine/stalling.py) ----------

def _waiting_for_follow_up(engine: Engine) -> str:
    """A low-risk case taken to its first follow-up wait (quarterly: about 3 months)."""
    case_id = engine.start_case(report(engine, categories=["out_of_school"]), UPE).case_id
    for step in ("reception_listening", "diagnosis_medical", "diagnosis_social"):
        do(engine, case_id, step, **ANSWERS[step])
    do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": []})
    do(engine, case_id, "reintegration", **ANSWERS["reintegration"])
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(OpenTask).where(OpenTask.case_id == case_id)) == 0
    return case_id


def _stalled(api: ApiClient, days: int | None = None) -> dict[str, dict[str, Any]]:
    api.forget_tokens()
    query = f"?days={days}" if days else ""
    response = api.get(f"/api/v1/supervision/stalled{query}", "cape.tanger")
    assert response.status_code == 200, response.get_json()
    return {item["id"]: item for item in response.get_json()["items"]}


def test_a_case_waiting_on_its_follow_up_visit_is_on_track_until_the_visit_is_overdue(api: ApiClient, clock):
    engine = api.app.extensions["himaya"]
    jobs = _jobs(engine)
    case_id = _waiting_for_follow_up(engine)
    start = engine.now()
    for days in (30, 80):  # waiting 30, then 80 days for the visit due at about 3 months
        clock.advance(start + timedelta(days=days) - engine.now())
        assert case_id not in _stalled(api), f"waiting {days} days on its follow-up visit: on track"
        assert jobs.flag_stalled() == 0
    clock.advance(start + timedelta(days=93) - engine.now())
    assert jobs.fire_timers() == 1
    fired_at = engine.now()
    with engine.db.reading() as session:
        visit = session.scalars(select(OpenTask).where(OpenTask.case_id == case_id)).one()
    assert visit.step == "follow_up" and visit.due_at == fired_at + timedelta(days=14)
    clock.advance(timedelta(days=13, hours=23))
    assert case_id not in _stalled(api) and jobs.flag_stalled() == 0, "the visit is not overdue yet"
    clock.advance(timedelta(hours=2))
    stalled = _stalled(api)[case_id]
    assert stalled["reason"] == "visit_overdue" and stalled["days_idle"] == 14
    assert stalled["days_without_progress"] == 107, "the last completed step stays what it was"
    assert jobs.flag_stalled() == 1 and jobs.flag_stalled() == 0
    # the visit done, the case waits for the next one: on track again, and its next stall is flagged anew
    do(engine, case_id, "follow_up", **{**ANSWERS["follow_up"], "situation_stable": False})
    clock.advance(timedelta(days=60))
    assert case_id not in _stalled(api) and jobs.flag_stalled() == 0
    clock.advance(timedelta(days=33))
    assert jobs.fire_timers() == 1
    clock.advance(timedelta(days=15))
    assert _stalled(api)[case_id]["reason"] == "visit_overdue" and jobs.flag_stalled() == 1


def test_a_visit_stalls_at_its_due_date_or_at_the_stalled_delay_whichever_comes_first(api: ApiClient, clock):
    engine = api.app.extensions["himaya"]
    case_id = _waiting_for_follow_up(engine)
    clock.advance(timedelta(days=93))
    assert engine.fire_due_timers() == 1
    # a 10-day stalled delay is shorter than the visit's 14 days: the delay, counted from the firing
    clock.advance(timedelta(days=9))
    assert case_id not in _stalled(api, days=10)
    clock.advance(timedelta(days=2))
    assert _stalled(api, days=10)[case_id]["reason"] == "no_progress"
    assert case_id not in _stalled(api), "14 days have not passed, nor the visit's due date"
    # the coordinator raises the risk: the visit is due within 7 days of its opening, already passed
    engine.set_risk_level(case_id, "high", "Nouvelle inquiétude.", CAPE)
    assert _stalled(api)[case_id]["reason"] == "visit_overdue"


def test_an_open_task_untouched_for_the_stalled_delay_is_still_stalled(api: ApiClient, clock):
    engine = api.app.extensions["himaya"]
    case_id = engine.start_case(report(engine, categories=["out_of_school"]), UPE).case_id
    clock.advance(timedelta(days=14, hours=-1))
    assert case_id not in _stalled(api)
    clock.advance(timedelta(days=1, hours=1))
    stalled = _stalled(api)[case_id]
    assert stalled["reason"] == "no_progress" and stalled["days_idle"] == stalled["days_without_progress"] == 15
    assert stalled["visit_due_at"] is None


def test_stall_clock_partner_tasks_alongside_a_waiting_timer_keep_the_case_on_track():
    from engine.runtime import TaskRow
    from engine.stalling import StallClock, after_command

    now = datetime(2026, 11, 20, tzinfo=UTC)

    def task(role: str, due: timedelta | None) -> TaskRow:
        return TaskRow(id="t", case_id="c", pathway_key="child_protection", step="s", role=role,
                       sector="justice" if role == "partner" else None, province="p", unit="u", state="ready",
                       assignee=None, form=None, created_at=now, due_at=now + due if due else None,
                       escalation_level=0)

    running = StallClock(now - timedelta(days=3), None)
    judicial = task("partner", timedelta(days=7))
    assert after_command(running, now=now, progressed=True, waiting_timers=1, open_tasks=[judicial]) == \
        StallClock(None, None), "care waits on its visit, the prosecutor's decision alongside: on track"
    assert after_command(running, now=now, progressed=False, waiting_timers=0, open_tasks=[judicial]) == running, \
        "no timer (waiting on a signal, say): the clock runs as before"
    visit = task("case_worker", timedelta(days=14))
    assert after_command(StallClock(None, None), now=now, progressed=False, waiting_timers=0,
                         open_tasks=[judicial, visit]) == StallClock(now, now + timedelta(days=14))
    assert after_command(StallClock(now, now + timedelta(days=14)), now=now, progressed=True, waiting_timers=0,
                         open_tasks=[task("coordinator", timedelta(days=7))]) == StallClock(now, None)
    assert after_command(running, now=now, progressed=False, waiting_timers=1, open_tasks=[visit]) == running, \
        "a boundary timer on an open staff task: the clock runs"


def test_migration_0011_winds_the_stall_clock_of_running_cases(engine: Engine, clock):
    from alembic import command
    from alembic.script import ScriptDirectory

    from engine.db import alembic_config
    from engine.models import CaseWorkflow

    waiting = _waiting_for_follow_up(engine)
    visiting = _waiting_for_follow_up(engine)
    clock.advance(timedelta(days=93))
    assert engine.fire_due_timers() == 2
    fired_at = engine.now()
    do(engine, waiting, "follow_up", **{**ANSWERS["follow_up"], "situation_stable": False})
    clock.advance(timedelta(days=1))
    fresh = engine.start_case(report(engine, categories=["out_of_school"]), UPE).case_id
    with engine.db.engine.connect() as connection:
        if engine.db.is_sqlite:
            driver = connection.connection.dbapi_connection
            assert driver is not None
            driver.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, as Database.upgrade does
        with connection.begin():
            config = alembic_config()
            config.attributes["connection"] = connection
            before = ScriptDirectory.from_config(config).get_revision("0011").down_revision
            command.downgrade(config, str(before))  # just before the stall clock
    engine.db.upgrade()  # back to the head, through 0012
    with engine.db.reading() as session:
        clocks = {row.case_id: (row.idle_since, row.visit_due_at) for row in session.scalars(select(CaseWorkflow))}
    assert clocks[waiting] == (None, None), "waiting on its next visit"
    assert clocks[visiting] == (fired_at, fired_at + timedelta(days=14)), "in the visit its timer opened"
    assert clocks[fresh] == (engine.now(), None)


def test_the_prosecutors_pending_decision_alongside_a_waiting_visit_keeps_the_case_on_track(api: ApiClient, clock):
    """v2 of child_protection: the judicial branch (a partner task, and a signal catch that waits for
    ever) runs alongside care; care waiting on its follow-up timer is on track all the same."""
    engine = api.app.extensions["himaya"]
    case_id = engine.start_case(report(engine, categories=["victim_violence"]), UPE).case_id
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "diagnoses": ["social"]})
    do(engine, case_id, "diagnosis_social", **ANSWERS["diagnosis_social"])
    do(engine, case_id, "orientation", **{**ANSWERS["orientation"], "accompaniments": []})
    do(engine, case_id, "reintegration", **ANSWERS["reintegration"])
    with engine.db.reading() as session:
        assert list(session.scalars(select(OpenTask.step).where(OpenTask.case_id == case_id))) == \
            ["judicial_decision"], "only the partner's task is open while care waits for its visit"
    jobs = _jobs(engine)
    start = engine.now()
    for days in (15, 25):  # a high-risk case waits a month for its visit: beyond the 14 days, on track
        clock.advance(start + timedelta(days=days) - engine.now())
        assert case_id not in _stalled(api) and jobs.flag_stalled() == 0
    clock.advance(start + timedelta(days=32) - engine.now())
    assert jobs.fire_timers() == 1
    clock.advance(timedelta(days=8))  # the visit (due in 7 days for a high risk) is overdue
    assert _stalled(api)[case_id]["reason"] == "visit_overdue"
