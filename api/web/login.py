"""Signing in and out, and the home page that sends each role to its first page."""
from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from .. import auth, policy
from ..context import client_address, engine
from ..messages import wait_message
from .session import login_required, safe_next

FIRST_PAGES = {"supervision": "web.supervision", "pathways": "admin.pathways", "tasks": "web.tasks",
               "indicators": "web.indicators_page"}


def login() -> ResponseReturnValue:
    expired = session.pop("expired", False)
    draft_kept = session.pop("draft_kept", False)  # a step form posted as the session lapsed (api/web/drafts.py)
    username = ""
    error = None
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[:100]
        password = request.form.get("password") or ""
        himaya = engine()
        try:
            issued = auth.login(himaya.db, current_app.config["SECRET_KEY"], username, password,
                                now=himaya.now(), source=client_address(), kind=auth.WEB)
        except auth.LoginLocked as locked:
            issued, error = None, wait_message(locked)
        if issued is not None:
            language = session.get("lang")
            session.clear()  # a new session at login: no fixation
            session["token"], session["seen"] = issued[0], himaya.now().timestamp()
            session["since"] = session["seen"]  # the 12 hours a session lasts at most run from here
            if language:
                session["lang"] = language
            return redirect(safe_next(request.args.get("next")))
        error = error or _("Wrong user name or password.")
    return render_template("login.html", username=username, error=error, expired=expired,
                           draft_kept=draft_kept), 401 if error else 200


def logout() -> ResponseReturnValue:
    token = session.get("token")
    if token:
        himaya = engine()
        with himaya.db.transaction() as db_session:
            auth.revoke(db_session, current_app.config["SECRET_KEY"], token, now=himaya.now(), kind=auth.WEB)
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    response = redirect(url_for("web.login"))
    # What the outreach app kept on the phone goes with the session: the pages of the service
    # worker's cache, the sealed queue and its key in IndexedDB (static/outreach.js wipes them too).
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@login_required
def home() -> ResponseReturnValue:
    first = policy.home_page(g.principal)
    if first == "home":
        return render_template("home.html")
    return redirect(url_for(FIRST_PAGES[first]))
