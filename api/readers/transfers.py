"""Transfers as coordinators read them: those addressed to their province, those it sent, and a
case's own (:mod:`engine.transfers`).

A transfer addressed to a province shows what the answer must weigh (the case's reference,
risk level and categories, where it comes from and why) and never the child's identity: the
file is read once the case is theirs.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from engine import transfers
from engine.models import Case, CaseTransfer, Province, Unit

from .context import ReadContext
from .paging import page_of, page_rows

_FROM, _TO = aliased(Unit), aliased(Unit)
_FROM_PROVINCE, _TO_PROVINCE = aliased(Province), aliased(Province)
_COLUMNS = (CaseTransfer, Case.reference, Case.risk_level, Case.categories, _FROM.name, _TO.name,
            _FROM_PROVINCE.name_fr, _FROM_PROVINCE.name_ar, _TO_PROVINCE.name_fr, _TO_PROVINCE.name_ar)


def _query() -> Any:
    return (select(*_COLUMNS).join(Case, Case.id == CaseTransfer.case_id)
            .outerjoin(_FROM, _FROM.code == CaseTransfer.from_unit).outerjoin(_TO, _TO.code == CaseTransfer.to_unit)
            .outerjoin(_FROM_PROVINCE, _FROM_PROVINCE.code == CaseTransfer.from_province)
            .outerjoin(_TO_PROVINCE, _TO_PROVINCE.code == CaseTransfer.to_province))


def present(ctx: ReadContext, row: Any) -> dict[str, Any]:
    transfer: CaseTransfer = row[0]
    arabic = ctx.language == "ar"
    return {
        "id": transfer.id, "case_id": transfer.case_id, "case_reference": row.reference, "state": transfer.state,
        "from_province": transfer.from_province, "from_unit": transfer.from_unit, "from_unit_name": row[4],
        "from_province_name": row[7] if arabic else row[6],
        "to_province": transfer.to_province, "to_unit": transfer.to_unit, "to_unit_name": row[5],
        "to_province_name": row[9] if arabic else row[8],
        "reason": transfer.reason, "requested_by": transfer.requested_by, "requested_at": transfer.requested_at,
        "respond_by": transfer.respond_by,
        "overdue": transfer.state == transfers.PENDING and transfer.respond_by < ctx.now,
        "escalation_level": transfer.escalation_level, "decided_by": transfer.decided_by,
        "decided_at": transfer.decided_at, "decision_reason": transfer.decision_reason,
        "risk_level": row.risk_level, "categories": list(row.categories or []),
    }


def transfer_page(ctx: ReadContext, *, side: str, state: str, page: int, per_page: int) -> dict[str, Any]:
    """The transfers addressed to the reader's province (``side="received"``) or sent from it,
    in one state (or ``all``): pending ones by deadline, the others newest first."""
    column = CaseTransfer.to_province if side == "received" else CaseTransfer.from_province
    query = _query().where(column == ctx.principal.province)
    if state != "all":
        query = query.where(CaseTransfer.state == state)
    order = ((CaseTransfer.respond_by, CaseTransfer.id) if state == transfers.PENDING
             else (CaseTransfer.requested_at.desc(), CaseTransfer.id))
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, *order)
    return page_of(total, page, per_page, [present(ctx, row) for row in rows])


def pending_count(ctx: ReadContext) -> int:
    """How many transfers wait for an answer from the reader's province (the menu's counter)."""
    with ctx.engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(CaseTransfer).where(
            CaseTransfer.to_province == ctx.principal.province, CaseTransfer.state == transfers.PENDING)) or 0


def of_case(ctx: ReadContext, case_id: str) -> list[dict[str, Any]]:
    """Every transfer of a case the reader may read in full, newest first."""
    with ctx.engine.db.reading() as session:
        rows = session.execute(_query().where(CaseTransfer.case_id == case_id)
                               .order_by(CaseTransfer.requested_at.desc(), CaseTransfer.id)).all()
    return [present(ctx, row) for row in rows]


def one(ctx: ReadContext, transfer_id: str) -> dict[str, Any] | None:
    """A transfer addressed to or sent from the reader's province (None otherwise)."""
    province = ctx.principal.province
    with ctx.engine.db.reading() as session:
        row = session.execute(_query().where(CaseTransfer.id == transfer_id).where(
            (CaseTransfer.to_province == province) | (CaseTransfer.from_province == province))).first()
    return present(ctx, row) if row is not None else None
