"""Referrals on the pages: the case page's "Referrals" card and its form, and the partners' page
``/referrals`` where they accept, decline and record the service given.

Each form is a plain POST with the CSRF token that works without JavaScript. A form with bad
fields shows its page again with each message next to its field (400) and nothing stored; an
answer given twice (or to a cancelled referral, or on a closed case) says so (409). The checks are
:mod:`engine.referrals`'; who may do what is :mod:`api.policy`'s.
"""
from __future__ import annotations

from typing import Any

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import referrals as commands
from engine.errors import Conflict, ValidationFailed
from engine.models import Case
from engine.vocabulary import SECTORS

from .. import policy
from ..context import actor, engine, reader, settings
from ..i18n import translate_errors, translate_message
from ..readers import cases as case_readers
from ..readers import referrals as readers
from ..readers.context import ReadContext
from .forms import flat_errors
from .session import login_required

PER_PAGE = 20
REFERRAL_FORM, ANSWER_FORM = "referral_form", "referral_answer"  # g: a form posted with errors, shown again
TABS = ("open", "requested", "accepted", "completed", "declined", "cancelled", "all")


def _choices() -> dict[str, Any]:
    return {"sectors": SECTORS, "services": commands.SERVICES, "organisation_max": commands.ORGANISATION_MAX,
            "reason_max": commands.REASON_MAX, "note_max": commands.NOTE_MAX}


def case_page_context(context: ReadContext, case: Case) -> dict[str, Any]:
    """What the case page's "Referrals" card needs: the case's referrals the reader sees, and the
    form to make one (the case's team, on an open case); records the read when one was shown."""
    items = readers.case_referrals(context, case)
    if items:
        engine().record_access(actor(), "referrals_viewed", [case.id], {"referrals": [i["id"] for i in items]})
    form = g.get(REFERRAL_FORM) or {"values": {"task_id": request.args.get("refer_from") or ""}, "errors": {}}
    may_refer = case.status == "open" and policy.can_refer(context.principal, case)
    for item in items:
        item["may_cancel"] = item["status"] in commands.OPEN_STATES and policy.can_cancel_referral(
            context.principal, _Requested(item["requester"]), case)
    return {"referral_box": {"items": items, "may_refer": may_refer, "form": form,
                             "answer": g.get(ANSWER_FORM) or {}, **_choices()}}


class _Requested:
    """What :func:`api.policy.can_cancel_referral` reads of a referral shown."""

    def __init__(self, requester: str) -> None:
        self.requester = requester


def _field_errors(error: ValidationFailed) -> dict[str, list[str]]:
    return dict(flat_errors(translate_errors(error.errors)).items())


def _case_page_again(case_id: str, status: int) -> ResponseReturnValue:
    from .cases import case as case_page

    response = make_response(case_page(case_id=case_id))
    response.status_code = status
    return response


@login_required
def make_referral(case_id: str) -> ResponseReturnValue:
    """The case page's referral form."""
    context = reader()
    case = case_readers.visible(context, str(case_id))
    if not policy.can_refer(context.principal, case):
        abort(403)
    values = {key: request.form.get(key, "") for key in ("sector", "organisation", "service", "note", "reason",
                                                          "respond_by", "task_id")}
    payload: dict[str, str | None] = {key: value for key, value in values.items()
                                      if value.strip() or key in ("reason", "sector", "service")}
    for key in ("sector", "service"):
        payload[key] = payload.get(key) or None
    try:
        commands.request_referral(engine(), case.id, payload, actor(), requester_unit=context.principal.unit,
                                  zone=settings().zone)
    except ValidationFailed as error:
        g.referral_form = {"values": values, "errors": _field_errors(error)}
        return _case_page_again(case.id, 400)
    except Conflict as conflict:
        g.referral_form = {"values": values, "errors": {"_schema": [translate_message(str(conflict))]}}
        return _case_page_again(case.id, 409)
    flash(_("The referral is sent: the partners of the sector are notified."), "success")
    return redirect(url_for("web.case", case_id=case.id, _anchor="referrals"))


@login_required
def referrals_page() -> ResponseReturnValue:
    """The referrals the user sees (a partner: those addressed to its sector in its province), open
    first and nearest deadline first, with the answer forms for the partners they are addressed to."""
    context = reader()
    if not policy.reads_referrals(context.principal):
        abort(403)
    return _list_page(context, 200)


