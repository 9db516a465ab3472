"""Where the milliseconds of a task list and a completion go, in one process (no sockets).

Loads ``--cases`` open cases (``bench/bulk_load.py``) into a SQLite file (or ``--url``), builds
the app as ``himaya serve`` does, logs in one case worker and then, under cProfile, repeats
``--rounds`` times what a case worker's client does in ``bench/api_bench.py``: the first page of
available tasks, then the completion of the first reception task on it. Prints the wall time per
request, the time by layer (the package each function belongs to, counted where the time is
spent: "self" time) and the functions with the most self time.

Usage:  .venv/bin/python bench/profile_request_path.py [--cases 2000] [--rounds 300]
        [--url postgresql+psycopg://…] [--top 40] [--sort tottime|cumulative]
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--url", help="a database URL (default: a new SQLite file)")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    parser.add_argument("--save", help="write the profile (pstats format) to this file")
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
    times: dict[str, list[float]] = defaultdict(list)
    profiler = cProfile.Profile()
    if args.profile:
        profiler.enable()
    cpu = time.process_time()
    for _ in range(args.rounds):
        one_round(times)
    cpu = time.process_time() - cpu
    profiler.disable()
    for name, values in times.items():
        ordered = sorted(values)
        print(f"{name:10} p50 {statistics.median(ordered) * 1000:6.2f} ms   "
              f"p95 {ordered[int(len(ordered) * 0.95)] * 1000:6.2f} ms"
              + ("   (under the profiler)" if args.profile else ""))
    print(f"CPU per round (list + completion, this process): {cpu / args.rounds * 1000:.2f} ms")
    if not args.profile:
        return 0

    if args.save:
        profiler.dump_stats(args.save)
    stats = pstats.Stats(profiler)
    by_layer: dict[str, float] = defaultdict(float)
    total = 0.0
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        by_layer[layer_of(filename)] += tottime
        total += tottime
    per_round = 1000 / args.rounds
    print(f"\nself time by layer, ms per round (one list + one completion), {total * per_round:.2f} ms in all:")
    for label, seconds in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        print(f"  {label:24} {seconds * per_round:7.2f}  {seconds / total:6.1%}")
    print()
    stats.sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
