"""Outreach without a network (SAS mobile teams, UPE outreach): the installable app's pages.

- ``/outreach``: what waits on the phone to sync, what synced, what needs attention (the
  queue is drawn by ``static/outreach.js`` from IndexedDB), and the pages that work offline:
  the report form and the listening form of each case the worker holds.
- ``/outreach/tasks/<id>``: a held listening step's form alone (the case's reference and the
  step's title, no child's data: the page is kept on the phone in the service worker's cache).
- ``/outreach/key``: the public key the phone seals its queue with (:mod:`api.offline_keys`),
  with the session's CSRF token; ``/outreach/offline.json``: the pages to keep for offline use,
  the signed-in worker's only.
- ``/outreach/sync/report`` and ``/outreach/sync/tasks/<id>``: what the phone sends back, sealed,
  with its ``client_id`` as idempotency key (:mod:`api.idempotent`): a resend never makes a second
  case or a second completion; the answers are JSON for the page to show.
- ``/outreach/correct/report``: a report the server refused at sync (a field to correct), opened
  and given back on the report page to correct and send; nothing is kept on the server meanwhile.
- ``/sw.js``: the service worker (``static/sw.js``), at the root so that its scope covers the pages.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, abort, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from engine import idempotency
from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from engine.idempotency import KeyReused, Recorder
from engine.runtime import CommandResult

from .. import idempotent, offline_keys, policy
from ..assets import asset_url, assets
from ..context import actor, engine, reader, settings
from ..i18n import LANGUAGES, translate_errors, translate_form_errors, translate_message
from ..readers import cases, duplicates, tasks
from .cases import REPORT_PAGE, report_form, report_units
from .forms import form_data, report_errors, report_payload
from .session import csrf_token, current_principal, login_required

# The steps whose form works offline: the reception and listening of a child the worker holds.
OFFLINE_STEPS = ("reception_listening",)
HELD_MAX = 50  # held listening steps kept for offline use
FIELDS_MAX = 200  # fields of one form sent back
VALUE_MAX = 20_000  # characters of one field's value


BACKGROUND = "X-Himaya-Background"  # a request of the service worker or of outreach.js, not of the worker


def leave_session_alone(response: Response) -> Response:
    """A background request (the service worker keeping pages, outreach.js fetching its key or
    sending what waits) writes no session cookie: answering after the worker changed the page's
    language, or logged in again, it would put the old session back."""
    if request.headers.get(BACKGROUND):
        session.modified = False
    return response


def outreach_worker(principal: Any) -> bool:
    return policy.reports_children(principal)


def _json_login(view: Callable[..., Any]) -> Callable[..., Any]:
    """The sync endpoints answer JSON: 401 with ``reason: signed_out`` when the session lapsed
    (the page then asks the worker to sign in again; the queue waits)."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_principal() is None:
            return idempotent.refused(401, "signed_out", _("Your session has ended: log in again to sync."))
        if not outreach_worker(g.principal):
            return idempotent.refused(403, "not_outreach", _("You are not allowed to do this."))
        return view(*args, **kwargs)
    return wrapper


def held_steps() -> list[dict[str, Any]]:
    """The listening steps the signed-in worker holds (claimed), soonest due first."""
    context = reader()
    found: list[dict[str, Any]] = []
    for step in OFFLINE_STEPS:
        _total, items = tasks.task_page(context, scope="mine", page=1, per_page=HELD_MAX, state="claimed", step=step,
                                        zone=settings().zone)
        found.extend(items)
    return found


@login_required
def outreach_page() -> ResponseReturnValue:
    if not outreach_worker(g.principal):
        abort(403)
    held = held_steps()
    if held:
        engine().record_access(actor(), "tasks_listed", sorted({t["case_id"] for t in held}))
    return render_template("outreach.html", held=held, may_report=bool(report_units()),
                           lifetime_hours=settings().offline_queue_hours)


@login_required
def offline_task(task_id: Any) -> ResponseReturnValue:
    """A held listening step's form, to fill offline (no child's data on the page)."""
    context = reader()
    row, reference, version_id = tasks.visible_task(context, str(task_id))
    if row.step not in OFFLINE_STEPS or row.state != "claimed" or row.assignee != context.principal.username:
        abort(404)
    engine().record_access(actor(), "task_viewed", [row.case_id], {"task_id": row.id, "step": row.step})
    view = tasks.present_task(context, row, reference, version_id, with_form=True)
    return render_template("outreach_task.html", task=view)


@login_required
def offline_list() -> ResponseReturnValue:
    """The pages and files the service worker keeps for this worker: the outreach page, the
    report form, each held listening step's form, each in fr, ar and en, and their scripts."""
    if not outreach_worker(g.principal):
        abort(403)
    pages = [url_for("web.outreach")]
    if report_units():
        pages.append(url_for("web.report"))
    pages += [url_for("web.offline_task", task_id=t["id"]) for t in held_steps()]
    response = jsonify({
        "user": g.principal.user_id, "languages": list(LANGUAGES),
        "pages": pages, "assets": [asset_url(name) for name in ("himaya.css", "outreach.js", "session.js")]})
    response.headers["Cache-Control"] = "no-store"
    return response


