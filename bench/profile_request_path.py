"""Where the milliseconds of a task list and a completion go, in one process (no sockets).

Loads ``--cases`` open cases (``bench/bulk_load.py``) into a SQLite file (or ``--url``), builds
the app as ``himaya serve`` does, logs in one case worker and then, under cProfile, repeats
``--rounds`` times what a case worker's client does in ``bench/api_bench.py``: the first page of
available tasks, then the completion of the first reception task on it. Prints the wall time per
request, the time by layer (the package each function belongs to, counted where the time is
spent: "self" time) and the functions with the most self time.

Usage:  .venv/bin/python bench/profile_request_path.py [--cases 2000] [--rounds 300]
        [--url postgresql+psycopg://…] [--top 40] [--sort tottime|cumulative] [--save FILE.pstats]
        [--write docs/benchmarks.md] [--no-profile]
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bulk_load  # noqa: E402

LIST_PATH = "/api/v1/tasks?scope=available&per_page=20"

LAYERS = [  # (label, fragment of the file path); the first that matches names the layer
    ("SpiffWorkflow", "SpiffWorkflow"), ("SQLAlchemy", "sqlalchemy"), ("sqlite3 driver", "sqlite3"),
    ("psycopg", "psycopg"), ("marshmallow", "marshmallow"), ("flask-smorest/webargs", "smorest"),
    ("flask-smorest/webargs", "webargs"), ("werkzeug", "werkzeug"), ("flask", "flask"),
    ("jinja2/babel", "jinja2"), ("jinja2/babel", "babel"), ("cryptography", "cryptography"),
    ("json", "json"), ("lxml", "lxml"), ("Himaya engine", "/engine/"), ("Himaya api", "/api/"),
]


def layer_of(filename: str) -> str:
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (C)"
    for label, fragment in LAYERS:
        if fragment in filename:
            return label
    return "other python"


def measure_floor(client: Any, headers: dict[str, str], rounds: int) -> dict[str, float]:
    """CPU per call of what every request pays before Himaya's own work: Flask and werkzeug
    answering a request with no database (``/api/v1/me`` without a token); the same with the
    token check and a small JSON answer (``/api/v1/me``); and stock SpiffWorkflow completing the listening step in
    memory and running the next steps (``bench/engine_bench.py``'s raw runner, no persistence)."""
    from engine_bench import ANSWERS, RawRunner

    def cpu_per_call(call: Any, count: int) -> float:
        for _ in range(10):
            call()
        begin = time.process_time()
        for _ in range(count):
            call()
        return (time.process_time() - begin) / count * 1000

    runner = RawRunner()

    def raw_step() -> None:
        workflow = runner.start(categories=["out_of_school"], risk_level="medium", immediate_danger=False)
        runner.complete(workflow, "reception_listening", ANSWERS["reception_listening"])

    started = cpu_per_call(lambda: runner.start(categories=["out_of_school"], risk_level="medium",
                                                immediate_danger=False), rounds)
    return {
        "Flask answering, no database (`GET /api/v1/me` without a token: 401)": cpu_per_call(
            lambda: client.get("/api/v1/me"), rounds * 3),
        "token check and a small answer (`GET /api/v1/me`)": cpu_per_call(
            lambda: client.get("/api/v1/me", headers=headers), rounds * 3),
        "SpiffWorkflow: the listening step run with its next steps, in memory": max(
            cpu_per_call(raw_step, rounds) - started, 0.0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--url", help="a database URL (default: a new SQLite file)")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    parser.add_argument("--save", help="write the profile (pstats format) to this file")
    parser.add_argument("--write", default="", help="markdown file to write the section to (docs/benchmarks.md)")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="time the rounds without the profiler (its overhead is ~2x)")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="himaya-profile-"))
    url = args.url or f"sqlite:///{folder / 'himaya.sqlite'}"
    os.environ.setdefault("HIMAYA_DATA_KEY_FILE", str(folder / "data.key"))
    os.environ["HIMAYA_DATABASE_URL"] = url
    os.environ["HIMAYA_INSTANCE_PATH"] = str(folder / "instance")
    os.environ.setdefault("HIMAYA_SECRET_KEY", "profile")
    os.environ["HIMAYA_SCHEDULER"] = "off"
    print(f"loading {args.cases} cases into {url.split('@')[-1]} …", flush=True)
    loaded = bulk_load.load(url, args.cases, log=lambda _line: None)

    from api.app import create_app

    app = create_app()
    client = app.test_client()
    workers = []  # one case worker per province, taken in turn (each sees only their own province)
    for province in loaded.provinces:
        answer = client.post("/api/v1/auth/token", json={"username": bulk_load.case_worker_name(province),
                                                         "password": bulk_load.PASSWORD})
        assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
        workers.append({"Authorization": f"Bearer {answer.get_json()['access_token']}"})
    turn = iter(range(10**9))
    body = json.dumps({"data": bulk_load.RECEPTION_DATA})

    def one_round(times: dict[str, list[float]]) -> None:
        headers = workers[next(turn) % len(workers)]
        begin = time.perf_counter()
        listed = client.get(LIST_PATH, headers=headers)
        times["task list"].append(time.perf_counter() - begin)
        assert listed.status_code == 200, listed.get_data(as_text=True)[:300]
        items = [t for t in json.loads(listed.data)["items"]
                 if t["name"] == "reception_listening" and t["state"] == "ready"]
        if not items:
            raise SystemExit("no reception task left: load more cases (--cases)")
        begin = time.perf_counter()
        done = client.post(f"/api/v1/tasks/{items[0]['id']}/complete", data=body, headers=headers,
                           content_type="application/json")
        times["complete"].append(time.perf_counter() - begin)
        assert done.status_code == 200, done.get_data(as_text=True)[:300]

    warm: dict[str, list[float]] = defaultdict(list)
    for _ in range(10):
        one_round(warm)
    times: dict[str, list[float]] = defaultdict(list)  # first without the profiler: real times
    cpu = time.process_time()
    for _ in range(args.rounds):
        one_round(times)
    cpu_ms = (time.process_time() - cpu) / args.rounds * 1000
    timed = {name: (statistics.median(v) * 1000, sorted(v)[int(len(v) * 0.95)] * 1000) for name, v in times.items()}
    for name, (p50, p95) in timed.items():
        print(f"{name:10} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")
    print(f"CPU per round (list + completion, this process): {cpu_ms:.2f} ms")
    floor = measure_floor(client, workers[0], args.rounds)
    for label, value in floor.items():
        print(f"floor: {label}: {value:.2f} ms CPU")
    if not args.profile:
        return 0

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.rounds):
        one_round(defaultdict(list))
    profiler.disable()
    if args.save:
        profiler.dump_stats(args.save)
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_layer: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        by_layer[layer_of(filename)] += tottime
        total += tottime

    def cumulative(pattern: str) -> float:
        found = [ct for (f, line, n), (_cc, _nc, _tt, ct, _c) in raw.items() if re.search(pattern, f"{f}:{line}({n})")]
        return max(found, default=0.0)

    whole = cumulative(r"profile_request_path.py:\d+\(one_round\)") or 1.0
    stages = [(label, cumulative(pattern) / whole) for label, pattern in STAGES]
    layers = sorted(((label, seconds / total) for label, seconds in by_layer.items()), key=lambda kv: -kv[1])
    lines = [
        f"## Request path profile (`python bench/profile_request_path.py {' '.join(argv or sys.argv[1:])}`)",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.python_version()}, {url.split(':')[0]}, "
        f"{args.cases:,} open cases, {os.cpu_count()} cores. One process, Flask's test client (no sockets, no "
        f"gunicorn): {args.rounds} rounds of what a case worker's client does in `bench/api_bench.py` (the first "
        "page of available tasks, then the completion of a listed reception task), first timed, then again "
        "under cProfile for the shares.",
        "",
        "| timed (no profiler) | p50 ms | p95 ms |",
        "|---|---:|---:|",
        *(f"| {name} | {p50:.2f} | {p95:.2f} |" for name, (p50, p95) in timed.items()),
        "",
        f"CPU per round (task list + completion, this one process): **{cpu_ms:.1f} ms**.",
        "",
        "Where a round's time goes (cumulative share of the profiled round; nested rows are part of the row "
        "above them):",
        "",
        "| stage | share |",
        "|---|---:|",
        *(f"| {label} | {share:.0%} |" for label, share in stages),
        "",
        "The floor under the same process (CPU per call, no profiler): what the stack costs before any of "
        "Himaya's own work, against the 5 ms target for a completion with its task list:",
        "",
        "| floor | CPU ms |",
        "|---|---:|",
        *(f"| {label} | {value:.2f} |" for label, value in floor.items()),
        "",
        "Self time by layer (where the interpreter was when sampled; C calls counted as builtins):",
        "",
        "| layer | share |",
        "|---|---:|",
        *(f"| {label} | {share:.0%} |" for label, share in layers if share >= 0.005),
    ]
    text = "\n".join(lines)
    print("\n" + text + "\n")
    if args.write:
        from report import write_section

        write_section(Path(args.write), f"request-path-{url.split(':')[0].split('+')[0]}", text)
        print(f"written to {args.write}")
    stats.sort_stats(args.sort).print_stats(args.top)
    return 0


