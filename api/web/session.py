"""Web sessions: login with a session cookie, 30-minute idle timeout, CSRF on every form.

The session cookie (signed by Flask, HttpOnly, SameSite=Lax, Secure behind HTTPS) holds a
web-session token issued at login: the API refuses it as a bearer token (it is signed apart and
filed as ``web``), and its row expires on the server after 30 idle minutes too, so a copied
cookie is worth no more than the session it came from. Pages and API share one identity check
(``api.auth.authenticate_page``): revoking the token, disabling the user or changing the password
ends the session. An idle session found on a request is revoked, and logging out revokes it.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for

from ..auth import WEB, WEB_IDLE, Principal, authenticate_page, revoke
from ..context import engine as himaya_engine

IDLE_TIMEOUT = WEB_IDLE


def current_principal() -> Principal | None:
    """The signed-in user, or None (an idle or revoked session is cleared)."""
    if "principal" in g:
        return g.principal
    token = session.get("token")
    if not token:
        return None
    engine = himaya_engine()
    now = engine.now()
    secret = current_app.config["SECRET_KEY"]
    seen = session.get("seen")
    if seen is not None and now.timestamp() - float(seen) > IDLE_TIMEOUT.total_seconds():
        with engine.db.transaction() as db_session:  # idle: the token dies with the session
            revoke(db_session, secret, token, now=now, kind=WEB)
        session.clear()
        session["expired"] = True
        return None
    principal = authenticate_page(engine.db, secret, token, now=now)
    if principal is None:
        session.clear()
        session["expired"] = True
        return None
    session["seen"] = now.timestamp()
    g.principal = principal
    return principal


def safe_next(target: str | None) -> str:
    """Only same-site paths after login (no open redirect)."""
    if not target:
        return url_for("web.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.home")
    return target


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_principal() is None:
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Every state-changing request carries the session's token (form field or header)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
    expected = session.get("csrf")
    if not expected or not sent or not secrets.compare_digest(sent, expected):
        abort(400, description="csrf")