@login_required
def queue_key() -> ResponseReturnValue:
    """The public key to seal the queue with (the same one again for a ``key_id`` still young)."""
    if not outreach_worker(g.principal):
        abort(403)
    himaya = engine()
    key = offline_keys.queue_key(current_app.config["SECRET_KEY"], g.principal.user_id, himaya.now(),
                                 settings().offline_queue_lifetime, request.args.get("key_id"))
    response = jsonify({"key_id": key.key_id, "public_key": key.public_key, "expires_at": key.expires_at.isoformat(),
                        "user": g.principal.user_id, "csrf": csrf_token()})
    response.headers["Cache-Control"] = "no-store"
    return response


def _opened(body: Any) -> tuple[str, dict[str, Any]] | Response:
    """(key, the form's fields) of a sync request, or the 400 that refuses it."""
    if not isinstance(body, dict):
        return _invalid({"_": [_("Send a JSON object.")]})
    try:
        key = idempotent.body_key(body)
    except ValidationFailed as error:
        return _invalid(translate_errors(error.errors))
    if key is None:
        return _invalid({"client_id": [_("Each action needs its client_id.")]})
    try:
        fields = offline_keys.open_sealed(current_app.config["SECRET_KEY"], g.principal.user_id, body.get("sealed"),
                                          engine().now(), settings().offline_queue_lifetime)
    except offline_keys.Unopenable:
        return idempotent.refused(400, "unopenable", _(
            "This action cannot be opened: it was kept on the phone too long, or by another account."))
    if not isinstance(fields, dict) or len(fields) > FIELDS_MAX or not all(
            isinstance(k, str) and _plain_value(v) for k, v in fields.items()):
        return _invalid({"_": [_("The form's fields are not readable.")]})
    return key, fields


