"""``/api/v1/statistical-reports``: the units' quarterly statistical reports (read-only here;
they are opened by the scheduler and moved on by their tasks, like any pathway step)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from .. import policy
from ..readers import reports
from ..schemas import PageArgs
from .common import Blueprint, abort, load_principal, page_of, principal, reader

blp = Blueprint("statistical_reports", __name__, url_prefix="/api/v1/statistical-reports",
                description="Quarterly statistical reports of the units")
blp.before_request(load_principal)


class StatisticalReportArgs(PageArgs):
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))
    quarter = fields.Integer(validate=validate.Range(min=1, max=4))
    unit = fields.String(validate=validate.Length(min=1, max=100))
    status = fields.String(validate=validate.OneOf(["preparing", "submitted", "returned", "published"]))


class StatisticalReportSchema(Schema):
    id = fields.Integer()
    case_id = fields.String()
    reference = fields.String()
    province = fields.String()
    unit = fields.String()
    year = fields.Integer()
    quarter = fields.Integer()
    period_start = fields.Date()
    period_end = fields.Date()
    due_at = fields.DateTime()
    status = fields.String()
    published_at = fields.DateTime(allow_none=True)
    on_time = fields.Boolean(allow_none=True)
    figures = fields.Dict()
    open_tasks = fields.List(fields.Dict())


class StatisticalReportPage(Schema):
    items = fields.List(fields.Nested(StatisticalReportSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


def _guard() -> None:
    if not policy.can_read_reports(principal()):
        abort(403, message=_("You are not allowed to do this."))


@blp.route("", methods=["GET"])
@blp.arguments(StatisticalReportArgs, location="query")
@blp.response(200, StatisticalReportPage)
@blp.alt_response(403, description="A role without reports (the national level sees the indicator)")
def list_reports(args: dict[str, Any]) -> dict[str, Any]:
    """The reports the caller may see, latest quarter first."""
    _guard()
    total, items = reports.report_page(reader(), args, args["page"], args["per_page"])
    return page_of(total, args["page"], args["per_page"], items)


@blp.route("/<int(max=2147483647):report_id>", methods=["GET"])
@blp.response(200, StatisticalReportSchema)
@blp.alt_response(404, description="No such report, or not visible to the caller")
def get_report(report_id: int) -> dict[str, Any]:
    """One report with its figures (counts of the unit's children, no personal data)."""
    _guard()
    row, reference, tasks = reports.visible_report(reader(), report_id)
    return reports.present_report(row, reference, tasks)
