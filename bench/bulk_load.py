"""Bulk loader for benchmarks: many open cases in a few minutes, through the project's tables.

Calling the engine once per case costs milliseconds; loading 100 000 cases that way takes
too long for a benchmark. This loader starts ONE real case through ``Engine.start_case`` (a
low-risk report, ``out_of_school``, no emergency: its only open task is
``reception_listening``), reads back its ``cases``, ``case_workflows`` and ``open_tasks``
rows, and clones them N times, round-robin over the provinces of the ``provinces`` table:

- each clone gets a new case id, a new reference ``BEN-<year>-<n>``, its province and unit
  ``upe-<province>``, and new SpiffWorkflow task ids: every task id of the template state
  (keys of ``tasks`` and the ``parent``/``children``/``root``/``last_task`` fields) is
  replaced by a fresh uuid4, and the case reference, province and unit in the task data
  are replaced too; the clone's ``open_tasks`` row has the new id of the template's open
  task;
- ``created_at`` (and ``opened_at``) are spread over the last 30 days; every other time of the
  template rows (``due_at``, …) moves with it, so the due rule holds (low risk: 7 days) and
  about three quarters of the tasks are overdue;
- ``case_events`` gets the history the engine writes (``case_opened``, ``step_started``)
  plus, with ``--history-rows``, enough audit events (``tasks_listed``, ``case_viewed``, …,
  the kinds the API records on reads) for the table to hold that many rows.
  ``task_history`` stays empty for the clones: they have not completed any step yet.

It also creates, for every province, a unit ``upe-<province>`` and a case worker
``bench.<province>`` (password ``bench``), and one coordinator ``bench.cape.<first province>``.

Rows are written with PostgreSQL ``COPY`` (psycopg's ``cursor.copy``) in chunks of a few
thousand cases, one transaction per chunk; on SQLite, with SQLAlchemy Core ``insert``
executemany. ``--verify K`` then completes ``reception_listening`` on K random clones through
a real :class:`Engine` and checks that ``diagnosis_social`` opens: the cloned states are valid.

Usage:  .venv/bin/python bench/bulk_load.py --url postgresql+psycopg://… --cases 100000
        [--history-rows 1000000] [--chunk 5000] [--verify 20] [--seed 1]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import func, insert, select  # noqa: E402

from api.auth import hash_password  # noqa: E402
from api.setup import prepare  # noqa: E402
from engine import crypto, identity  # noqa: E402
from engine.assembly import assemble_engine  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.intake import age_on  # noqa: E402
from engine.models import Case, CaseEvent, CaseWorkflow, ChildNameKey, OpenTask, PathwayVersion, Province, User  # noqa: E402
from engine.reference_data import ensure_unit  # noqa: E402
from engine.runtime import Actor, Engine  # noqa: E402
from moroccan_names import FAMILY_NAMES, FIRST_NAMES  # noqa: E402

PASSWORD = "bench"
SPREAD = timedelta(days=30)
CASES, STATES, OPEN_TASKS, EVENTS, USERS = (Case.__table__, CaseWorkflow.__table__, OpenTask.__table__,
                                            CaseEvent.__table__, User.__table__)
KEYS = ChildNameKey.__table__
ARABIC_SHARE = 0.25  # reports written in Arabic script (police, some schools)
OTHER_SCRIPT_SHARE = 0.1  # reports that also give the names in the other script
# Audit events the API writes on reads (engine.record_access): the bulk of a real audit trail.
ACCESS_KINDS = ("tasks_listed", "case_viewed", "task_viewed", "history_viewed", "case_listed")
RECEPTION_DATA = {"listening_date": "2026-11-20", "child_heard": True, "listening_summary": "x",
                  "diagnoses": ["social"]}


def case_worker_name(province: str) -> str:
    return f"bench.{province}"


def coordinator_name(province: str) -> str:
    return f"bench.cape.{province}"


def template_intake(province: str, now: datetime) -> dict[str, Any]:
    return {
        "child": {"first_name": "Bench", "last_name": "Clone", "sex": "F",
                  "birth_date": (now - timedelta(days=12 * 365 + 40)).date().isoformat(),
                  "civil_status_registered": True, "nationality": "MA"},
        "province": province, "unit": f"upe-{province}", "categories": ["out_of_school"],
        "report": {"source": "phone_line", "received_at": (now - timedelta(hours=1)).isoformat(),
                   "description": "Bench case (bulk-loaded clone)."},
        "emergency": {"medical": False, "immediate_danger": False},
        "consent": {"legal_basis": "protection_mandate", "child_informed": True, "guardian_informed": False},
    }


@dataclass
class LoadResult:
    url: str
    provinces: list[str]
    cases: int
    history_rows: int
    template_case_id: str
    case_workers: list[str]
    coordinator: str
    sample: list[tuple[str, str, str]] = field(default_factory=list)  # (case id, open task id, province)
    timings: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    verified: int = 0

    @property
    def total_seconds(self) -> float:
        return sum(self.timings.values())


# --- the template's workflow state, cut once into literal parts and slots ----------------------

class StateTemplate:
    """The template's state JSON as literal text and slots (task ids, reference, territory).

    ``render`` joins the literals with a clone's values: a single pass over ~9 KB of text.
    """

    def __init__(self, state: str, reference: str, province: str, unit: str) -> None:
        parsed = json.loads(state)
        self.task_ids = list(parsed["tasks"])
        for task_id in self.task_ids:
            uuid.UUID(task_id)
        tokens: dict[str, str] = {task_id: task_id for task_id in self.task_ids}
        for key, value in (("case_reference", reference), ("province", province), ("unit", unit)):
            tokens[f'"{key}":{json.dumps(value, ensure_ascii=False)}'] = key
        pattern = re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))
        self.literals: list[str] = []
        self.slots: list[str] = []
        position = 0
        for match in pattern.finditer(state):
            self.literals.append(state[position:match.start()])
            self.slots.append(tokens[match.group(0)])
            position = match.end()
        self.literals.append(state[position:])
        found = set(self.slots)
        missing = [k for k in ("case_reference", "province", "unit") if k not in found]
        if missing:
            raise ValueError(f"template state holds no {missing} in its task data")
        self.original = state

    def render(self, ids: dict[str, str], reference: str, province: str, unit: str) -> str:
        values = dict(ids)
        values["case_reference"] = f'"case_reference":{json.dumps(reference)}'
        values["province"] = f'"province":{json.dumps(province)}'
        values["unit"] = f'"unit":{json.dumps(unit)}'
        parts = [self.literals[0]]
        for slot, literal in zip(self.slots, self.literals[1:]):
            parts.append(values[slot])
            parts.append(literal)
        return "".join(parts)


def random_child(rng: random.Random, reported_on: datetime, keyring: crypto.Keyring
                 ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A clone's child: a common Moroccan name in Latin or Arabic script (sometimes both), a sex
    that goes with it, a birth date of 0 to 17 years; with the search keys the engine would store."""
    first, first_ar, sex = rng.choice(FIRST_NAMES)
    last, last_ar = rng.choice(FAMILY_NAMES)
    arabic = rng.random() < ARABIC_SHARE
    both = rng.random() < OTHER_SCRIPT_SHARE
    born = (reported_on - timedelta(days=rng.randrange(0, 17 * 365))).date()
    child = {"first_name": first_ar if arabic else first, "last_name": last_ar if arabic else last,
             "names_other_script": ({"first_name": first if arabic else first_ar,
                                     "last_name": last if arabic else last_ar} if both else None),
             "sex": sex, "birth_date": born}
    return child, identity.key_rows(identity.Identity.of_child(child, reported_on.date()), keyring)


