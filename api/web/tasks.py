"""Task pages: the task list (filters, order, pages, saved views), a step's form, claiming a task."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext

from engine import worktray
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.vocabulary import COORDINATOR, SUPERVISOR

from .. import policy
from ..context import actor, engine, reader, settings
from ..i18n import translate_errors, translate_form_errors, translate_message
from ..readers import cases, incidents, judicial, reports, tasks, territory
from . import drafts, notes
from .chrome import isolate
from .drafts import login_keeping_draft
from .forms import error_summary, flat_errors, form_data
from .session import login_required

PER_PAGE = 25  # tasks on a page of the task list
PROVINCE_ROLES = (COORDINATOR, SUPERVISOR)  # they see the province's units: a unit filter
RELEASE_REASON_MAX = 500  # as the API's ReleaseRequest


def list_filters(args: Any) -> dict[str, Any]:
    """The task list's filters from the URL (or a posted form): ``scope``, ``step``, ``overdue``
    (True/False/None), ``unit`` (coordinators and supervisors: a unit of their province), ``sort``.
    A value the list does not know is left out, never an error page."""
    principal = g.principal
    scope = args.get("scope")
    overdue = {"true": True, "false": False}.get(str(args.get("overdue") or "").lower())
    step = (args.get("step") or "").strip()[:100] or None
    unit = (args.get("unit") or "").strip()[:100] or None
    if unit and (principal.role not in PROVINCE_ROLES or unit not in {u.code for u in _units()}):
        unit = None
    sort = args.get("sort")
    return {"scope": scope if scope in tasks.SCOPES else "all", "step": step, "overdue": overdue, "unit": unit,
            "sort": sort if sort in tasks.SORTS else "due"}


def list_args(filters: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The URL arguments of the task list with these filters (defaults left out)."""
    merged = {**filters, **changes}
    out: dict[str, Any] = {}
    for key in ("scope", "step", "overdue", "unit", "sort", "page"):
        value = merged.get(key)
        if value is None or (key == "scope" and value == "all") or (key == "sort" and value == "due") \
                or (key == "page" and value == 1):
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return out


def view_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """What a saved view keeps of the filters (the API's ``TaskViewFilters``)."""
    return {key: value for key, value in filters.items() if value is not None}


def _units() -> list[Any]:
    if g.principal.role not in PROVINCE_ROLES or not g.principal.province:
        return []
    if "province_units" not in g:
        g.province_units = territory.units(reader(), g.principal.province)
    return g.province_units


def _page_number(value: Any) -> int:
    try:
        return min(max(int(value), 1), 100_000)
    except (TypeError, ValueError):
        return 1


def due_words(days: int | None, overdue: bool) -> str:
    """"Due in 3 days", "Late by 2 days", "Due today" (in the page's language, with its plurals)."""
    if days is None:
        return _("No deadline")
    if days < 0:
        return ngettext("Late by %(num)d day", "Late by %(num)d days", -days)
    if days == 0:
        return _("Late since today") if overdue else _("Due today")
    return ngettext("Due in %(num)d day", "Due in %(num)d days", days)


def _claimable(item: dict[str, Any]) -> dict[str, Any]:
    item["can_claim"] = item["state"] == "ready" and policy.can_act(g.principal, SimpleNamespace(**item))
    return item


def _listed(context: Any, row: Any, reference: str, version_id: int) -> dict[str, Any]:
    """A task as a row of the task list shows it: with the child, and the days until it is due."""
    item = tasks.present_task(context, row, reference, version_id, child=cases.visible(context, row.case_id))
    item["due_in_days"] = tasks.due_in_days(row.due_at, context.now, settings().zone)
    return _claimable(item)


