"""A coordinator's decisions on a case, from its page: the risk level, a transfer to another unit,
closing early and reopening; and the transfers page, where the receiving province's
coordinators accept or decline the transfers addressed to them (and follow those they sent).

Each form posts to its own view; a refused form gives the case page (or the transfers page)
back with the fields' errors and status 400, a decision taken meanwhile by someone else 409.
"""
from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine.errors import Conflict, ValidationFailed
from engine.runtime import CLOSE_REASONS
from engine.vocabulary import RISK_LEVELS

from .. import policy
from ..context import actor, engine, reader
from ..i18n import translate_errors, translate_message
from ..readers import cases, territory
from ..readers import transfers as transfer_readers
from ..readers.context import ReadContext
from .forms import flat_errors
from .notes import case_page_again
from .session import login_required

FORM = "coordination_form"  # g: the form refused, its values and errors
PER_PAGE = 20
SIDES = ("received", "sent")
STATES = ("pending", "accepted", "declined", "cancelled", "all")


def template_globals() -> dict[str, Any]:
    return {"pending_transfers": pending_transfers}


def pending_transfers() -> int | None:
    """How many transfers wait for the signed-in coordinator's province (None: not a coordinator);
    read once per request, for the menu."""
    principal = g.get("principal")
    if principal is None or not policy.can_answer_transfers(principal):
        return None
    if "pending_transfers" not in g:
        g.pending_transfers = transfer_readers.pending_count(reader())
    number: int = g.pending_transfers
    return number


def case_page_context(context: ReadContext, case: Any) -> dict[str, Any]:
    """What the case page's "Coordination" card needs (None for whoever may not decide), and the
    units' names its timeline shows of a transfer."""
    names = territory.unit_names(context)
    if not policy.can_move_case(context.principal, case) or case.subject_kind != "child":
        return {"coordination": None, "unit_names": names}
    history = transfer_readers.of_case(context, case.id)
    provinces = territory.provinces(context)
    destinations = [(code, name, [u for u in territory.units(context, code, receiving_only=True)
                                  if u.code != case.unit]) for code, name in provinces.items()]
    form = g.get(FORM) or {"name": None, "values": {}, "errors": {}}
    return {"coordination": {
        "pending": next((t for t in history if t["state"] == "pending"), None), "transfers": history,
        "destinations": [d for d in destinations if d[2]], "close_reasons": CLOSE_REASONS,
        "risk_levels": RISK_LEVELS, "form": form}, "unit_names": names}


def _decided(case_id: str) -> Any:
    """The case, when the signed-in person coordinates its province (404 unseen, 403 otherwise)."""
    case = cases.visible(reader(), str(case_id))
    if not policy.can_move_case(g.principal, case) or case.subject_kind != "child":
        abort(403)
    return case


def _refused(case_id: str, name: str, values: dict[str, Any], error: Exception) -> ResponseReturnValue:
    if isinstance(error, ValidationFailed):
        errors = flat_errors(translate_errors(error.errors))
    else:
        errors = {"_schema": [translate_message(str(error))]}
    g.setdefault(FORM, {"name": name, "values": values, "errors": errors})
    response = case_page_again(case_id)
    if isinstance(error, Conflict):
        response.status_code = 409
    return response


def _back(case_id: str, message: str) -> ResponseReturnValue:
    flash(message, "success")
    return redirect(url_for("web.case", case_id=case_id, _anchor="coordination"))


@login_required
def change_risk(case_id: str) -> ResponseReturnValue:
    case = _decided(case_id)
    values = {"risk_level": request.form.get("risk_level", ""), "reason": request.form.get("reason", "")}
    try:
        engine().set_risk_level(case.id, values["risk_level"], values["reason"], actor())
    except (ValidationFailed, Conflict) as error:
        return _refused(case.id, "risk", values, error)
    return _back(case.id, _("Risk level changed: the open steps' deadlines follow it."))


