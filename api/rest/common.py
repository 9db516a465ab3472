"""What every REST blueprint shares: the 400-status parser, authentication, presenters."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

import flask_smorest
from flask import current_app, g, request
from flask_babel import gettext as _
from flask_smorest import abort
from sqlalchemy import func, select
from webargs.flaskparser import FlaskParser

from engine.models import OpenTask
from engine.runtime import Actor, Engine, TaskRow, is_overdue

from ..auth import Principal, authenticate
from ..i18n import current_language


class Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400  # the contract: 400 for bad fields, 422 for bad BPMN


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()


def engine() -> Engine:
    return current_app.extensions["himaya"]


def secret() -> str:
    return current_app.config["SECRET_KEY"]


def client_address() -> str | None:
    return (request.remote_addr or "")[:64] or None


def principal() -> Principal:
    return g.principal


def actor() -> Actor:
    p = g.principal
    return Actor(p.username, p.role, client_address())


def load_principal() -> None:
    """Authenticate the bearer token of the request (401 when missing or invalid)."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message=_("Authentication required: send a bearer token."),
              headers={"WWW-Authenticate": "Bearer"})
    himaya = engine()
    with himaya.db.reading() as session:
        found = authenticate(session, secret(), token.strip(), now=himaya.now())
    if found is None:
        abort(401, message=_("Invalid or expired token."), headers={"WWW-Authenticate": "Bearer"})
    g.principal = found


def requires(check: Callable[[Principal], bool]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """403 unless the principal passes ``check``."""
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not check(g.principal):
                abort(403, message=_("You are not allowed to do this."))
            return view(*args, **kwargs)
        return wrapper
    return decorate


def case_open_tasks(session: Any, case_id: str) -> list[OpenTask]:
    """The tasks a case is at, oldest first (tasks opened together, by step)."""
    return list(session.scalars(select(OpenTask).where(OpenTask.case_id == case_id)
                                .order_by(OpenTask.created_at, OpenTask.step)))


def present_task(row: OpenTask | TaskRow, case_reference: str, pathway_version_id: int, *, now: datetime,
                 with_form: bool = False) -> dict[str, Any]:
    language = current_language()
    compiled = engine().definition(pathway_version_id)
    info = compiled.user_tasks.get(row.step)
    body: dict[str, Any] = {
        "id": row.id, "case_id": row.case_id, "case_reference": case_reference, "name": row.step,
        "title": info.title(language) if info else row.step, "role": row.role, "sector": row.sector,
        "province": row.province, "unit": row.unit, "state": row.state, "assignee": row.assignee,
        "created_at": row.created_at, "due_at": row.due_at,
        "overdue": is_overdue(row, now), "escalation_level": row.escalation_level,
    }
    if with_form and info is not None:
        body["form"] = compiled.forms[info.form].localized(language)
    return body


def page_rows(session: Any, query: Any, args: dict[str, Any], *order_by: Any) -> tuple[int, list[Any]]:
    """(total, the rows of the requested page) of a query, in the given order."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(*order_by).limit(args["per_page"])
                           .offset((args["page"] - 1) * args["per_page"])).all()
    return total, rows


def page_of(total: int, page: int, per_page: int, items: list[Any], **extra: Any) -> dict[str, Any]:
    return {"items": items, "total": total, "page": page, "per_page": per_page, **extra}
