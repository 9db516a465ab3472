"""Pages of the quarterly statistical reports and of the provincial action plans.

A plan's content is edited without JavaScript: each level (priority, general objective,
specific objective, action) has its own small form, and every change goes through
:func:`engine.action_plans.save_content` (same checks as the API: field errors, nothing
saved when one fails). Submitting, validating and reviewing are the pathway's tasks. Once
validated, each action is followed up on its own page (state, percentage, actual dates, note,
history: :mod:`engine.plan_progress`).
"""
from __future__ import annotations

import copy
from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import action_plans, plan_progress
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.statistical_reports import figure_rows

from .. import plan_export, policy
from ..context import actor, engine, reader, settings
from ..i18n import translate_errors
from ..readers import plans, reports
from .forms import flat_errors, follow_up_values
from .session import login_required

ACTION_FIELDS = ("title", "pilot", "partners", "resources", "budget_mad", "indicators", "deadline", "ongoing",
                 "expected_results", "follow_up")


# --- statistical reports ---------------------------------------------------------------

SHOWN = 200  # reports or plans listed on a page


@login_required
def statistical_reports() -> ResponseReturnValue:
    if not policy.can_read_reports(g.principal):
        abort(403)
    return render_template("reports.html", reports=reports.report_page(reader(), {}, 1, SHOWN)[1])


@login_required
def statistical_report(report_id: int) -> ResponseReturnValue:
    report, reference, tasks = reports.visible_report(reader(), report_id)
    return render_template("statistical_report.html", report=report, reference=reference, tasks=tasks,
                           rows=figure_rows(report.figures))


# --- action plans ----------------------------------------------------------------------

@login_required
def action_plans_page() -> ResponseReturnValue:
    if not policy.can_read_plans(g.principal):
        abort(403)
    return render_template("plans.html", plans=plans.plan_page(reader(), None, 1, SHOWN)[1],
                           can_open=policy.can_draft_plan(g.principal, g.principal.province or ""))


@login_required
def new_action_plan() -> ResponseReturnValue:
    p = g.principal
    if not policy.can_draft_plan(p, p.province or ""):
        abort(403)
    values = {"title": "", "period_start": "", "period_end": ""}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {key: (request.form.get(key) or "").strip() for key in values}
        try:
            case_id = action_plans.create_plan(engine(), {**values, "province": p.province}, actor())
        except ValidationFailed as error:
            errors = flat_errors(translate_errors(error.errors))
        except Conflict as error:
            errors = {"period_start": [_(error.message)]}
        else:
            plan_id = plans.plan_of_case(reader(), case_id)
            flash(_("Action plan opened: version 1 is a draft."), "success")
            return redirect(url_for("web.action_plan", plan_id=plan_id))
    return render_template("plan_new.html", values=values, errors=errors), 400 if errors else 200


def _plan(plan_id: int, number: int | None = None) -> dict[str, Any]:
    """The plan as the API shows it (404 out of scope), and whether the caller edits it now."""
    plan = plans.load_plan(reader(), plan_id, number)
    latest = plan["versions"][-1]["number"]
    plan["editable"] = (plan["version"]["number"] == latest and plan["status"] in action_plans.EDITABLE
                        and policy.can_draft_plan(g.principal, plan["province"]))
    return plan


def _version_arg() -> int | None:
    raw = request.args.get("version")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        abort(404)
    return int(raw)


@login_required
def action_plan(plan_id: int) -> ResponseReturnValue:
    plan = _plan(plan_id, _version_arg())
    return render_template("plan.html", plan=plan, columns=plan_export.columns())  # the canvas; progress added


