"""Pages of the indicators (with their CSV/XLSX exports) and of the training sessions."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from engine import trainings
from engine.errors import NotFound, ValidationFailed
from engine.indicators import Period, compute, rows, suppress
from engine.models import Province, Training, Unit

from .. import policy
from ..i18n import current_language, translate_errors
from ..indicator_export import as_csv, as_xlsx
from .forms import flat_errors
from .session import login_required
from .views import _engine, bp


def _period(today: date) -> tuple[date, date, str | None]:
    try:
        start = date.fromisoformat(request.args.get("from") or (today - timedelta(days=365)).isoformat())
        end = date.fromisoformat(request.args.get("to") or today.isoformat())
        if start > end or start.year < 2000 or (end - start).days > 366 * 20:
            raise ValueError
    except ValueError:
        return today - timedelta(days=365), today, _("Choose a period whose start is before its end, from the year 2000.")
    return start, end, None


def _indicators() -> tuple[dict[str, Any], date, date, str | None, str | None, list[Province]]:
    p = g.principal
    if not policy.can_read_indicators(p):
        abort(403)
    start, end, error = _period(_engine().now().date())
    with _engine().db.reading() as session:
        provinces = list(session.scalars(select(Province).order_by(Province.name_fr))) if p.role == "national" else []
        chosen = request.args.get("province") or None
        if p.role != "national":
            chosen = None
        elif chosen is not None and session.get(Province, chosen) is None:
            abort(404)
        scope = ([chosen] if chosen else None) if p.role == "national" else [p.province]
        result = compute(session, Period(start, end), scope)
    if p.role == "national":
        result = suppress(result)
    return result, start, end, error, chosen, provinces


@bp.get("/indicators")
@login_required
def indicators_page():  # type: ignore[no-untyped-def]
    result, start, end, error, chosen, provinces = _indicators()
    names = {pr.code: (pr.name_ar if current_language() == "ar" else pr.name_fr) for pr in provinces}
    return render_template("indicators.html", result=result, rows=rows(result), start=start, end=end,
                           error=error, province=chosen, provinces=names), 400 if error else 200


@bp.get("/indicators/export.<fmt>")
@login_required
def indicators_export(fmt: str):  # type: ignore[no-untyped-def]
    if fmt not in ("csv", "xlsx"):
        abort(404)
    result, _start, _end, error, _chosen, _provinces = _indicators()
    if error:
        abort(400)
    return as_csv(result) if fmt == "csv" else as_xlsx(result)


# --- trainings ---------------------------------------------------------------------------

@bp.route("/trainings", methods=["GET", "POST"])
@login_required
def trainings_page():  # type: ignore[no-untyped-def]
    p = g.principal
    if not policy.can_read_trainings(p):
        abort(403)
    engine = _engine()
    with engine.db.reading() as session:
        units = list(session.scalars(select(Unit).where(Unit.province == p.province, Unit.active.is_(True))
                                     .order_by(Unit.code)))
    values: dict[str, Any] = {"units": []}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if p.role != "coordinator":
            abort(403)
        values = {"title": (request.form.get("title") or "").strip(), "start_date": request.form.get("start_date") or "",
                  "end_date": request.form.get("end_date") or "", "units": request.form.getlist("units"),
                  "participants": request.form.get("participants") or ""}
        payload = {**values, "province": p.province,
                   "participants": [line.strip() for line in values["participants"].splitlines() if line.strip()]}
        try:
            with engine.db.transaction() as session:
                trainings.record(session, payload, actor=p.username, now=engine.now())
        except ValidationFailed as error:
            errors = flat_errors(translate_errors(error.errors))
        except NotFound:
            abort(404)
        else:
            flash(_("Training recorded."), "success")
            return redirect(url_for("web.trainings_page"))
    with engine.db.reading() as session:
        recorded = list(session.scalars(select(Training).where(Training.province == p.province)
                                        .order_by(Training.start_date.desc(), Training.id).limit(200)))
    return render_template("trainings.html", trainings=recorded, units=units, values=values, errors=errors,
                           can_record=p.role == "coordinator"), 400 if errors else 200
