"""HTTP benchmark: the REST API under concurrent case workers, on PostgreSQL with many open cases
or on the default SQLite file (``--database sqlite``, the configuration of ``make run``).

1. starts a throwaway PostgreSQL (or, with ``--database sqlite``, a new SQLite file: WAL,
   synchronous=NORMAL, as Himaya opens it) (``scripts/pg-throwaway``: PostgreSQL defaults except
   ``max_connections=200`` and, unless ``--durable``, ``fsync=off``, ``synchronous_commit=off``);
2. loads ``--cases`` open cases with ``bench/bulk_load.py`` (clones of one real case waiting
   at ``reception_listening``, round-robin over the 75 provinces) and ``--history-rows``
   ``case_events`` rows;
3. serves the app with gunicorn (``himaya serve --workers N``, gthread workers, the scheduler off
   unless ``--scheduler on``: the API alone is measured);
4. single-client latency of the supervision lists as the coordinator ``bench.cape.<province>``;
5. ``--clients`` concurrent clients, each logged in as a different ``bench.<province>`` case
   worker, looping for ``--duration`` seconds: ``GET /api/v1/tasks?scope=available&per_page=20``
   ("task list"), then ``POST /api/v1/tasks/{id}/complete`` with the ``reception_listening``
   form ("complete") on one of the listed reception tasks. A 409 (another client took the
   task) is counted as a conflict; any other unexpected status is an error.
6. CPU use of gunicorn, PostgreSQL, the clients and any other process over the run (from
   /proc: the machine may be shared), and the PostgreSQL plan of the task-list query.

Clients are threads by default: a client costs about 1 ms of CPU per completion (task list
included), ~3% of two cores at the rates reached, so the GIL does not limit them; measured at
100 000 cases, 16 clients as threads gave 55 completions/s and as processes 52/s (16 more
processes competing for the same cores). ``--client-mode process`` is kept for bigger machines.

Before the run, the same step (``reception_listening``) is completed ``--raw`` times in stock
SpiffWorkflow, in memory (``bench/engine_bench.py``'s runner), for the floor the stack allows.

Targets (issue 22): ≥ 200 completions/s, complete and task list p95 ≤ 50 ms; one client: each
≤ 4 ms; server CPU per completion with its task list ≤ 5 ms.

Usage:  .venv/bin/python bench/api_bench.py [--database postgresql|sqlite] [--cases 100000] [--clients 16]
        [--duration 30]
        [--workers N] [--client-mode thread|process] [--scheduler off|on]
        [--write docs/benchmarks.md]
Everything it starts (PostgreSQL, gunicorn, client processes) is stopped on exit, error or Ctrl-C.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import multiprocessing.synchronize
    from multiprocessing.context import ForkProcess

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bulk_load  # noqa: E402
from services import free_port, start_postgres, stop_postgres  # noqa: E402

HOST = "127.0.0.1"
TARGET_COMPLETIONS = 200.0
TARGET_COMPLETE_P95_MS = 50.0
TARGET_LIST_P95_MS = 50.0
TARGET_ALONE_MS = 4.0
TARGET_CPU_MS = 5.0
LIST_PATH = "/api/v1/tasks?scope=available&per_page=20"
COMPLETE_BODY = json.dumps({"data": bulk_load.RECEPTION_DATA}).encode()


# --- HTTP ------------------------------------------------------------------------------

def request(port: int, method: str, path: str, body: bytes | None = None,
            token: str | None = None) -> tuple[int, bytes, float]:
    """One request on a new connection (as a browser would after a pause)."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    begin = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - begin
    finally:
        connection.close()


def login(port: int, username: str, password: str = bulk_load.PASSWORD) -> str:
    status, data, _ = request(port, "POST", "/api/v1/auth/token",
                              json.dumps({"username": username, "password": password}).encode())
    if status != 200:
        raise RuntimeError(f"login of {username} failed: {status} {data[:200]!r}")
    return json.loads(data)["access_token"]


# --- clients -----------------------------------------------------------------------------

@dataclass
class ClientResult:
    username: str
    list_s: list[float] = field(default_factory=list)
    complete_s: list[float] = field(default_factory=list)
    conflicts: int = 0
    empty_lists: int = 0
    errors: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0


