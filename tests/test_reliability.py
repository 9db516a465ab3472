"""Reliability: a server killed mid-load loses no acknowledged completion and does none twice;
a database outage answers 503 and recovers by itself; no child's name or birth date in any log."""
from __future__ import annotations

import http.client
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.consistency import check
from engine.models import TaskRecord
from tests.helpers import ANSWERS, UPE, report
from tests.live import call, free_port, wait_healthy

ROOT = Path(__file__).resolve().parent.parent


def _serve(url_env: dict, port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"],
                            cwd=ROOT, env=url_env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def test_kill_9_mid_load_loses_no_acknowledged_completion(engine, tmp_path):
    """Clients complete 120 tasks; the server is killed with SIGKILL mid-load and restarted."""
    case_ids = [engine.start_case(report(engine), UPE).case_id for _ in range(120)]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HIMAYA_DATABASE_URL": engine.db.url, "HIMAYA_SECRET_KEY": "crash",
           "HIMAYA_SCHEDULER": "off", "PATH": "/usr/bin:/bin"}
    server = _serve(env, port, tmp_path / "server.log")
    try:
        wait_healthy(url)
        token = call(url, "/api/v1/auth/token", {"username": "upe.tanger", "password": "demo-upe.tanger"})[1][
            "access_token"]
        tasks = [t["id"] for page in (1, 2) for t in call(
            url, f"/api/v1/tasks?scope=available&per_page=100&page={page}", token=token)[1]["items"]]
        assert len(tasks) == 120
        acknowledged: list[str] = []
        failed: list[str] = []
        lock = threading.Lock()

        statuses: Counter = Counter()

        def worker(chunk: list[str]) -> None:
            for task in chunk:
                for _attempt in range(480):  # up to two minutes: a restart under load can be slow
                    try:
                        status, _ = call(url, f"/api/v1/tasks/{task}/complete",
                                         {"data": ANSWERS["reception_listening"]}, token)
                    # The server is down, or was killed while answering (a truncated body): try
                    # again, as a client would. A thread that died on one would leave its tasks undone.
                    except (OSError, http.client.HTTPException, ValueError):
                        statuses["connection error"] += 1
                        time.sleep(0.25)
                        continue
                    statuses[status] += 1
                    if status in (200, 409):  # done, by this request or by one the crash interrupted
                        with lock:
                            (acknowledged if status == 200 else failed).append(task)
                        break
                    time.sleep(0.25)

        chunks = [tasks[i::4] for i in range(4)]
        threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
        for thread in threads:
            thread.start()
        while len(acknowledged) < 10:
            time.sleep(0.005)
        done_at_kill = len(acknowledged)
        os.killpg(server.pid, signal.SIGKILL)  # mid-load, no warning
        assert done_at_kill < len(tasks), "the kill came in the middle of the load"
        server.wait()
        server = _serve(env, port, tmp_path / "server.log")
        wait_healthy(url)
        for thread in threads:
            thread.join(timeout=180)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    with engine.db.reading() as session:
        stored = Counter(session.scalars(select(TaskRecord.id).where(TaskRecord.outcome == "completed")))
    assert set(acknowledged) <= set(stored), "every acknowledged completion is stored"
    assert set(stored.values()) == {1}, "none twice"
    assert set(stored) == set(tasks), ("after retries every task is completed once", statuses)
    assert list(check(engine)) == [], "stored workflows and projections agree after the crash"
    assert len(case_ids) == 120


@pytest.fixture
def private_postgres():
    """A PostgreSQL of this test's own, so that it can be stopped and started again."""
    if not any(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        if os.environ.get("HIMAYA_TEST_REQUIRE_PG"):
            pytest.fail("PostgreSQL server binaries missing")
        pytest.skip("no PostgreSQL server binaries")
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="himaya-outage-"))  # directly under /tmp: the postgres user reaches it
    port = str(free_port())
    script = str(ROOT / "scripts" / "pg-throwaway")
    started = subprocess.run([script, "start", str(folder), port], check=True, capture_output=True, text=True)
    url = started.stdout.strip()
    yield {"url": url, "stop": lambda: subprocess.run([script, "stop", str(folder)], check=True),
           "start": lambda: subprocess.run([script, "restart", str(folder), port], check=True)}
    subprocess.run([script, "stop", str(folder)], check=False)
    shutil.rmtree(folder, ignore_errors=True)


