"""Server-rendered pages for case workers, partners, coordinators and supervisors.

They call the same engine commands and the same policy module as the REST API; every query is
filtered by the policy in SQL and out-of-scope records answer 404.
"""
from __future__ import annotations

import os
import statistics
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import (
    Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, send_from_directory,
    session, url_for,
)
from flask_babel import gettext as _
from sqlalchemy import distinct, func, select

from engine.errors import Conflict, EngineError, NotFound, ValidationFailed
from engine.models import Case, CaseEvent, CaseWorkflow, OpenTask, PathwayVersion, TaskRecord, Unit
from engine.runtime import Actor

from .. import auth, policy, queries
from ..i18n import LANGUAGES, RTL_LANGUAGES, current_language, translate_errors
from ..rest.common import case_open_tasks, present_task
from . import labels
from .forms import REPORT_ERROR_FIELDS, flat_errors, form_data, report_payload
from .session import check_csrf, csrf_token, login_required, safe_next

bp = Blueprint("web", __name__, template_folder="../templates", static_folder="../static",
               static_url_path="/static")
NODE_MODULES = Path(__file__).resolve().parent.parent.parent / "node_modules"
VENDOR_FILES = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "bpmn-navigated-viewer.js": "bpmn-js/dist/bpmn-navigated-viewer.production.min.js",
    "diagram-js.css": "bpmn-js/dist/assets/diagram-js.css",
    "bpmn-js.css": "bpmn-js/dist/assets/bpmn-js.css",
    "bpmn-embedded.css": "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css",
    "bpmn-modeler.js": "bpmn-js/dist/bpmn-modeler.production.min.js",
    "form-editor.js": "@bpmn-io/form-js/dist/form-editor.umd.js",
    "form-js.css": "@bpmn-io/form-js/dist/assets/form-js.css",
    "form-js-editor.css": "@bpmn-io/form-js/dist/assets/form-js-editor.css",
    "properties-panel.css": "@bpmn-io/form-js/dist/assets/properties-panel.css",
    "draggle.css": "@bpmn-io/form-js/dist/assets/draggle.css",
}


def _engine():  # type: ignore[no-untyped-def]
    return current_app.extensions["himaya"]


def _actor() -> Actor:
    p = g.principal
    return Actor(p.username, p.role, (request.remote_addr or "")[:64] or None)


@bp.before_app_request
def _before() -> None:
    if request.blueprint in ("web", "admin"):
        check_csrf()


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    language = current_language()
    return {"csrf_token": csrf_token, "language": language, "direction": "rtl" if language in RTL_LANGUAGES else "ltr",
            "languages": LANGUAGES, "me": g.get("principal"), "labels": labels}


@bp.get("/vendor/<name>")
def vendor(name: str) -> Response:
    """Front-end packages from npm, served locally (no CDN)."""
    path = VENDOR_FILES.get(name)
    if path is None or not (NODE_MODULES / path).exists():
        abort(404)
    return send_from_directory(NODE_MODULES, path, max_age=86400)


@bp.get("/language/<code>")
def set_language(code: str):  # type: ignore[no-untyped-def]
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")))


# --- login ---------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    expired = session.pop("expired", False)
    username = ""
    error = None
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[:100]
        password = request.form.get("password") or ""
        engine = _engine()
        try:
            with engine.db.transaction() as db_session:
                issued = auth.login(db_session, current_app.config["SECRET_KEY"], username, password,
                                    now=engine.now(), source=(request.remote_addr or "")[:64] or None)
        except auth.LoginLocked:
            issued, error = None, _("Too many failed logins: try again in 15 minutes.")
        if issued is not None:
            language = session.get("lang")
            session.clear()  # a new session at login: no fixation
            session["token"], session["seen"] = issued[0], engine.now().timestamp()
            if language:
                session["lang"] = language
            return redirect(safe_next(request.args.get("next")))
        error = error or _("Wrong user name or password.")
    return render_template("login.html", username=username, error=error, expired=expired), 401 if error else 200


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    token = session.get("token")
    if token:
        engine = _engine()
        with engine.db.transaction() as db_session:
            auth.revoke(db_session, current_app.config["SECRET_KEY"], token, now=engine.now())
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    return redirect(url_for("web.login"))


