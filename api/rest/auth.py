"""``/api/v1/auth``: tokens."""
from __future__ import annotations

from typing import Any

from flask import g, request
from flask_babel import gettext as _

from .. import auth
from ..messages import wait_message
from ..schemas import MeResponse, TokenRequest, TokenResponse
from .common import Blueprint, abort, client_address, engine, load_principal, secret

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Authentication")


@blp.route("/token", methods=["POST"])
@blp.arguments(TokenRequest)
@blp.response(200, TokenResponse)
@blp.alt_response(401, description="Unknown user or wrong password (one message for both)")
@blp.alt_response(429, description="Too many failed logins for this user name")
def issue_token(credentials: dict[str, str]) -> dict[str, Any]:
    """Exchange a user name and password for a bearer token."""
    himaya = engine()
    try:
        issued = auth.login(himaya.db, secret(), credentials["username"], credentials["password"],
                            now=himaya.now(), source=client_address())
    except auth.LoginLocked as locked:
        abort(429, message=wait_message(locked), headers={"Retry-After": str(locked.seconds)})
    if issued is None:
        abort(401, message=_("Wrong user name or password."))
    token, lifetime = issued
    return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}


@blp.route("/revoke", methods=["POST"])
@blp.response(204)
@blp.alt_response(401, description="No valid token")
def revoke_token() -> None:
    """Revoke the token of this request (log out)."""
    load_principal()
    token = request.headers["Authorization"].partition(" ")[2].strip()
    himaya = engine()
    with himaya.db.transaction() as session:
        auth.revoke(session, secret(), token, now=himaya.now())
    return None


@blp.route("/me", methods=["GET"])
@blp.response(200, MeResponse)
@blp.alt_response(401, description="No valid token")
def me() -> dict[str, Any]:
    """Who the token belongs to."""
    load_principal()
    p = g.principal
    return {"username": p.username, "role": p.role, "province": p.province, "unit": p.unit,
            "sector": p.sector, "language": p.language}
