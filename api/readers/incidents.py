"""Delivery incidents (messages nobody could receive) as coordinators, supervisors and
administrators read them; what was missing is worded in the reader's language."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.incidents import OPEN, PROSECUTOR_TOPIC
from engine.models import Case, DeliveryIncident, Province
from engine.vocabulary import CASE_WORKER, COORDINATOR, JUSTICE, PARTNER, SUPERVISOR

from .. import policy
from ..messages import N_
from .context import ReadContext
from .paging import page_rows

SECTOR_NAMES = {
    JUSTICE: _l("justice (prosecutor's office)"), "health": _l("health"), "education": _l("national education"),
    "police": _l("national security (police)"), "gendarmerie": _l("Royal Gendarmerie"), "youth": _l("youth"),
    "employment": _l("employment"), "social_action": _l("social action"), "civil_status": _l("civil status"),
    "other": _l("other sector"),
}


def describe_missing(recipient: dict[str, Any], province_name: str) -> str:
    """What was missing, for a person: "No active justice partner (prosecutor's office) in the
    province of Tanger-Assilah." """
    role, sector = recipient.get("role"), recipient.get("sector")
    if recipient.get("usernames"):
        return _("The account of %(users)s is not active.", users=", ".join(recipient["usernames"]))
    if role == PARTNER and sector == JUSTICE:
        return _("No active justice partner (prosecutor's office) in the province of %(province)s.",
                 province=province_name)
    if role == PARTNER:
        return _("No active partner of the sector %(sector)s in the province of %(province)s.",
                 sector=str(SECTOR_NAMES.get(sector or "", sector or "—")), province=province_name)
    if role == COORDINATOR:
        return _("No active CAPE coordinator in the province of %(province)s.", province=province_name)
    if role == SUPERVISOR:
        return _("No active CPPE supervisor in the province of %(province)s.", province=province_name)
    if role == CASE_WORKER:
        return _("No active case worker in the unit %(unit)s.", unit=recipient.get("unit") or "—")
    return _("Nobody could receive this message.")


def _province_names(session: Session, ctx: ReadContext, codes: set[str]) -> dict[str, str]:
    rows = session.execute(select(Province.code, Province.name_fr, Province.name_ar)
                           .where(Province.code.in_(codes))).all() if codes else []
    return {code: (name_ar if ctx.language == "ar" else name_fr) for code, name_fr, name_ar in rows}


def present(ctx: ReadContext, row: DeliveryIncident, reference: str | None, province_name: str) -> dict[str, Any]:
    """An incident for its reader: administrators see no more than the case reference, the
    topic, the province and what was missing (no link to the file, no note)."""
    body: dict[str, Any] = {
        "id": row.id, "status": row.status, "case_reference": reference, "province": row.province,
        "province_name": province_name, "topic": row.topic, "channel": row.channel, "missing": row.missing,
        "recipient": row.recipient, "description": describe_missing(row.recipient or {}, province_name),
        "raised_at": row.raised_at, "resolved_at": row.resolved_at}
    if policy.sees_incident_details(ctx.principal):
        body.update({"case_id": row.case_id, "outbox_id": row.outbox_id, "resolved_by": row.resolved_by,
                     "informed_via": row.informed_via, "informed_at": row.informed_at, "note": row.note,
                     "acknowledgment_reference": row.acknowledgment_reference})
    return body


def _listing(ctx: ReadContext) -> Any:
    return (select(DeliveryIncident, Case.reference).outerjoin(Case, Case.id == DeliveryIncident.case_id)
            .where(policy.incident_scope(ctx.principal)))


def incident_page(ctx: ReadContext, status: str | None, page: int, per_page: int
                  ) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's incidents) of the reader's scope: open ones first, newest first."""
    query = _listing(ctx)
    if status:
        query = query.where(DeliveryIncident.status == status)
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, DeliveryIncident.status,
                                DeliveryIncident.raised_at.desc(), DeliveryIncident.id.desc())
        names = _province_names(session, ctx, {r.province for r, _ref in rows if r.province})
    return total, [present(ctx, row, reference, names.get(row.province or "", row.province or "—"))
                   for row, reference in rows]


def visible_incident(ctx: ReadContext, incident_id: int) -> DeliveryIncident:
    """The incident if the reader's scope holds it; :class:`NotFound` otherwise."""
    with ctx.engine.db.reading() as session:
        row = session.scalar(select(DeliveryIncident).where(DeliveryIncident.id == incident_id,
                                                            policy.incident_scope(ctx.principal)))
    if row is None:
        raise NotFound(N_("No such incident."))
    return row


def incident(ctx: ReadContext, incident_id: int) -> dict[str, Any]:
    """One incident as its reader sees it (:class:`NotFound` outside the reader's scope)."""
    with ctx.engine.db.reading() as session:
        found = session.execute(_listing(ctx).where(DeliveryIncident.id == incident_id)).first()
        if found is None:
            raise NotFound(N_("No such incident."))
        row, reference = found
        names = _province_names(session, ctx, {row.province} if row.province else set())
    return present(ctx, row, reference, names.get(row.province or "", row.province or "—"))


def open_counts(ctx: ReadContext) -> dict[str, int]:
    """Open incidents of the reader's scope: ``{"prosecutor": n, "other": m}`` (the line on the
    task list and the supervision page)."""
    if not policy.can_read_incidents(ctx.principal):
        return {"prosecutor": 0, "other": 0}
    is_prosecutor = DeliveryIncident.topic == PROSECUTOR_TOPIC
    with ctx.engine.db.reading() as session:
        rows = session.execute(select(is_prosecutor, func.count()).where(
            DeliveryIncident.status == OPEN, policy.incident_scope(ctx.principal)).group_by(is_prosecutor)).all()
    counts = {"prosecutor": 0, "other": 0}
    for prosecutor, number in rows:
        counts["prosecutor" if prosecutor else "other"] += number
    return counts


def case_open_incidents(ctx: ReadContext, case_id: str) -> list[dict[str, Any]]:
    """The open incidents of a case (its page shows them to coordinators and supervisors)."""
    if not policy.sees_incident_details(ctx.principal):
        return []
    with ctx.engine.db.reading() as session:
        rows = session.execute(_listing(ctx).where(DeliveryIncident.case_id == case_id,
                                                   DeliveryIncident.status == OPEN)
                               .order_by(DeliveryIncident.id)).all()
        names = _province_names(session, ctx, {r.province for r, _ref in rows if r.province})
    return [present(ctx, row, reference, names.get(row.province or "", row.province or "—"))
            for row, reference in rows]
