"""Possible duplicate reports of a child: the coordinators' reviews, side by side, and their decision
(the same child: the two cases are linked; or two different children)."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import identity
from engine.errors import Conflict, ValidationFailed

from .. import policy
from ..context import actor, engine, reader
from ..i18n import translate_errors, translate_message
from ..readers import duplicates, territory
from .forms import flat_errors
from .session import login_required

PER_PAGE = 20  # reviews on a page
STATES = ("pending", "confirmed", "rejected")


def template_globals() -> dict[str, Any]:
    return {"pending_reviews": pending_reviews}


def pending_reviews() -> int | None:
    """How many reviews wait for the signed-in coordinator's decision (None: not a reviewer); read
    once per request, for the menu."""
    principal = g.get("principal")
    if principal is None or not policy.can_review_duplicates(principal):
        return None
    if "pending_reviews" not in g:
        g.pending_reviews = duplicates.review_page(reader(), "pending", 1, 1)[0]
    number: int = g.pending_reviews
    return number


def default_kept(review: dict[str, Any]) -> str:
    """The case offered to continue: the one the engine keeps when not told (:func:`engine.identity.default_kept`)."""
    case, match = review["case"], review["match"]
    return identity.default_kept(str(case["case_id"]), case["status"], str(match["case_id"]), match["status"])


def _render(state: str, page: int, status: int = 200, problem: dict[str, Any] | None = None) -> ResponseReturnValue:
    context = reader()
    total, items = duplicates.review_page(context, state, page, PER_PAGE)
    engine().record_access(actor(), "duplicate_reviews_viewed",
                           sorted({i[side]["case_id"] for i in items for side in ("case", "match")}))
    provinces = territory.provinces(context)
    units = {u.code: u.name for province in sorted({i[side]["province"] for i in items for side in ("case", "match")})
             for u in territory.units(context, province)}
    counts = {s: (total if s == state else duplicates.review_page(context, s, 1, 1)[0]) for s in STATES}
    return render_template("duplicates.html", state=state, items=items, total=total, page=page,
                           pages=max(1, -(-total // PER_PAGE)), counts=counts, problem=problem or {},
                           default_kept=default_kept, provinces=provinces, units=units), status


@login_required
def duplicates_page() -> ResponseReturnValue:
    if not policy.can_review_duplicates(g.principal):
        abort(403)
    asked = request.args.get("state") or ""
    state = asked if asked in STATES else "pending"
    try:
        page = max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    return _render(state, page)


@login_required
def decide(review_id: int) -> ResponseReturnValue:
    """Confirm (the same child: link them, the case kept continues) or reject (two children)."""
    if not policy.can_review_duplicates(g.principal):
        abort(403)
    context = reader()
    found = duplicates.review(context, review_id)  # 404 outside the coordinator's provinces
    decision = request.form.get("decision")
    if decision not in ("confirm", "reject"):
        abort(400)
    note = (request.form.get("note") or "").strip() or None
    keep = request.form.get("keep") or None
    if decision == "reject":
        keep = None
    try:
        engine().decide_duplicate(review_id, decision, actor(), note=note, keep=keep)
    except ValidationFailed as error:
        messages = [m for ms in flat_errors(translate_errors(error.errors)).values() for m in ms]
        return _render("pending", 1, 400, {"id": found.id, "decision": decision, "messages": messages,
                                           "note": note or "", "keep": keep})
    except Conflict as conflict:
        flash(translate_message(str(conflict)), "error")
        return _render("pending", 1, 409)
    if decision == "confirm":
        flash(_("Linked: the two reports are one child. The case that did not continue is closed as a "
                "duplicate; its history is read from the other case."), "success")
    else:
        flash(_("Recorded: two different children. Both cases go on."), "success")
    return redirect(url_for("web.duplicates_page"))
