"""Referrals to partners, as their reader may see them (:mod:`engine.referrals`).

Every query joins the referral's case and filters by :func:`api.policy.referral_scope`: a partner
finds only the referrals addressed to its sector in its province (any other is not found, never
shown as refused), and of the child only the case's reference, age and sex
(:func:`api.policy.sees_referred_child`); the case's team and the supervisors also its name.
Lists put the open referrals first, the nearest deadline first.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy import case as sql_case

from engine import referrals
from engine.errors import NotFound
from engine.models import Case, Referral

from .. import policy
from ..messages import N_
from .children import BRIEF_COLUMNS, child_brief
from .context import ReadContext
from .paging import page_rows

# What a list or a page filters on: a state, or ``open`` (requested or accepted).
STATE_FILTERS = (*referrals.STATES_OF_REFERRAL, "open")
FIELDS = ("id", "case_id", "requested_at", "requester", "requester_role", "requester_unit", "task_id", "step",
          "service", "reason", "priority", "respond_by", "due_by", "status", "status_reason", "accepted_by",
          "accepted_at", "accept_note", "declined_by", "declined_at", "service_given", "occurrence",
          "completed_by", "completed_at", "cancelled_by", "cancelled_at", "escalation_level")


def _query(ctx: ReadContext) -> Select:
    return (select(Referral, Case.reference, Case.status.label("case_status"), *BRIEF_COLUMNS)
            .join(Case, Case.id == Referral.case_id).where(policy.referral_scope(ctx.principal)))


_OPEN_FIRST = (sql_case((Referral.status == referrals.REQUESTED, 0), (Referral.status == referrals.ACCEPTED, 1),
                        else_=2),
               sql_case((Referral.status == referrals.ACCEPTED, Referral.due_by), else_=Referral.respond_by),
               Referral.requested_at.desc(), Referral.id)


def present(ctx: ReadContext, row: Any) -> dict[str, Any]:
    """A referral (a row of :func:`_query`) as the API and the pages show it."""
    referral: Referral = row.Referral
    child = child_brief(row, ctx.now.date())
    shown_child = {"age": child["age"], "age_estimated": child["age_estimated"], "sex": child["sex"]}
    if policy.sees_referred_child(ctx.principal) and policy.names_children_in_lists(ctx.principal, row.consent):
        shown_child["display_name"] = child["display_name"]
    item = {name: getattr(referral, name) for name in FIELDS}
    started, deadline = referrals.deadline_of(referral)
    item.update(case_reference=row.reference, case_status=row.case_status, child=shown_child,
                sector=referral.performer_sector, organisation=referral.performer_organisation,
                note=referral.service_note, deadline=deadline if referral.status in referrals.OPEN_STATES else None,
                overdue=referrals.is_overdue(referral, ctx.now))
    return item


def case_referrals(ctx: ReadContext, case: Case) -> list[dict[str, Any]]:
    """The referrals of a case the reader sees (a partner: those addressed to its sector), open first."""
    with ctx.engine.db.reading() as session:
        rows = session.execute(_query(ctx).where(Referral.case_id == case.id).order_by(*_OPEN_FIRST)).all()
    return [present(ctx, row) for row in rows]


def referral_page(ctx: ReadContext, state: str | None, page: int, per_page: int) -> tuple[int, list[dict[str, Any]]]:
    """(total, a page of) the referrals the reader sees, in ``state`` (``open``: requested or accepted)."""
    query = _query(ctx)
    if state == "open":
        query = query.where(Referral.status.in_(referrals.OPEN_STATES))
    elif state is not None:
        query = query.where(Referral.status == state)
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, *_OPEN_FIRST)
    return total, [present(ctx, row) for row in rows]


def visible(ctx: ReadContext, referral_id: str) -> tuple[Referral, Case]:
    """(the referral, its case) when the reader sees it; :class:`NotFound` otherwise."""
    with ctx.engine.db.reading() as session:
        row = session.execute(select(Referral, Case).join(Case, Case.id == Referral.case_id).where(
            Referral.id == str(referral_id), policy.referral_scope(ctx.principal))).first()
        if row is None:
            raise NotFound(N_("No such referral."))
        return row.Referral, row.Case


def shown(ctx: ReadContext, referral: Referral) -> dict[str, Any]:
    """A referral just written, as its writer sees it."""
    with ctx.engine.db.reading() as session:
        row = session.execute(_query(ctx).where(Referral.id == referral.id)).first()
    if row is None:  # written by someone who no longer sees it (cannot happen through the API)
        raise NotFound(N_("No such referral."))
    return present(ctx, row)
