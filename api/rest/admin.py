"""``/api/v1/admin``: units and user accounts, administered; the audit of those changes.
``/api/v1/users/{username}/away``: out-of-office dates.

Administrators only (403 for every other role), except the away dates, which the person sets
for themselves and a coordinator for the staff of the province (:func:`api.policy.can_set_away`).
Bad fields are a 400 naming each (nothing changed), an unknown unit or account a 404, a unit
with open work deactivated or an account disabled twice a 409. Every change is audited
(``admin_events``: who, when, what, the names of the fields changed); passwords are never
returned, nor recorded but as their argon2 hash.
"""
from __future__ import annotations

from typing import Any, NoReturn

from flask_babel import gettext as _

from .. import admin_commands as commands
from .. import policy
from ..context import settings
from ..i18n import translate_message
from ..readers import administration as readers
from ..schemas import (
    AdminUnitArgs,
    AdminUnitChange,
    AdminUnitList,
    AdminUnitRequest,
    AdminUnitSchema,
    AdminUserArgs,
    AdminUserChange,
    AdminUserPage,
    AdminUserRequest,
    AdminUserSchema,
    AuditArgs,
    AuditPage,
    AwayRequest,
    DisableResult,
)
from ..users import UserError
from .common import Blueprint, abort, actor, engine, load_principal, page_of, principal, reader, requires

blp = Blueprint("admin_api", __name__, url_prefix="/api/v1/admin", description="Units and users, administered")
blp.before_request(load_principal)
away_blp = Blueprint("away", __name__, url_prefix="/api/v1/users", description="Out of office")
away_blp.before_request(load_principal)
admins_only = requires(policy.can_administer)
USER = "/users/<string(maxlength=100):username>"
UNIT = "/units/<string(maxlength=100):code>"


def refused(error: UserError) -> NoReturn:
    """The command's refusal in the contract's shape, each message in the caller's language (a
    conflict's message is its reason)."""
    errors = {field: [translate_message(message)] for field, message in error.errors.items()}
    message = {400: _("The request has invalid fields."), 404: _("Not found.")}.get(error.status)
    abort(error.status, message=message or next(iter(errors.values()))[0], errors={"json": errors})


@blp.route("/units", methods=["GET"])
@blp.arguments(AdminUnitArgs, location="query")
@blp.response(200, AdminUnitList)
@blp.alt_response(403, description="Administrators only")
@admins_only
def list_units(args: dict[str, Any]) -> dict[str, Any]:
    """Every unit, inactive ones too, by province and code (filters: province, kind, active)."""
    return {"items": readers.unit_list(reader(), **args)}


@blp.route("/units", methods=["POST"])
@blp.arguments(AdminUnitRequest)
@blp.response(201, AdminUnitSchema)
@blp.alt_response(400, description="Invalid fields: code taken or malformed, unknown province, kind, blank name")
@blp.alt_response(403, description="Administrators only")
@admins_only
def create_unit(body: dict[str, Any]) -> dict[str, Any]:
    """Create a unit of a province (audited ``unit_created``)."""
    try:
        return commands.create_unit(engine(), body, actor())
    except UserError as error:
        refused(error)


