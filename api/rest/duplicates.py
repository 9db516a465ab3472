"""``/api/v1/duplicates``: reviews of two reports that may be of one child (coordinators)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from engine.errors import ValidationFailed

from .. import policy
from ..readers import duplicates
from ..schemas import ReviewArgs, ReviewDecisionRequest, ReviewPage, ReviewSchema
from .common import Blueprint, abort, actor, engine, load_principal, page_of, reader, requires

blp = Blueprint("duplicates", __name__, url_prefix="/api/v1/duplicates",
                description="Possible duplicate reports of a child, reviewed by coordinators")
blp.before_request(load_principal)

ID = "<int(max=9223372036854775807):review_id>"


def _audit(items: list[dict[str, Any]]) -> None:
    """Who read which children's identities in reviews (both sides of each)."""
    engine().record_access(actor(), "duplicate_reviews_viewed",
                           sorted({i[side]["case_id"] for i in items for side in ("case", "match")}))


@blp.route("", methods=["GET"])
@blp.arguments(ReviewArgs, location="query")
@blp.response(200, ReviewPage)
@blp.alt_response(403, description="Only coordinators review duplicates")
@requires(policy.can_review_duplicates)
def list_reviews(args: dict[str, Any]) -> dict[str, Any]:
    """The reviews of the caller's province (pending ones by default), newest first."""
    state = None if args["state"] == "all" else args["state"]
    total, items = duplicates.review_page(reader(), state, args["page"], args["per_page"])
    _audit(items)
    return page_of(total, args["page"], args["per_page"], items)


@blp.route(f"/{ID}", methods=["GET"])
@blp.response(200, ReviewSchema)
@blp.alt_response(403, description="Only coordinators review duplicates")
@blp.alt_response(404, description="No such review in the caller's province")
@requires(policy.can_review_duplicates)
def get_review(review_id: int) -> dict[str, Any]:
    """One review with both reports."""
    found = duplicates.presented(reader(), review_id)
    _audit([found])
    return found


def _decide(review_id: int, decision: str, body: dict[str, Any]) -> dict[str, Any]:
    context = reader()
    duplicates.review(context, review_id)  # 404 outside the caller's provinces
    try:
        engine().decide_duplicate(review_id, decision, actor(), note=body.get("note"),
                                  keep=str(body["keep"]) if body.get("keep") else None)
    except ValidationFailed as error:
        abort(400, message=_("Invalid decision."), errors={"json": error.errors})
    return duplicates.presented(reader(), review_id)


@blp.route(f"/{ID}/confirm", methods=["POST"])
@blp.arguments(ReviewDecisionRequest)
@blp.response(200, ReviewSchema)
@blp.alt_response(400, description="Invalid fields")
@blp.alt_response(403, description="Only coordinators review duplicates")
@blp.alt_response(404, description="No such review in the caller's province")
@blp.alt_response(409, description="Decided already, or one case already linked")
@requires(policy.can_review_duplicates)
def confirm(body: dict[str, Any], review_id: int) -> dict[str, Any]:
    """The two reports are of one child: the cases are linked; the one not kept (by default the
    later report) is closed with reason ``duplicate`` and its history is read from the other."""
    return _decide(review_id, "confirm", body)


@blp.route(f"/{ID}/reject", methods=["POST"])
@blp.arguments(ReviewDecisionRequest)
@blp.response(200, ReviewSchema)
@blp.alt_response(400, description="Invalid fields")
@blp.alt_response(403, description="Only coordinators review duplicates")
@blp.alt_response(404, description="No such review in the caller's province")
@blp.alt_response(409, description="Decided already")
@requires(policy.can_review_duplicates)
def reject(body: dict[str, Any], review_id: int) -> dict[str, Any]:
    """Two different children: recorded, both cases go on."""
    return _decide(review_id, "reject", body)
