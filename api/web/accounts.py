"""Administration pages of units and user accounts (blueprint ``accounts``, under ``/admin``):
the units and their form, the accounts (filters, a page at a time) and their forms (create;
change, reset the password, disable and enable), and the audit of those changes. Administrators
only; the case categories (reference data: labels, risk level, prosecutor rule). And "my
account" (``/account``), where anyone signed in sets their out-of-office dates.

Every form is a plain POST with the CSRF token; bad fields show the form again (400) with each
message next to its field in the page's language, and nothing changed. The commands are the
API's (:mod:`api.admin_commands`).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import categories
from engine.errors import ValidationFailed
from engine.vocabulary import RISK_LEVELS, ROLES, SECTORS, UNIT_KINDS

from .. import admin_commands as commands
from .. import policy
from ..context import actor, engine, reader, settings
from ..i18n import translate_errors, translate_message
from ..readers import administration as readers
from ..readers.categories import category_list
from ..readers.territory import provinces
from ..users import AWAY_FIELDS, LANGUAGES, UserError
from .admin import admin_only
from .forms import flat_errors
from .session import login_required

bp = Blueprint("accounts", __name__, template_folder="../templates")
PER_PAGE = 25
USER = "/admin/users/<string(maxlength=100):username>"
UNIT = "/admin/units/<string(maxlength=100):code>"
NOT_A_DATE = "Not a valid date."


def _messages(error: UserError) -> dict[str, list[str]]:
    return {field: [translate_message(message)] for field, message in error.errors.items()}


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        return 1


def _choices() -> dict[str, Any]:
    """What the forms offer: provinces, the units of each, roles, sectors, kinds, languages."""
    context = reader()
    units = readers.unit_list(context)
    return {"provinces": provinces(context), "units": units, "roles": ROLES, "sectors": SECTORS,
            "kinds": UNIT_KINDS, "form_languages": LANGUAGES}


# --- units ---------------------------------------------------------------------------------

@bp.get("/admin/units")
@admin_only
def units() -> ResponseReturnValue:
    province = request.args.get("province") or None
    return render_template("admin/units.html", rows=readers.unit_list(reader(), province=province),
                           province=province, **_choices())


@bp.route("/admin/units/new", methods=["GET", "POST"])
@admin_only
def new_unit() -> ResponseReturnValue:
    values = {"code": "", "name": "", "kind": "", "province": request.args.get("province", "")}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {key: request.form.get(key, "").strip() for key in values}
        try:
            created = commands.create_unit(engine(), values, actor())
        except UserError as error:
            errors = _messages(error)
        else:
            flash(_("Unit %(code)s created.", code=created["code"]), "success")
            return redirect(url_for("accounts.units", province=created["province"]))
    return render_template("admin/unit_form.html", values=values, errors=errors, unit=None,
                           **_choices()), 400 if errors else 200


@bp.route(UNIT, methods=["GET", "POST"])
@admin_only
def edit_unit(code: str) -> ResponseReturnValue:
    shown = readers.unit(reader(), code)  # 404: no such unit
    values: dict[str, Any] = {"name": shown["name"]}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        changes: dict[str, Any] = {"name": request.form.get("name", "")}
        if request.form.get("active") in ("0", "1"):
            changes = {"active": request.form["active"] == "1"}
        try:
            commands.change_unit(engine(), code, changes, actor())
        except UserError as error:
            errors, status = _messages(error), error.status
            values = {"name": request.form.get("name", shown["name"])}
        else:
            flash(_("Unit %(code)s saved.", code=code), "success")
            return redirect(url_for("accounts.edit_unit", code=code))
    return render_template("admin/unit_form.html", values=values, errors=errors, unit=shown,
                           **_choices()), status


# --- accounts ------------------------------------------------------------------------------

def _user_filters() -> dict[str, Any]:
    active = {"1": True, "0": False}.get(request.args.get("active", ""))
    found = {"province": request.args.get("province") or None, "role": request.args.get("role") or None,
             "q": (request.args.get("q") or "").strip()[:100] or None, "active": active}
    return {k: v for k, v in found.items() if v is not None}


@bp.get("/admin/users")
@admin_only
def users() -> ResponseReturnValue:
    filters, page = _user_filters(), _page_number()
    total, rows = readers.user_page(reader(), page, PER_PAGE, **filters)
    filter_args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("admin/users.html", rows=rows, total=total, page=page, filters=filters,
                           filter_args=filter_args, pages=max(1, -(-total // PER_PAGE)), **_choices())


def _date(form_value: str, field: str, errors: dict[str, list[str]]) -> date | None:
    if not form_value.strip():
        return None
    try:
        return date.fromisoformat(form_value.strip())
    except ValueError:
        errors[field] = [translate_message(NOT_A_DATE)]
        return None


def _posted_account(*, creating: bool) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The account form's fields (the password only when creating), and the dates not read."""
    keys = ["full_name", "role", "province", "unit", "sector", "email", "phone", "language"]
    values: dict[str, Any] = {key: request.form.get(key, "") for key in keys}
    if creating:
        values.update(username=request.form.get("username", "").strip(), password=request.form.get("password", ""))
    errors: dict[str, list[str]] = {}
    for key in AWAY_FIELDS:
        values[key] = _date(request.form.get(key, ""), key, errors)
    return values, errors