def client_loop(port: int, username: str, duration: float, barrier: Any, seed: int) -> ClientResult:
    result = ClientResult(username)
    rng = random.Random(seed)
    try:
        token = login(port, username)
    except Exception as exc:  # noqa: BLE001 - reported as an error, the barrier must still be reached
        result.errors.append(f"login: {exc}")
        token = None
    barrier.wait()
    result.started = time.monotonic()
    end = result.started + duration
    while token and time.monotonic() < end:
        try:
            status, data, seconds = request(port, "GET", LIST_PATH, token=token)
        except OSError as exc:
            result.errors.append(f"task list: {type(exc).__name__}: {exc}")
            continue
        if status != 200:
            result.errors.append(f"task list: HTTP {status} {data[:200]!r}")
            continue
        result.list_s.append(seconds)
        items = [i for i in json.loads(data)["items"]
                 if i["name"] == "reception_listening" and i["state"] == "ready"]
        if not items:
            result.empty_lists += 1
            time.sleep(0.01)
            continue
        task = rng.choice(items)
        try:
            status, data, seconds = request(port, "POST", f"/api/v1/tasks/{task['id']}/complete",
                                            COMPLETE_BODY, token=token)
        except OSError as exc:
            result.errors.append(f"complete: {type(exc).__name__}: {exc}")
            continue
        if status == 200:
            result.complete_s.append(seconds)
            steps = [t["name"] for t in json.loads(data)["open_tasks"]]
            if steps != ["diagnosis_social"]:
                result.errors.append(f"complete: unexpected next tasks {steps}")
        elif status == 409:
            result.conflicts += 1
        else:
            result.errors.append(f"complete: HTTP {status} {data[:200]!r}")
    result.ended = time.monotonic()
    return result