def test_database_outage_answers_503_and_recovers_by_itself(private_postgres):
    from api.app import create_app
    from api.setup import prepare
    from engine.assembly import assemble_engine
    from engine.db import Database

    engine = assemble_engine(Database(private_postgres["url"]))
    prepare(engine)
    client = create_app({"TESTING": True, "SECRET_KEY": "x"}, engine=engine).test_client()
    assert client.get("/healthz").status_code == 200
    private_postgres["stop"]()
    down = client.get("/healthz")
    assert down.status_code == 503 and down.get_json()["database"] == "unreachable"
    api_down = client.post("/api/v1/auth/token", json={"username": "x", "password": "y"})
    assert api_down.status_code == 503
    assert "données" in api_down.get_json()["message"], api_down.get_json()  # French by default
    private_postgres["start"]()
    deadline = time.time() + 30
    while client.get("/healthz").status_code != 200:
        assert time.time() < deadline, "did not recover"
        time.sleep(0.5)
    assert client.post("/api/v1/auth/token", json={"username": "x", "password": "y"}).status_code == 401
    engine.db.dispose()


def test_no_personal_data_in_any_log(api, clock, caplog, capfd):
    """Runs the main scenarios with every logger at DEBUG and scans all log output."""
    from datetime import timedelta

    from api.jobs import Jobs

    caplog.set_level(logging.DEBUG)
    engine = api.app.extensions["himaya"]
    name, family, born = "Zineb", "Khattabi", "2013-07-19"
    body = report(engine, categories=["victim_violence"], danger=True, first_name=name, last_name=family,
                  birth_date=born)
    response = api.post("/api/v1/cases", "upe.tanger", json=body)
    assert response.status_code == 201
    case = response.get_json()
    api.get(f"/api/v1/cases/{case['id']}", "cape.tanger")
    api.get(f"/api/v1/cases/{case['id']}/history", "cape.tanger")
    api.post("/api/v1/cases", "upe.tanger", json={**body, "child": {**body["child"], "birth_date": "2001-01-01"}})
    task = api.get(f"/api/v1/tasks?case_id={case['id']}&step=immediate_assistance", "upe.tanger").get_json()["items"][0]
    api.post(f"/api/v1/tasks/{task['id']}/complete", "upe.tanger", json={"data": ANSWERS["immediate_assistance"]})
    clock.advance(timedelta(days=9))
    api.forget_tokens()
    Jobs(engine).run_once()
    api.get("/api/v1/notifications", "upe.tanger")
    captured = capfd.readouterr()
    text = caplog.text + captured.out + captured.err
    assert text.strip(), "the scan must have read something"
    for secret in (name, family, born):
        assert secret not in text, f"{secret} appears in the logs"
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(TaskRecord)) >= 1


def test_kill_9_of_a_scheduler_mid_delivery_loses_no_email(engine, tmp_path):
    """Two schedulers deliver; one is killed with SIGKILL while emails are going out, restarted,
    and every email arrives (the killed one's claimed rows come back after their lease).

    SMTP cannot make it exactly once: a process killed after the server accepted a message and
    before it wrote "sent" leaves that message to be sent again. So at most one email, the one in
    flight, may arrive twice, and then with the same Message-ID; every other arrives once."""
    from datetime import datetime, timedelta

    from engine.assembly import assemble_engine
    from engine.clock import ManualClock
    from tests.conftest import SHARED_DEFINITIONS
    from tests.test_escalation import Inbox

    past = assemble_engine(engine.db, clock=ManualClock(datetime.now(UTC) - timedelta(days=30)),
                           definitions=SHARED_DEFINITIONS)
    for _ in range(25):
        past.start_case(report(past), UPE)  # reception overdue for weeks: three rungs each, and stalled
    with Inbox() as inbox:
        env = {**os.environ, "HIMAYA_DATABASE_URL": engine.db.url, "HIMAYA_SMTP_URL": inbox.url,
               "HIMAYA_JOB_INTERVAL_SECONDS": "0.5", "HIMAYA_OUTBOX_LEASE_SECONDS": "4", "PATH": "/usr/bin:/bin"}
        start = lambda: subprocess.Popen([sys.executable, "-m", "api.cli", "scheduler"], cwd=ROOT, env=env,  # noqa: E731
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        first, second = start(), start()
        try:
            deadline = time.time() + 60
            while not inbox.messages and time.time() < deadline:
                time.sleep(0.05)
            os.killpg(first.pid, signal.SIGKILL)  # while emails are going out
            first.wait()
            first = start()
            expected = 25 * 3 + 25  # reminder, coordinator and supervisor alerts per task; one stalled alert per case
            deadline = time.time() + 90
            while len({message["Message-ID"] for _rcpt, message in inbox.messages}) < expected \
                    and time.time() < deadline:
                time.sleep(0.2)
            time.sleep(5)  # past any lease: nothing more may arrive
        finally:
            for process in (first, second):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        received = Counter(message["Message-ID"] for _rcpt, message in inbox.messages)
    from engine.models import OutboxMessage

    with engine.db.reading() as session:
        emails = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.channel == "email"))
        unsent = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
    assert emails == expected and unsent == 0
    assert len(received) == expected, f"{len(received)} distinct emails for {expected} messages"
    repeated = {message_id: count for message_id, count in received.items() if count > 1}
    assert len(repeated) <= 1 and set(repeated.values()) <= {2}, repeated
