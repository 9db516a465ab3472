"""Idempotent commands over HTTP (``Idempotency-Key``), for the REST API and the outreach pages.

The engine side is :mod:`engine.idempotency`; here: reading the key (header, or ``client_id`` in
an outreach page's JSON body), the answer as a response with ``Idempotent-Replayed: true`` when
it is a stored one, and the codes a refused sync explains (:func:`task_refusal`).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request
from flask_babel import gettext as _
from werkzeug.http import HTTP_STATUS_CODES

from engine import idempotency
from engine.errors import ValidationFailed
from engine.idempotency import HEADER, REPLAYED_HEADER, Answer, Attempt, Recorder

from .context import engine, settings
from .readers import tasks as task_readers
from .readers.context import ReadContext

# The header in the OpenAPI document of the endpoints that take it.
HEADER_PARAMETER = {"in": "header", "name": HEADER, "required": False, "schema": {
    "type": "string", "pattern": idempotency.KEY_PATTERN.pattern}, "description": (
    "A key made by the client for one action: the same request again with it answers the first answer "
    "(Idempotent-Replayed: true) and runs nothing twice; another request with it is a 422.")}

# What a refused completion says, for a client to explain it (the "reason" of a 404 or 409).
TASK_ALREADY_COMPLETED = "task_already_completed"
TASK_CANCELLED = "task_cancelled"
TASK_CLAIMED_BY_OTHER = "task_claimed_by_other"
CASE_TRANSFERRED = "case_transferred"
CASE_CHANGED = "case_changed"
TASK_NOT_FOUND = "task_not_found"


def header_key() -> str | None:
    """The request's ``Idempotency-Key`` (None without one); 400 on a malformed one."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    return idempotency.check_key(key.strip())


def body_key(body: dict[str, Any]) -> str | None:
    """The key of an outreach page's JSON body (``client_id``), which the header, when both are
    sent, must repeat."""
    sent, header = body.get("client_id"), request.headers.get(HEADER)
    if sent is None and header is None:
        return None
    key = idempotency.check_key(sent if sent is not None else header, "client_id" if sent is not None else HEADER)
    if header is not None and sent is not None and header.strip() != key:
        raise ValidationFailed("Invalid idempotency key.", {"client_id": [
            "The client_id and the Idempotency-Key header differ: send one key for one action."]})
    return key


def run(key: str, endpoint: str, body: Any, command: Callable[[Recorder], object],
        present: Callable[[Any], tuple[int, dict[str, Any]]], *, user_id: int) -> Answer:
    himaya = engine()
    attempt = Attempt(user_id, key, endpoint, idempotency.digest(body))
    return idempotency.run(himaya.db, attempt, himaya.now(), command, present,
                           lifetime=settings().idempotency_lifetime)


def respond(answer: Answer) -> Response:
    response = jsonify(answer.body)
    response.status_code = answer.status
    if answer.replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response


def task_refusal(context: ReadContext, task_id: str, status: int) -> tuple[int, str, str]:
    """Why the caller cannot complete this task, as (status, reason code, message): completed or
    cancelled meanwhile (409), its case transferred to another unit (409), or not found (404)."""
    why = task_readers.why_not_open(context, task_id)
    if why == "completed":
        return 409, TASK_ALREADY_COMPLETED, _(
            "This step was completed already, by someone else or from another device.")
    if why == "cancelled":
        return 409, TASK_CANCELLED, _("This step was cancelled: the case moved on (closed, or its pathway changed).")
    if why == "transferred":
        return 409, CASE_TRANSFERRED, _("The case was transferred to another unit, which now takes its steps.")
    if why == "claimed":
        return 409, TASK_CLAIMED_BY_OTHER, _("The task is claimed by someone else.")
    if status == 409:
        return 409, CASE_CHANGED, _("The case changed meanwhile: reload it and try again.")
    return 404, TASK_NOT_FOUND, _("No such open task.")


def refused(status: int, reason: str, message: str) -> Response:
    """The contract's error shape with a ``reason`` code."""
    response = jsonify({"code": status, "status": HTTP_STATUS_CODES.get(status, ""), "message": message,
                        "reason": reason})
    response.status_code = status
    return response