def _shifted(row: dict[str, Any], keys: list[str], offset: timedelta) -> dict[str, Any]:
    moved = dict(row)
    for key in keys:
        moved[key] = row[key] + offset
    return moved


def _uuids(count: int, rng: random.Random) -> list[str]:
    """``count`` random version-4 uuids (from a seeded generator: reproducible loads)."""
    out = []
    for _ in range(count):
        out.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
    return out


# --- writers: COPY on PostgreSQL, Core executemany elsewhere ------------------------------

def _sealer(kind: crypto.Sealed, dialect: Any) -> Callable[[Any], Any]:
    return lambda value: kind.process_bind_param(value, dialect)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Writer:
    """Writes lists of row dicts to tables, timing each table."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.postgres = database.engine.dialect.name == "postgresql"
        self.seconds: dict[str, float] = {}
        self.rows: dict[str, int] = {}

    def write(self, batches: Sequence[tuple[Any, list[str], list[dict[str, Any]]]]) -> None:
        """One transaction: each (table, json columns, rows) in order."""
        if self.postgres:
            raw = self.database.engine.raw_connection()
            connection = raw.driver_connection
            assert connection is not None, "a connection just checked out of the pool is attached"
            try:
                with connection.cursor() as cursor:
                    for table, json_columns, rows in batches:
                        if rows:
                            self._copy(cursor, table, json_columns, rows)
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            finally:
                raw.close()
        else:
            with self.database.engine.begin() as conn:
                for table, _json_columns, rows in batches:
                    if rows:
                        begin = time.perf_counter()
                        conn.execute(insert(table), rows)
                        self._count(table.name, len(rows), time.perf_counter() - begin)

    def _copy(self, cursor: Any, table: Any, json_columns: list[str], rows: list[dict[str, Any]]) -> None:
        begin = time.perf_counter()
        columns = list(rows[0])
        dialect = self.database.engine.dialect
        # COPY bypasses the column types: a sealed column (engine.crypto) is sealed here, as an
        # INSERT through SQLAlchemy would, and JSON columns are encoded.
        encoders: list[Callable[[Any], Any] | None] = []
        for name in columns:
            kind = table.c[name].type
            if isinstance(kind, crypto.Sealed):
                encoders.append(_sealer(kind, dialect))
            elif name in json_columns:
                encoders.append(_json)
            else:
                encoders.append(None)
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[c] if encode is None or row[c] is None else encode(row[c])
                                for c, encode in zip(columns, encoders)])
        self._count(table.name, len(rows), time.perf_counter() - begin)

    def _count(self, name: str, rows: int, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.rows[name] = self.rows.get(name, 0) + rows


# --- phases -------------------------------------------------------------------------------

def _ensure_people(engine: Engine, provinces: list[str], now: datetime) -> tuple[list[str], str]:
    """Units ``upe-<province>``, case workers ``bench.<province>`` and one coordinator."""
    first = provinces[0]
    with engine.db.transaction() as session:
        for province in provinces:
            ensure_unit(session, f"upe-{province}", province, "upe", f"UPE {province}")
        ensure_unit(session, f"cape-{first}", first, "cape", f"CAPE {first}")
        wanted: list[dict[str, str | None]] = [
            {"username": case_worker_name(p), "role": "case_worker", "province": p, "unit": f"upe-{p}"}
            for p in provinces]
        wanted.append({"username": coordinator_name(first), "role": "coordinator", "province": first, "unit": None})
        existing = set(session.scalars(select(User.username).where(
            User.username.in_([w["username"] for w in wanted]))))
        missing = [w for w in wanted if w["username"] not in existing]
        if missing:
            password_hash = hash_password(PASSWORD)  # argon2 is slow: one hash for every user
            session.execute(insert(USERS), [{
                **w, "password_hash": password_hash, "full_name": w["username"], "sector": None,
                "language": "fr", "active": True, "created_at": now, "password_changed_at": now}
                for w in missing])
    return [case_worker_name(p) for p in provinces], coordinator_name(first)


def _template(engine: Engine, province: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Start one real case and read back its three runtime rows."""
    result = engine.start_case(template_intake(province, engine.now()),
                               Actor(case_worker_name(province), "case_worker"))
    steps = [t.step for t in result.open_tasks]
    if steps != ["reception_listening"]:
        raise RuntimeError(f"the template case should wait at reception_listening only, not {steps}")
    with engine.db.engine.connect() as conn:
        case = dict(conn.execute(select(CASES).where(CASES.c.id == result.case_id)).one()._mapping)
        state = dict(conn.execute(select(STATES).where(STATES.c.case_id == result.case_id)).one()._mapping)
        task = dict(conn.execute(select(OPEN_TASKS).where(OPEN_TASKS.c.case_id == result.case_id)).one()._mapping)
    return case, state, task


