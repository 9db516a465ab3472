"""The supervision page of the CAPE coordinators and the CPPE: what is late and whom to call, what
is stuck, how the period compares with the one before — under filters kept in the URL."""
from __future__ import annotations

from typing import Any

from flask import abort, g, render_template, request
from flask.typing import ResponseReturnValue

from engine.vocabulary import RISK_LEVELS

from .. import policy
from ..context import actor, engine, reader
from ..readers import pathways, territory
from ..readers.dashboard import DEFAULT_PERIOD, PERIODS, SORTS, Filters, board
from ..readers.incidents import open_counts
from . import labels
from .session import login_required


def _bars(pairs: list[tuple[Any, str, float]]) -> list[dict[str, Any]]:
    """Bars of a chart: each with its code (for its link), its label in full and its width."""
    top = max((v for _c, _k, v in pairs), default=0) or 1
    return [{"code": c, "label": k, "value": v, "width": round(100 * v / top, 1)} for c, k, v in pairs]


def _filters(steps: dict[str, str], units: dict[str, str]) -> Filters:
    """The filters of the query string; a value not offered is left out."""
    args = request.args
    return Filters(
        unit=args.get("unit") if args.get("unit") in units else None,
        step=args.get("step") if args.get("step") in steps else None,
        risk_level=args.get("risk_level") if args.get("risk_level") in RISK_LEVELS else None,
        period=str(args.get("period")) if args.get("period") in PERIODS else DEFAULT_PERIOD,
        sort=str(args.get("sort")) if args.get("sort") in SORTS else "late")


@login_required
def supervision() -> ResponseReturnValue:
    if not policy.can_supervise(g.principal):
        abort(403)
    himaya, context = engine(), reader()
    units = {u.code: u.name for u in territory.units(context, g.principal.province)}
    steps = dict(pathways.child_steps(context))
    filters = _filters(steps, units)
    shown = board(context, filters, himaya.escalation.stalled_after)
    himaya.record_access(actor(), "tasks_listed", sorted({t["case_id"] for t in shown.overdue}))
    return render_template(
        "supervision.html", board=shown, filters=filters, units=units, steps=steps, periods=list(PERIODS),
        sorts=list(SORTS), risk_levels=RISK_LEVELS,
        by_step=_bars([(c, t, n) for c, t, n in shown.by_step]),
        by_unit=_bars([(u, units.get(u, u), n) for u, n in shown.by_unit]),
        by_risk=_bars([(r, str(labels.RISK_LABELS.get(r, r)), n) for r, n in shown.by_risk]),
        step_days=_bars([(c, t, d) for c, t, d, _n in shown.median_days]),
        month_top=max([m["opened"] for m in shown.months] + [m["closed"] for m in shown.months] + [1]),
        incident_counts=open_counts(context))