@login_required
def transfer(case_id: str) -> ResponseReturnValue:
    case = _decided(case_id)
    unit = request.form.get("unit", "")
    values = {"unit": unit, "reason": request.form.get("reason", ""),
              "province": territory.province_of_unit(reader(), unit) or ""}
    try:
        engine().request_transfer(case.id, values, actor())
    except (ValidationFailed, Conflict) as error:
        return _refused(case.id, "transfer", values, error)
    return _back(case.id, _("Transfer asked: the receiving province's coordinators will accept or decline it. "
                            "Meanwhile your team keeps working the case."))


@login_required
def close(case_id: str) -> ResponseReturnValue:
    case = _decided(case_id)
    values = {"reason": request.form.get("reason", ""), "note": request.form.get("note", "")}
    try:
        engine().close_case(case.id, values["reason"], values["note"], actor())
    except (ValidationFailed, Conflict) as error:
        return _refused(case.id, "close", values, error)
    return _back(case.id, _("Case closed: its open steps are cancelled."))


@login_required
def reopen(case_id: str) -> ResponseReturnValue:
    case = _decided(case_id)
    values = {"reason": request.form.get("reason", ""), "urgent": request.form.get("urgent") == "on"}
    try:
        engine().reopen_case(case.id, values["reason"], actor(), urgent=values["urgent"])
    except (ValidationFailed, Conflict) as error:
        return _refused(case.id, "reopen", values, error)
    return _back(case.id, _("Case reopened: a new reception and listening is open for the team."))


@login_required
def cancel_transfer(case_id: str, transfer_id: str) -> ResponseReturnValue:
    case = _decided(case_id)
    values = {"reason": request.form.get("reason", "")}
    try:
        engine().cancel_transfer(str(transfer_id), actor(), province=g.principal.province, reason=values["reason"])
    except (ValidationFailed, Conflict) as error:
        return _refused(case.id, "cancel", values, error)
    return _back(case.id, _("Transfer withdrawn: the case stays with your unit."))


# --- the transfers page ------------------------------------------------------------------------

def _choice(name: str, allowed: tuple[str, ...]) -> str:
    value = request.args.get(name) or allowed[0]
    return value if value in allowed else allowed[0]


def _transfers_page(status: int = 200, problem: dict[str, Any] | None = None) -> ResponseReturnValue:
    if not policy.can_answer_transfers(g.principal):
        abort(403)
    side, state = _choice("side", SIDES), _choice("state", STATES)
    try:
        page = max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    context = reader()
    listed = transfer_readers.transfer_page(context, side=side, state=state, page=page, per_page=PER_PAGE)
    if side == "received" and state == "pending":
        g.pending_transfers = listed["total"]  # the menu's count, already known
    return render_template("transfers.html", side=side, state=state, listed=listed, page=page,
                           pages=max(1, -(-listed["total"] // PER_PAGE)), problem=problem or {},
                           sides=SIDES, states=STATES), status


@login_required
def transfers_page() -> ResponseReturnValue:
    return _transfers_page()


@login_required
def answer_transfer(transfer_id: str) -> ResponseReturnValue:
    """Accept or decline (with a reason) a transfer addressed to the coordinator's province."""
    if not policy.can_answer_transfers(g.principal):
        abort(403)
    accept = request.form.get("decision") == "accept"
    reason = request.form.get("reason", "")
    try:
        engine().answer_transfer(str(transfer_id), accept, actor(), province=g.principal.province, reason=reason)
    except ValidationFailed as error:
        return _transfers_page(400, {"id": str(transfer_id), "reason": reason,
                                     "errors": flat_errors(translate_errors(error.errors))})
    except Conflict as conflict:
        return _transfers_page(409, {"id": str(transfer_id), "reason": reason,
                                     "errors": {"_schema": [translate_message(str(conflict))]}})
    found = transfer_readers.one(reader(), str(transfer_id))
    reference = found["case_reference"] if found else ""
    if accept:
        flash(_("Transfer of case %(reference)s accepted: the case and its open steps are now your province's.",
                reference=reference), "success")
        return redirect(url_for("web.case", case_id=found["case_id"]) if found else url_for("web.transfers_page"))
    flash(_("Transfer of case %(reference)s declined: the sending unit is told why.", reference=reference), "success")
    return redirect(url_for("web.transfers_page"))