def load(url: str, cases: int, *, history_rows: int = 0, chunk: int = 5000, seed: int = 1,
         verify: int = 0, sample_size: int = 1000, log: Callable[[str], None] = print) -> LoadResult:
    """Prepare the database and load ``cases`` cloned open cases; see the module docstring."""
    rng = random.Random(seed)
    timings: dict[str, float] = {}

    begin = time.perf_counter()
    database = Database(url)
    engine = assemble_engine(database)
    prepare(engine)
    timings["prepare (migrate, provinces, deploy)"] = time.perf_counter() - begin
    log(f"prepare: {timings['prepare (migrate, provinces, deploy)']:.2f} s")

    begin = time.perf_counter()
    with database.reading() as session:
        provinces = list(session.scalars(select(Province.code).order_by(Province.code)))
    if not provinces:
        raise RuntimeError("no provinces: the database is not prepared")
    now = engine.now()
    case_workers, coordinator = _ensure_people(engine, provinces, now)
    timings["units and users"] = time.perf_counter() - begin
    log(f"units and users: {len(provinces)} provinces, {len(case_workers) + 1} users, "
        f"{timings['units and users']:.2f} s")

    begin = time.perf_counter()
    case_row, state_row, task_row = _template(engine, provinces[0])
    template = StateTemplate(state_row["state"], case_row["reference"], case_row["province"], case_row["unit"])
    open_task_id = task_row["id"]
    if open_task_id not in template.task_ids:
        raise RuntimeError("the template's open task is not in its workflow state")
    template_created = task_row["created_at"]
    case_times, state_times, task_times = ([k for k, v in row.items() if isinstance(v, datetime)]
                                           for row in (case_row, state_row, task_row))
    with database.reading() as session:
        version = session.execute(select(Case.pathway_version_id).where(Case.id == case_row["id"])).scalar_one()
        year = now.year
        already = session.scalar(select(func.count()).select_from(Case).where(
            Case.reference.like(f"BEN-{year}-%"))) or 0
    timings["template case (engine)"] = time.perf_counter() - begin
    log(f"template case {case_row['reference']}: {len(template.task_ids)} tasks, "
        f"{len(state_row['state'])} bytes of state, {timings['template case (engine)']:.2f} s")

    extra_events = max(0, history_rows - 2 * cases)
    writer = Writer(database)
    sample: list[tuple[str, str, str]] = []
    generated_seconds = 0.0
    begin = time.perf_counter()
    with database.reading() as session:
        pathway_version = session.get_one(PathwayVersion, version).version
    pathway_detail = {"pathway": task_row["pathway_key"], "version": pathway_version,
                      "risk_level": case_row["risk_level"], "categories": case_row["categories"]}
    spread_seconds = SPREAD.total_seconds()
    done = 0
    extra_done = 0
    while done < cases:
        size = min(chunk, cases - done)
        started = time.perf_counter()
        case_rows: list[dict[str, Any]] = []
        state_rows: list[dict[str, Any]] = []
        task_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        key_rows: list[dict[str, Any]] = []
        # extra audit events of this chunk, so that the total reaches history_rows evenly
        extra_target = extra_events * (done + size) // cases if cases else 0
        extra_here = extra_target - extra_done
        extra_done = extra_target
        for k in range(size):
            n = done + k
            number = already + n + 1
            province = provinces[n % len(provinces)]
            unit = f"upe-{province}"
            case_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            reference = f"BEN-{year}-{number:07d}"
            ids = dict(zip(template.task_ids, _uuids(len(template.task_ids), rng)))
            created = now - timedelta(seconds=rng.random() * spread_seconds)
            actor = case_worker_name(province)
            # every time of the template rows moves with the clone's creation time (due dates,
            # escalation times… keep their distance to it)
            offset = created - template_created
            person, keys = random_child(rng, created, database.keys)
            other = person["names_other_script"] or {}
            case_rows.append({**_shifted(case_row, case_times, offset), "id": case_id, "reference": reference,
                              "province": province, "unit": unit, "child_first_name": person["first_name"],
                              "child_last_name": person["last_name"], "child_sex": person["sex"],
                              "child_first_name_other": other.get("first_name"),
                              "child_last_name_other": other.get("last_name"),
                              "child_birth_date": person["birth_date"], "child_age_estimate": None,
                              "child_birth_date_key": identity.birth_date_key(database.keys, person["birth_date"]),
                              "child_age_at_report": age_on(person["birth_date"], created.date()),
                              "child_birth_year": person["birth_date"].year, "created_by": actor})
            key_rows.extend({"case_id": case_id, "province": province, "field": f, "key": k,
                             "birth_year": person["birth_date"].year} for f, k in keys)
            state_rows.append({**_shifted(state_row, state_times, offset), "case_id": case_id,
                               "state": template.render(ids, reference, province, unit)})
            task_id = ids[open_task_id]
            task = _shifted(task_row, task_times, offset)
            due_at = task["due_at"]
            task_rows.append({**task, "id": task_id, "case_id": case_id, "province": province, "unit": unit,
                              "state": "ready", "assignee": None, "escalation_level": 0})
            event_rows.append({"case_id": case_id, "at": created, "actor": actor, "kind": "case_opened",
                               "step": None, "task_id": None, "detail": pathway_detail})
            event_rows.append({"case_id": case_id, "at": created, "actor": actor, "kind": "step_started",
                               "step": task_row["step"], "task_id": task_id,
                               "detail": {"due_at": due_at.isoformat() if due_at else None}})
            if len(sample) < sample_size:
                sample.append((case_id, task_id, province))
            elif rng.random() < sample_size / (n + 1):
                sample[rng.randrange(sample_size)] = (case_id, task_id, province)
        for j in range(extra_here):
            row = case_rows[j % size]
            age = (now - row["opened_at"]).total_seconds()
            kind = ACCESS_KINDS[j % len(ACCESS_KINDS)]
            event_rows.append({"case_id": row["id"], "at": row["opened_at"] + timedelta(seconds=rng.random() * age),
                               "actor": row["created_by"], "kind": kind, "step": None, "task_id": None,
                               "detail": {"source": "127.0.0.1"}})
        generated_seconds += time.perf_counter() - started
        writer.write([(CASES, ["categories", "report", "consent"], case_rows), (STATES, [], state_rows),
                      (OPEN_TASKS, [], task_rows), (EVENTS, ["detail"], event_rows), (KEYS, [], key_rows)])
        done += size
        if done == cases or (done // chunk) % 5 == 0:
            elapsed = time.perf_counter() - begin
            log(f"  {done:>9,} cases  {elapsed:7.1f} s  ({done / elapsed:,.0f} cases/s)")
    timings["clone rows (generate + write)"] = time.perf_counter() - begin
    log(f"clone: {cases:,} cases in {timings['clone rows (generate + write)']:.1f} s "
        f"(generating {generated_seconds:.1f} s)")
    for name in ("cases", "case_workflows", "open_tasks", "case_events", "child_name_keys"):
        if writer.rows.get(name):
            seconds = writer.seconds[name]
            log(f"  {name:<15} {writer.rows[name]:>10,} rows  {seconds:7.1f} s  "
                f"{writer.rows[name] / max(seconds, 1e-9):>10,.0f} rows/s")

    begin = time.perf_counter()
    if writer.postgres:
        with database.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            # VACUUM as autovacuum does after many inserts (PostgreSQL 13+): it sets the visibility
            # map, without which no index-only scan is chosen; a service in use is in that state.
            for name in ("cases", "case_workflows", "open_tasks", "case_events", "child_name_keys", "users", "units"):
                conn.exec_driver_sql(f"VACUUM (ANALYZE) {name}")
    else:
        with database.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    timings["analyze"] = time.perf_counter() - begin
    log(f"analyze: {timings['analyze']:.2f} s")

    with database.reading() as session:
        history_total = session.scalar(select(func.count()).select_from(CaseEvent))
        open_total = session.scalar(select(func.count()).select_from(OpenTask))
    result = LoadResult(url=url, provinces=provinces, cases=cases, history_rows=history_total or 0,
                        template_case_id=case_row["id"], case_workers=case_workers, coordinator=coordinator,
                        sample=sample, timings=timings, rows=dict(writer.rows))
    log(f"database now: {open_total:,} open tasks, {history_total:,} case_events rows")

    if verify:
        begin = time.perf_counter()
        result.verified = verify_clones(url, rng.sample(sample, min(verify, len(sample))))
        timings["verify (engine)"] = time.perf_counter() - begin
        log(f"verify: {result.verified} cloned cases completed through the engine, "
            f"diagnosis_social opened on each ({timings['verify (engine)']:.2f} s)")
    database.dispose()
    return result


def verify_clones(url: str, picked: Iterable[tuple[str, str, str]]) -> int:
    """Complete ``reception_listening`` on the picked clones with a fresh engine (no cache)."""
    database = Database(url)
    engine = assemble_engine(database)
    count = 0
    try:
        for case_id, task_id, province in picked:
            result = engine.complete(task_id, RECEPTION_DATA, Actor(case_worker_name(province), "case_worker"))
            steps = sorted(t.step for t in result.open_tasks)
            assert result.case_id == case_id, (result.case_id, case_id)
            assert steps == ["diagnosis_social"], f"case {case_id}: next open tasks {steps}"
            assert all(t.province == province and t.unit == f"upe-{province}" for t in result.open_tasks)
            with database.reading() as session:
                row = session.get(CaseWorkflow, case_id)
                assert row is not None and row.version == 2, "the runtime row was not written back"
            count += 1
    finally:
        database.dispose()
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="SQLAlchemy URL (postgresql+psycopg://… or sqlite:///…)")
    parser.add_argument("--cases", type=int, default=100_000, help="open cases to clone")
    parser.add_argument("--history-rows", type=int, default=0,
                        help="fill case_events up to this many rows (default: 2 per case)")
    parser.add_argument("--chunk", type=int, default=5000, help="cases per transaction")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--verify", type=int, default=0, metavar="K",
                        help="complete reception_listening on K random clones through the engine")
    args = parser.parse_args(argv)
    result = load(args.url, args.cases, history_rows=args.history_rows, chunk=args.chunk, seed=args.seed,
                  verify=args.verify)
    print(f"total: {result.total_seconds:.1f} s for {result.cases:,} cases "
          f"({result.history_rows:,} history rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
