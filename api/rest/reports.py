"""``/api/v1/statistical-reports``: the units' quarterly statistical reports (read-only here;
they are opened by the scheduler and moved on by their tasks, like any pathway step)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_smorest import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from engine.models import Case, StatisticalReport

from .. import policy
from ..schemas import PageArgs
from .common import Blueprint, case_open_tasks, engine, load_principal, page_of, page_rows, present_task, principal

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


def present_report(row: StatisticalReport, reference: str, tasks: list[dict[str, Any]] | None = None,
                   with_figures: bool = True) -> dict[str, Any]:
    body = {"id": row.id, "case_id": row.case_id, "reference": reference, "province": row.province,
            "unit": row.unit, "year": row.year, "quarter": row.quarter, "period_start": row.period_start,
            "period_end": row.period_end, "due_at": row.due_at, "status": row.status,
            "published_at": row.published_at,
            "on_time": None if row.published_at is None else row.published_at <= row.due_at}
    if with_figures:
        body["figures"] = row.figures
    if tasks is not None:
        body["open_tasks"] = tasks
    return body


def _guard() -> None:
    if not policy.can_read_reports(principal()):
        abort(403, message=_("You are not allowed to do this."))


@blp.route("", methods=["GET"])
@blp.arguments(StatisticalReportArgs, location="query")
@blp.response(200, StatisticalReportPage)
@blp.alt_response(403, description="A role without reports (the national level sees the indicator)")
def list_reports(args):
    """The reports the caller may see, latest quarter first."""
    _guard()
    query = select(StatisticalReport, Case.reference).join(Case, Case.id == StatisticalReport.case_id).where(
        policy.report_scope(principal()))
    for name in ("year", "quarter", "unit", "status"):
        if args.get(name) is not None:
            query = query.where(getattr(StatisticalReport, name) == args[name])
    with engine().db.reading() as session:
        total, rows = page_rows(session, query, args, StatisticalReport.year.desc(),
                                StatisticalReport.quarter.desc(), StatisticalReport.unit)
    return page_of(total, args["page"], args["per_page"],
                   [present_report(row, reference, with_figures=False) for row, reference in rows])


def visible_report(report_id: int) -> tuple[StatisticalReport, str, list[dict[str, Any]]]:
    himaya = engine()
    with himaya.db.reading() as session:
        found = session.execute(select(StatisticalReport, Case.reference, Case.pathway_version_id)
                                .join(Case, Case.id == StatisticalReport.case_id)
                                .where(StatisticalReport.id == report_id, policy.report_scope(principal()))).first()
        if found is None:
            abort(404, message=_("No such report."))
        row, reference, version_id = found
        tasks = case_open_tasks(session, row.case_id)
    return row, reference, [present_task(t, reference, version_id, now=himaya.now()) for t in tasks]


@blp.route("/<int(max=2147483647):report_id>", methods=["GET"])
@blp.response(200, StatisticalReportSchema)
@blp.alt_response(404, description="No such report, or not visible to the caller")
def get_report(report_id):
    """One report with its figures (counts of the unit's children, no personal data)."""
    _guard()
    row, reference, tasks = visible_report(report_id)
    return present_report(row, reference, tasks)
