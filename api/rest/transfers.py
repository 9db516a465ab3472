"""``/api/v1/transfers``: the transfers addressed to the caller's province (or sent from it), and
their answers: accept, decline, or withdraw (:mod:`engine.transfers`)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from engine.errors import ValidationFailed

from .. import policy
from ..readers import transfers as transfer_readers
from ..schemas import TransferAnswer, TransferListArgs, TransferPage, TransferSchema
from .common import Blueprint, abort, actor, engine, load_principal, principal, reader

blp = Blueprint("transfers", __name__, url_prefix="/api/v1/transfers", description="Cases moving between units")
blp.before_request(load_principal)


def _coordinator() -> None:
    if not policy.can_answer_transfers(principal()):
        abort(403, message=_("Only the province's coordinators answer transfers."))


@blp.route("", methods=["GET"])
@blp.arguments(TransferListArgs, location="query")
@blp.response(200, TransferPage)
@blp.alt_response(403, description="Coordinators only")
def list_transfers(args: dict[str, Any]) -> dict[str, Any]:
    """The transfers addressed to the caller's province (``side=sent``: asked by it), by state
    (default ``pending``, by deadline)."""
    _coordinator()
    return transfer_readers.transfer_page(reader(), side=args["side"], state=args["state"], page=args["page"],
                                          per_page=args["per_page"])


def _answered(transfer_id: str) -> dict[str, Any]:
    found = transfer_readers.one(reader(), transfer_id)
    if found is None:  # answered and moved out of sight cannot happen: a transfer keeps both provinces
        abort(404, message=_("No such transfer."))
    return found


@blp.route("/<uuid:transfer_id>/accept", methods=["POST"])
@blp.arguments(TransferAnswer)
@blp.response(200, TransferSchema)
@blp.alt_response(403, description="Coordinators only")
@blp.alt_response(404, description="No such transfer addressed to the caller's province")
@blp.alt_response(409, description="Answered already (by another coordinator)")
def accept(_body: dict[str, Any], transfer_id: str) -> dict[str, Any]:
    """Accept: the case, its open tasks (back in the new unit's lanes) and its history move."""
    _coordinator()
    engine().answer_transfer(str(transfer_id), True, actor(), province=principal().province)
    return _answered(str(transfer_id))


@blp.route("/<uuid:transfer_id>/decline", methods=["POST"])
@blp.arguments(TransferAnswer)
@blp.response(200, TransferSchema)
@blp.alt_response(400, description="No reason given")
@blp.alt_response(403, description="Coordinators only")
@blp.alt_response(404, description="No such transfer addressed to the caller's province")
@blp.alt_response(409, description="Answered already")
def decline(body: dict[str, Any], transfer_id: str) -> dict[str, Any]:
    """Decline with a reason: the case stays with the sending unit, whose coordinators are told."""
    _coordinator()
    try:
        engine().answer_transfer(str(transfer_id), False, actor(), province=principal().province,
                                 reason=body.get("reason"))
    except ValidationFailed as error:
        abort(400, message=_("Invalid answer."), errors={"json": error.errors})
    return _answered(str(transfer_id))


@blp.route("/<uuid:transfer_id>/cancel", methods=["POST"])
@blp.arguments(TransferAnswer)
@blp.response(200, TransferSchema)
@blp.alt_response(400, description="No reason given")
@blp.alt_response(403, description="Coordinators only")
@blp.alt_response(404, description="No such transfer sent by the caller's province")
@blp.alt_response(409, description="Answered already")
def cancel(body: dict[str, Any], transfer_id: str) -> dict[str, Any]:
    """Withdraw a pending transfer the caller's province asked for (with a reason)."""
    _coordinator()
    try:
        engine().cancel_transfer(str(transfer_id), actor(), province=principal().province, reason=body.get("reason"))
    except ValidationFailed as error:
        abort(400, message=_("Invalid cancellation."), errors={"json": error.errors})
    return _answered(str(transfer_id))
