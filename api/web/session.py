"""Web sessions: login with a session cookie, 30-minute idle timeout, CSRF on every form.

The session cookie (signed by Flask, HttpOnly, SameSite=Lax, Secure behind HTTPS) holds an API
token issued at login, so pages and API share one identity check (``api.auth.authenticate``):
revoking the token, disabling the user or changing the password ends the session too.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for

from ..auth import Principal, authenticate
from ..context import engine as himaya_engine

IDLE_TIMEOUT = timedelta(minutes=30)


def current_principal() -> Principal | None:
    """The signed-in user, or None (an idle or revoked session is cleared)."""
    if "principal" in g:
        return g.principal
    token = session.get("token")
    if not token:
        return None
    engine = himaya_engine()
    now = engine.now()
    seen = session.get("seen")
    if seen is not None and now.timestamp() - float(seen) > IDLE_TIMEOUT.total_seconds():
        session.clear()
        session["expired"] = True
        return None
    with engine.db.reading() as db_session:
        principal = authenticate(db_session, current_app.config["SECRET_KEY"], token, now=now)
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
