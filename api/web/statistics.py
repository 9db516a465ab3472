"""Pages of the indicators (with their CSV/XLSX exports), of the training sessions and of the
prevention and awareness activities."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import prevention, trainings
from engine.errors import NotFound, ValidationFailed
from engine.indicators import Period

from .. import policy
from ..context import engine, reader, settings
from ..i18n import translate_errors
from ..indicator_export import as_csv, as_xlsx
from ..readers import pathways, territory
from . import indicator_view
from .forms import flat_errors
from .session import login_required

SHOWN = 200  # training sessions listed on the page


def _period(today: date) -> tuple[date, date, str | None]:
    try:
        start = date.fromisoformat(request.args.get("from") or (today - timedelta(days=365)).isoformat())
        end = date.fromisoformat(request.args.get("to") or today.isoformat())
        if start > end or start.year < 2000 or (end - start).days > 366 * 20:
            raise ValueError
    except ValueError:
        error = _("Choose a period whose start is before its end, from the year 2000.")
        return today - timedelta(days=365), today, error
    return start, end, None


def _indicators() -> tuple[dict[str, Any], date, date, str | None, str | None, dict[str, str]]:
    """The indicators the page shows, their period (and the error in the asked one), the
    province chosen by the national level and the provinces it may choose from."""
    p = g.principal
    if not policy.can_read_indicators(p):
        abort(403)
    context = reader()
    start, end, error = _period(context.now.date())
    national = policy.reads_every_province(p)
    chosen = (request.args.get("province") or None) if national else None
    if chosen is not None:
        territory.check_province(context, chosen)
    scope = ([chosen] if chosen else None) if national else [p.province]
    result = territory.indicators(context, Period(start, end), scope, max_age=settings().national_figures_max_age)
    return result, start, end, error, chosen, territory.provinces(context) if national else {}


@login_required
def indicators_page() -> ResponseReturnValue:
    result, start, end, error, chosen, provinces = _indicators()
    context = reader()
    shown = indicator_view.sections(result, step_titles=dict(pathways.child_steps(context)),
                                    unit_names=territory.unit_names(context),
                                    province_names=provinces or territory.provinces(context))
    return render_template("indicators.html", result=result, sections=shown, start=start, end=end,
                           error=error, province=chosen, provinces=provinces), 400 if error else 200


@login_required
def indicators_export(fmt: str) -> ResponseReturnValue:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    result, _start, _end, error, _chosen, _provinces = _indicators()
    if error:
        abort(400)
    return as_csv(result) if fmt == "csv" else as_xlsx(result)


# --- trainings ---------------------------------------------------------------------------

@login_required
def trainings_page() -> ResponseReturnValue:
    p = g.principal
    if not policy.can_read_trainings(p):
        abort(403)
    context = reader()
    units = territory.units(context, p.province)
    values: dict[str, Any] = {"units": []}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not policy.can_record_training(p, p.province):
            abort(403)
        values = {"title": (request.form.get("title") or "").strip(),
                  "start_date": request.form.get("start_date") or "",
                  "end_date": request.form.get("end_date") or "", "units": request.form.getlist("units"),
                  "participants": request.form.get("participants") or ""}
        payload = {**values, "province": p.province,
                   "participants": [line.strip() for line in values["participants"].splitlines() if line.strip()]}
        himaya = engine()
        try:
            trainings.record_training(himaya.db, payload, actor=p.username, now=himaya.now())
        except ValidationFailed as error:
            errors = flat_errors(translate_errors(error.errors))
        except NotFound:
            abort(404)
        else:
            flash(_("Training recorded."), "success")
            return redirect(url_for("web.trainings_page"))
    recorded = territory.training_page(context, 1, SHOWN)[1]
    return render_template("trainings.html", trainings=recorded, units=units, values=values, errors=errors,
                           can_record=policy.can_record_training(p, p.province)), 400 if errors else 200


# --- prevention and awareness activities ------------------------------------------------

def _count_field(raw: str | None) -> Any:
    """A count as typed: empty is 0; digits are a number; anything else is kept for the field error."""
    text = (raw or "").strip().replace(" ", "")
    if not text:
        return 0
    return int(text) if text.lstrip("-").isdigit() else text


@login_required
def prevention_page() -> ResponseReturnValue:
    p = g.principal
    if not policy.can_read_prevention(p):
        abort(403)
    context = reader()
    allowed = policy.prevention_units(p, territory.own_unit_kind(context))
    units = [u for u in territory.units(context, p.province)
             if u.kind in prevention.RECORDING_UNIT_KINDS and (not isinstance(allowed, set) or u.code in allowed)]
    values: dict[str, Any] = {"unit": units[0].code if len(units) == 1 else "", "participants": {}}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if allowed is False or not p.province:
            abort(403)
        form = request.form
        values = {"held_on": form.get("held_on") or "", "unit": form.get("unit") or "",
                  "place_kind": form.get("place_kind") or "", "place_name": (form.get("place_name") or "").strip(),
                  "theme": form.get("theme") or "", "audience": (form.get("audience") or "").strip(),
                  "participants": {kind: _count_field(form.get(kind)) for kind in prevention.AUDIENCES},
                  "partners": [line.strip() for line in (form.get("partners") or "").splitlines() if line.strip()]}
        payload = {key: value for key, value in values.items() if value != "" or key in ("place_name", "held_on")}
        himaya = engine()
        try:
            prevention.record_activity(himaya.db, payload, province=p.province, actor=p.username, now=himaya.now(),
                                       allowed_units=allowed if isinstance(allowed, set) else None)
        except ValidationFailed as error:
            errors = flat_errors(translate_errors(error.errors))
            for kind in prevention.AUDIENCES:  # the counts' errors next to their fields
                if f"participants.{kind}" in errors:
                    errors[kind] = errors.pop(f"participants.{kind}")
        else:
            flash(_("Activity recorded."), "success")
            return redirect(url_for("web.prevention_page"))
    recorded = territory.activity_page(context, 1, SHOWN)[1]
    names = {u.code: u.name for u in territory.units(context, p.province)}
    return render_template("prevention.html", activities=recorded, units=units, unit_names=names, values=values,
                           errors=errors, can_record=allowed is not False,
                           place_kinds=prevention.PLACE_KINDS, themes=prevention.THEMES,
                           audiences=prevention.AUDIENCES), 400 if errors else 200
