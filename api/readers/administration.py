"""What the administrators read: every unit, the user accounts (filtered, a page at a time) and
the audit of administrative changes (newest first). Never a password hash."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from engine.errors import NotFound
from engine.models import AdminEvent, Case, Unit, User
from engine.vocabulary import receives_children

from ..messages import N_
from .context import ReadContext
from .paging import page_rows


def present_unit(unit: Unit, *, users: int = 0, open_cases: int = 0) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name, "kind": unit.kind, "province": unit.province,
            "active": unit.active, "receives_children": receives_children(unit.kind), "users": users,
            "open_cases": open_cases}


def unit_list(ctx: ReadContext, *, province: str | None = None, kind: str | None = None,
              active: bool | None = None) -> list[dict[str, Any]]:
    """Every unit (inactive ones too) by province and code, with its active users and open cases."""
    users = (select(User.unit, func.count().label("n")).where(User.active.is_(True), User.unit.is_not(None))
             .group_by(User.unit).subquery())
    cases = (select(Case.unit, func.count().label("n")).where(Case.status == "open")
             .group_by(Case.unit).subquery())
    query = (select(Unit, users.c.n, cases.c.n).outerjoin(users, users.c.unit == Unit.code)
             .outerjoin(cases, cases.c.unit == Unit.code))
    if province:
        query = query.where(Unit.province == province)
    if kind:
        query = query.where(Unit.kind == kind)
    if active is not None:
        query = query.where(Unit.active.is_(active))
    with ctx.engine.db.reading() as session:
        rows = session.execute(query.order_by(Unit.province, Unit.code)).all()
    return [present_unit(unit, users=n_users or 0, open_cases=n_cases or 0) for unit, n_users, n_cases in rows]


def unit(ctx: ReadContext, code: str) -> dict[str, Any]:
    found = [u for u in unit_list(ctx) if u["code"] == code]
    if not found:
        raise NotFound(N_("No such unit."))
    return found[0]


def present_user(user: User) -> dict[str, Any]:
    """An account as the administrators see it (no password hash, ever)."""
    return {"username": user.username, "full_name": user.full_name, "role": user.role, "province": user.province,
            "unit": user.unit, "sector": user.sector, "email": user.email, "phone": user.phone,
            "language": user.language, "active": user.active, "created_at": user.created_at,
            "password_changed_at": user.password_changed_at, "away_from": user.away_from,
            "away_until": user.away_until}


def user_page(ctx: ReadContext, page: int, per_page: int, *, province: str | None = None, role: str | None = None,
              unit: str | None = None, active: bool | None = None, q: str | None = None
              ) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's accounts matching the filters, by user name); ``q``: part of the user
    name or full name."""
    query = select(User)
    if province:
        query = query.where(User.province == province)
    if role:
        query = query.where(User.role == role)
    if unit:
        query = query.where(User.unit == unit)
    if active is not None:
        query = query.where(User.active.is_(active))
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(func.lower(User.username).like(pattern, escape="\\")
                            | func.lower(User.full_name).like(pattern, escape="\\"))
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, User.username)
        return total, [present_user(user) for (user,) in rows]


def user(ctx: ReadContext, username: str) -> dict[str, Any]:
    """:class:`NotFound` for an unknown user name."""
    with ctx.engine.db.reading() as session:
        found = session.scalar(select(User).where(User.username == username))
        if found is None:
            raise NotFound(N_("No such user."))
        return present_user(found)


def present_event(event: AdminEvent) -> dict[str, Any]:
    return {"id": event.id, "at": event.at, "actor": event.actor, "action": event.action,
            "target_kind": event.target_kind, "target": event.target, "fields": list(event.fields or [])}


def audit_page(ctx: ReadContext, page: int, per_page: int, *, target: str | None = None,
               action: str | None = None) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's administrative changes, newest first)."""
    query = select(AdminEvent)
    if target:
        query = query.where(AdminEvent.target == target)
    if action:
        query = query.where(AdminEvent.action == action)
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, AdminEvent.at.desc(), AdminEvent.id.desc())
        return total, [present_event(event) for (event,) in rows]


def staff_posts(ctx: ReadContext, usernames: set[str]) -> dict[str, tuple[str, str | None, str | None]]:
    """``{username: (role, unit, sector)}`` of these accounts as they are now (what a copy of a
    file names instead of the people: :mod:`api.subject_access`)."""
    if not usernames:
        return {}
    with ctx.engine.db.reading() as session:
        return {row.username: (row.role, row.unit, row.sector) for row in session.execute(
            select(User.username, User.role, User.unit, User.sector).where(User.username.in_(sorted(usernames))))}
