"""Pages of a list: the total is right on every page, and read without a count query when the
page itself shows it (not full, or the first and empty), on both databases."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select

from api.readers.paging import page_rows
from engine.models import OpenTask
from engine.runtime import Engine
from tests.helpers import UPE, report


@pytest.mark.parametrize(("page", "per_page", "rows", "counted"), [
    (1, 20, 5, False),   # one page, not full: its rows are the total
    (1, 5, 5, True),     # a full page: more may follow
    (1, 2, 2, True),
    (3, 2, 1, False),    # the last page, not full
    (4, 2, 0, True),     # past the end: only a count knows the total
])
def test_the_total_is_right_and_counted_only_when_the_page_does_not_show_it(
        engine: Engine, page: int, per_page: int, rows: int, counted: bool):
    for _ in range(5):
        engine.start_case(report(engine), UPE)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.lower())

    event.listen(engine.db.engine, "before_cursor_execute", seen)
    try:
        with engine.db.reading() as session:
            total, found = page_rows(session, select(OpenTask.id), page, per_page, OpenTask.id)
    finally:
        event.remove(engine.db.engine, "before_cursor_execute", seen)
    assert total == 5 and len(found) == rows
    assert any("count(" in s for s in statements) is counted, statements