def _form_values(values: dict[str, Any]) -> dict[str, Any]:
    """As the form shows them again: never the password."""
    return {k: ("" if v is None else v) for k, v in values.items() if k != "password"}


@bp.route("/admin/users/new", methods=["GET", "POST"])
@admin_only
def new_user() -> ResponseReturnValue:
    values: dict[str, Any] = {"language": "fr", "role": request.args.get("role", "case_worker"),
                              "province": request.args.get("province", "")}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values, errors = _posted_account(creating=True)
        if not errors:
            try:
                created = commands.create_user(engine(), values, actor())
            except UserError as error:
                errors = _messages(error)
            else:
                flash(_("Account %(username)s created.", username=created["username"]), "success")
                return redirect(url_for("accounts.edit_user", username=created["username"]))
    return render_template("admin/user_form.html", values=_form_values(values), errors=errors, account=None,
                           **_choices()), 400 if errors else 200


@bp.route(USER, methods=["GET", "POST"])
@admin_only
def edit_user(username: str) -> ResponseReturnValue:
    account = readers.user(reader(), username)  # 404: no such account
    values: dict[str, Any] = dict(account)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values, errors = _posted_account(creating=False)
        if not errors:
            try:
                _shown, changed = commands.change_user(engine(), username, values, actor(), settings().zone)
            except UserError as error:
                errors, status = _messages(error), error.status
            else:
                flash(_("Account %(username)s saved.", username=username) if changed else _("Nothing was changed."),
                      "success")
                return redirect(url_for("accounts.edit_user", username=username))
        status = status if status != 200 else 400
        values = {**account, **values}
    _total, history = readers.audit_page(reader(), 1, 10, target=username)
    return render_template("admin/user_form.html", values=_form_values(values), errors=errors, account=account,
                           history=history, **_choices()), status


@bp.post(USER + "/password")
@admin_only
def reset_password(username: str) -> ResponseReturnValue:
    readers.user(reader(), username)
    try:
        commands.change_user(engine(), username, {"password": request.form.get("password", "")}, actor(),
                             settings().zone)
    except UserError as error:
        flash(_("The password was not changed: %(reason)s", reason=_messages(error).get("password", [""])[0]),
              "error")
    else:
        flash(_("Password of %(username)s changed: their sessions are closed.", username=username), "success")
    return redirect(url_for("accounts.edit_user", username=username, _anchor="password"))


@bp.post(USER + "/disable")
@admin_only
def disable_user(username: str) -> ResponseReturnValue:
    readers.user(reader(), username)
    try:
        _shown, released = commands.disable_user(engine(), username, actor())
    except UserError as error:
        flash(next(iter(_messages(error).values()))[0], "error")
    else:
        flash(_("Account %(username)s disabled; %(count)s task(s) back with the team, the coordinators are told.",
                username=username, count=len(released)), "success")
    return redirect(url_for("accounts.edit_user", username=username))


@bp.post(USER + "/enable")
@admin_only
def enable_user(username: str) -> ResponseReturnValue:
    readers.user(reader(), username)
    try:
        commands.enable_user(engine(), username, actor())
    except UserError as error:
        flash(next(iter(_messages(error).values()))[0], "error")
    else:
        flash(_("Account %(username)s enabled.", username=username), "success")
    return redirect(url_for("accounts.edit_user", username=username))


