"""Indicators benchmark: ``GET /api/v1/indicators`` over many cases on PostgreSQL.

A fresh throwaway PostgreSQL (default durability) is loaded by bench/bulk_load.py with N open
cases spread over the provinces, then one completed step per case is added to ``task_history``
(SQL ``INSERT … SELECT``, durations of 0–10 days against a 7-day due date) and one quarterly
report per unit for the last four quarters. Measured in process (Flask test client, no
network), p50/p95 over 20 requests each:

- the national indicators for the whole country over 12 months, JSON and CSV, as the page reads
  them (the figures the scheduler's job stores, engine/figures_cache.py), and the recount itself
  (every case counted, every province's cells hidden together), which that job runs;
- a coordinator's indicators for their province;
- the quarterly figures of one unit (what opening a report computes).

Writes the "indicators-bench" section of docs/benchmarks.md.

Usage: .venv/bin/python bench/indicators_bench.py [--cases 100000]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import text  # noqa: E402

from engine.assembly import assemble_engine  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.runtime import SYSTEM  # noqa: E402
from report import write_section  # noqa: E402
from scale_bench import _percentiles, _requests, _token  # noqa: E402
from services import start_postgres, stop_postgres  # noqa: E402


class Measured(TypedDict):
    cases: int
    history: int
    reports: int
    provinces: int
    latency: dict[str, tuple[float, float]]


def measure(cases: int, folder: Path) -> Measured:
    from api.app import create_app
    from api.auth import hash_password, login
    from bulk_load import load
    from engine.models import User
    from engine.statistical_reports import Quarter, open_quarter, unit_figures

    url = start_postgres(folder)
    try:
        loaded = load(url, cases, log=lambda _line: None)
        database = Database(url)
        engine = assemble_engine(database)
        now = engine.now()
        empty = database.keys.seal(b"{}", "task_history.data")  # the answers are sealed (engine.crypto)
        with database.write_connection() as conn:
            conn.execute(text(
                "INSERT INTO task_history (id, case_id, step, role, sector, created_at, due_at, ended_at, outcome,"
                " completed_by, data, escalation_level) SELECT md5(random()::text || id), id, 'reception_listening',"
                " 'case_worker', NULL, opened_at, opened_at + interval '7 days',"
                " opened_at + random() * interval '10 days', 'completed', 'bench', :empty, 0 FROM cases"),
                {"empty": empty})
            conn.execute(text("ANALYZE"))
        quarter = Quarter.last_ended(now)
        reports = 0
        for _ in range(4):
            reports += len(open_quarter(engine, quarter, SYSTEM))
            quarter = quarter.previous()
        with database.transaction() as session:
            session.add(User(username="bench.national", password_hash=hash_password("bench"), full_name="national",
                             role="national", province=None, unit=None, sector=None, language="fr", active=True,
                             created_at=now, password_changed_at=now))
        national = _token(login(database, "ind", "bench.national", "bench", now=now, source=None))
        coordinator = _token(login(database, "ind", loaded.coordinator, "bench", now=now, source=None))
        app = create_app({"TESTING": True, "SECRET_KEY": "ind"}, engine=engine)
        year_ago = now.date().replace(year=now.year - 1).isoformat()
        period = f"from={year_ago}&to={now.date().isoformat()}"
        from engine import figures_cache

        samples = []
        for _ in range(5):  # what the scheduler's figures job does every four minutes
            begin = time.perf_counter()
            figures_cache.refresh(database, figures_cache.default_period(now.date()), engine.now())
            samples.append(time.perf_counter() - begin)
        latency = {
            "national, 12 months: the recount (the figures job, 5 runs)": _percentiles(samples),
            "national, 12 months (JSON)": _requests(app, national, f"/api/v1/indicators?{period}", 20),
            "national, 12 months (CSV)": _requests(app, national, f"/api/v1/indicators?{period}&format=csv", 20),
            "coordinator, own province": _requests(app, coordinator, f"/api/v1/indicators?{period}", 20),
        }
        samples = []
        province = loaded.provinces[0]
        for _ in range(20):
            begin = time.perf_counter()
            with database.reading() as session:
                unit_figures(session, province, f"upe-{province}", Quarter.containing(now.date()))
            samples.append(time.perf_counter() - begin)
        latency["one unit's quarterly figures"] = _percentiles(samples)
        with database.reading() as session:
            history = session.execute(text("SELECT count(*) FROM task_history")).scalar_one()
        database.dispose()
        return {"cases": cases, "history": history, "reports": reports, "provinces": len(loaded.provinces),
                "latency": latency}
    finally:
        stop_postgres(folder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--write", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="himaya-ind-") as folder:
        result = measure(args.cases, Path(folder))
    lines = [
        f"## Indicators (`python bench/indicators_bench.py --cases {args.cases}`)", "",
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} cores, PostgreSQL "
        f"(default durability), in process. {result['cases']:,} open cases over {result['provinces']} provinces, "
        f"{result['history']:,} completed steps, {result['reports']} quarterly reports.", "",
        "| request | p50 ms | p95 ms |", "|---|---|---|",
    ]
    for name, (p50, p95) in result["latency"].items():
        lines.append(f"| {name} | {p50:.0f} | {p95:.0f} |")
    text_block = "\n".join(lines)
    print(text_block)
    write_section(Path(args.write), "indicators-bench", text_block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
