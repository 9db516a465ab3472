"""Finding a child at scale: search and the duplicate check over many cases, on SQLite and PostgreSQL.

bench/bulk_load.py loads N open cases spread over the provinces, each child with a common
Moroccan name (a quarter written in Arabic script, a tenth in both) and its search keys, as the
engine would store them. Then, in process (Flask test client, no network), p50/p95 over
``--requests`` requests each, with names drawn from the loaded ones in another spelling:

- a case worker's search by a name in Latin script and by a name in Arabic script (their province);
- a coordinator's search by first name only (the most common: many matches to count and page);
- a search by reference, and by year of birth;
- the duplicate check (``POST /api/v1/cases/check-duplicates``), which looks in every province.

Writes the "search-bench" section of docs/benchmarks.md.

Usage: .venv/bin/python bench/search_bench.py [--cases 100000] [--requests 200] [--database sqlite|postgresql|both]
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from moroccan_names import FAMILY_NAMES, FIRST_NAMES  # noqa: E402
from report import write_section  # noqa: E402
from scale_bench import _percentiles, _token  # noqa: E402
from services import start_postgres, stop_postgres  # noqa: E402

# Other spellings a report may use for the loaded names (what a search must still find).
VARIANTS = {"Mohamed": "Mohammed", "Youssef": "Yousef", "Khadija": "Khadidja", "Aicha": "Aïcha", "Hicham": "Hisham",
            "El Amrani": "Elamrani", "Ait Ali": "Aït-Ali", "El Mansouri": "Elmansouri", "Fatima Zahra": "Fatima-Zahra"}


def _timed(call: Callable[[], Any], count: int) -> tuple[float, float]:
    call()
    samples = []
    for _ in range(count):
        begin = time.perf_counter()
        call()
        samples.append(time.perf_counter() - begin)
    return _percentiles(samples)


def measure(url: str, cases: int, count: int, seed: int = 7) -> dict[str, tuple[float, float]]:
    from api.app import create_app
    from api.auth import login
    from bulk_load import case_worker_name, load
    from engine.assembly import assemble_engine
    from engine.db import Database

    loaded = load(url, cases, log=lambda _line: None)
    database = Database(url)
    engine = assemble_engine(database)
    now = engine.now()
    province = loaded.provinces[0]
    worker = _token(login(database, "search", case_worker_name(province), "bench", now=now, source=None))
    coordinator = _token(login(database, "search", loaded.coordinator, "bench", now=now, source=None))
    client = create_app({"TESTING": True, "SECRET_KEY": "search"}, engine=engine).test_client()
    rng = random.Random(seed)

    def search(token: str, pick: Callable[[], str]) -> Callable[[], Any]:
        def run() -> None:
            response = client.get("/api/v1/cases", query_string={"q": pick()},
                                  headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.get_json()
        return run

    def latin() -> str:
        first, _ar, _sex = rng.choice(FIRST_NAMES)
        last, _last_ar = rng.choice(FAMILY_NAMES)
        return f"{VARIANTS.get(first, first)} {VARIANTS.get(last, last)}"

    def arabic() -> str:
        return f"{rng.choice(FIRST_NAMES)[1]} {rng.choice(FAMILY_NAMES)[1]}"

    def check() -> None:
        first, _ar, sex = rng.choice(FIRST_NAMES)
        last, _last_ar = rng.choice(FAMILY_NAMES)
        born = f"{rng.randrange(2009, 2026)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        response = client.post("/api/v1/cases/check-duplicates", headers={"Authorization": f"Bearer {worker}"},
                               json={"child": {"first_name": VARIANTS.get(first, first), "last_name": last,
                                               "sex": sex, "birth_date": born}})
        assert response.status_code == 200, response.get_json()

    with database.reading() as session:
        from sqlalchemy import select

        from engine.models import Case
        references = list(session.scalars(select(Case.reference).where(Case.province == province).limit(500)))
    latency = {
        "search, full name in Latin script (case worker)": _timed(search(worker, latin), count),
        "search, full name in Arabic script (case worker)": _timed(search(worker, arabic), count),
        "search, first name only (coordinator)": _timed(search(coordinator, lambda: rng.choice(FIRST_NAMES)[0]),
                                                       count),
        "search by reference (case worker)": _timed(search(worker, lambda: rng.choice(references)), count),
        "search by year of birth (coordinator)": _timed(search(coordinator, lambda: str(rng.randrange(2009, 2026))),
                                                       count),
        "duplicate check, every province": _timed(check, count),
    }
    database.dispose()
    return latency


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--write", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    results: dict[str, dict[str, tuple[float, float]]] = {}
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="himaya-search-") as folder:
            results["SQLite"] = measure(f"sqlite:///{folder}/search.sqlite", args.cases, args.requests)
        print("SQLite:", results["SQLite"], flush=True)
    if args.database in ("postgresql", "both"):
        with tempfile.TemporaryDirectory(prefix="himaya-search-pg-") as folder:  # the server's own folder
            url = start_postgres(Path(folder))
            try:
                results["PostgreSQL"] = measure(url, args.cases, args.requests)
            finally:
                stop_postgres(Path(folder))
    names = list(next(iter(results.values())))
    lines = [
        f"## Finding a child (`python bench/search_bench.py --cases {args.cases} --requests {args.requests}"
        f" --database {args.database}`)", "",
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} cores, in process (Flask test "
        f"client: authentication, validation, the query, serialisation and the audit row of each request). "
        f"{args.cases:,} open cases over the provinces, children with common Moroccan names "
        f"({len(FIRST_NAMES)} first names × {len(FAMILY_NAMES)} family names, a quarter written in Arabic script); "
        f"searched in another spelling than the one stored. Target: p95 ≤ 50 ms.", "",
        "| request | " + " | ".join(f"{db} p50 ms | {db} p95 ms" for db in results) + " |",
        "|---|" + "---|---|" * len(results),
    ]
    for name in names:
        cells = " | ".join(f"{results[db][name][0]:.1f} | {results[db][name][1]:.1f}" for db in results)
        lines.append(f"| {name} | {cells} |")
    block = "\n".join(lines)
    print(block)
    write_section(Path(args.write), "search-bench", block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
