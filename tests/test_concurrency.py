"""Racing commands on one case: exactly one wins, the others get a clean conflict."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from engine.errors import Conflict
from engine.models import CaseEvent, OpenTask, TaskRecord
from engine.runtime import Actor, Engine
from tests.helpers import ANSWERS, UPE, open_steps, report, task_id


def test_parallel_completions_of_one_task_succeed_once(engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    target = task_id(engine, case_id, "reception_listening")
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def worker(n: int) -> None:
        barrier.wait()
        try:
            engine.complete(target, ANSWERS["reception_listening"], Actor(f"upe.{n}", "case_worker"))
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 5 + ["ok"]
    assert open_steps(engine, case_id) == ["diagnosis_medical", "diagnosis_social"]
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(TaskRecord).where(TaskRecord.id == target)) == 1
        assert session.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.kind == "step_completed", CaseEvent.task_id == target)) == 1
        assert session.scalar(select(func.count()).select_from(OpenTask).where(
            OpenTask.case_id == case_id, OpenTask.step == "diagnosis_social")) == 1
