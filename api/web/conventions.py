"""Pages of the units' partnership conventions: the list with the form the CAPE technical
committee records a convention with, a convention's milestones and their progress, and each
milestone's follow-up (its form for the unit's staff and the committee, and its history)."""
from __future__ import annotations

import re
from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import conventions as engine_conventions
from engine import plan_progress
from engine.errors import Conflict, ValidationFailed

from .. import convention_export, policy
from ..context import engine, reader
from ..i18n import translate_errors
from ..readers import conventions, territory
from .forms import flat_errors, follow_up_values
from .session import login_required

SHOWN = 200  # conventions listed on a page
_MILESTONE_LINE = re.compile(r"^\s*(\S+)\s*[-–—:]?\s*(.*)$")


def milestone_lines(text: str) -> list[dict[str, str]]:
    """The milestones typed one per line, "due date, then title" (``2025-06-30 Team recruited``);
    a line the engine cannot read gets its field error under the box, by line number."""
    milestones = []
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _MILESTONE_LINE.match(line)
        due, title = (match.group(1), match.group(2).strip()) if match else (line.strip(), "")
        milestones.append({"due_on": due, "title": title})
    return milestones


def _milestone_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """``milestones.2.due_on`` → under the box: "Line 3: …"."""
    shown: dict[str, list[str]] = {}
    for key, messages in errors.items():
        parts = key.split(".")
        if parts[0] == "milestones" and len(parts) > 1 and parts[1].isdigit():
            line = int(parts[1]) + 1
            shown.setdefault("milestones", []).extend(
                _("Line %(line)s: %(message)s", line=line, message=message) for message in messages)
        else:
            shown.setdefault(key, []).extend(messages)
    return shown


@login_required
def conventions_page() -> ResponseReturnValue:
    p = g.principal
    if not policy.can_read_conventions(p):
        abort(403)
    context = reader()
    can_record = policy.can_record_convention(p)
    units = [u for u in territory.units(context, p.province) if u.kind in engine_conventions.CONVENTION_UNIT_KINDS]
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not can_record:
            abort(403)
        form = request.form
        values = {key: (form.get(key) or "").strip() for key in ("unit", "reference", "title", "signed_on",
                                                                 "starts_on", "ends_on")}
        values["partners"] = [line.strip() for line in (form.get("partners") or "").splitlines() if line.strip()]
        values["milestones_text"] = form.get("milestones") or ""
        payload = {key: value for key, value in values.items() if key != "milestones_text" and value != ""}
        payload["partners"] = values["partners"]
        payload["milestones"] = milestone_lines(values["milestones_text"])
        himaya = engine()
        try:
            convention_id = engine_conventions.record_convention(himaya.db, payload, province=str(p.province),
                                                                 actor=p.username, now=himaya.now())
        except ValidationFailed as error:
            errors = _milestone_errors(flat_errors(translate_errors(error.errors)))
        else:
            flash(_("Convention recorded."), "success")
            return redirect(url_for("web.convention", convention_id=convention_id))
    listed = conventions.convention_page(context, None, 1, SHOWN)[1]
    return render_template("conventions.html", conventions=listed, units=units, values=values, errors=errors,
                           can_record=can_record), 400 if errors else 200


@login_required
def convention_page(convention_id: int) -> ResponseReturnValue:
    """A convention, its milestones with their progress, and (the committee) a milestone added."""
    p = g.principal
    if not policy.can_read_conventions(p):
        abort(403)
    convention = conventions.load_convention(reader(), convention_id)  # 404 out of scope
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and request.form.get("form") == "correct":
        return _correct(convention)
    if request.method == "POST":
        if not convention["may_add_milestones"]:
            abort(403)
        values = {"title": (request.form.get("title") or "").strip(), "due_on": request.form.get("due_on") or ""}
        himaya = engine()
        try:
            engine_conventions.add_milestone(himaya.db, convention_id,
                                             {key: value for key, value in values.items() if value},
                                             province=p.province, actor=p.username, now=himaya.now())
        except ValidationFailed as error:
            errors = flat_errors(translate_errors(error.errors))
        except Conflict as error:
            errors = {"_": [_(error.message)]}
        else:
            flash(_("Milestone added."), "success")
            return redirect(url_for("web.convention", convention_id=convention_id))
    return render_template("convention.html", convention=convention, values=values, errors=errors,
                           correction=_correction_values(convention), correction_errors={}), 400 if errors else 200


def _correction_values(convention: dict[str, Any]) -> dict[str, Any]:
    return {key: convention[key] for key in ("reference", "title", "partners", "signed_on", "starts_on", "ends_on",
                                             "revision")}


def _correct(convention: dict[str, Any]) -> ResponseReturnValue:
    """The committee's correction of the convention's own fields (its form on the convention's page)."""
    p = g.principal
    if not convention["may_add_milestones"]:
        abort(403)
    form = request.form
    values: dict[str, Any] = {key: (form.get(key) or "").strip() for key in ("reference", "title", "signed_on",
                                                                             "starts_on", "ends_on")}
    values["partners"] = [line.strip() for line in (form.get("partners") or "").splitlines() if line.strip()]
    revision = (form.get("revision") or "").strip()
    payload = {**{key: value for key, value in values.items() if value != ""},
               "revision": int(revision) if revision.isdigit() else revision}
    himaya = engine()
    try:
        engine_conventions.correct_convention(himaya.db, convention["id"], payload, province=p.province,
                                              actor=p.username, now=himaya.now())
    except ValidationFailed as error:
        errors = flat_errors(translate_errors(error.errors))
    except Conflict as error:
        errors = {"_": [_(error.message)]}
    else:
        flash(_("Convention corrected."), "success")
        return redirect(url_for("web.convention", convention_id=convention["id"]))
    return render_template("convention.html", convention=convention, values={}, errors={},
                           correction={**values, "revision": revision}, correction_errors=errors,
                           ), 409 if "_" in errors else 400


@login_required
def convention_milestone(convention_id: int, milestone_id: int) -> ResponseReturnValue:
    """One milestone's follow-up: where it stands, the form to update it, and its history."""
    p = g.principal
    if not policy.can_read_conventions(p):
        abort(403)
    convention = conventions.load_convention(reader(), convention_id)  # 404 out of scope
    milestone = conventions.milestone_of(convention, milestone_id)
    values: dict[str, Any] = {key: milestone.get(key) for key in ("state", "percent_done", "started_on", "ended_on",
                                                                   "note")}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if convention["follows_as"] is None:
            abort(403)
        values = follow_up_values(request.form)
        himaya = engine()
        follower = engine_conventions.Follower(p.username, p.role, p.province, p.unit)
        try:
            engine_conventions.update_milestone(himaya.db, convention_id, milestone_id, values, follower,
                                                now=himaya.now())
        except ValidationFailed as error:
            errors = flat_errors(translate_errors(error.errors))
        except Conflict as error:
            errors = {"_": [_(error.message)]}
        else:
            flash(_("Follow-up recorded."), "success")
            return redirect(url_for("web.convention_milestone", convention_id=convention_id,
                                    milestone_id=milestone_id))
    return render_template("convention_milestone.html", convention=convention, milestone=milestone, values=values,
                           errors=errors, states=plan_progress.STATES), 400 if errors else 200


@login_required
def export_conventions(fmt: str) -> ResponseReturnValue:
    """The follow-up table of the conventions the reader sees (XLSX or PDF)."""
    if fmt not in ("xlsx", "pdf"):
        abort(404)
    if not policy.can_read_conventions(g.principal):
        abort(403)
    body, mimetype, name = convention_export.export(reader(), None, fmt)
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})
