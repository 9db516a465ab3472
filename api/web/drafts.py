"""Drafts of step forms kept on the server, and the warning before a web session ends.

As a worker types in a step form, ``static/task-draft.js`` posts the form's fields a few
seconds after the last change (``POST /tasks/<id>/draft``, with the CSRF token); the page
restores the draft when it is opened again. When a submit (or a draft save) meets a session
that has lapsed, what was posted is kept as the draft of the user the session was issued to
(:func:`api.auth.lapsed_page_user`) before the redirect to the login page, so the text is there
once they are signed in again: this works without JavaScript too. A draft is read back only by
its author, never enters the case's history, is deleted when the task ends, and purged after
``HIMAYA_DRAFT_DAYS`` days (``engine/worktray.py``).

``static/session.js`` shows a banner two minutes before the session would lapse; its "stay
signed in" button posts ``/session/keepalive``, which (as any signed-in request) moves the
session's idle deadline on.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from flask import current_app, g, jsonify, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import worktray
from engine.errors import NotFound, ValidationFailed

from .. import auth, policy
from ..auth import WEB_LONGEST, WEB_REFRESH
from ..context import engine, settings
from ..i18n import current_language
from ..readers import tasks
from ..readers.context import ReadContext
from .forms import form_data
from .session import IDLE_TIMEOUT, current_principal

WARN_BEFORE = timedelta(minutes=2)  # the banner shows this long before the session lapses


def seconds_left() -> int:
    """Seconds before the signed-in session lapses without activity (as of this request)."""
    seen = session.get("seen")
    if seen is None:
        return 0
    # the server-side expiry moves on at most once a minute (api.auth.WEB_REFRESH): count a minute less
    now = engine().now().timestamp()
    left = float(seen) + (IDLE_TIMEOUT - WEB_REFRESH).total_seconds() - now
    hard_end = hard_end_left(now)
    return max(int(left if hard_end is None else min(left, hard_end)), 0)


def hard_end_left(now: float) -> float | None:
    """Seconds before the session ends however active (12 hours after signing in), if known."""
    since = session.get("since")
    return float(since) + WEB_LONGEST.total_seconds() - now if since is not None else None


def session_timing() -> dict[str, int]:
    """What ``session.js`` is told by every page (template global)."""
    hard_end = hard_end_left(engine().now().timestamp())
    return {"idle": int((IDLE_TIMEOUT - WEB_REFRESH).total_seconds()), "left": seconds_left(),
            "warn": int(WARN_BEFORE.total_seconds()), "end": max(int(hard_end), 0) if hard_end is not None else -1}


def local_time(moment: datetime, now: datetime) -> str:
    """A draft's time as the worker reads it: ``14:05`` today, ``03/12 14:05`` another day."""
    zone = settings().zone
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%d/%m %H:%M")


def _form_of(ctx: ReadContext, task_id: str) -> tuple[Any, dict[str, Any]] | None:
    """The open task the user may act on, and its form (None otherwise)."""
    try:
        row, reference, version_id = tasks.visible_task(ctx, task_id)
    except NotFound:
        return None
    if not policy.can_act(ctx.principal, row):
        return None
    view = tasks.present_task(ctx, row, reference, version_id, with_form=True)
    return (row, view["form"]) if "form" in view else None


def _keep(ctx: ReadContext, task_id: str) -> worktray.Draft | None:
    found = _form_of(ctx, task_id)
    if found is None:
        return None
    row, form = found
    try:
        return worktray.save_draft(ctx.engine.db, ctx.principal.user_id, row.id, form_data(form, request.form),
                                   ctx.now)
    except (NotFound, ValidationFailed):
        return None


def keep_lapsed_draft(task_id: str, token: str | None) -> bool:
    """A step form posted with a session that has just lapsed: keep what was typed as the
    draft of the session's user (they read it back once signed in again)."""
    if not token:
        return False
    himaya = engine()
    now = himaya.now()
    who = auth.lapsed_page_user(himaya.db, current_app.config["SECRET_KEY"], token, now=now)
    if who is None:
        return False
    kept = _keep(ReadContext(himaya, who, current_language(), now), task_id) is not None
    if kept:
        session["draft_kept"] = True
    return kept


def login_keeping_draft(view: Callable[..., Any]) -> Callable[..., Any]:
    """``login_required`` for a step's page: a form posted after the session lapsed is kept as a
    draft before the redirect to the login page, which then returns to the task."""
    @wraps(view)
    def wrapper(task_id: Any) -> Any:
        token = session.get("token")
        if current_principal() is None:
            if request.method == "POST":
                keep_lapsed_draft(str(task_id), token)
            return redirect(url_for("web.login", next=url_for("web.task", task_id=task_id)))
        return view(task_id)
    return wrapper


def restored(ctx: ReadContext, task_id: str) -> tuple[dict[str, Any], str] | None:
    """The signed-in user's draft of the task (its values, and when it was saved), if any."""
    keep = timedelta(days=settings().draft_days)
    draft = worktray.load_draft(ctx.engine.db, ctx.principal.user_id, task_id, newer_than=ctx.now - keep)
    return (draft.data, local_time(draft.saved_at, ctx.now)) if draft is not None else None


def save(task_id: str) -> ResponseReturnValue:
    """``POST /tasks/<id>/draft``: keep the form's fields as the user's draft (JSON answer);
    ``discard=1`` deletes it instead (then back to the task's page)."""
    token = session.get("token")
    if current_principal() is None:
        kept = keep_lapsed_draft(str(task_id), token)
        return jsonify(signed_in=False, kept=kept,
                       login=url_for("web.login", next=url_for("web.task", task_id=task_id))), 401
    himaya = engine()
    ctx = ReadContext(himaya, g.principal, current_language(), himaya.now())
    if request.form.get("discard"):
        worktray.discard_drafts(himaya.db, str(task_id), g.principal.user_id)
        return redirect(url_for("web.task", task_id=task_id))
    draft = _keep(ctx, str(task_id))
    if draft is None:
        return jsonify(saved=False, message=_("The draft could not be saved.")), 409
    return jsonify(saved=True, saved_at=local_time(draft.saved_at, ctx.now),
                   message=_("Draft saved at %(time)s.", time=local_time(draft.saved_at, ctx.now)),
                   expires_in=seconds_left())


def keepalive() -> ResponseReturnValue:
    """``POST /session/keepalive``: the signed-in session goes on (its idle deadline moves)."""
    if current_principal() is None:
        return jsonify(signed_in=False, login=url_for("web.login")), 401
    return jsonify(signed_in=True, expires_in=seconds_left())