@bp.get("/")
@login_required
def home():  # type: ignore[no-untyped-def]
    if g.principal.role == "supervisor":
        return redirect(url_for("web.supervision"))
    if g.principal.role == "admin":
        return redirect(url_for("admin.pathways"))
    if g.principal.role in policy.ACTING_ROLES:
        return redirect(url_for("web.tasks"))
    if g.principal.role == "national":
        return redirect(url_for("web.indicators_page"))
    return render_template("home.html")


# --- tasks ---------------------------------------------------------------------------

@bp.get("/tasks")
@login_required
def tasks():  # type: ignore[no-untyped-def]
    engine = _engine()
    now = engine.now()
    with engine.db.reading() as db_session:
        lists = {scope: queries.task_page(db_session, g.principal, scope=scope, now=now, page=1, per_page=100)[1]
                 for scope in ("mine", "available")}
    shown = {scope: [present_task(t, ref, version, now=now) for t, ref, version in rows]
             for scope, rows in lists.items()}
    engine.record_access(_actor(), "tasks_listed", sorted({t["case_id"] for rows in shown.values() for t in rows}))
    return render_template("tasks.html", mine=shown["mine"], available=shown["available"])


def _task_or_404(task_id: str):  # type: ignore[no-untyped-def]
    with _engine().db.reading() as db_session:
        found = queries.visible_task(db_session, g.principal, task_id)
        ended = found is None and queries.ended_in_visible_case(db_session, g.principal, task_id)
    if ended:
        return None
    if found is None:
        abort(404)
    return found


