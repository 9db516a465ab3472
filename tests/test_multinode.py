"""Two application servers and two schedulers on one PostgreSQL: no step twice, no rung or
notification twice, every acknowledged completion stored."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.assembly import assemble_engine
from engine.clock import ManualClock
from engine.models import CaseEvent, Notification, OpenTask, OutboxMessage, TaskRecord
from tests.conftest import SHARED_DEFINITIONS
from tests.helpers import ANSWERS, UPE, report
from tests.live import call, free_port, wait_healthy

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def postgres(pg_url):
    """The test PostgreSQL only: several nodes are a PostgreSQL set-up."""
    from engine.db import Database
    from tests.conftest import _reset_postgres

    database = Database(pg_url)
    _reset_postgres(database)
    yield database
    database.dispose()


def test_two_nodes_and_two_schedulers_share_one_postgresql(pg_url, postgres):
    from api.setup import BPMN_FOLDER

    database = postgres

    engine = assemble_engine(database, clock=ManualClock(datetime.now(UTC) - timedelta(days=10)),
                             definitions=SHARED_DEFINITIONS)
    engine.deploy_folder(BPMN_FOLDER)
    case_ids = [engine.start_case(report(engine), UPE).case_id for _ in range(30)]  # all overdue by now
    env = {**os.environ, "HIMAYA_DATABASE_URL": pg_url, "HIMAYA_SECRET_KEY": "shared-secret",
           "HIMAYA_JOB_INTERVAL_SECONDS": "1", "PATH": "/usr/bin:/bin"}
    processes, urls = [], []
    try:
        for _ in range(2):
            port = free_port()
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"], cwd=ROOT,
                env={**env, "HIMAYA_SCHEDULER": "off"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True))
            urls.append(f"http://127.0.0.1:{port}")
        for _ in range(2):
            processes.append(subprocess.Popen([sys.executable, "-m", "api.cli", "scheduler"], cwd=ROOT, env=env,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                              start_new_session=True))
        for url in urls:
            wait_healthy(url)
        token = call(urls[0], "/api/v1/auth/token", {"username": "upe.tanger", "password": "demo-upe.tanger"})[1][
            "access_token"]
        _status, listing = call(urls[1], "/api/v1/tasks?scope=available&per_page=100", token=token)
        tasks = [t["id"] for t in listing["items"] if t["name"] == "reception_listening"]
        assert len(tasks) == 30
        outcomes: list[tuple[str, int]] = []
        lock = threading.Lock()

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            for task in rng.sample(tasks, len(tasks)):  # every worker tries every task, on either node
                status, _body = call(rng.choice(urls), f"/api/v1/tasks/{task}/complete",
                                      {"data": ANSWERS["reception_listening"]}, token)
                with lock:
                    outcomes.append((task, status))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        deadline = time.time() + 60  # let the schedulers climb rungs and deliver concurrently
        while time.time() < deadline:
            with database.reading() as session:
                if session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "escalated")):
                    break
            time.sleep(0.5)
        time.sleep(3)  # a few more scheduler rounds on both processes
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    acknowledged = Counter(task for task, status in outcomes if status == 200)
    assert set(acknowledged) == set(tasks) and set(acknowledged.values()) == {1}, "each completion once"
    assert {status for _task, status in outcomes} <= {200, 409}, Counter(s for _t, s in outcomes)
    with database.reading() as session:
        stored = Counter(session.scalars(select(TaskRecord.id).where(TaskRecord.outcome == "completed")))
        assert set(stored) == set(tasks) and set(stored.values()) == {1}, "every acknowledged completion stored"
        steps = session.execute(select(TaskRecord.case_id, TaskRecord.step)).all()
        assert len(steps) == len(set(steps)), "no step done twice"
        assert session.scalar(select(func.count()).select_from(OpenTask).where(
            OpenTask.step == "reception_listening")) == 0
        rungs = [(task, detail["level"]) for task, detail in session.execute(  # the details are sealed: read them
            select(CaseEvent.task_id, CaseEvent.detail).where(CaseEvent.kind == "escalated"))]
        assert rungs and len(rungs) == len(set(rungs)), "each rung once"
        notified = session.execute(select(Notification.username, Notification.outbox_id)).all()
        assert notified and len(notified) == len(set(notified)), "each notification once"
        assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == "sending")) == 0
    assert len(case_ids) == 30
