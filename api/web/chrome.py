"""What every page shares: CSRF on every form, the template globals, the direction islands of
user-written text (the `bdi` and `isolate` filters), the front-end files
served from npm, the language switch and the error pages."""
from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, redirect, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup

from ..assets import VENDOR_PREFIX, asset_url, assets
from ..i18n import LANGUAGES, RTL_LANGUAGES, current_language
from . import labels
from .session import check_csrf, csrf_token, safe_next

PAGE_BLUEPRINTS = ("web", "admin")


def check_page_csrf() -> None:
    """Every state-changing request of a page carries the session's CSRF token."""
    if request.blueprint in PAGE_BLUEPRINTS:
        check_csrf()


def template_globals() -> dict[str, Any]:
    language = current_language()
    rtl = language in RTL_LANGUAGES
    # "from → to" reads the wrong way in a right-to-left page: there the arrow points left
    return {"csrf_token": csrf_token, "language": language, "direction": "rtl" if rtl else "ltr",
            "languages": LANGUAGES, "me": g.get("principal"), "labels": labels,
            "asset_url": asset_url, "arrow": "←" if rtl else "→"}


FIRST_STRONG_ISOLATE, POP_DIRECTIONAL_ISOLATE = "\u2068", "\u2069"


def bdi(value: Any) -> Markup:
    """Text a person wrote (a name, a title, a note), in its own direction island: whatever it
    holds (Arabic in a French page, a stray U+202E) cannot reorder the page around it."""
    if value is None or value == "":
        return Markup("")
    return Markup("<bdi>%s</bdi>") % value


def isolate(value: Any) -> str:
    """The same for plain text, where no element may go (a page title, an option, a flash
    message): the text between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE."""
    return f"{FIRST_STRONG_ISOLATE}{'' if value is None else value}{POP_DIRECTIONAL_ISOLATE}"


def local_time(value: Any) -> str:
    """A moment in the installation's time zone (``HIMAYA_TIMEZONE``), as a form's date and time
    fields take it: ``2026-11-20 09:30``."""
    if value is None:
        return ""
    return str(value.astimezone(current_app.extensions["himaya_settings"].zone).strftime("%Y-%m-%d %H:%M"))


def local_date(value: Any) -> str:
    """The day of a moment in the installation's time zone: ``2026-11-20``."""
    return local_time(value)[:10]


def ltr(value: Any) -> Markup:
    """A date, a number or a code kept left to right inside a right-to-left sentence."""
    return Markup('<bdi dir="ltr">{}</bdi>').format(value)


TEMPLATE_FILTERS = {"bdi": bdi, "isolate": isolate, "local": local_time, "local_date": local_date, "ltr": ltr}


def asset(filename: str) -> Response:
    """A fingerprinted static file (``asset_url``): cached for a year, compressed as accepted."""
    return assets().respond_fingerprinted(filename)


def static_file(filename: str) -> Response:
    """Himaya's own scripts and styles by their plain name (short cache)."""
    return assets().respond(filename, immutable=False)


def vendor(name: str) -> Response:
    """Front-end packages from npm by their plain name, served locally (no CDN; short cache)."""
    return assets().respond(VENDOR_PREFIX + name, immutable=False)


def set_language(code: str) -> ResponseReturnValue:
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")))


def _api_error(error: Exception) -> ResponseReturnValue:
    return current_app.extensions["himaya_api"].handle_http_exception(error)


def not_found(error: Exception) -> ResponseReturnValue:
    if request.path.startswith("/api/"):
        return _api_error(error)
    return render_template("error.html", code=404, message=_("This page does not exist, or you may not see it.")), 404


def forbidden(error: Exception) -> ResponseReturnValue:
    if request.path.startswith("/api/"):
        return _api_error(error)
    return render_template("error.html", code=403, message=_("You are not allowed to do this.")), 403


def bad_request(error: Exception) -> ResponseReturnValue:
    if request.path.startswith("/api/"):
        return _api_error(error)
    if getattr(error, "description", "") == "csrf":
        return render_template("error.html", code=400,
                               message=_("This form has expired. Go back, reload the page and try again.")), 400
    return render_template("error.html", code=400, message=_("Bad request.")), 400