@bp.route("/tasks/<uuid:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id):  # type: ignore[no-untyped-def]
    engine = _engine()
    found = _task_or_404(str(task_id))
    if found is None:
        return render_template("task_gone.html"), 409
    row, reference, version_id = found
    view = present_task(row, reference, version_id, now=engine.now(), with_form=True)
    can_act = policy.can_act(g.principal, row)
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not can_act:
            abort(403)
        values = form_data(view["form"], request.form)
        try:
            engine.complete(row.id, values, _actor())
        except ValidationFailed as error:
            errors = flat_errors(translate_errors(error.errors))
        except Conflict:
            return render_template("task_gone.html"), 409
        else:
            flash(_("Step completed: %(title)s", title=view["title"]), "success")
            return redirect(url_for("web.case", case_id=row.case_id))
    else:
        engine.record_access(_actor(), "task_viewed", [row.case_id], {"task_id": row.id, "step": row.step})
    from .planning import report_figures, subject_url

    status = 400 if errors else 200
    return render_template("task.html", task=view, can_act=can_act, values=values, errors=errors,
                           figures=report_figures(row.case_id), subject=subject_url(row.case_id)), status


@bp.post("/tasks/<uuid:task_id>/claim")
@login_required
def claim(task_id):  # type: ignore[no-untyped-def]
    found = _task_or_404(str(task_id))
    if found is None:
        return render_template("task_gone.html"), 409
    if not policy.can_act(g.principal, found[0]):
        abort(403)
    engine = _engine()
    try:
        row = engine.claim(found[0].id, _actor())
    except Conflict:
        if request.headers.get("HX-Request"):
            return render_template("error.html", code=409, message=_("The task is claimed by someone else.")), 409
        flash(_("The task is claimed by someone else."), "error")
        return redirect(url_for("web.task", task_id=task_id))
    if request.headers.get("HX-Request"):  # htmx: only the row changes
        return render_template("_row.html", task=present_task(row, found[1], found[2], now=engine.now()))
    return redirect(url_for("web.task", task_id=task_id))


# --- report a child ------------------------------------------------------------------

def _units(province: str | None) -> list[Unit]:
    with _engine().db.reading() as db_session:
        return list(db_session.scalars(select(Unit).where(Unit.province == province, Unit.active.is_(True),
                                                          Unit.kind != "cape").order_by(Unit.code)))


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def report():  # type: ignore[no-untyped-def]
    p = g.principal
    if p.role not in ("case_worker", "coordinator"):
        abort(403)
    units = [u for u in _units(p.province) if p.role == "coordinator" or u.code == p.unit]
    values: dict[str, Any] = {"unit": p.unit or (units[0].code if units else ""), "legal_basis": "protection_mandate",
                              "received_at": _engine().now().astimezone(_zone()).strftime("%Y-%m-%dT%H:%M")}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {**request.form.to_dict(), "categories": request.form.getlist("categories")}
        payload = report_payload(request.form, p.province or "", os.environ.get("HIMAYA_TIMEZONE", "Africa/Casablanca"))
        if not policy.can_report(p, payload["province"], payload["unit"]):
            errors = {"unit": [_("You may only report children in your own territory.")]}
        else:
            try:
                result = _engine().start_case(payload, _actor())
            except ValidationFailed as error:
                for key, messages in flat_errors(translate_errors(error.errors)).items():
                    errors.setdefault(REPORT_ERROR_FIELDS.get(key, key.split(".")[-1]), []).extend(messages)
            else:
                flash(_("Case %(reference)s opened.", reference=result.case_reference), "success")
                return redirect(url_for("web.case", case_id=result.case_id))
    return render_template("report.html", values=values, errors=errors, units=units), 400 if errors else 200


def _zone():  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    return ZoneInfo(os.environ.get("HIMAYA_TIMEZONE", "Africa/Casablanca"))


# --- a case --------------------------------------------------------------------------

@bp.get("/cases/<uuid:case_id>")
@login_required
def case(case_id):  # type: ignore[no-untyped-def]
    engine = _engine()
    now = engine.now()
    p = g.principal
    language = current_language()
    with engine.db.reading() as db_session:
        found = queries.visible_case(db_session, p, str(case_id))
        if found is None:
            from .planning import subject_url  # a report's or a plan's pathway: its own page

            target = subject_url(str(case_id))
            if target is None:
                abort(404)
            return redirect(target)
        compiled = engine.compiled(db_session, found.pathway_version_id)
        pathway = db_session.get(PathwayVersion, found.pathway_version_id)
        open_rows = case_open_tasks(db_session, found.id)
        done = db_session.scalars(select(TaskRecord).where(TaskRecord.case_id == found.id,
                                                           TaskRecord.outcome == "completed")
                                  .order_by(TaskRecord.ended_at)).all()
        events = db_session.scalars(select(CaseEvent).where(CaseEvent.case_id == found.id)
                                    .order_by(CaseEvent.id.desc()).limit(200)).all() \
            if policy.can_read_history(p) else []
    full = policy.sees_full_case(p)
    open_tasks = [present_task(t, found.reference, found.pathway_version_id, now=now) for t in open_rows
                  if full or (t.role == "partner" and t.sector == p.sector)]
    completed = [{"name": r.step, "title": compiled.user_tasks[r.step].title(language)
                  if r.step in compiled.user_tasks else r.step, "by": r.completed_by, "at": r.ended_at,
                  "data": r.data if full or r.sector == p.sector else {}} for r in done]
    markers = {"completed": sorted({r.step for r in done}),
               "open": sorted({t["name"] for t in open_tasks if not t["overdue"]}),
               "overdue": sorted({t["name"] for t in open_tasks if t["overdue"]})}
    engine.record_access(_actor(), "case_viewed", [found.id])
    step_titles = {step: info.title(language) for step, info in compiled.user_tasks.items()}
    return render_template("case.html", case=found, pathway=pathway, open_tasks=open_tasks, completed=completed,
                           events=events, markers=markers, full=full, step_titles=step_titles)


@bp.get("/cases/<uuid:case_id>/diagram.bpmn")
@login_required
def diagram(case_id):  # type: ignore[no-untyped-def]
    with _engine().db.reading() as db_session:
        found = queries.visible_case(db_session, g.principal, str(case_id))
        if found is None:
            abort(404)
        xml = db_session.get(PathwayVersion, found.pathway_version_id).bpmn_xml
    return Response(xml, mimetype="application/xml")


# --- supervision ---------------------------------------------------------------------

def _bars(pairs: list[tuple[str, float]]) -> list[dict[str, Any]]:
    top = max((v for _k, v in pairs), default=0) or 1
    return [{"label": k, "value": v, "width": round(100 * v / top, 1)} for k, v in pairs]


@bp.get("/supervision")
@login_required
def supervision():  # type: ignore[no-untyped-def]
    p = g.principal
    if not policy.can_supervise(p):
        abort(403)
    engine = _engine()
    now = engine.now()
    language = current_language()
    with engine.db.reading() as db_session:
        overdue_rows = db_session.execute(
            select(OpenTask, Case.reference, Case.pathway_version_id).join(Case, Case.id == OpenTask.case_id)
            .where(policy.task_scope(p), (OpenTask.due_at < now) | (OpenTask.escalation_level > 0))
            .order_by(OpenTask.due_at).limit(100)).all()
        stalled = db_session.execute(
            select(Case.id, Case.reference, Case.unit, Case.risk_level, CaseWorkflow.last_progress_at)
            .join(CaseWorkflow, CaseWorkflow.case_id == Case.id)
            .where(policy.case_scope(p), Case.status == "open",
                   CaseWorkflow.last_progress_at < now - engine.escalation.stalled_after)
            .order_by(CaseWorkflow.last_progress_at).limit(100)).all()
        scope = [policy.case_scope(p), Case.status == "open"]
        by_step = db_session.execute(select(OpenTask.step, func.count(distinct(Case.id))).join(
            Case, Case.id == OpenTask.case_id).where(*scope).group_by(OpenTask.step)).all()
        by_unit = db_session.execute(select(Case.unit, func.count()).where(*scope).group_by(Case.unit)).all()
        by_risk = db_session.execute(select(Case.risk_level, func.count()).where(*scope).group_by(Case.risk_level)).all()
        since = now - timedelta(days=366)
        cases = db_session.execute(select(Case.opened_at, Case.closed_at, Case.pathway_version_id).where(
            policy.case_scope(p), (Case.opened_at >= since) | (Case.closed_at >= since))).all()
        durations = db_session.execute(select(TaskRecord.step, TaskRecord.created_at, TaskRecord.ended_at)
                                       .join(Case, Case.id == TaskRecord.case_id)
                                       .where(policy.case_scope(p), TaskRecord.outcome == "completed",
                                              TaskRecord.ended_at >= since)).all()
        version_id = db_session.scalar(select(PathwayVersion.id).where(PathwayVersion.key == "child_protection",
                                                                       PathwayVersion.is_active.is_(True)))
        compiled = engine.compiled(db_session, version_id) if version_id else None

    def title(step: str) -> str:
        info = compiled.user_tasks.get(step) if compiled else None
        return info.title(language) if info else step

    months = [f"{(now.year * 12 + now.month - 1 - i) // 12:04d}-{(now.month - 1 - i) % 12 + 1:02d}"
              for i in range(11, -1, -1)]  # the last twelve calendar months, oldest first
    opened, closed = Counter(), Counter()
    for opened_at, closed_at, _version in cases:
        opened[opened_at.strftime("%Y-%m")] += 1
        if closed_at:
            closed[closed_at.strftime("%Y-%m")] += 1
    per_step: dict[str, list[float]] = defaultdict(list)
    for step, created_at, ended_at in durations:
        per_step[step].append((ended_at - created_at).total_seconds() / 86400)
    overdue = [present_task(t, ref, version, now=now) for t, ref, version in overdue_rows]
    engine.record_access(_actor(), "tasks_listed", sorted({t["case_id"] for t in overdue}))
    return render_template(
        "supervision.html", overdue=overdue, stalled=stalled, now=now,
        by_step=_bars(sorted(((title(k), v) for k, v in by_step), key=lambda kv: -kv[1])),
        by_unit=_bars(sorted(by_unit, key=lambda kv: -kv[1])),
        by_risk=_bars([(str(labels.RISK_LABELS.get(k, k)), v) for k, v in sorted(by_risk)]),
        months=[{"month": m, "opened": opened[m], "closed": closed[m]} for m in months],
        month_top=max([opened[m] for m in months] + [closed[m] for m in months] + [1]),
        step_days=_bars(sorted(((title(k), round(statistics.median(v), 1)) for k, v in per_step.items()),
                               key=lambda kv: -kv[1])))


def _api_error(error):  # type: ignore[no-untyped-def]
    return current_app.extensions["himaya_api"].handle_http_exception(error)


@bp.app_errorhandler(404)
def not_found(error):  # type: ignore[no-untyped-def]
    if request.path.startswith("/api/"):
        return _api_error(error)
    return render_template("error.html", code=404, message=_("This page does not exist, or you may not see it.")), 404


@bp.app_errorhandler(403)
def forbidden(error):  # type: ignore[no-untyped-def]
    if request.path.startswith("/api/"):
        return _api_error(error)
    return render_template("error.html", code=403, message=_("You are not allowed to do this.")), 403


def _bad_request(error):  # type: ignore[no-untyped-def]
    if request.path.startswith("/api/"):
        return _api_error(error)
    if getattr(error, "description", "") == "csrf":
        return render_template("error.html", code=400,
                               message=_("This form has expired. Go back, reload the page and try again.")), 400
    return render_template("error.html", code=400, message=_("Bad request.")), 400


bp.app_errorhandler(400)(_bad_request)
__all__ = ["bp", "EngineError", "NotFound"]