@login_required
def export_action_plan(plan_id: int, fmt: str) -> ResponseReturnValue:
    if fmt not in ("xlsx", "pdf"):
        abort(404)
    plan = _plan(plan_id, _version_arg())
    name = f"plan-{plan['province']}-{plan['period_start']}-v{plan['version']['number']}.{fmt}"
    body = plan_export.xlsx(plan) if fmt == "xlsx" else plan_export.pdf(plan, settings().pdf_font)
    return Response(body, mimetype=plan_export.XLSX_TYPE if fmt == "xlsx" else "application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _path(raw: str | None, depth: int) -> list[int]:
    """``"0.1.2"`` → [0, 1, 2] with exactly ``depth`` parts (404 otherwise)."""
    parts = (raw or "").split(".") if raw else []
    if len(parts) != depth or not all(p.isdigit() and len(p) < 4 for p in parts):
        abort(404)
    return [int(p) for p in parts]


_LEVELS = ("priorities", "general_objectives", "specific_objectives", "actions")


def _item_path() -> list[int]:
    """The posted path of one item at any level (``"0"`` … ``"0.1.2.3"``; 404 otherwise)."""
    raw = request.form.get("path") or ""
    depth = len(raw.split("."))
    if not raw or depth > len(_LEVELS):
        abort(404)
    return _path(raw, depth)


def _children(content: dict[str, Any], path: list[int]) -> list[Any]:
    """The list that holds the items below ``path`` (404 when the path does not exist)."""
    node: Any = content
    for depth, index in enumerate(path):
        items = node.get(_LEVELS[depth]) or []
        if index >= len(items):
            abort(404)
        node = items[index]
    return node.setdefault(_LEVELS[len(path)], [])


def _save(plan_id: int, content: dict[str, Any]) -> dict[str, list[str]]:
    try:
        action_plans.save_content(engine(), plan_id, content, actor())
    except ValidationFailed as error:
        return flat_errors(translate_errors(error.errors))
    except (Conflict, NotFound) as error:
        return {"_": [_(error.message)]}
    return {}


def _editable(plan_id: int) -> dict[str, Any]:
    plan = _plan(plan_id)
    if not policy.can_draft_plan(g.principal, plan["province"]):
        abort(403)
    if not plan["editable"]:
        abort(409)
    return plan


@login_required
def edit_action_plan(plan_id: int) -> ResponseReturnValue:
    """One change of structure: add a priority, objective or specific objective; move an item up
    or down among its siblings; remove one."""
    plan = _editable(plan_id)
    content = copy.deepcopy(plan["content"])
    operation = request.form.get("op")
    title = (request.form.get("title") or "").strip()
    if operation == "add_priority":
        _children(content, []).append({"area": request.form.get("area") or "", "title": title,
                                       "general_objectives": []})
    elif operation == "add_general":
        _children(content, _path(request.form.get("path"), 1)).append({"title": title, "specific_objectives": []})
    elif operation == "add_specific":
        _children(content, _path(request.form.get("path"), 2)).append({"title": title, "actions": []})
    elif operation == "remove":
        path = _item_path()
        items = _children(content, path[:-1])
        if path[-1] >= len(items):
            abort(404)
        del items[path[-1]]
    elif operation in ("up", "down"):  # the guide ranks actions by urgency: order matters
        path = _item_path()
        items = _children(content, path[:-1])
        index, other = path[-1], path[-1] + (-1 if operation == "up" else 1)
        if index >= len(items) or not 0 <= other < len(items):
            abort(404)
        items[index], items[other] = items[other], items[index]
    elif operation == "context":
        content["context"] = request.form.get("context") or ""
    else:
        abort(400)
    errors = _save(plan_id, content)
    if errors:
        flash(" ".join(f"{message}" for messages in errors.values() for message in messages), "error")
    else:
        flash(_("Plan saved."), "success")
    return redirect(url_for("web.action_plan", plan_id=plan_id))


def _action_values(form: Any) -> dict[str, Any]:
    def lines(name: str) -> list[str]:
        return [line.strip() for line in (form.get(name) or "").splitlines() if line.strip()]

    ongoing = form.get("ongoing") == "on"
    return {"title": (form.get("title") or "").strip(), "pilot": (form.get("pilot") or "").strip(),
            "partners": lines("partners"), "resources": (form.get("resources") or "").strip(),
            "budget_mad": (form.get("budget_mad") or "").strip().replace(" ", "").replace(",", ".") or None,
            "indicators": lines("indicators"), "deadline": None if ongoing else (form.get("deadline") or None),
            "ongoing": ongoing, "expected_results": (form.get("expected_results") or "").strip(),
            "follow_up": (form.get("follow_up") or "").strip()}


@login_required
def plan_action(plan_id: int) -> ResponseReturnValue:
    """Add an action to a specific objective (``path=p.g.s``) or edit one (``path=p.g.s.a``)."""
    plan = _editable(plan_id)
    raw = request.args.get("path") or ""
    depth = len(raw.split("."))
    if depth not in (3, 4):
        abort(404)
    path = _path(raw, depth)
    content = copy.deepcopy(plan["content"])
    actions = _children(content, path[:3])
    if len(path) == 4 and path[3] >= len(actions):
        abort(404)
    values: dict[str, Any] = dict(actions[path[3]]) if len(path) == 4 else {"ongoing": False}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = _action_values(request.form)
        if len(path) == 4:
            actions[path[3]] = values
            index = path[3]
        else:
            actions.append(values)
            index = len(actions) - 1
        prefix = ".".join(f"{level}.{i}" for level, i in zip(_LEVELS, [*path[:3], index]))
        found = _save(plan_id, content)
        if not found:
            flash(_("Plan saved."), "success")
            return redirect(url_for("web.action_plan", plan_id=plan_id))
        for key, messages in found.items():
            field = key[len(prefix) + 1:].split(".")[0] if key.startswith(prefix + ".") else "_"
            errors.setdefault(field if field in ACTION_FIELDS else "_", []).extend(messages)
    return render_template("plan_action.html", plan=plan, path=raw, values=values, errors=errors), \
        400 if errors else 200



# --- the follow-up of a validated plan, action by action (engine.plan_progress) ------------------

@login_required
def plan_progress_page(plan_id: int) -> ResponseReturnValue:
    """One action's follow-up: where it stands, the form to update it (its pilot, the technical
    committee) and its history."""
    path = request.args.get("path") or ""
    plan, action, can_follow = plans.action_follow_up(reader(), plan_id, path)  # 404 for others
    current = plan["progress"].get(path) or {}
    values: dict[str, Any] = {key: current.get(key) for key in ("state", "percent_done", "started_on", "ended_on",
                                                                 "note")}
    values["state"] = values["state"] or plan_progress.NOT_STARTED
    values["percent_done"] = 0 if values["percent_done"] is None else values["percent_done"]
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not can_follow:
            abort(403)
        values = follow_up_values(request.form)
        p = g.principal
        try:
            plan_progress.update_progress(engine().db, plan_id, path, values,
                                          plan_progress.Updater(p.username, p.role, p.province), now=engine().now())
        except ValidationFailed as error:
            errors = flat_errors(translate_errors(error.errors))
        except Conflict as error:
            errors = {"_": [_(error.message)]}
        else:
            flash(_("Follow-up recorded."), "success")
            return redirect(url_for("web.plan_progress_page", plan_id=plan_id, path=path))
    return render_template("plan_progress.html", plan=plan, action=action.content, path=path, current=current,
                           values=values, errors=errors, can_follow=can_follow, states=plan_progress.STATES,
                           late=path in plan["late"]), 400 if errors else 200
