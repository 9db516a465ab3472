"""``/api/v1/categories``: the categories a child is reported under (reference data), and
``/api/v1/admin/categories``: an administrator adds one or changes its labels, risk level,
prosecutor rule or whether it is offered. Codes are stable: never renamed, never deleted (a
category no longer offered is ``active: false``). Each change is audited (``admin_events``)."""
from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, fields

from engine import categories

from .. import policy
from ..readers.categories import category_list, present
from .common import Blueprint, actor, engine, load_principal, reader, requires

blp = Blueprint("categories", __name__, url_prefix="/api/v1", description="Case categories (reference data)")
blp.before_request(load_principal)
admins_only = requires(policy.can_administer)
CATEGORY = "/admin/categories/<string(maxlength=64):code>"


class Labels(Schema):
    fr = fields.String()
    ar = fields.String()
    en = fields.String()


class CategorySchema(Schema):
    code = fields.String()
    label = fields.String(metadata={"description": "in the caller's language"})
    labels = fields.Nested(Labels)
    risk_level = fields.String(metadata={"description": "high | medium | low: the report's default risk level"})
    inform_prosecutor = fields.Boolean(metadata={"description": "a report under it informs the prosecutor"})
    active = fields.Boolean(metadata={"description": "offered to new reports"})


class CategoryList(Schema):
    items = fields.List(fields.Nested(CategorySchema))


@blp.route("/categories", methods=["GET"])
@blp.response(200, CategoryList)
def list_categories() -> dict[str, Any]:
    """The categories a report may carry (the active ones), in order, with their rules."""
    context = reader()
    return {"items": category_list(context.engine, context.language, active_only=True)}


@blp.route("/admin/categories", methods=["GET"])
@blp.response(200, CategoryList)
@blp.alt_response(403, description="Administrators only")
@admins_only
def list_all_categories() -> dict[str, Any]:
    """Every category, inactive ones too."""
    context = reader()
    return {"items": category_list(context.engine, context.language)}


@blp.route("/admin/categories", methods=["POST"])
@blp.arguments(categories.NewCategory)
@blp.response(201, CategorySchema)
@blp.alt_response(400, description="Invalid fields: a code taken or malformed, a missing label, an unknown level")
@blp.alt_response(403, description="Administrators only")
@admins_only
def add_category(_body: dict[str, Any]) -> dict[str, Any]:
    """Add a category, usable by the next report (audited ``category_created``)."""
    himaya = engine()
    added = categories.add_category(himaya.db, request.get_json(), actor=actor().username, now=himaya.now())
    return present(added, reader().language)


@blp.route(CATEGORY, methods=["PATCH"])
@blp.arguments(categories.CategoryChange)
@blp.response(200, CategorySchema)
@blp.alt_response(400, description="Invalid fields")
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(404, description="No such category")
@admins_only
def change_category(_body: dict[str, Any], code: str) -> dict[str, Any]:
    """Relabel a category, change its risk level or prosecutor rule, stop or resume offering it."""
    himaya = engine()
    changed = categories.change_category(himaya.db, code, request.get_json(), actor=actor().username,
                                         now=himaya.now())
    return present(changed, reader().language)
