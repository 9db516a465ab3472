"""Possible earlier reports of a child: what a reporter may be shown, and the reviews of coordinators.

A match is shown to the person reporting only when they may read the earlier case
(:func:`api.policy.case_scope`); every match, in or out of their scope, becomes a review for
the coordinators of the provinces concerned, who see both children's identity (name, sex, age,
unit, dates: what deciding needs, never the report or the steps) and confirm or reject.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from engine import identity
from engine.errors import NotFound, ValidationFailed
from engine.intake import ChildSchema
from engine.models import Case, DuplicateReview

from .. import policy
from ..messages import N_
from .children import child_brief
from .context import ReadContext
from .paging import page_rows


def visible_matches(ctx: ReadContext, matches: Iterable[identity.Match]) -> list[dict[str, Any]]:
    """The matches whose case the caller may read, best first (the others are never named)."""
    matches = list(matches)
    if not matches:
        return []
    with ctx.engine.db.reading() as session:
        seen = {case.id: case for case in session.scalars(select(Case).where(
            Case.id.in_([m.case_id for m in matches]), policy.case_scope(ctx.principal)))}
    today = ctx.now.date()
    return [{**m.body(), "child": child_brief(seen[m.case_id], today), "status": seen[m.case_id].status,
             "opened_at": seen[m.case_id].opened_at} for m in matches if m.case_id in seen]


def check(ctx: ReadContext, child: Any) -> list[dict[str, Any]]:
    """``POST /api/v1/cases/check-duplicates``: earlier reports of this child the caller may read."""
    if not isinstance(child, dict):
        raise ValidationFailed(N_("The child's identity has invalid fields."), {"child": ["Expected a JSON object."]})
    try:
        loaded = ChildSchema().load(child)
    except ValidationError as exc:
        raise ValidationFailed(N_("The child's identity has invalid fields."), {"child": exc.messages}) from None
    who = identity.Identity.of_child(loaded, ctx.now.date())
    with ctx.engine.db.reading() as session:
        found = identity.find_duplicates(session.connection(), who)
    return visible_matches(ctx, found)


def _side(case: Case, today: date) -> dict[str, Any]:
    """One case of a review, as the reviewing coordinators see it."""
    return {"case_id": case.id, "reference": case.reference, "province": case.province, "unit": case.unit,
            "status": case.status, "opened_at": case.opened_at, "birth_date": case.child_birth_date,
            "child": child_brief(case, today), "duplicate_of": case.duplicate_of}


def _reviews_of(ctx: ReadContext) -> Any:
    province = ctx.principal.province
    return or_(DuplicateReview.case_province == province, DuplicateReview.match_province == province)


def review_page(ctx: ReadContext, state: str | None, page: int, per_page: int) -> tuple[int, list[dict[str, Any]]]:
    """(total, the page's reviews) of the caller's province (a coordinator's), newest first."""
    if not policy.can_review_duplicates(ctx.principal):
        return 0, []
    later, earlier = aliased(Case), aliased(Case)
    query = (select(DuplicateReview, later, earlier).join(later, later.id == DuplicateReview.case_id)
             .join(earlier, earlier.id == DuplicateReview.match_id).where(_reviews_of(ctx)))
    if state:
        query = query.where(DuplicateReview.state == state)
    with ctx.engine.db.reading() as session:
        total, rows = page_rows(session, query, page, per_page, DuplicateReview.raised_at.desc(),
                                DuplicateReview.id.desc())
    today = ctx.now.date()
    return total, [present_review(review, new, old, today) for review, new, old in rows]


def present_review(review: DuplicateReview, new: Case, old: Case, today: date) -> dict[str, Any]:
    return {"id": review.id, "state": review.state, "score": round(review.score, 2), "reasons": review.reasons,
            "raised_at": review.raised_at, "decided_by": review.decided_by, "decided_at": review.decided_at,
            "note": review.note, "kept_case_id": review.kept_id,
            "case": _side(new, today), "match": _side(old, today)}


def review(ctx: ReadContext, review_id: int) -> DuplicateReview:
    """A review the caller may decide (a coordinator of one of its provinces); NotFound otherwise."""
    if not policy.can_review_duplicates(ctx.principal):
        raise NotFound(N_("No such review."))
    with ctx.engine.db.reading() as session:
        found = session.scalar(select(DuplicateReview).where(DuplicateReview.id == review_id, _reviews_of(ctx)))
    if found is None:
        raise NotFound(N_("No such review."))
    return found


def presented(ctx: ReadContext, review_id: int) -> dict[str, Any]:
    found = review(ctx, review_id)
    with ctx.engine.db.reading() as session:
        new, old = session.get(Case, found.case_id), session.get(Case, found.match_id)
        fresh = session.get(DuplicateReview, found.id)
    assert new is not None and old is not None and fresh is not None
    return present_review(fresh, new, old, ctx.now.date())


def linked_cases(ctx: ReadContext, case: Case) -> list[dict[str, Any]]:
    """The reports linked with this case as one child: the case it continues in, and those that
    continue in it (reference, province, status: their history is read from here)."""
    with ctx.engine.db.reading() as session:
        rows = list(session.scalars(select(Case).where(or_(Case.duplicate_of == case.id,
                                                           Case.id == (case.duplicate_of or "")))))
    return [{"case_id": c.id, "reference": c.reference, "province": c.province, "status": c.status,
             "relation": "continues_in" if c.id == case.duplicate_of else "duplicate",
             "opened_at": c.opened_at} for c in rows]
