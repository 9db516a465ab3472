"""The supervision page of the CAPE coordinators and the CPPE: what is late, what is stuck."""
from __future__ import annotations

from typing import Any

from flask import abort, g, render_template
from flask.typing import ResponseReturnValue

from .. import policy
from ..context import actor, engine, reader
from ..readers.incidents import open_counts
from ..readers.supervision import dashboard
from . import labels
from .session import login_required


def _bars(pairs: list[tuple[str, float]]) -> list[dict[str, Any]]:
    top = max((v for _k, v in pairs), default=0) or 1
    return [{"label": k, "value": v, "width": round(100 * v / top, 1)} for k, v in pairs]


def _largest_first(pairs: list[tuple[str, float]]) -> list[dict[str, Any]]:
    return _bars(sorted(pairs, key=lambda kv: -kv[1]))


@login_required
def supervision() -> ResponseReturnValue:
    if not policy.can_supervise(g.principal):
        abort(403)
    himaya = engine()
    board = dashboard(reader(), himaya.escalation.stalled_after)
    himaya.record_access(actor(), "tasks_listed", sorted({t["case_id"] for t in board.overdue}))
    counts = board.counts
    return render_template(
        "supervision.html", overdue=board.overdue, overdue_total=board.overdue_total, stalled=board.stalled,
        stalled_total=board.stalled_total,
        by_step=_largest_first([(board.step_titles.get(c["key"], c["key"]), c["count"]) for c in counts["by_step"]]),
        by_unit=_largest_first([(c["key"], c["count"]) for c in counts["by_unit"]]),
        by_risk=_bars([(str(labels.RISK_LABELS.get(c["key"], c["key"])), c["count"])
                       for c in counts["by_risk_level"]]),
        months=board.months,
        month_top=max([m["opened"] for m in board.months] + [m["closed"] for m in board.months] + [1]),
        step_days=_largest_first(board.median_days), incident_counts=open_counts(reader()))
