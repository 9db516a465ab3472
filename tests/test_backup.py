"""Backups: write one, lose data, restore it, and find every case again."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from engine.backup import BackupError, backup, restore
from engine.models import Case, CaseEvent, CaseWorkflow, OpenTask, TaskRecord
from engine.runtime import Engine
from tests.helpers import ANSWERS, UPE, do, report


def test_backup_then_restore_finds_every_case(engine: Engine, tmp_path: Path):
    cases = [engine.start_case(report(engine), UPE).case_id for _ in range(5)]
    do(engine, cases[0], "reception_listening", **ANSWERS["reception_listening"])
    target = backup(engine.db.url, tmp_path / "himaya.backup")
    assert target.stat().st_size > 0
    engine.start_case(report(engine), UPE)  # after the backup: gone after the restore
    with engine.db.transaction() as session:  # a disaster (the audit table refuses deletes, so not it)
        for model in (OpenTask, TaskRecord, CaseWorkflow):
            session.execute(delete(model))
    engine.db.dispose()
    restore(engine.db.url, target)
    with engine.db.reading() as session:
        assert sorted(session.scalars(select(Case.id))) == sorted(cases)
        assert session.scalar(select(func.count()).select_from(OpenTask)) == 6  # 4 receptions + 2 diagnoses
        assert session.execute(select(func.count()).select_from(CaseEvent)).scalar_one() > 0
    engine.workflows = type(engine.workflows)(16)  # a restarted process
    do(engine, cases[1], "reception_listening", **ANSWERS["reception_listening"])


def test_restoring_nothing_is_a_clear_error(engine: Engine, tmp_path: Path):
    with pytest.raises(BackupError, match="no such backup"):
        restore(engine.db.url, tmp_path / "missing.backup")
