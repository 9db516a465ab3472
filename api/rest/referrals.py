"""``/api/v1/cases/{id}/referrals`` and ``/api/v1/referrals``: referrals of a child to partners.

A case or a referral the caller does not see is 404 before anything else (a partner sees only the
referrals addressed to its sector in its province); then the policy (:mod:`api.policy`): the
case's team makes them, the addressed partners answer them, the requester or a coordinator cancels
them (403 otherwise). Bad fields are 400 with each field's message; answering twice, or a closed
case, 409. Every list read is audited (``referrals_viewed``).
"""
from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _

from engine import referrals as commands

from .. import policy
from ..context import settings
from ..readers import cases as case_readers
from ..readers import referrals as readers
from ..schemas import (
    ReferralAcceptRequest,
    ReferralCancelRequest,
    ReferralCompleteRequest,
    ReferralDeclineRequest,
    ReferralList,
    ReferralListArgs,
    ReferralPage,
    ReferralRequest,
    ReferralSchema,
)
from .common import Blueprint, abort, actor, engine, load_principal, page_of, reader

blp = Blueprint("referrals", __name__, url_prefix="/api/v1", description="Referrals to partners")
blp.before_request(load_principal)
REFERRAL = "/referrals/<uuid:referral_id>"


def _audited(items: list[dict[str, Any]]) -> None:
    """Record that the caller read these referrals (by case)."""
    by_case: dict[str, list[str]] = {}
    for item in items:
        by_case.setdefault(item["case_id"], []).append(item["id"])
    for case_id, ids in by_case.items():
        engine().record_access(actor(), "referrals_viewed", [case_id], {"referrals": ids})


@blp.route("/cases/<uuid:case_id>/referrals", methods=["POST"])
@blp.arguments(ReferralRequest)
@blp.response(201, ReferralSchema)
@blp.alt_response(400, description="Invalid fields (each listed)")
@blp.alt_response(403, description="Only the case's team refers the child")
@blp.alt_response(404, description="Unknown or not visible")
@blp.alt_response(409, description="The case is closed")
def make_referral(_body: dict[str, Any], case_id: str) -> dict[str, Any]:
    """Refer the child to a partner sector (or a named organisation) for a service, with a response
    deadline; the sector's partners of the province are notified (``referral_requested``)."""
    context = reader()
    case = case_readers.visible(context, str(case_id))
    if not policy.can_refer(context.principal, case):
        abort(403, message=_("Only the case's team refers the child to a partner."))
    referral = commands.request_referral(engine(), case.id, request.get_json(), actor(),
                                         requester_unit=context.principal.unit, zone=settings().zone)
    return readers.shown(context, referral)


@blp.route("/cases/<uuid:case_id>/referrals", methods=["GET"])
@blp.response(200, ReferralList)
@blp.alt_response(404, description="Unknown or not visible")
def case_referrals(case_id: str) -> dict[str, Any]:
    """The case's referrals the caller sees, open first (a partner: those addressed to its sector)."""
    context = reader()
    case = case_readers.visible(context, str(case_id))
    items = readers.case_referrals(context, case)
    _audited(items)
    return {"items": items}


@blp.route("/referrals", methods=["GET"])
@blp.arguments(ReferralListArgs, location="query")
@blp.response(200, ReferralPage)
@blp.alt_response(403, description="A role that reads no referral")
def list_referrals(args: dict[str, Any]) -> dict[str, Any]:
    """The referrals the caller sees: a partner those addressed to its sector in its province, the
    coordinators and supervisors their province's, a case worker its unit's; open first, nearest
    deadline first."""
    context = reader()
    if not policy.reads_referrals(context.principal):
        abort(403, message=_("You are not allowed to read referrals."))
    total, items = readers.referral_page(context, args.get("state"), args["page"], args["per_page"])
    _audited(items)
    return page_of(total, args["page"], args["per_page"], items)


def _answerable(referral_id: str) -> Any:
    """The referral if the caller sees it (404) and is a partner it is addressed to (403)."""
    context = reader()
    referral, case = readers.visible(context, str(referral_id))
    if not policy.can_answer_referral(context.principal, referral, case):
        abort(403, message=_("Only the partners the referral is addressed to answer it."))
    return referral


@blp.route(REFERRAL + "/accept", methods=["POST"])
@blp.arguments(ReferralAcceptRequest)
@blp.response(200, ReferralSchema)
@blp.alt_response(400, description="Invalid fields (each listed)")
@blp.alt_response(403, description="Not addressed to the caller's sector")
@blp.alt_response(404, description="Unknown or not visible")
@blp.alt_response(409, description="Answered already, cancelled, or the case is closed")
def accept(_body: dict[str, Any], referral_id: str) -> dict[str, Any]:
    """Accept the referral, saying when the service will be given (``due_by``)."""
    found = _answerable(referral_id)
    referral = commands.accept(engine(), found.id, request.get_json(), actor(), zone=settings().zone)
    return readers.shown(reader(), referral)


@blp.route(REFERRAL + "/decline", methods=["POST"])
@blp.arguments(ReferralDeclineRequest)
@blp.response(200, ReferralSchema)
@blp.alt_response(400, description="Invalid fields (each listed)")
@blp.alt_response(403, description="Not addressed to the caller's sector")
@blp.alt_response(404, description="Unknown or not visible")
@blp.alt_response(409, description="Answered already, cancelled, or the case is closed")
def decline(_body: dict[str, Any], referral_id: str) -> dict[str, Any]:
    """Decline the referral, with a reason (the requester and the coordinators are told)."""
    found = _answerable(referral_id)
    referral = commands.decline(engine(), found.id, request.get_json(), actor())
    return readers.shown(reader(), referral)


@blp.route(REFERRAL + "/complete", methods=["POST"])
@blp.arguments(ReferralCompleteRequest)
@blp.response(200, ReferralSchema)
@blp.alt_response(400, description="Invalid fields (each listed)")
@blp.alt_response(403, description="Not addressed to the caller's sector")
@blp.alt_response(404, description="Unknown or not visible")
@blp.alt_response(409, description="Not accepted (requested, declined, cancelled or completed), or the case is closed")
def complete(_body: dict[str, Any], referral_id: str) -> dict[str, Any]:
    """Record the service given (what, and on which day) on an accepted referral."""
    found = _answerable(referral_id)
    referral = commands.complete(engine(), found.id, request.get_json(), actor(), zone=settings().zone)
    return readers.shown(reader(), referral)


@blp.route(REFERRAL + "/cancel", methods=["POST"])
@blp.arguments(ReferralCancelRequest)
@blp.response(200, ReferralSchema)
@blp.alt_response(400, description="Invalid fields (each listed)")
@blp.alt_response(403, description="Neither its requester nor a coordinator")
@blp.alt_response(404, description="Unknown or not visible")
@blp.alt_response(409, description="Declined, completed or cancelled already, or the case is closed")
def cancel(_body: dict[str, Any], referral_id: str) -> dict[str, Any]:
    """Withdraw an open referral, with a reason (the partners are told)."""
    context = reader()
    found, case = readers.visible(context, str(referral_id))
    if not policy.can_cancel_referral(context.principal, found, case):
        abort(403, message=_("Only its requester or a coordinator cancels a referral."))
    referral = commands.cancel(engine(), found.id, request.get_json(), actor())
    return readers.shown(context, referral)
