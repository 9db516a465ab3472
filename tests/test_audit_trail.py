"""The audit trail that can forget and cannot be altered unseen (issue 20), on SQLite and
PostgreSQL: a completed step's event references the answers (fields, a keyed digest) instead of
copying them; the chaining job seals every case and administration event into a hash chain;
``himaya audit verify`` names the first broken link when a row is altered, swapped, deleted or
slipped in; erasing a reason keeps the chain whole; the database refuses to change an event's
facts."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from api.cli import main
from engine import admin_log, audit
from engine.models import CaseEvent, TaskRecord
from engine.runtime import Engine
from tests.helpers import ANSWERS, UPE, do, events, report

SUMMARY = "Écoute: elle dort chez une voisine depuis trois nuits"


def _case_with_history(engine: Engine) -> str:
    case_id = engine.start_case(report(engine), UPE).case_id
    do(engine, case_id, "reception_listening", **{**ANSWERS["reception_listening"], "listening_summary": SUMMARY})
    engine.set_risk_level(case_id, "high", "La voisine a vu des coups", UPE)
    with engine.db.transaction() as session:
        admin_log.record(session, at=engine.now(), actor="admin", action=admin_log.UNIT_CHANGED,
                         target_kind=admin_log.UNIT, target="upe-tanger", fields=["name"])
    return case_id


@pytest.fixture
def lift_fact_guard(engine: Engine) -> Iterator[Callable[[], None]]:
    """What someone writing to the database directly would do first (put back after the test:
    the PostgreSQL database is shared by the tests)."""
    def lift() -> None:
        with engine.db.engine.begin() as conn:
            if engine.db.is_sqlite:
                conn.execute(text("DROP TRIGGER case_events_no_update"))
                conn.execute(text("DROP TRIGGER case_events_no_delete"))
            else:
                conn.execute(text("ALTER TABLE case_events DISABLE TRIGGER case_events_keep_facts"))
    yield lift
    if not engine.db.is_sqlite:
        with engine.db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE case_events ENABLE TRIGGER case_events_keep_facts"))


def _verify(engine: Engine, monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.setenv("HIMAYA_DATABASE_URL", engine.db.engine.url.render_as_string(hide_password=False))
    code = main(["audit", "verify"])
    return code, capsys.readouterr().out


def test_a_completed_steps_event_references_the_answers_without_copying_them(engine: Engine):
    case_id = _case_with_history(engine)
    completed = events(engine, case_id, "step_completed")[0]
    assert "data" not in completed.detail and SUMMARY not in str(completed.detail)
    assert "listening_summary" in completed.detail["fields"] and len(completed.detail["digest"]) == 64
    with engine.db.reading() as session:
        answers = session.scalars(select(TaskRecord.data).where(
            TaskRecord.id == completed.task_id)).one()
    assert answers["listening_summary"] == SUMMARY  # the values live in the step's sealed history row
    assert audit.answers_match(engine.db.keys, completed.detail, answers)
    assert not audit.answers_match(engine.db.keys, completed.detail, {**answers, "listening_summary": "autre"})


def test_the_chain_covers_case_and_administration_events_and_verifies(engine: Engine, monkeypatch, capsys):
    case_id = _case_with_history(engine)
    chained = audit.extend(engine.db, engine.now())
    with engine.db.reading() as session:
        total = session.scalar(text("SELECT COUNT(*) FROM case_events")) + session.scalar(
            text("SELECT COUNT(*) FROM admin_events"))
    assert chained == total and total > 5
    assert audit.extend(engine.db, engine.now()) == 0  # nothing twice
    engine.record_access(UPE, "case_viewed", [case_id])
    assert audit.extend(engine.db, engine.now()) == 1
    result = audit.verify(engine.db)
    assert result.intact and result.links == total + 1 and result.waiting == 0
    code, out = _verify(engine, monkeypatch, capsys)
    assert code == 0 and f"links checked: {total + 1}; problems: 0" in out


def test_verify_names_the_first_altered_row(engine: Engine, lift_fact_guard, monkeypatch, capsys):
    case_id = _case_with_history(engine)
    audit.extend(engine.db, engine.now())
    target = events(engine, case_id, "step_completed")[0]
    lift_fact_guard()
    with engine.db.engine.begin() as conn:
        conn.execute(text("UPDATE case_events SET actor = 'someone.else' WHERE id = :id"), {"id": target.id})
    result = audit.verify(engine.db)
    assert not result.intact and len(result.problems) == 1
    first = result.first_broken
    assert first is not None and (first.source, first.event_id, first.what) == ("case", target.id, "altered")
    code, out = _verify(engine, monkeypatch, capsys)
    assert code == 1 and f"first broken link: link {first.seq}: case event {target.id} was altered" in out
    assert main(["check"]) == 1  # the consistency check reports it too
    assert f"difference: audit trail, link {first.seq}: case event {target.id}" in capsys.readouterr().out


def test_verify_finds_a_detail_swapped_between_two_events(engine: Engine):
    """The database lets ``detail`` change (for erasure); the chain sees any other change."""
    case_id = _case_with_history(engine)
    audit.extend(engine.db, engine.now())
    started = events(engine, case_id, "step_started")
    first, second = started[0].id, started[1].id
    with engine.db.engine.begin() as conn:
        raw: dict[int, bytes] = dict(conn.execute(text("SELECT id, detail FROM case_events WHERE id IN (:a, :b)"),
                                {"a": first, "b": second}).all())
        conn.execute(text("UPDATE case_events SET detail = :d WHERE id = :id"), [
            {"id": first, "d": raw[second]}, {"id": second, "d": raw[first]}])
    result = audit.verify(engine.db)
    assert [(p.event_id, p.what) for p in result.problems] == [(first, "altered"), (second, "altered")]


def test_verify_finds_a_deleted_row_and_one_slipped_in(engine: Engine, lift_fact_guard):
    case_id = _case_with_history(engine)
    audit.extend(engine.db, engine.now())
    engine.record_access(UPE, "case_viewed", [case_id])
    audit.extend(engine.db, engine.now())
    audit.extend(engine.db, engine.now())  # the runs no longer look below what they chained
    victim = events(engine, case_id, "case_opened")[0]
    lift_fact_guard()
    with engine.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM case_events WHERE id = :id"), {"id": victim.id})
        conn.execute(text("INSERT INTO case_events (id, case_id, at, actor, kind, step, task_id, detail) "
                          "SELECT :new, case_id, at, actor, kind, step, task_id, detail FROM case_events "
                          "WHERE id = :copy"), {"new": victim.id, "copy": victim.id + 1})
    result = audit.verify(engine.db)
    assert result.first_broken is not None and result.first_broken.event_id == victim.id
    assert result.first_broken.what == "altered"  # its place taken by a copy of another row
    with engine.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM case_events WHERE id = :id"), {"id": victim.id})
    assert [(p.event_id, p.what) for p in audit.verify(engine.db).problems] == [(victim.id, "deleted")]


def test_an_event_committed_late_is_still_chained(engine: Engine):
    case_id = _case_with_history(engine)
    audit.extend(engine.db, engine.now())
    engine.record_access(UPE, "case_viewed", [case_id])
    engine.record_access(UPE, "case_viewed", [case_id])
    late = events(engine, case_id)[-2].id
    # as if the earlier of the two had not committed when the job ran: chain only the later one
    with engine.db.reading() as session:
        newest = session.scalar(select(CaseEvent).order_by(CaseEvent.id.desc()).limit(1))
    assert newest is not None
    with engine.db.engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_chain (source, event_id, link, chained_at) "
                          "SELECT 'case', :id, link, chained_at FROM audit_chain ORDER BY seq DESC LIMIT 1"),
                     {"id": newest.id})
        conn.execute(text("UPDATE audit_chain_head SET case_seen = :id"), {"id": newest.id})
    assert audit.extend(engine.db, engine.now()) == 1  # the late one, found from the trailing mark
    with engine.db.reading() as session:
        assert session.scalar(text("SELECT COUNT(*) FROM audit_chain WHERE event_id = :id"), {"id": late}) == 1


def test_erasing_free_text_keeps_the_chain_whole(engine: Engine):
    case_id = _case_with_history(engine)
    engine.close_case(case_id, "other", "La famille a quitté Tanger pour Agadir", UPE)
    audit.extend(engine.db, engine.now())
    closed = events(engine, case_id, "case_closed")[0]
    erased = audit.erase_free_text(engine.db.keys, closed.kind, closed.detail)
    assert erased is not None and audit.is_erased(erased["note"]) and erased["reason"] == "other"
    with engine.db.transaction() as session:
        session.get(CaseEvent, closed.id).detail = erased  # type: ignore[union-attr]
    after = events(engine, case_id, "case_closed")[0]
    assert "Agadir" not in str(after.detail) and after.detail["reason"] == "other"
    assert audit.verify(engine.db).intact


@pytest.mark.parametrize("statement", [
    "UPDATE case_events SET actor = 'x' WHERE id = :id",
    "UPDATE case_events SET kind = 'case_viewed' WHERE id = :id",
    "DELETE FROM case_events WHERE id = :id",
])
def test_the_database_refuses_to_change_an_events_facts(engine: Engine, statement: str):
    case_id = _case_with_history(engine)
    target = events(engine, case_id)[0].id
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.db.engine.begin() as conn:
            conn.execute(text(statement), {"id": target})
    audit.extend(engine.db, engine.now())
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.db.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_chain"))