def _plain_value(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= VALUE_MAX
    return isinstance(value, list) and len(value) <= FIELDS_MAX and all(
        isinstance(v, str) and len(v) <= VALUE_MAX for v in value)


def _posted(fields: dict[str, Any]) -> MultiDict:
    return MultiDict([(name, value) for name, values in fields.items() if name != "csrf_token"
                      for value in (values if isinstance(values, list) else [values])])


def _invalid(errors: dict[str, list[str]], reason: str = "invalid_fields") -> Response:
    response = jsonify({"code": 400, "status": "Bad Request", "message": _("Please correct the fields marked below."),
                        "reason": reason, "errors": errors})
    response.status_code = 400
    return response


def _reused(error: KeyReused) -> Response:
    response = idempotent.refused(422, "key_reused", translate_message(error.message))
    return response


@_json_login
def sync_report() -> ResponseReturnValue:
    """A report made offline: the report page's fields, sealed, with their ``client_id``."""
    opened = _opened(request.get_json(silent=True))
    if isinstance(opened, Response):
        return opened
    key, fields = opened
    p = g.principal
    units = {u.code: u.name for u in report_units()}
    payload = report_payload(_posted(fields), p.province or "", settings().timezone)
    if not payload["unit"]:
        return _invalid({"unit": [_("Choose the unit that receives the child.")]})
    if not policy.can_report(p, payload["province"], payload["unit"], own_unit_kind=g.own_unit_kind):
        return _invalid({"unit": [_("You may only report children in your own territory.")]})

    def present(result: CommandResult) -> tuple[int, dict[str, Any]]:
        earlier = duplicates.visible_matches(reader(), result.possible_duplicates)
        return 201, {"outcome": "reported", "case_id": result.case_id, "reference": result.case_reference,
                     "unit": payload["unit"], "unit_name": units.get(payload["unit"], payload["unit"]),
                     "followed": payload["unit"] == p.unit,
                     "possible_duplicates": [{"reference": m["reference"], "score": m["score"]} for m in earlier]}

    try:
        answer = idempotent.run(key, "POST /outreach/sync/report", fields,
                                lambda record: engine().start_case(payload, actor(), record=record), present,
                                user_id=p.user_id)
    except KeyReused as error:
        return _reused(error)
    except ValidationFailed as error:
        return _invalid(report_errors(translate_errors(error.errors)))
    return idempotent.respond(answer)


@_json_login
def sync_task(task_id: Any) -> ResponseReturnValue:
    """A listening step done offline: its form's fields, sealed, with their ``client_id``."""
    opened = _opened(request.get_json(silent=True))
    if isinstance(opened, Response):
        return opened
    key, fields = opened
    task_id = str(task_id)
    seen: dict[str, Any] = {}

    def command(record: Recorder) -> object:
        context = reader()
        row, reference, version_id = tasks.visible_task(context, task_id, ended_is_conflict=True)
        if not policy.can_act(context.principal, row):
            raise Forbidden("This task belongs to another role.")
        seen["view"] = view = tasks.present_task(context, row, reference, version_id, with_form=True)
        return engine().complete(row.id, form_data(view["form"], _posted(fields)), actor(), record=record)

    def present(result: CommandResult) -> tuple[int, dict[str, Any]]:
        view = seen["view"]
        return 200, {"outcome": "completed", "case_id": result.case_id, "reference": result.case_reference,
                     "title": view["title"]}

    try:
        answer = idempotent.run(key, f"POST /outreach/sync/tasks/{task_id}", fields, command, present,
                                user_id=g.principal.user_id)
    except KeyReused as error:
        return _reused(error)
    except Forbidden:
        return idempotent.refused(403, "another_role", _("This task belongs to another role."))
    except ValidationFailed as error:
        return _invalid(translate_form_errors(error.errors, seen["view"]["form"]) if "view" in seen
                        else translate_errors(error.errors))
    except (Conflict, NotFound) as error:
        status, reason, message = idempotent.task_refusal(reader(), task_id, error.status)
        return idempotent.refused(status, reason, message)
    return idempotent.respond(answer)


SEALED_MAX = 200_000  # characters of a sealed action sent back to be corrected


@login_required
def correct_report() -> ResponseReturnValue:
    """A report kept offline and refused when it was sent (a field the phone could not check): the
    phone sends it back sealed, as it was, and the report page opens with what was typed and the
    fields to correct. Sent from there, it carries the phone's ``client_id`` as its key (one case,
    however often it is sent), and the phone's list moves it to "sent" (:func:`corrected_reports`).
    Nothing is written here."""
    if not outreach_worker(g.principal) or not report_units():
        abort(403)
    client_id = request.form.get("client_id", "")
    raw = request.form.get("sealed", "")
    try:
        sealed = json.loads(raw) if 0 < len(raw) <= SEALED_MAX else None
    except ValueError:
        sealed = None
    fields: Any = None
    if idempotency.KEY_PATTERN.match(client_id) and isinstance(sealed, dict):
        try:
            fields = offline_keys.open_sealed(current_app.config["SECRET_KEY"], g.principal.user_id, sealed,
                                              engine().now(), settings().offline_queue_lifetime)
        except offline_keys.Unopenable:
            fields = None
    if not isinstance(fields, dict) or len(fields) > FIELDS_MAX or not all(
            isinstance(k, str) and _plain_value(v) for k, v in fields.items()):
        flash(_("This action cannot be opened: it was kept on the phone too long, or by another account."), "error")
        return redirect(url_for("web.outreach"))
    posted = _posted(fields)
    values: dict[str, Any] = {**posted.to_dict(), "categories": posted.getlist("categories"),
                              "client_id": client_id, "offline_id": client_id}
    return report_form(values, _report_problems(posted), kept_offline=True)


def _report_problems(posted: MultiDict) -> dict[str, list[str]]:
    """What the server refuses in this report, by field (read only: nothing is opened)."""
    p = g.principal
    payload = report_payload(posted, p.province or "", settings().timezone)
    if not payload["unit"]:
        return {"unit": [_("Choose the unit that receives the child.")]}
    if not policy.can_report(p, payload["province"], payload["unit"], own_unit_kind=g.own_unit_kind):
        return {"unit": [_("You may only report children in your own territory.")]}
    try:
        engine().check_report(payload, actor())
    except ValidationFailed as error:
        return report_errors(translate_errors(error.errors))
    except Forbidden as error:
        return {"_": [translate_message(error.message)]}
    return {}


CORRECTED_MAX = 50  # reports asked about at once


@_json_login
def corrected_reports() -> ResponseReturnValue:
    """Which of these refused reports (the phone's ids) were corrected on the report page and sent
    since: their case's reference, read from the answer kept under the phone's id (the report
    page's key), so the phone's list moves them to "sent" whenever it asks."""
    body = request.get_json(silent=True)
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or len(ids) > CORRECTED_MAX or not all(
            isinstance(i, str) and idempotency.KEY_PATTERN.match(i) for i in ids):
        return _invalid({"ids": [_("Send at most %(count)s ids of actions.", count=CORRECTED_MAX)]})
    found = idempotency.answers(engine().db, g.principal.user_id, ids, REPORT_PAGE, engine().now())
    context = reader()
    reports: dict[str, dict[str, Any]] = {}
    for key, answer in found.items():
        if answer.status != 201 or not answer.body.get("case_id"):
            continue
        reports[key] = {"reference": answer.body.get("reference"), "case_id": answer.body["case_id"],
                        "followed": cases.is_visible(context, answer.body["case_id"])}
    response = jsonify({"reports": reports})
    response.headers["Cache-Control"] = "no-store"
    return response


def service_worker() -> Response:
    """The service worker, from the root so that its scope covers every page it keeps."""
    response = assets().respond("sw.js", immutable=False)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response
