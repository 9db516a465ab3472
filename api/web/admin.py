"""Administration pages: pathways and their versions, the BPMN modeler, the form editor,
comparison of versions and migration of open cases. Administrators only."""
from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine.definitions.checking import check_definition
from engine.definitions.model import Problem
from engine.definitions.rules import FORM_NAME
from engine.errors import DefinitionInvalid, DefinitionTooLarge, EngineError
from engine.forms import LANGUAGES, FormDefinitionError, compile_form
from engine.migration import migrate
from engine.vocabulary import RISK_LEVELS, SECTORS, TERRITORIAL_ROLES

from .. import pathway_admin, policy
from ..context import actor, engine, reader
from ..i18n import translate_problem
from ..readers import pathways as pathway_readers
from . import form_editor as form_editor_page
from . import labels
from .session import login_required

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="../templates")
EMPTY_FORM = {"type": "default", "components": [], "schemaVersion": 16}


def admin_only(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if not policy.is_admin(g.principal):
            abort(403)
        return view(*args, **kwargs)
    return wrapper


@bp.get("/pathways")
@admin_only
def pathways() -> ResponseReturnValue:
    context = reader()
    keys: dict[str, list[Any]] = {}
    for row, open_cases in pathway_readers.versions(context, newest_first=True):
        keys.setdefault(row.key, []).append({"row": row, "open": open_cases})
    return render_template("admin/pathways.html", keys=keys, forms=sorted(pathway_readers.forms(context)),
                           drafts=pathway_readers.draft_names(context))


@bp.get("/pathways/<string(maxlength=100):key>/versions/<int(min=1, max=1000000):version>/modeler")
@admin_only
def modeler(key: str, version: int) -> ResponseReturnValue:
    context = reader()
    row, _open_cases = pathway_readers.version(context, key, version)
    texts = {"bpmn": {text: str(label) for text, label in labels.MODELER_BPMN_TEXTS.items()},
             "page": {key: str(label) for key, label in labels.MODELER_TEXTS.items()}}
    return render_template("admin/modeler.html", row=row, roles=TERRITORIAL_ROLES, sectors=SECTORS,
                           risk_levels=RISK_LEVELS,
                           forms=pathway_readers.form_choices(context, sorted(pathway_readers.forms(context))),
                           texts=texts, xml_url=url_for("admin.bpmn", key=key, version=version))


@bp.get("/pathways/<string(maxlength=100):key>/versions/<int(min=1, max=1000000):version>/bpmn")
@admin_only
def bpmn(key: str, version: int) -> ResponseReturnValue:
    row, _open_cases = pathway_readers.version(reader(), key, version)
    return current_app.response_class(row.bpmn_xml, mimetype="application/xml")


def _problems(error: EngineError) -> list[dict[str, Any]]:
    """The problems of a refused diagram, each with its element, code and ``text``: the message in
    the page's language, which the modeler shows on the element."""
    errors = error.errors if isinstance(error.errors, list) else []
    problems = errors or [{"element": None, "line": None, "message": error.message, "code": None, "params": {}}]
    return [{**problem, "text": translate_problem(problem)} for problem in problems]


def _warnings(warnings: list[Problem]) -> list[dict[str, Any]]:
    return [{**warning.as_dict(), "text": translate_problem(warning.as_dict())} for warning in warnings]


@bp.post("/pathways/check")
@admin_only
def check() -> ResponseReturnValue:
    """Validate a diagram from the modeler; errors name their element."""
    try:
        checked = check_definition(request.get_data(), pathway_readers.forms(reader()),
                                   timer_minimum=engine().timer_minimum)  # as a deploy would judge it
    except (DefinitionInvalid, DefinitionTooLarge) as error:
        return jsonify({"ok": False, "errors": _problems(error)}), 422
    return jsonify({"ok": True, "key": checked.key, "warnings": _warnings(checked.warnings)})


@bp.post("/pathways/deploy")
@admin_only
def deploy() -> ResponseReturnValue:
    try:
        result = engine().deploy(request.get_data(), pathway_readers.forms(reader()), actor())
    except (DefinitionInvalid, DefinitionTooLarge) as error:
        return jsonify({"ok": False, "errors": _problems(error)}), 422
    return jsonify({"ok": True, "key": result.pathway.key, "version": result.pathway.version,
                    "created": result.created, "warnings": _warnings(result.warnings)})


@bp.get("/pathways/<string(maxlength=100):key>/compare")
@admin_only
def compare(key: str) -> ResponseReturnValue:
    context = reader()
    old, _old_open = pathway_readers.version(context, key, request.args.get("from", type=int) or 0)
    new, _new_open = pathway_readers.version(context, key, request.args.get("to", type=int) or 0)
    changes = pathway_admin.diff(context.definition(old.id), context.definition(new.id))
    return render_template("admin/compare.html", key=key, old=old, new=new, changes=changes)


@bp.route("/pathways/<string(maxlength=100):key>/migrate", methods=["GET", "POST"])
@admin_only
def migration(key: str) -> ResponseReturnValue:
    report = None
    error = None
    values = {name: request.values.get(name, "") for name in ("from_version", "to_version")}
    if request.method == "POST":
        try:
            report = migrate(engine(), key, int(values["from_version"]), int(values["to_version"]),
                             actor=actor(), dry_run=request.form.get("apply") != "1")
        except (ValueError, EngineError) as problem:
            error = getattr(problem, "message", None) or str(problem)
    return render_template("admin/migrate.html", key=key, report=report, error=error, values=values), \
        400 if error else 200


@bp.route("/forms/<string(maxlength=100):name>", methods=["GET", "POST"])
@admin_only
def form_editor(name: str) -> ResponseReturnValue:
    if not FORM_NAME.match(name):
        abort(404)
    if request.method == "POST":
        schema = request.get_json(silent=True)
        try:
            compiled = compile_form(name, schema)  # refuses anything but a form-js object
        except FormDefinitionError as error:
            return jsonify({"ok": False, "errors": error.problems}), 422
        pathway_admin.save_form_draft(engine(), name, compiled.definition, actor=g.principal.username)
        return jsonify({"ok": True})
    schema = pathway_readers.forms(reader()).get(name) or EMPTY_FORM
    config = json.dumps(form_editor_page.editor_config(), ensure_ascii=False).replace("<", "\\u003c")  # in a <script>
    return render_template("admin/form_editor.html", name=name, schema=json.dumps(schema, ensure_ascii=False),
                           config=config)


@bp.post("/forms/<string(maxlength=100):name>/preview")
@admin_only
def form_preview(name: str) -> ResponseReturnValue:
    """The form being edited as the task page will render it, in the language asked (?lang=ar)."""
    if not FORM_NAME.match(name):
        abort(404)
    language = request.args.get("lang", "fr")
    if language not in LANGUAGES:
        return jsonify({"ok": False, "errors": [_("Choose French, Arabic or English.")]}), 400
    try:
        compiled = compile_form(name, request.get_json(silent=True))
    except FormDefinitionError as error:
        return jsonify({"ok": False, "errors": error.problems}), 422
    return jsonify({"ok": True, "html": form_editor_page.preview(compiled, language)})