def _list_page(context: ReadContext, status: int) -> ResponseReturnValue:
    tab = request.args.get("state") if request.args.get("state") in TABS else "open"
    try:
        page = max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    total, items = readers.referral_page(context, None if tab == "all" else tab, page, PER_PAGE)
    if items:
        by_case: dict[str, list[str]] = {}
        for item in items:
            by_case.setdefault(item["case_id"], []).append(item["id"])
        for case_id, ids in by_case.items():
            engine().record_access(actor(), "referrals_viewed", [case_id], {"referrals": ids})
    answers = context.principal.role == "partner"
    today = context.now.astimezone(settings().zone).date().isoformat()
    return render_template("referrals.html", items=items, total=total, tab=tab, tabs=TABS, page=page,
                           pages=max(1, -(-total // PER_PAGE)), answers=answers, today=today,
                           answer=g.get(ANSWER_FORM) or {}, **_choices()), status


def _answer(referral_id: str, action: str, fields: tuple[str, ...]) -> ResponseReturnValue:
    context = reader()
    referral, case = readers.visible(context, str(referral_id))  # 404: not addressed to the user
    if not policy.can_answer_referral(context.principal, referral, case):
        abort(403)
    values = {key: request.form.get(key, "") for key in fields}
    payload = {key: value for key, value in values.items() if value.strip() or key in ("reason", "service_given")}
    himaya, zone = engine(), settings().zone
    try:
        if action == "accept":
            commands.accept(himaya, referral.id, payload, actor(), zone=zone)
        elif action == "decline":
            commands.decline(himaya, referral.id, payload, actor())
        else:
            commands.complete(himaya, referral.id, {**payload, "occurrence": payload.get("occurrence")}, actor(),
                              zone=zone)
    except ValidationFailed as error:
        g.referral_answer = {"id": referral.id, "action": action, "values": values, "errors": _field_errors(error)}
        return _list_page(context, 400)
    except Conflict as conflict:
        g.referral_answer = {"id": referral.id, "action": action, "values": values,
                             "errors": {"_schema": [translate_message(str(conflict))]}}
        return _list_page(context, 409)
    flash({"accept": _("Referral %(reference)s accepted: the requester and the coordinators are told.",
                       reference=case.reference),
           "decline": _("Referral %(reference)s declined: the requester and the coordinators are told.",
                        reference=case.reference),
           "complete": _("The service given on referral %(reference)s is recorded.", reference=case.reference),
           }[action], "success")
    return redirect(url_for("web.referrals_page", state=request.args.get("state") or None))


@login_required
def accept(referral_id: str) -> ResponseReturnValue:
    return _answer(referral_id, "accept", ("due_by", "note"))


@login_required
def decline(referral_id: str) -> ResponseReturnValue:
    return _answer(referral_id, "decline", ("reason",))


@login_required
def complete(referral_id: str) -> ResponseReturnValue:
    return _answer(referral_id, "complete", ("service_given", "occurrence"))


@login_required
def cancel(referral_id: str) -> ResponseReturnValue:
    """Cancel an open referral from the case page (its requester or a coordinator), with a reason."""
    context = reader()
    referral, case = readers.visible(context, str(referral_id))
    if not policy.can_cancel_referral(context.principal, referral, case):
        abort(403)
    values = {"reason": request.form.get("reason", "")}
    try:
        commands.cancel(engine(), referral.id, values, actor())
    except ValidationFailed as error:
        g.referral_answer = {"id": referral.id, "action": "cancel", "values": values, "errors": _field_errors(error)}
        return _case_page_again(case.id, 400)
    except Conflict as conflict:
        g.referral_answer = {"id": referral.id, "action": "cancel", "values": values,
                             "errors": {"_schema": [translate_message(str(conflict))]}}
        return _case_page_again(case.id, 409)
    flash(_("The referral is cancelled: the partners are told."), "success")
    return redirect(url_for("web.case", case_id=case.id, _anchor="referrals"))


def template_globals() -> dict[str, Any]:
    """Whether the menu shows "Referrals": the partners and the coordinators."""
    principal = g.get("principal")
    return {"menu_referrals": principal is not None and principal.role in ("partner", "coordinator")}
