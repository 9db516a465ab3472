"""The inbox: the signed-in person's notifications, unread first, each opening its page (and
marked read as it opens); the menu's count of unread ones."""
from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import NotFound
from notifications.inbox import mark_read

from ..context import engine, reader
from ..readers import cases
from ..readers import notifications as inbox
from .session import login_required

UNREAD_SHOWN = 100  # unread notifications on the page (the oldest beyond wait for the next visit)
PER_PAGE = 25  # read notifications, a page at a time


def template_globals() -> dict[str, Any]:
    return {"unread_notifications": unread_notifications}


def unread_notifications() -> int | None:
    """The menu's count (None when nobody is signed in); read once per request."""
    if g.get("principal") is None:
        return None
    if "unread_notifications" not in g:
        g.unread_notifications = inbox.unread_count(reader())
    number: int = g.unread_notifications
    return number


@login_required
def inbox_page() -> ResponseReturnValue:
    context = reader()
    try:
        page = max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    unread_total, _all_unread, unread = inbox.notification_page(context, True, 1, UNREAD_SHOWN)
    g.unread_notifications = unread_total  # the menu's count, already known
    read_total, _unread, earlier = inbox.notification_page(context, False, page, PER_PAGE)
    return render_template("inbox.html", unread=unread, unread_total=unread_total, earlier=earlier,
                           read_total=read_total, page=page, pages=max(1, -(-read_total // PER_PAGE)))


@login_required
def open_notification(notification_id: int) -> ResponseReturnValue:
    """Mark it read and go to its page (the case, when the reader sees it; else the list it names,
    e.g. a partner's referrals), or back to the inbox."""
    himaya = engine()
    row = mark_read(himaya.db, g.principal.username, notification_id, himaya.now())
    if row is None:
        abort(404)
    context = reader()
    shown = inbox.present_notification(context, row, {})
    if shown["case_id"]:
        try:
            cases.visible(context, shown["case_id"])
        except NotFound:  # a partner told of a referral reads it on its referrals page, not the file
            if shown["link"]:
                return redirect(shown["link"])
        else:
            return redirect(url_for("web.case", case_id=shown["case_id"]))
    return redirect(shown["link"] or url_for("web.inbox"))
