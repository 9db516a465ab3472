"""Email delivery benchmark: N queued emails through a local SMTP server, on SQLite and PostgreSQL.

Queues ``--emails`` email rows in the outbox, then times one ``Deliverer.run()`` that sends them
to a local aiosmtpd server (one SMTP connection per email, as in production). It runs twice per
database: as shipped (the lease is renewed by a compare-and-set before each send) and with the
renewal left out, to show what that safety costs. Writes the "delivery-bench" section of
docs/benchmarks.md.

Usage: .venv/bin/python bench/delivery_bench.py [--emails 2000]
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import SMTP, Envelope, Session  # noqa: E402
from sqlalchemy import delete, func, insert, select  # noqa: E402

from engine.assembly import assemble_engine  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import OutboxMessage  # noqa: E402
from notifications.channels import EmailSender, parse_smtp_url  # noqa: E402
from notifications.delivery import Deliverer  # noqa: E402
from services import free_port, start_postgres, stop_postgres  # noqa: E402


class _Counter:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.received += 1
        return "250 OK"


class _NoRenewal(Deliverer):
    """The deliverer before the per-send lease renewal (for comparison only)."""

    def _renew(self, row: Any) -> datetime | None:
        return row.claimed_until


def _queue(database: Database, count: int) -> None:
    now = datetime.now(UTC)
    with database.write_connection() as conn:
        conn.execute(delete(OutboxMessage.__table__))
        conn.execute(insert(OutboxMessage.__table__), [{
            "created_at": now, "case_id": None, "topic": "case_stalled", "channel": "email",
            "recipient": {"email": f"worker{i}@himaya.example", "language": "fr"},
            "payload": {"case_reference": f"BENCH-{i}"}, "status": "pending", "attempts": 0,
            "next_attempt_at": now} for i in range(count)])


def _run(url: str, count: int, deliverer_class: type[Deliverer], smtp_url: str, handler: _Counter) -> float:
    database = Database(url)
    database.upgrade()
    _queue(database, count)
    engine = assemble_engine(database)
    deliverer = deliverer_class(engine, email=EmailSender(parse_smtp_url(smtp_url)))
    before = handler.received
    began = time.perf_counter()
    report = deliverer.run()
    seconds = time.perf_counter() - began
    with database.reading() as session:
        sent = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent"))
    database.dispose()
    if report.sent != count or sent != count or handler.received - before != count:
        raise SystemExit(f"expected {count} emails, got report {report.sent}, stored {sent}, "
                         f"received {handler.received - before}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--write", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="himaya-delivery-"))  # PostgreSQL's (its owner changes)
    sqlite_folder = Path(tempfile.mkdtemp(prefix="himaya-delivery-sqlite-"))
    handler = _Counter()
    smtp_port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    smtp_url = f"smtp://127.0.0.1:{smtp_port}?from=himaya@himaya.example"
    rows = []
    try:
        pg_url = start_postgres(folder)
        for name, url in (("SQLite (file)", f"sqlite:///{sqlite_folder / 'bench.db'}"),
                          ("PostgreSQL (durable)", pg_url)):
            shipped = _run(url, args.emails, Deliverer, smtp_url, handler)
            bare = _run(url, args.emails, _NoRenewal, smtp_url, handler)
            rows.append(f"| {name} | {args.emails:,} | **{args.emails / shipped:.0f}/s** ({shipped:.1f} s) | "
                        f"{args.emails / bare:.0f}/s ({bare:.1f} s) | "
                        f"{(shipped - bare) / args.emails * 1000:+.2f} ms |")
    finally:
        controller.stop()
        stop_postgres(folder)
    lines = [
        "## Email delivery",
        "",
        f"Command: `python bench/delivery_bench.py --emails {args.emails}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()} — "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; a local aiosmtpd server, one SMTP connection "
        "per email; one deliverer process.",
        "",
        "| database | emails | as shipped | without the per-send lease renewal | cost per email |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
        "The renewal is a one-row compare-and-set before each send; it keeps a slow batch from sending",
        "rows whose lease ran out and that another deliverer has taken over (docs/engine.md).",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        from report import write_section

        write_section(Path(args.write), "delivery-bench", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
