"""Scale benchmark: the same measures at 1 000, 10 000 and 100 000 open cases on PostgreSQL.

For each size, a fresh throwaway PostgreSQL (default durability) is loaded by bench/bulk_load.py,
then, side by side in one run:

- persisted completion (Engine, PostgreSQL) ÷ raw in-memory SpiffWorkflow on the same BPMN;
- in-process request latency (Flask test client, no network) of the task list, the overdue list
  and the summary, p50/p95 over 50 requests as a coordinator and a case worker;
- the escalation sweep over the 10 % of tasks made due;
- bytes stored per closed case with its full history (``pg_column_size`` of every row).

HTTP throughput under concurrent clients is bench/api_bench.py's. Writes the "scale-bench"
section of docs/benchmarks.md and docs/scale.png.

Usage: .venv/bin/python bench/scale_bench.py [--sizes 1000 10000 100000]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import select, text  # noqa: E402

from engine.assembly import assemble_engine  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.escalation import escalate_overdue  # noqa: E402
from engine.models import OpenTask  # noqa: E402
from engine.runtime import Actor, Engine  # noqa: E402
from services import start_postgres, stop_postgres  # noqa: E402

RECEPTION = {"listening_date": "2026-11-20", "child_heard": True, "listening_summary": "x", "diagnoses": ["social"]}


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def _raw_completion_ms(count: int) -> float:
    from engine_bench import ANSWERS, PATH, RawRunner

    raw = RawRunner()
    times: list[float] = []
    while len(times) < count:
        workflow = raw.start()
        for step in PATH:
            times.append(raw.complete(workflow, step, ANSWERS[step]))
    return statistics.fmean(times[:count]) * 1000


def _requests(app: Any, token: str, path: str, count: int = 50) -> tuple[float, float]:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    client.get(path, headers=headers)
    samples = []
    for _ in range(count):
        begin = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append(time.perf_counter() - begin)
        assert response.status_code == 200, (path, response.status_code)
    return _percentiles(samples)


def _token(issued: tuple[str, int] | None) -> str:
    """The token of a benchmark user's login, which cannot fail (the password is the bench's)."""
    if issued is None:
        raise RuntimeError("a benchmark user could not log in")
    return issued[0]


def _closed_case_bytes(engine: Engine, database: Database, count: int = 5) -> float:
    """Walk cases to closure through the engine and measure every row they left."""
    from engine.clock import ManualClock
    from engine.models import OpenTask as Task
    from engine_bench import ANSWERS, intake

    clock = engine.clock
    assert isinstance(clock, ManualClock), "the walk moves the engine's clock past its timers"
    sizes = []
    actor = Actor("bench", "case_worker")
    for _ in range(count):
        case_id = engine.start_case(intake(engine.now()), actor).case_id
        while True:
            with database.reading() as session:
                open_tasks = session.execute(select(Task.id, Task.step).where(Task.case_id == case_id)).all()
            if not open_tasks:
                with database.reading() as session:
                    waiting = session.execute(text("SELECT count(*) FROM case_timers WHERE case_id = :c"),
                                              {"c": case_id}).scalar()
                if not waiting:
                    break
                clock.advance(timedelta(days=40))
                engine.fire_due_timers()
                continue
            for task_id, step in open_tasks:
                engine.complete(task_id, ANSWERS.get(step, {}), actor)
        with database.reading() as session:
            total = 0
            for table, key in (("cases", "id"), ("case_workflows", "case_id"), ("task_history", "case_id"),
                               ("case_events", "case_id"), ("outbox", "case_id"), ("open_tasks", "case_id"),
                               ("case_timers", "case_id")):
                total += session.execute(text(f"SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM {table} t "
                                              f"WHERE t.{key} = :c"), {"c": case_id}).scalar_one()
            sizes.append(total)
    return statistics.fmean(sizes)


def measure(size: int, folder: Path) -> dict[str, Any]:
    from api.app import create_app
    from api.auth import login
    from bulk_load import load
    from engine.clock import ManualClock

    url = start_postgres(folder)
    try:
        result = load(url, size, log=lambda _line: None)
        database = Database(url)
        engine = assemble_engine(database)
        # persisted completions of cloned cases
        times = []
        for _case_id, task_id, province in result.sample[:200]:
            actor = Actor(f"bench.{province}", "case_worker")
            begin = time.perf_counter()
            engine.complete(task_id, RECEPTION, actor)
            times.append(time.perf_counter() - begin)
        persisted = statistics.fmean(times) * 1000
        # request latency, in process
        app = create_app({"TESTING": True, "SECRET_KEY": "scale"}, engine=engine)
        province = result.provinces[0]
        coordinator = _token(login(database, "scale", result.coordinator, "bench", now=engine.now(), source=None))
        worker = _token(login(database, "scale", f"bench.{province}", "bench", now=engine.now(), source=None))
        latency = {
            "task list": _requests(app, worker, "/api/v1/tasks?scope=available&per_page=20"),
            "overdue list": _requests(app, coordinator, "/api/v1/supervision/overdue?per_page=50"),
            "summary": _requests(app, coordinator, "/api/v1/supervision/summary"),
        }
        # escalation sweep over 10 %
        now = datetime.now(UTC)
        with database.write_connection() as conn:
            conn.execute(text("UPDATE open_tasks SET escalation_level = 0, next_escalation_at = :later"),
                         {"later": now + timedelta(days=3650)})
            conn.execute(text("UPDATE open_tasks SET due_at = :due, created_at = :created, next_escalation_at = :due "
                              "WHERE id IN (SELECT id FROM open_tasks ORDER BY id LIMIT :n)"),
                         {"due": now - timedelta(hours=1), "created": now - timedelta(days=7, hours=1),
                          "n": size // 10})
            conn.execute(text("ANALYZE"))
        begin = time.perf_counter()
        rungs = escalate_overdue(database, now)
        sweep = time.perf_counter() - begin
        closing = assemble_engine(database, clock=ManualClock(now))
        closed_bytes = _closed_case_bytes(closing, database)
        with database.reading() as session:
            open_tasks = session.scalar(select(text("count(*)")).select_from(OpenTask))
        database.dispose()
        return {"size": size, "open_tasks": open_tasks, "persisted_ms": persisted, "latency": latency,
                "sweep_s": sweep, "rungs": rungs, "closed_bytes": closed_bytes, "load_s": result.total_seconds}
    finally:
        stop_postgres(folder)


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["size"] for r in results]
    figure, axis = plt.subplots(figsize=(7, 4))
    for name in ("task list", "overdue list", "summary"):
        axis.plot(sizes, [r["latency"][name][1] for r in results], marker="o", label=f"{name} p95")
    axis.plot(sizes, [r["persisted_ms"] for r in results], marker="s", label="completion (mean)")
    axis.set_xscale("log")
    axis.set_xlabel("open cases")
    axis.set_ylabel("ms (in process, PostgreSQL)")
    axis.set_title("Himaya latency against the number of open cases")
    axis.grid(True, alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--write", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    raw_ms = _raw_completion_ms(200)
    results = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="himaya-scale-") as folder:
            results.append(measure(size, Path(folder)))
            print(f"{size}: done", file=sys.stderr)
    ok = lambda passed: "met" if passed else "**missed**"  # noqa: E731
    lines = [
        "## Scale: 1 000 → 100 000 open cases (PostgreSQL)",
        "",
        f"Command: `python bench/scale_bench.py --sizes {' '.join(map(str, args.sizes))}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()} — "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; PostgreSQL with default durability, one fresh "
        "server per size; latencies in process (Flask test client, no network, one client).",
        "",
        f"Raw in-memory SpiffWorkflow completion, same BPMN: {raw_ms:.3f} ms.",
        "",
        "| open cases | completion ms (÷ raw) | task list p50/p95 ms | overdue p50/p95 ms | summary p50/p95 ms "
        "| sweep of 10 % | bytes per closed case |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lat = r["latency"]
        lines.append(
            f"| {r['size']:,} | {r['persisted_ms']:.2f} ({r['persisted_ms'] / raw_ms:.1f}×) | "
            f"{lat['task list'][0]:.1f} / {lat['task list'][1]:.1f} | {lat['overdue list'][0]:.1f} / "
            f"{lat['overdue list'][1]:.1f} | {lat['summary'][0]:.1f} / {lat['summary'][1]:.1f} | "
            f"{r['rungs']:,} rungs in {r['sweep_s']:.2f} s | {r['closed_bytes'] / 1024:.1f} KB |")
    last = results[-1]
    lines += [
        "",
        f"At {last['size']:,} open cases: completion ÷ raw {last['persisted_ms'] / raw_ms:.1f}× (target ≤ 4: "
        f"{ok(last['persisted_ms'] / raw_ms <= 4)}); task list p95 {last['latency']['task list'][1]:.1f} ms "
        f"(≤ 20: {ok(last['latency']['task list'][1] <= 20)}); overdue p95 {last['latency']['overdue list'][1]:.1f} ms "
        f"(≤ 50: {ok(last['latency']['overdue list'][1] <= 50)}); summary p95 {last['latency']['summary'][1]:.1f} ms "
        f"(≤ 100: {ok(last['latency']['summary'][1] <= 100)}); sweep {last['sweep_s']:.2f} s (≤ 2: "
        f"{ok(last['sweep_s'] <= 2)}); {last['closed_bytes'] / 1024:.1f} KB per closed case (≤ 25: "
        f"{ok(last['closed_bytes'] <= 25 * 1024)}). The completion here commits to a durable PostgreSQL "
        "(fsync), which the SQLite figure of the engine section does not pay.",
        "",
        "![latency against open cases](scale.png)",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        from report import write_section

        write_section(Path(args.write), "scale-bench", report)
        plot(results, Path(args.write).parent / "scale.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
