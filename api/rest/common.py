"""What every REST blueprint shares: the 400-status parser, authentication, access checks."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn

import flask_smorest
from flask import Request, current_app, g, request
from flask_babel import gettext as _
from flask_smorest import abort as smorest_abort
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request

from engine.errors import ValidationFailed

from .. import idempotent
from ..auth import Principal, authenticate
from ..context import actor, client_address, engine, reader
from ..json_input import JSONNumberTooLong, JSONTooDeep, loads_bounded
from ..readers.paging import page_of

__all__ = ["Blueprint", "abort", "actor", "client_address", "engine", "load_principal", "page_of", "principal",
           "reader", "requires", "secret"]


def abort(status: int, **details: Any) -> NoReturn:
    """Answer ``status`` in the contract's error shape (``message``, ``errors``); never returns."""
    smorest_abort(status, **details)
    raise AssertionError("abort raises")


class Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400  # the contract: 400 for bad fields, 422 for bad BPMN

    def _raw_load_json(self, req: Request) -> Any:
        """The JSON body, parsed within bounds (see :mod:`api.json_input`): too deep or too long a
        number is a 400 with its reason, never a RecursionError."""
        if not is_json_request(req):
            return missing
        try:
            return loads_bounded(req.get_data(cache=True))
        except JSONTooDeep:
            abort(400, message=_("The request has invalid fields."),
                  errors={"json": [_("The JSON body is nested too deeply.")]})
        except JSONNumberTooLong:
            abort(400, message=_("The request has invalid fields."),
                  errors={"json": [_("A number in the JSON body is too long.")]})


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()


def secret() -> str:
    return current_app.config["SECRET_KEY"]


def principal() -> Principal:
    return g.principal


def load_principal() -> None:
    """Authenticate the bearer token of the request (401 when missing or invalid)."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message=_("Authentication required: send a bearer token."),
              headers={"WWW-Authenticate": "Bearer"})
    himaya = engine()
    with himaya.db.read_connection() as connection:
        found = authenticate(connection, secret(), token.strip(), now=himaya.now())
    if found is None:
        abort(401, message=_("Invalid or expired token."), headers={"WWW-Authenticate": "Bearer"})
    g.principal = found


def requires(check: Callable[[Principal], bool]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """403 unless the principal passes ``check``."""
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not check(g.principal):
                abort(403, message=_("You are not allowed to do this."))
            return view(*args, **kwargs)
        return wrapper
    return decorate


def idempotency_key() -> str | None:
    """The request's ``Idempotency-Key`` (None without one); a malformed one is a 400 on the header."""
    try:
        return idempotent.header_key()
    except ValidationFailed as error:
        abort(400, message=_("Invalid idempotency key."), errors={"headers": error.errors})