STAGES = [  # (label, pattern of the function's "file:line(name)")
    ("GET /tasks (the view)", r"rest/tasks.py:\d+\(list_tasks\)"),
    ("&nbsp;&nbsp;the page: queries, decrypting names, presenting", r"readers/tasks.py:\d+\(task_page\)"),
    ("&nbsp;&nbsp;audit of the read (one row, its own transaction)", r"runtime.py:\d+\(record_access\)"),
    ("POST /tasks/{id}/complete (the view)", r"rest/tasks.py:\d+\(complete\)"),
    ("&nbsp;&nbsp;the task as the caller sees it (read, policy)", r"rest/tasks.py:\d+\(_acting\)"),
    ("&nbsp;&nbsp;the engine's command", r"runtime.py:\d+\(complete\)"),
    ("&nbsp;&nbsp;&nbsp;&nbsp;form validation, before the lock", r"_validate_before_lock"),
    ("&nbsp;&nbsp;&nbsp;&nbsp;workflow state read back (deserialised)", r"runtime.py:\d+\(_load_workflow\)"),
    ("&nbsp;&nbsp;&nbsp;&nbsp;SpiffWorkflow runs the next steps", r"bpmn/workflow.py:\d+\(do_engine_steps\)"),
    ("&nbsp;&nbsp;&nbsp;&nbsp;workflow state written (serialised)", r"workflow_state.py:\d+\(dump_state\)"),
    ("&nbsp;&nbsp;&nbsp;&nbsp;commits", r"\(do_commit\)"),
    ("token check (both requests)", r"rest/common.py:\d+\(load_principal\)"),
    ("request arguments (webargs, both requests)", r"webargs/core.py:\d+\(parse\)"),
]


if __name__ == "__main__":
    raise SystemExit(main())