def _process_client(port: int, username: str, duration: float, barrier: Any, seed: int, queue: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it terminates us if needed
    try:
        queue.put(client_loop(port, username, duration, barrier, seed))
    except Exception as exc:  # noqa: BLE001
        queue.put(ClientResult(username, errors=[f"client crashed: {type(exc).__name__}: {exc}"]))


class Clients:
    """``count`` clients as threads of this process or as processes (no shared GIL)."""

    def __init__(self, mode: str, port: int, usernames: list[str], duration: float) -> None:
        self.mode, self.port, self.usernames, self.duration = mode, port, usernames, duration
        self.processes: list[ForkProcess] = []
        self.threads: list[threading.Thread] = []
        self.results: list[ClientResult] = []
        self.barrier: threading.Barrier | multiprocessing.synchronize.Barrier
        if mode == "process":
            self.context = multiprocessing.get_context("fork")
            self.barrier = self.context.Barrier(len(usernames) + 1)
            self.queue = self.context.Queue()
        else:
            self.barrier = threading.Barrier(len(usernames) + 1)

    def start(self) -> None:
        for n, username in enumerate(self.usernames):
            if self.mode == "process":
                process = self.context.Process(target=_process_client, daemon=True, args=(
                    self.port, username, self.duration, self.barrier, n, self.queue))
                process.start()
                self.processes.append(process)
            else:
                thread = threading.Thread(target=lambda u=username, s=n: self.results.append(
                    client_loop(self.port, u, self.duration, self.barrier, s)), daemon=True)
                thread.start()
                self.threads.append(thread)

    def go(self) -> float:
        """Wait until every client logged in; the run starts now."""
        self.barrier.wait(timeout=300)
        return time.monotonic()

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid] if self.processes else [os.getpid()]

    def join(self) -> list[ClientResult]:
        if self.mode == "process":
            for _ in self.processes:
                self.results.append(self.queue.get(timeout=self.duration + 120))
            for process in self.processes:
                process.join(timeout=10)
        else:
            for thread in self.threads:
                thread.join(timeout=self.duration + 120)
        return self.results

    def stop(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


# --- CPU from /proc ------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from the 3rd (state) on


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _proc_stat(int(entry))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def tree_ticks(roots: list[int], *, descend: bool = True) -> int:
    """CPU ticks of the process trees under ``roots`` (live processes, plus reaped children of the roots)."""
    children = _children_map() if descend else {}
    total, seen, stack = 0, set(), list(roots)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        fields = _proc_stat(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime, stime
            if descend and pid in roots:
                total += int(fields[13]) + int(fields[14])  # cutime, cstime of reaped children
        stack.extend(children.get(pid, []))
    return total


def tree_pids(roots: list[int], *, descend: bool = True) -> set[int]:
    children = _children_map() if descend else {}
    seen, stack = set(), list(roots)
    while stack:
        pid = stack.pop()
        if pid not in seen:
            seen.add(pid)
            stack.extend(children.get(pid, []))
    return seen


def all_ticks() -> dict[int, int]:
    """utime + stime of every live process."""
    ticks = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _proc_stat(int(entry))
            if fields:
                ticks[int(entry)] = int(fields[11]) + int(fields[12])
    return ticks


def command_of(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        raw = ""
    return (raw or f"pid {pid}")[:90]


def machine_ticks() -> tuple[int, int, int, int]:
    """(busy, total, interrupts, steal) ticks of all CPUs (steal: taken by the hypervisor's other guests)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    values += [0] * (8 - len(values))
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values), values[5] + values[6], values[7]


# --- services ------------------------------------------------------------------------------

class Services:
    """The throwaway PostgreSQL and gunicorn; ``close`` stops what was started, once."""

    def __init__(self, scheduler: str = "off") -> None:
        self.scheduler = scheduler
        self.pg_dir: str | None = None
        self.log_dir = tempfile.mkdtemp(prefix="himaya-api-bench-")
        self.server: subprocess.Popen[bytes] | None = None
        self.server_log: Any = None
        self.url = ""
        self.port = 0

    def start_sqlite(self) -> str:
        """A new SQLite file in the run's folder (removed at the end), as ``make run`` uses."""
        self.url = f"sqlite:///{Path(self.log_dir) / 'himaya.sqlite'}"
        return self.url

    def start_postgres(self, durable: bool = False) -> str:
        self.pg_dir = tempfile.mkdtemp(prefix="himaya-bench-pg-")  # /tmp is traversable by `postgres`
        self.url = start_postgres(self.pg_dir, durable=durable or os.environ.get("HIMAYA_PG_DURABLE") == "1")
        return self.url

    def postmaster_pid(self) -> int | None:
        try:
            return int(Path(self.pg_dir or "", "data", "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start_server(self, workers: int) -> int:
        self.port = free_port()
        env = {**os.environ, "HIMAYA_DATABASE_URL": self.url, "HIMAYA_SECRET_KEY": "bench",
               "HIMAYA_SCHEDULER": self.scheduler}
        self.server_log = open(Path(self.log_dir) / "gunicorn.log", "wb")  # noqa: SIM115
        self.server = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "himaya"), "serve", "--host", HOST, "--port", str(self.port),
             "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=self.server_log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.server.returncode}: {self.log_tail()}")
            try:
                status, _, _ = request(self.port, "GET", "/healthz")
                if status == 200:
                    return self.port
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join((Path(self.log_dir) / "gunicorn.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def close(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()  # gunicorn master: graceful stop of its workers
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.server.pid, signal.SIGKILL)  # the group of the one process we started
                except ProcessLookupError:
                    pass
                self.server.wait(timeout=10)
        self.server = None
        if self.server_log is not None:
            self.server_log.close()
            self.server_log = None
        if self.pg_dir is not None:
            stop_postgres(self.pg_dir)
            shutil.rmtree(self.pg_dir, ignore_errors=True)
            self.pg_dir = None
        shutil.rmtree(self.log_dir, ignore_errors=True)


# --- measurements ---------------------------------------------------------------------------

def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def stats_ms(samples: list[float]) -> dict[str, float]:
    return {"n": len(samples), "p50": percentile(samples, 50) * 1000, "p95": percentile(samples, 95) * 1000,
            "p99": percentile(samples, 99) * 1000,
            "mean": (sum(samples) / len(samples) * 1000) if samples else float("nan")}


def sequential(port: int, token: str, path: str, count: int) -> dict[str, float]:
    samples = []
    for _ in range(count):
        status, data, seconds = request(port, "GET", path, token=token)
        if status != 200:
            raise RuntimeError(f"{path}: HTTP {status} {data[:200]!r}")
        samples.append(seconds)
    return stats_ms(samples)


def sequential_work(port: int, token: str, count: int) -> dict[str, dict[str, float]]:
    """One case worker alone: ``count`` task lists, each followed by a completion."""
    listed, completed = [], []
    for _ in range(count):
        status, data, seconds = request(port, "GET", LIST_PATH, token=token)
        if status != 200:
            raise RuntimeError(f"task list: HTTP {status} {data[:200]!r}")
        listed.append(seconds)
        items = [i for i in json.loads(data)["items"] if i["name"] == "reception_listening"]
        if not items:
            break
        status, data, seconds = request(port, "POST", f"/api/v1/tasks/{items[0]['id']}/complete",
                                        COMPLETE_BODY, token=token)
        if status != 200:
            raise RuntimeError(f"complete: HTTP {status} {data[:200]!r}")
        completed.append(seconds)
    return {"/tasks?scope=available&per_page=20": stats_ms(listed), "/tasks/{id}/complete": stats_ms(completed)}


def warm_up(port: int, workers: int, case_worker: str) -> None:
    """Every gunicorn worker compiles the pathway and opens its pool on first use."""
    token = login(port, case_worker)
    for _ in range(4 * workers):
        status, data, _ = request(port, "GET", LIST_PATH, token=token)
        if status != 200:
            raise RuntimeError(f"warm-up task list: HTTP {status} {data[:200]!r}")
    items = [i for i in json.loads(data)["items"] if i["name"] == "reception_listening"]
    for item in items[: 2 * workers]:
        request(port, "POST", f"/api/v1/tasks/{item['id']}/complete", COMPLETE_BODY, token=token)


def explain_task_list(url: str, username: str) -> tuple[str, str]:
    """The plans of the count and page queries of GET /tasks?scope=available (as in
    api/readers/tasks.py): PostgreSQL's EXPLAIN (ANALYZE, BUFFERS), SQLite's EXPLAIN QUERY PLAN."""
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from api.auth import Principal
    from api.readers.tasks import page_statements
    from engine.db import Database
    from engine.models import User

    database = Database(url)
    explain = "EXPLAIN QUERY PLAN" if database.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS)"
    try:
        with database.reading() as session:
            user = session.execute(select(User).where(User.username == username)).scalar_one()
            principal = Principal(user.id, user.username, user.role, user.province, user.unit, user.sector,
                                  user.language)
            # The very statements GET /tasks?scope=available runs (api/readers/tasks.py).
            query, page = page_statements(principal, datetime.now(UTC), "available")
            count = select(func.count()).select_from(query.subquery())
            plans = []
            for statement in (count, page):
                compiled = statement.compile(dialect=database.engine.dialect, compile_kwargs={"literal_binds": True})
                rows = session.connection().exec_driver_sql(f"{explain} {compiled}").all()
                plans.append("\n".join(str(r[-1]) for r in rows))  # PostgreSQL: one column; SQLite: the detail last
            return plans[0], plans[1]
    finally:
        database.dispose()


def raw_spiff(count: int) -> dict[str, float]:
    """The listening step completed ``count`` times in stock SpiffWorkflow, in memory."""
    from engine_bench import ANSWERS, RawRunner

    runner = RawRunner()
    samples = []
    for _ in range(count):
        workflow = runner.start(categories=["out_of_school"], risk_level="medium", immediate_danger=False)
        samples.append(runner.complete(workflow, "reception_listening", ANSWERS["reception_listening"]))
    return stats_ms(samples)


# --- report ------------------------------------------------------------------------------------

def met(passed: bool) -> str:
    return "**met**" if passed else "**missed**"


def durability(settings: dict[str, str]) -> str:
    if settings["fsync"] == "off" or settings["synchronous_commit"] == "off":
        return (f"**fsync={settings['fsync']}, synchronous_commit={settings['synchronous_commit']}** (commits do "
                "not wait for the disk: figures are optimistic for a durable setup; `--durable` keeps them on)")
    return "none for durability (fsync=on, synchronous_commit=on: every commit waits for the disk)"


def code_version() -> str:
    """The commit measured, and whether the working tree had changes."""
    def git(*argv: str) -> str:
        out = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True, check=False)
        return out.stdout.strip() if out.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown (no git)"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"commit `{commit}`" + (" with uncommitted changes in the working tree" if dirty else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def build_report(r: dict[str, Any]) -> str:
    c, lst, sup = r["complete"], r["list"], r["supervision"]
    cpu, per = r["cpu"], r["cpu_ms_per_completion"]
    rate = r["completions_per_s"]
    lines = [
        f"## API: concurrent case workers over HTTP ({r['database_name']}, gunicorn)",
        "",
        f"Command: `{r['command']}`  ",
        f"Machine: {r['cores']} cores ({r['cpu_model']}), {platform.machine()}, Python {platform.python_version()}, "
        f"{r['pg_version']} — {r['when']:%Y-%m-%d %H:%M} UTC  ",
        f"Code: {r['code']}.  ",
        f"Server: `himaya serve --workers {r['workers']}` (gunicorn gthread workers, 4 threads each, "
        f"access log to a file, HIMAYA_SCHEDULER={r['scheduler']}); "
        f"{r['database_setup']} Client, gunicorn and the database "
        f"share the same {r['cores']} cores.  ",
        f"Data: {r['open_tasks']:,} open tasks ({r['cases']:,} cloned open cases in {r['provinces']} provinces, "
        f"~{r['cases'] // max(r['provinces'], 1):,} per unit) and {r['history_rows']:,} `case_events` rows, "
        f"bulk-loaded by `bench/bulk_load.py` in {r['load_seconds']:.0f} s "
        f"({r['verified']} clones verified through the engine).  ",
        f"Clients: {r['clients']} {'threads of one process' if r['client_mode'] == 'thread' else 'processes'} "
        f"(each a different `bench.<province>` case worker), "
        f"{r['duration']:.0f} s: task list, then complete one listed `reception_listening` task.",
        "",
        "| | requests | p50 ms | p95 ms | p99 ms | mean ms | target |",
        "|---|---:|---:|---:|---:|---:|---|",
        f"| complete (`POST /tasks/{{id}}/complete`) | {c['n']:,} | {c['p50']:.1f} | {c['p95']:.1f} | "
        f"{c['p99']:.1f} | {c['mean']:.1f} | "
        f"p95 ≤ {TARGET_COMPLETE_P95_MS:.0f} ms: {met(c['p95'] <= TARGET_COMPLETE_P95_MS)} |",
        f"| task list (`GET /tasks?scope=available&per_page=20`) | {lst['n']:,} | {lst['p50']:.1f} | "
        f"{lst['p95']:.1f} | {lst['p99']:.1f} | {lst['mean']:.1f} | "
        f"p95 ≤ {TARGET_LIST_P95_MS:.0f} ms: {met(lst['p95'] <= TARGET_LIST_P95_MS)} |",
        "",
        f"Completions: **{rate:.0f}/s** (target ≥ {TARGET_COMPLETIONS:.0f}/s: {met(rate >= TARGET_COMPLETIONS)}); "
        f"requests of both kinds: {(c['n'] + lst['n']) / r['elapsed']:.0f}/s. "
        f"Conflicts (409, task taken by another client): {r['conflicts']}. "
        f"Errors (5xx, unexpected status, connection failure): **{len(r['errors'])}**"
        + (f" — first: `{r['errors'][0][:160]}`" if r["errors"] else "") + ".",
        "",
        f"Single client (no queueing; target ≤ {TARGET_ALONE_MS:.0f} ms each), 50 sequential requests each, "
        "after the load and before the concurrent "
        f"run: the supervision lists as the coordinator `{r['coordinator']}` ({r['coordinator_open']:,} open "
        f"tasks in the province, {r['coordinator_overdue']:,} overdue), task list and complete as the case "
        f"worker `{r['case_worker_alone']}`:",
        "",
        "| | p50 ms | p95 ms | p99 ms | mean ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, s in [*sup.items(), *r["alone"].items()]:
        lines.append(f"| `{name}` | {s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f} | {s['mean']:.1f} |")
    lines += [
        "",
        f"CPU during the run (/proc, share of the {r['cores']} cores): machine busy {cpu['machine']:.0f}% — "
        f"gunicorn workers {cpu['gunicorn']:.0f}%"
        + (f", PostgreSQL {cpu['postgres']:.0f}%" if r["database"] == "postgresql" else " (SQLite inside them)")
        + ", "
        f"benchmark clients {cpu['clients']:.0f}%, other processes on the machine (not started by the "
        f"benchmark) {cpu['other']:.0f}%"
        + (" — **the machine was shared: figures are disturbed** ("
           + (", ".join(f"`{name[:50]}` {share:.0f}%" for name, share in r["others"][:2])
              or "processes that ended before the run did") + ")"
           if cpu["other"] >= 10 else "")
        + f", interrupts {cpu['interrupts']:.0f}%, steal {cpu['steal']:.0f}%"
        + (" — **the hypervisor gave the cores to others: figures are disturbed**" if cpu["steal"] >= 5 else "")
        + ". "
        f"CPU per completion (its task list included): gunicorn {per['gunicorn']:.1f} ms, "
        + (f"PostgreSQL {per['postgres']:.1f} ms, " if r["database"] == "postgresql" else "")
        + f"client {per['clients']:.1f} ms — server side "
        f"{per['gunicorn'] + per['postgres']:.1f} ms (target ≤ {TARGET_CPU_MS:.0f} ms: "
        f"{met(per['gunicorn'] + per['postgres'] <= TARGET_CPU_MS)}); "
        f"{TARGET_COMPLETIONS:.0f} completions/s would need about "
        f"{TARGET_COMPLETIONS * (per['gunicorn'] + per['postgres']) / 1000:.1f} cores for the server side alone. "
        f"{r['limit']}",
        "",
    ]
    raw = r["raw"]
    lines += [
        f"Raw SpiffWorkflow in the same run (stock engine, in memory, no database): the same step completed "
        f"{raw['n']} times, {raw['p50']:.2f} ms p50, {raw['mean']:.2f} ms mean — the floor under the "
        f"{c['p50']:.1f} ms p50 of a completion over HTTP.",
        "",
    ]
    if r.get("plan"):
        lines += [
            f"Plan of the task-list page query after the run (`{r['explain']}`, as `{r['case_worker']}`):",
            "",
            "```",
            r["plan"].strip(),
            "```",
            "",
        ]
    return "\n".join(lines)


def limit_line(cpu: dict[str, float], workers: int, cores: int) -> str:
    if cpu["machine"] >= 90:
        parts = sorted(((cpu["gunicorn"], "the gunicorn workers (Python: Flask, marshmallow, SpiffWorkflow, "
                                          "SQLAlchemy)"),
                        (cpu["postgres"], "PostgreSQL"), (cpu["clients"], "the benchmark clients")), reverse=True)
        return (f"Limit: CPU — the {cores} cores are saturated; the largest share goes to {parts[0][1]}, "
                f"then {parts[1][1]}. With {workers} workers on 2 cores, requests beyond what the cores run wait "
                f"in the listen queue, so latency percentiles include queueing.")
    return (f"Limit: not CPU (machine {cpu['machine']:.0f}% busy): with {workers} workers a request "
            f"waits for a free worker; more workers or a threaded worker class would use the idle CPU.")


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt()  # SIGTERM cleans up as Ctrl-C does


def run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    services = Services(args.scheduler)
    clients: Clients | None = None
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if args.database == "sqlite":
            print(f"SQLite: {services.start_sqlite()}", flush=True)
        else:
            print(f"PostgreSQL: {services.start_postgres(args.durable)}", flush=True)
        history_rows = args.history_rows if args.history_rows is not None else 10 * args.cases
        begin = time.perf_counter()
        loaded = bulk_load.load(services.url, args.cases, history_rows=history_rows, verify=args.verify,
                                log=lambda line: print(f"[load] {line}", flush=True))
        load_seconds = time.perf_counter() - begin
        print(f"[load] done in {load_seconds:.1f} s", flush=True)

        from sqlalchemy import create_engine, text

        probe = create_engine(services.url)
        with probe.connect() as conn:
            if args.database == "sqlite":
                import sqlite3

                pg_settings = {"journal_mode": conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()}
                database_name = f"SQLite {sqlite3.sqlite_version}"
                database_setup = (f"SQLite file (journal_mode={pg_settings['journal_mode']}, synchronous=NORMAL, "
                                  "as Himaya opens it; one writer at a time, `BEGIN IMMEDIATE`).")
            else:
                pg_version = conn.execute(text("SHOW server_version")).scalar_one()
                pg_settings = {name: conn.execute(text(f"SHOW {name}")).scalar_one()
                               for name in ("fsync", "synchronous_commit", "max_connections", "shared_buffers")}
                database_name = f"PostgreSQL {pg_version}"
                database_setup = (f"PostgreSQL throwaway server (`scripts/pg-throwaway`), defaults except: "
                                  f"{durability(pg_settings)}, max_connections={pg_settings['max_connections']} "
                                  f"(shared_buffers={pg_settings['shared_buffers']}, the default).")
            open_tasks = conn.execute(text("SELECT count(*) FROM open_tasks")).scalar_one()
            history = conn.execute(text("SELECT count(*) FROM case_events")).scalar_one()
            first = loaded.provinces[0]
            coordinator_open = conn.execute(text("SELECT count(*) FROM open_tasks WHERE province = :p"),
                                            {"p": first}).scalar_one()
            coordinator_overdue = conn.execute(text(
                "SELECT count(*) FROM open_tasks WHERE province = :p AND due_at < :now"),
                {"p": first, "now": datetime.now(UTC).replace(tzinfo=None)}).scalar_one()
        probe.dispose()

        raw = raw_spiff(args.raw)
        print(f"raw SpiffWorkflow: {json.dumps(raw)}", flush=True)
        workers = args.workers or os.cpu_count() or 2
        port = services.start_server(workers)
        print(f"gunicorn: {workers} workers on port {port}", flush=True)
        warm_up(port, workers, loaded.case_workers[-1])

        token = login(port, loaded.coordinator)
        supervision = {}
        for path in ("/api/v1/supervision/overdue?per_page=50", "/api/v1/supervision/summary"):
            for _ in range(2 * workers):
                request(port, "GET", path, token=token)
            supervision[path.removeprefix("/api/v1")] = sequential(port, token, path, 50)
        print(f"supervision: {json.dumps(supervision)}", flush=True)
        alone = sequential_work(port, login(port, loaded.case_workers[1]), 50)
        print(f"single case worker: {json.dumps(alone)}", flush=True)

        usernames = [loaded.case_workers[n % len(loaded.case_workers)] for n in range(args.clients)]
        clients = Clients(args.client_mode, port, usernames, args.duration)
        clients.start()
        start = clients.go()
        postmaster = services.postmaster_pid()
        assert services.server is not None, "start_server started it"
        groups = {"gunicorn": [services.server.pid], "postgres": [postmaster] if postmaster else [],
                  "clients": clients.pids()}
        descend = {"gunicorn": True, "postgres": True, "clients": args.client_mode == "process"}
        before = {name: tree_ticks(pids, descend=descend[name]) for name, pids in groups.items()}
        everyone_before = all_ticks()
        machine_before = machine_ticks()
        # Sample every process twice a second, so that short-lived strangers are seen too.
        last_seen: dict[int, int] = {}
        names: dict[int, str] = {}
        ours: set[int] = set()
        top = ""
        while (remaining := start + args.duration - time.monotonic()) > 0:
            time.sleep(min(0.5, remaining))
            ours |= set().union(*(tree_pids(pids, descend=descend[name]) for name, pids in groups.items()))
            for pid, ticks in all_ticks().items():
                last_seen[pid] = ticks
                if pid not in names:
                    names[pid] = command_of(pid)
            if not top and time.monotonic() >= start + args.duration / 2:
                top = subprocess.run(["top", "-b", "-c", "-n1", "-w", "200"], capture_output=True, text=True,
                                     check=False).stdout
        after = {name: tree_ticks(pids, descend=descend[name]) for name, pids in groups.items()}
        everyone_after = {**last_seen, **all_ticks()}
        machine_after = machine_ticks()
        window = (machine_after[1] - machine_before[1]) or 1
        cores = os.cpu_count() or 1
        cpu = {name: 100 * (after[name] - before[name]) / window for name in groups}  # share of all cores
        cpu["machine"] = 100 * (machine_after[0] - machine_before[0]) / window
        cpu["interrupts"] = 100 * (machine_after[2] - machine_before[2]) / window
        cpu["steal"] = 100 * (machine_after[3] - machine_before[3]) / window
        cpu["other"] = max(0.0, cpu["machine"] - cpu["gunicorn"] - cpu["postgres"] - cpu["clients"]
                           - cpu["interrupts"] - cpu["steal"])
        strangers = sorted(((ticks - everyone_before.get(pid, 0), pid) for pid, ticks in everyone_after.items()
                            if pid not in ours), reverse=True)
        others = [(names.get(pid) or command_of(pid), 100 * ticks / window) for ticks, pid in strangers[:3]
                  if 100 * ticks / window >= 1]
        for command_line, share in others:
            print(f"other process during the run: {share:.0f}% {command_line}", flush=True)
        cpu_seconds = {name: (after[name] - before[name]) / CLOCK_TICKS for name in groups}
        results = clients.join()
        clients = None
        print("top, half-way through the run:\n" + "\n".join(top.splitlines()[:22]), flush=True)

        ended = max((res.ended for res in results), default=start + args.duration)
        elapsed = max(ended - start, 1e-9)
        complete = [s for res in results for s in res.complete_s]
        listed = [s for res in results for s in res.list_s]
        errors = [e for res in results for e in res.errors]
        plan = ""
        if args.explain:
            count_plan, plan = explain_task_list(services.url, loaded.case_workers[0])
            print("Plan of the count query:\n" + count_plan + "\n\nPlan of the page query:\n" + plan, flush=True)
        report = {
            "command": command, "cores": cores, "cpu_model": cpu_model(), "pg_version": database_name,
            "database": args.database, "database_name": database_name, "database_setup": database_setup,
            "raw": raw, "explain": "EXPLAIN QUERY PLAN" if args.database == "sqlite" else "EXPLAIN ANALYZE",
            "when": datetime.now(UTC), "workers": workers, "clients": args.clients,
            "client_mode": args.client_mode, "duration": args.duration, "elapsed": elapsed,
            "scheduler": args.scheduler, "code": code_version(), "pg_settings": pg_settings,
            "cases": loaded.cases, "provinces": len(loaded.provinces), "open_tasks": open_tasks,
            "history_rows": history, "load_seconds": load_seconds, "verified": loaded.verified,
            "complete": stats_ms(complete), "list": stats_ms(listed),
            "completions_per_s": len(complete) / elapsed,
            "conflicts": sum(res.conflicts for res in results), "errors": errors,
            "empty_lists": sum(res.empty_lists for res in results),
            "supervision": supervision, "coordinator": loaded.coordinator,
            "alone": alone, "case_worker_alone": loaded.case_workers[1],
            "coordinator_open": coordinator_open, "coordinator_overdue": coordinator_overdue,
            "cpu": cpu, "limit": limit_line(cpu, workers, cores), "plan": plan, "others": others,
            "cpu_ms_per_completion": {name: 1000 * seconds / max(len(complete), 1)
                                      for name, seconds in cpu_seconds.items()},
            "case_worker": loaded.case_workers[0], "load_timings": loaded.timings,
        }
        if report["empty_lists"]:
            print(f"note: {report['empty_lists']} task lists held no reception task (units ran out of work)",
                  flush=True)
        for error in errors[:10]:
            print(f"error: {error}", file=sys.stderr)
        return report
    except Exception:
        if services.server is not None:
            print("gunicorn log (tail):\n" + services.log_tail(), file=sys.stderr)
        raise
    finally:
        if clients is not None:
            clients.stop()
        services.close()
        signal.signal(signal.SIGTERM, previous_term)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql",
                        help="a throwaway PostgreSQL (default) or a new SQLite file, as `make run` uses")
    parser.add_argument("--raw", type=int, default=300, help="completions in stock SpiffWorkflow before the run")
    parser.add_argument("--cases", type=int, default=100_000, help="open cases to load")
    parser.add_argument("--history-rows", type=int, default=None, help="case_events rows (default: 10 per case)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of the concurrent run")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: CPU cores)")
    parser.add_argument("--client-mode", choices=("thread", "process"), default="thread",
                        help="clients as threads of this process (default) or as processes")
    parser.add_argument("--durable", action="store_true",
                        help="PostgreSQL with fsync and synchronous_commit on (HIMAYA_PG_DURABLE=1)")
    parser.add_argument("--scheduler", choices=("off", "on"), default="off",
                        help="HIMAYA_SCHEDULER of the server (default off: the API alone is measured)")
    parser.add_argument("--verify", type=int, default=20, help="clones completed through the engine after the load")
    parser.add_argument("--no-explain", dest="explain", action="store_false",
                        help="skip EXPLAIN ANALYZE of the task-list query")
    parser.add_argument("--write", default=str(ROOT / "docs" / "benchmarks.md"),
                        help="markdown file to write ('' to skip)")
    args = parser.parse_args()
    command = "python bench/api_bench.py " + " ".join(sys.argv[1:])
    try:
        report = run(args, command.strip())
    except KeyboardInterrupt:
        print("interrupted: everything started was stopped", file=sys.stderr)
        return 130
    text = build_report(report)
    print(text)
    if args.write:
        from report import write_section

        write_section(Path(args.write), "api-bench" if args.database == "postgresql" else "api-bench-sqlite", text)
        print(f"written to {args.write}")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