@bp.get("/admin/audit")
@admin_only
def audit() -> ResponseReturnValue:
    page = _page_number()
    target = (request.args.get("target") or "").strip()[:100] or None
    total, rows = readers.audit_page(reader(), page, PER_PAGE, target=target)
    return render_template("admin/audit.html", rows=rows, total=total, page=page, target=target, provinces={},
                           pages=max(1, -(-total // PER_PAGE)))


# --- my account: out of office -------------------------------------------------------------

@bp.route("/account", methods=["GET", "POST"])
@login_required
def my_account() -> ResponseReturnValue:
    account = readers.user(reader(), g.principal.username)
    values: dict[str, Any] = {k: account[k] for k in AWAY_FIELDS}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not policy.can_set_away(g.principal, commands.account(engine(), g.principal.username)):
            abort(403)
        clear = request.form.get("clear") == "1"
        for key in AWAY_FIELDS:
            values[key] = None if clear else _date(request.form.get(key, ""), key, errors)
        if not errors:
            try:
                commands.change_user(engine(), g.principal.username, values, actor(), settings().zone)
            except UserError as error:
                errors = _messages(error)
            else:
                flash(_("Your out-of-office dates are saved.") if values["away_from"] else
                      _("You are no longer marked out of office."), "success")
                return redirect(url_for("accounts.my_account"))
    return render_template("account.html", account=account, values=_form_values(values), errors=errors,
                           **({"provinces": provinces(reader())})), 400 if errors else 200


# --- case categories (reference data, engine.categories) ----------------------------------------

CATEGORY = "/admin/categories/<string(maxlength=64):code>"
CATEGORY_FIELDS = ("code", "label_fr", "label_ar", "label_en", "risk_level")


def _category_form(form: Any, *, new: bool) -> dict[str, Any]:
    values: dict[str, Any] = {key: (form.get(key) or "").strip() for key in CATEGORY_FIELDS if new or key != "code"}
    values["inform_prosecutor"] = form.get("inform_prosecutor") == "on"
    if not new:
        values["active"] = form.get("active") == "on"
    return values


@bp.route("/admin/categories", methods=["GET", "POST"])
@admin_only
def case_categories() -> ResponseReturnValue:
    """The categories with their risk level and prosecutor rule; a form adds one."""
    values: dict[str, Any] = {"risk_level": "low", "inform_prosecutor": False}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = _category_form(request.form, new=True)
        himaya = engine()
        try:
            added = categories.add_category(himaya.db, values, actor=actor().username, now=himaya.now())
        except ValidationFailed as error:
            errors = flat_errors(translate_errors(error.errors))
        else:
            flash(_("Category %(code)s added: it can be chosen in a report now.", code=added.code), "success")
            return redirect(url_for("accounts.case_categories"))
    context = reader()
    return render_template("admin/categories.html", rows=category_list(context.engine, context.language),
                           values=values, errors=errors, risk_levels=RISK_LEVELS), 400 if errors else 200


@bp.route(CATEGORY, methods=["GET", "POST"])
@admin_only
def edit_category(code: str) -> ResponseReturnValue:
    context = reader()
    found = {c["code"]: c for c in category_list(context.engine, context.language)}.get(code)
    if found is None:
        abort(404)
    values: dict[str, Any] = {**{f"label_{lang}": found["labels"][lang] for lang in ("fr", "ar", "en")},
                              "risk_level": found["risk_level"], "inform_prosecutor": found["inform_prosecutor"],
                              "active": found["active"]}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = _category_form(request.form, new=False)
        himaya = engine()
        try:
            categories.change_category(himaya.db, code, values, actor=actor().username, now=himaya.now())
        except ValidationFailed as error:
            errors = flat_errors(translate_errors(error.errors))
        else:
            flash(_("Category %(code)s saved.", code=code), "success")
            return redirect(url_for("accounts.case_categories"))
    return render_template("admin/category_form.html", category=found, values=values, errors=errors,
                           risk_levels=RISK_LEVELS), 400 if errors else 200
