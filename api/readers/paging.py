"""Pages of a list: the total and the rows of one page, in a stable order."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def count(session: Session, query: Select) -> int:
    """How many rows ``query`` selects."""
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def total_of(session: Session, query: Select, page: int, per_page: int, rows_on_page: int) -> int:
    """How many rows ``query`` selects, knowing page ``page`` held ``rows_on_page``: a page that
    is neither full nor past the end is the last one, so the total needs no count query."""
    if 0 < rows_on_page < per_page or (page == 1 and rows_on_page == 0):
        return (page - 1) * per_page + rows_on_page
    return count(session, query)


def page_rows(session: Session, query: Select, page: int, per_page: int, *order_by: Any) -> tuple[int, list[Any]]:
    """(total, the rows of page ``page``) of a query, in the given order."""
    rows = session.execute(query.order_by(*order_by).limit(per_page).offset((page - 1) * per_page)).all()
    return total_of(session, query, page, per_page, len(rows)), list(rows)


def page_of(total: int, page: int, per_page: int, items: list[Any], **extra: Any) -> dict[str, Any]:
    """A page as the API shows it: ``{items, total, page, per_page, …}``."""
    return {"items": items, "total": total, "page": page, "per_page": per_page, **extra}
