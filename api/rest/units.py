"""``/api/v1/units``: the units of a province, and which of them receive a reported child."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from ..readers import territory
from ..schemas import UnitList, UnitListArgs
from .common import Blueprint, abort, load_principal, principal, reader

blp = Blueprint("units", __name__, url_prefix="/api/v1/units", description="Units of a province")
blp.before_request(load_principal)


@blp.route("", methods=["GET"])
@blp.arguments(UnitListArgs, location="query")
@blp.response(200, UnitList)
@blp.alt_response(400, description="No province given, and the caller has none")
@blp.alt_response(404, description="Unknown province")
def list_units(args: dict[str, Any]) -> dict[str, Any]:
    """The active units of a province (default: the caller's): which receive children (its UPE
    units and its CAPE centre, not the SAS mobile teams) and to which the caller may report one."""
    province = args.get("province") or principal().province
    if not province:
        abort(400, message=_("The request has invalid fields."),
              errors={"query": {"province": [_("Give a province code.")]}})
    items = territory.unit_list(reader(), province, receiving=args.get("receives_children"))
    return {"province": province, "items": items}