@login_required
def task_list() -> ResponseReturnValue:
    context = reader()
    filters = list_filters(request.args)
    page = _page_number(request.args.get("page"))
    total, items = tasks.task_page(context, scope=filters["scope"], page=page, per_page=PER_PAGE,
                                   step=filters["step"], overdue_only=filters["overdue"], unit=filters["unit"],
                                   sort=filters["sort"], zone=settings().zone)
    counts = tasks.scope_counts(context, step=filters["step"], overdue_only=filters["overdue"], unit=filters["unit"])
    engine().record_access(actor(), "tasks_listed", sorted({t["case_id"] for t in items}))
    views = [{"id": v.id, "name": v.name, "args": list_args({"scope": "all", "sort": "due", **v.filters})}
             for v in worktray.list_views(engine().db, g.principal.user_id)]
    return render_template("tasks.html", items=[_claimable(i) for i in items], total=total, page=page,
                           per_page=PER_PAGE,
                           pages=max(-(-total // PER_PAGE), 1), filters=filters, counts=counts,
                           steps=tasks.task_steps(context), units=_units(), views=views,
                           list_args=list_args, max_views=worktray.MAX_VIEWS,
                           incident_counts=incidents.open_counts(context))


@login_required
def save_view() -> ResponseReturnValue:
    """Save the task list's current filters under a name (the same name replaces them)."""
    filters = list_filters(request.form)
    himaya = engine()
    try:
        row = worktray.save_view(himaya.db, g.principal.user_id, request.form.get("name"), view_filters(filters),
                                 himaya.now())
    except ValidationFailed as error:
        for message in flat_errors(translate_errors(error.errors)).values():
            flash(" ".join(message), "error")
    else:
        flash(_("View saved: %(name)s", name=isolate(row.name)), "success")
    return redirect(url_for("web.tasks", **list_args(filters)))


@login_required
def delete_view(view_id: int) -> ResponseReturnValue:
    worktray.delete_view(engine().db, g.principal.user_id, view_id)  # another user's: 404
    flash(_("View deleted."), "success")
    return redirect(url_for("web.tasks"))


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


@login_keeping_draft
def task(task_id: str) -> ResponseReturnValue:
    found = _open_task(task_id)
    if found is None:
        done = _completed(task_id) if request.method == "GET" else None
        return done if done is not None else _gone()
    row, reference, version_id = found
    if request.method != "POST":
        engine().record_access(actor(), "task_viewed", [row.case_id], {"task_id": row.id, "step": row.step})
        return _task_page_with_draft(found)
    if not policy.can_act(g.principal, row):
        abort(403)
    view = tasks.present_task(reader(), row, reference, version_id, with_form=True)
    values = form_data(view["form"], request.form)
    try:
        engine().complete(row.id, values, actor())
    except ValidationFailed as error:
        return _task_page(found, view, True, values, translate_form_errors(error.errors, view["form"]), None)
    except Conflict:
        return _gone()
    flash(_("Step completed: %(title)s", title=isolate(view["title"])), "success")
    return redirect(url_for("web.case", case_id=row.case_id))


def task_page_again(task_id: str) -> ResponseReturnValue | None:
    """The open task's page as a GET shows it (its draft restored), for a form of the page posted
    elsewhere and refused (a document added from the step); None when the task has ended."""
    found = _open_task(task_id)
    return None if found is None else _task_page_with_draft(found)


def _task_page_with_draft(found: tasks.FoundTask) -> ResponseReturnValue:
    """The task's page with the worker's unsent draft, if any, in its form."""
    row, reference, version_id = found
    context = reader()
    can_act = policy.can_act(g.principal, row)
    restored = drafts.restored(context, row.id) if can_act else None
    values, draft_time = restored if restored is not None else ({}, None)
    return _task_page(found, tasks.present_task(context, row, reference, version_id, with_form=True), can_act,
                      values, {}, draft_time)


def _task_page(found: tasks.FoundTask, view: dict[str, Any], can_act: bool, values: dict[str, Any],
               errors: dict[str, list[str]], draft_time: Any) -> ResponseReturnValue:
    row = found[0]
    context = reader()
    summary = error_summary(view["form"], errors)
    subject = reports.subject_of(context, row.case_id)
    # The coordinator decides the plan knowing what the prosecutor's office was told and decided.
    status = None
    if row.role == COORDINATOR and subject is None:
        status = judicial.judicial_status(context, cases.visible(context, row.case_id))
    file = cases.case_file(context, row.case_id) if subject is None else None  # a child's case: its context
    # A child's step shows the case's contacts (read only: changed on the case page) and its
    # documents, with the upload form bound to the step.
    records = notes.task_page_context(context, file.case) if file is not None else {}
    return render_template("task.html", task=view, can_act=can_act, values=values, errors=errors,
                           error_summary=summary, first_error=summary[0]["anchor"] if summary else None,
                           draft_time=draft_time,
                           figures=reports.report_figures(context, row.case_id),
                           subject=subject_url(subject), judicial=status, file=file,
                           case=file.case if file is not None else None, **records,
                           document_task_id=row.id if can_act else None,
                           may_release=row.state == "claimed" and policy.can_assign(context.principal, row),
                           release_reason_max=RELEASE_REASON_MAX,
                           policy_may_write_contacts=file is not None and policy.can_write_case_records(
                               context.principal, file.case),
                           may_refer=file is not None and file.case.status == "open" and policy.can_refer(
                               context.principal, file.case),
                           child=file.child_brief(context.now.date()) if file else None), \
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
def release(task_id: str) -> ResponseReturnValue:
    """A coordinator puts a task someone holds back in its lane (a colleague away or gone), with an
    optional reason; the page says so and shows the task again."""
    opened = _open_task(task_id)
    if opened is None:
        return _gone()
    row = opened[0]
    if not policy.can_assign(g.principal, row):
        abort(403)
    reason = " ".join((request.form.get("reason") or "").split()) or None
    if reason is not None and len(reason) > RELEASE_REASON_MAX:
        flash(_("Keep the reason to %(max)s characters at most.", max=RELEASE_REASON_MAX), "error")
        return redirect(url_for("web.task", task_id=task_id))
    try:
        engine().release(row.id, actor(), reason=reason)
    except Conflict as refused:
        flash(translate_message(refused.message), "error")
    else:
        flash(_("The task is back with the team: anyone of its lane may claim it."), "success")
    return redirect(url_for("web.task", task_id=task_id))


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
    if request.headers.get("HX-Request"):  # htmx: the row moves to "mine", the counts follow
        context = reader()
        filters = list_filters(request.form)
        counts = tasks.scope_counts(context, step=filters["step"], overdue_only=filters["overdue"],
                                    unit=filters["unit"])
        return render_template("_claimed.html", task=_listed(context, row, reference, version_id),
                               filters=filters, counts=counts, list_args=list_args,
                               leaves=filters["scope"] == "available")
    return redirect(url_for("web.task", task_id=task_id))
