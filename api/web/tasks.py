"""Task pages: my tasks and those I may take, a step's form, claiming a task."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine.errors import Conflict, NotFound, ValidationFailed
from engine.vocabulary import COORDINATOR

from .. import policy
from ..context import actor, engine, reader
from ..i18n import translate_errors
from ..readers import cases, children, incidents, judicial, reports, tasks
from .chrome import isolate
from .forms import flat_errors, form_data
from .session import login_required

SHOWN = 100  # tasks of each list on the page


@login_required
def task_list() -> ResponseReturnValue:
    context = reader()
    shown = {scope: tasks.task_page(context, scope=scope, page=1, per_page=SHOWN)[1]
             for scope in ("mine", "available")}
    engine().record_access(actor(), "tasks_listed",
                           sorted({t["case_id"] for rows in shown.values() for t in rows}))
    return render_template("tasks.html", mine=shown["mine"], available=shown["available"],
                           incident_counts=incidents.open_counts(context))


def _gone() -> ResponseReturnValue:
    return render_template("task_gone.html"), 409


def _completed(task_id: str) -> ResponseReturnValue | None:
    """A step completed earlier: its page shows what was recorded (None when it was cancelled)."""
    context = reader()
    try:
        case, step = cases.completed_task(context, str(task_id))
    except NotFound:
        return None
    engine().record_access(actor(), "task_viewed", [case.id], {"task_id": step["task_id"], "step": step["name"]})
    return render_template("task_done.html", case=case, step=step)


def _open_task(task_id: str) -> tasks.FoundTask | None:
    """The open task the page is about (404 unseen); None when it has ended meanwhile."""
    try:
        return tasks.visible_task(reader(), str(task_id), ended_is_conflict=True)
    except Conflict:
        return None


@login_required
def task(task_id: str) -> ResponseReturnValue:
    found = _open_task(task_id)
    if found is None:
        done = _completed(task_id) if request.method == "GET" else None
        return done if done is not None else _gone()
    row, reference, version_id = found
    context = reader()
    view = tasks.present_task(context, row, reference, version_id, with_form=True)
    can_act = policy.can_act(g.principal, row)
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not can_act:
            abort(403)
        values = form_data(view["form"], request.form)
        try:
            engine().complete(row.id, values, actor())
        except ValidationFailed as error:
            errors = flat_errors(translate_errors(error.errors))
        except Conflict:
            return _gone()
        else:
            flash(_("Step completed: %(title)s", title=isolate(view["title"])), "success")
            return redirect(url_for("web.case", case_id=row.case_id))
    else:
        engine().record_access(actor(), "task_viewed", [row.case_id], {"task_id": row.id, "step": row.step})
    subject = reports.subject_of(context, row.case_id)
    # The coordinator decides the plan knowing what the prosecutor's office was told and decided.
    status = None
    if row.role == COORDINATOR and subject is None:
        status = judicial.judicial_status(context, cases.visible(context, row.case_id))
    file = cases.case_file(context, row.case_id) if subject is None else None  # a child's case: its context
    return render_template("task.html", task=view, can_act=can_act, values=values, errors=errors,
                           figures=reports.report_figures(context, row.case_id),
                           subject=subject_url(subject), judicial=status, file=file,
                           child=children.child_brief(file.case, context.now.date()) if file else None), \
        400 if errors else 200


def subject_url(subject: tuple[str, int] | None) -> str | None:
    """The page of a report or plan (see :func:`api.readers.reports.subject_of`)."""
    if subject is None:
        return None
    kind, number = subject
    if kind == "report":
        return url_for("web.statistical_report", report_id=number)
    return url_for("web.action_plan", plan_id=number)


@login_required
def claim(task_id: str) -> ResponseReturnValue:
    opened = _open_task(task_id)
    if opened is None:
        return _gone()
    found, reference, version_id = opened
    if not policy.can_act(g.principal, found):
        abort(403)
    try:
        row = engine().claim(found.id, actor())
    except Conflict:
        if request.headers.get("HX-Request"):
            return render_template("error.html", code=409, message=_("The task is claimed by someone else.")), 409
        flash(_("The task is claimed by someone else."), "error")
        return redirect(url_for("web.task", task_id=task_id))
    if request.headers.get("HX-Request"):  # htmx: only the row changes
        context = reader()  # the row as the task list shows it: with the child's name, age and risk
        return render_template("_row.html", task=tasks.present_task(context, row, reference, version_id,
                                                                   child=cases.visible(context, row.case_id)))
    return redirect(url_for("web.task", task_id=task_id))
