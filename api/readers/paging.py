"""Pages of a list: the total and the rows of one page, in a stable order."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def count(session: Session, query: Select) -> int:
    """How many rows ``query`` selects."""
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def page_rows(session: Session, query: Select, page: int, per_page: int, *order_by: Any) -> tuple[int, list[Any]]:
    """(total, the rows of page ``page``) of a query, in the given order."""
    rows = session.execute(query.order_by(*order_by).limit(per_page).offset((page - 1) * per_page)).all()
    return count(session, query), list(rows)


def page_of(total: int, page: int, per_page: int, items: list[Any], **extra: Any) -> dict[str, Any]:
    """A page as the API shows it: ``{items, total, page, per_page, …}``."""
    return {"items": items, "total": total, "page": page, "per_page": per_page, **extra}