@blp.route(UNIT, methods=["PATCH"])
@blp.arguments(AdminUnitChange)
@blp.response(200, AdminUnitSchema)
@blp.alt_response(400, description="Blank name")
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(404, description="No such unit")
@blp.alt_response(409, description="Deactivating a unit that has open cases or tasks")
@admins_only
def change_unit(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Rename, deactivate (``active: false``) or reactivate a unit (audited ``unit_changed``)."""
    try:
        commands.change_unit(engine(), code, body, actor())
    except UserError as error:
        refused(error)
    return readers.unit(reader(), code)


@blp.route("/users", methods=["GET"])
@blp.arguments(AdminUserArgs, location="query")
@blp.response(200, AdminUserPage)
@blp.alt_response(403, description="Administrators only")
@admins_only
def list_users(args: dict[str, Any]) -> dict[str, Any]:
    """The accounts, by user name, a page at a time (filters: province, role, unit, active, q)."""
    page, per_page = args.pop("page"), args.pop("per_page")
    total, items = readers.user_page(reader(), page, per_page, **args)
    return page_of(total, page, per_page, items)


@blp.route("/users", methods=["POST"])
@blp.arguments(AdminUserRequest)
@blp.response(201, AdminUserSchema)
@blp.alt_response(400, description="Invalid fields: user name taken, unknown role, weak password, not an "
                                   "e-mail or phone, unknown unit of the province…")
@blp.alt_response(403, description="Administrators only")
@admins_only
def create_user(body: dict[str, Any]) -> dict[str, Any]:
    """Create an account (audited ``user_created``); the password's rules are in docs/security.md."""
    try:
        return commands.create_user(engine(), body, actor())
    except UserError as error:
        refused(error)


@blp.route(USER, methods=["GET"])
@blp.response(200, AdminUserSchema)
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(404, description="No such user")
@admins_only
def get_user(username: str) -> dict[str, Any]:
    return readers.user(reader(), username)


@blp.route(USER, methods=["PATCH"])
@blp.arguments(AdminUserChange)
@blp.response(200, AdminUserSchema)
@blp.alt_response(400, description="Invalid fields (each listed), as for a new account")
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(404, description="No such user")
@admins_only
def change_user(body: dict[str, Any], username: str) -> dict[str, Any]:
    """Change the fields given; ``password`` resets it and revokes the account's tokens (audited
    ``user_changed`` with the fields' names, ``password_reset``, ``away_changed``)."""
    try:
        shown, _changed = commands.change_user(engine(), username, body, actor(), settings().zone)
    except UserError as error:
        refused(error)
    return shown


@blp.route(USER + "/disable", methods=["POST"])
@blp.response(200, DisableResult)
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(404, description="No such user")
@blp.alt_response(409, description="Disabled already, or one's own account")
@admins_only
def disable_user(username: str) -> dict[str, Any]:
    """Disable the account (its tokens revoked) and put every task it held back in its lane; the
    province's coordinators are told which cases (audited ``user_disabled``)."""
    try:
        shown, released = commands.disable_user(engine(), username, actor())
    except UserError as error:
        refused(error)
    return {"user": shown, "released": len(released)}


@blp.route(USER + "/enable", methods=["POST"])
@blp.response(200, AdminUserSchema)
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(404, description="No such user")
@blp.alt_response(409, description="Active already")
@admins_only
def enable_user(username: str) -> dict[str, Any]:
    """Enable a disabled account again (audited ``user_enabled``)."""
    try:
        return commands.enable_user(engine(), username, actor())
    except UserError as error:
        refused(error)


@blp.route("/audit", methods=["GET"])
@blp.arguments(AuditArgs, location="query")
@blp.response(200, AuditPage)
@blp.alt_response(403, description="Administrators only")
@admins_only
def audit(args: dict[str, Any]) -> dict[str, Any]:
    """The administrative changes, newest first (filters: target, action)."""
    page, per_page = args.pop("page"), args.pop("per_page")
    total, items = readers.audit_page(reader(), page, per_page, **args)
    return page_of(total, page, per_page, items)


@away_blp.route("/<string(maxlength=100):username>/away", methods=["PUT"])
@away_blp.arguments(AwayRequest)
@away_blp.response(200, AdminUserSchema)
@away_blp.alt_response(400, description="The last day before the first, or a last day without a first")
@away_blp.alt_response(403, description="Not yours, nor of your province's staff")
@away_blp.alt_response(404, description="No such user (or not visible)")
def set_away(body: dict[str, Any], username: str) -> dict[str, Any]:
    """Set (or clear, with nulls) out-of-office dates; from the first day the tasks the person
    holds go back to their lanes, the coordinators told (audited ``away_changed``)."""
    found = commands.account(engine(), username)
    if found is None or not (policy.is_admin(principal()) or found.province == principal().province
                             or found.username == principal().username):
        abort(404, message=_("Not found."))
    if not policy.can_set_away(principal(), found):
        abort(403, message=_("You are not allowed to do this."))
    try:
        shown, _changed = commands.change_user(engine(), username, body, actor(), settings().zone)
    except UserError as error:
        refused(error)
    return shown
