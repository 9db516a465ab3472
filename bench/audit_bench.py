"""The audit trail's hash chain: how fast the chaining job and `himaya audit verify` go.

Writes ``--events`` case events (sealed details the size of a completed step's: fields and a
digest) into a fresh database (SQLite by default; ``--postgres`` a throwaway server), then times
the first chaining (every event), an incremental run after 1 000 more (what the minute's job
sees at 200 completions/s with 4–5 events each: about 50 000), and a whole verification.
Writes the "audit-bench" section of docs/benchmarks.md.

Usage: .venv/bin/python bench/audit_bench.py [--events 200000] [--postgres]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import insert  # noqa: E402

from engine import audit, crypto  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import CaseEvent  # noqa: E402
from services import start_postgres, stop_postgres  # noqa: E402

KINDS = ("step_started", "step_completed", "case_viewed", "tasks_listed", "risk_changed")


def _events(database: Database, count: int, first: int) -> None:
    now = datetime.now(UTC)
    digest = "ab" * 32
    batch = []
    for n in range(first, first + count):
        kind = KINDS[n % len(KINDS)]
        detail: dict[str, object] = {"fields": ["child_heard", "diagnoses", "listening_date", "listening_summary"],
                                     "digest": digest, "overdue": False} if kind == "step_completed" else {}
        if kind == "risk_changed":
            detail = {"from": "low", "to": "high", "reason": "Coups vus par l'institutrice"}
        batch.append({"case_id": f"case-{n % 5000:05d}", "at": now, "actor": "upe.tanger", "kind": kind,
                      "step": "reception_listening", "task_id": None, "detail": detail})
        if len(batch) == 5000:
            with database.write_connection() as conn:
                conn.execute(insert(CaseEvent.__table__), batch)
            batch = []
    if batch:
        with database.write_connection() as conn:
            conn.execute(insert(CaseEvent.__table__), batch)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--write", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="himaya-audit-"))
    url = start_postgres(folder) if args.postgres else f"sqlite:///{folder / 'himaya.sqlite'}"
    try:
        master = crypto.master_key_from({"HIMAYA_DATA_KEY": crypto.new_master_key_text()})
        database = Database(url, master_key=master)
        database.upgrade()
        database.check_keys()
        _events(database, args.events, 0)
        began = time.perf_counter()
        first = audit.extend(database, datetime.now(UTC))
        first_s = time.perf_counter() - began
        _events(database, 1000, args.events)
        began = time.perf_counter()
        more = audit.extend(database, datetime.now(UTC))
        more_s = time.perf_counter() - began
        began = time.perf_counter()
        idle = audit.extend(database, datetime.now(UTC))
        idle_s = time.perf_counter() - began
        began = time.perf_counter()
        checked = audit.verify(database)
        verify_s = time.perf_counter() - began
        database.dispose()
        ok = first == args.events and more == 1000 and idle == 0 and checked.intact
        engine_name = "PostgreSQL (default durability)" if args.postgres else "SQLite (WAL)"
        report = "\n".join([
            f"## Audit trail hash chain ({engine_name})",
            "",
            f"Command: `python bench/audit_bench.py --events {args.events}{' --postgres' if args.postgres else ''}`  ",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()} — "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
            "",
            "| events | first chaining | per event | 1 000 more | idle run | verify all | all as expected |",
            "|---:|---:|---:|---:|---:|---:|---|",
            f"| {args.events:,} | {first_s:.1f} s | {first_s / max(first, 1) * 1e6:.0f} µs | "
            f"{more_s * 1000:.0f} ms | {idle_s * 1000:.0f} ms | {verify_s:.1f} s | {'yes' if ok else 'NO'} |",
            "",
            f"The minute's job keeps up with {first / first_s * 60:,.0f} events a minute on this machine "
            "(200 completions/s write about 50 000); the commands never wait for it: the links are computed "
            "in a read and appended in one short write per 2 000 events.",
        ])
        print(report)
        if args.write:
            from report import write_section

            write_section(Path(args.write), "audit-bench" + ("-pg" if args.postgres else ""), report)
        return 0 if ok else 1
    finally:
        if args.postgres:
            stop_postgres(folder)


if __name__ == "__main__":
    sys.exit(main())
