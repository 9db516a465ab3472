"""Administration pages: pathways and their versions, the BPMN modeler, the form editor,
comparison of versions and migration of open cases. Administrators only."""
from __future__ import annotations

import json
from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify, render_template, request, url_for
from sqlalchemy import func, select

from engine.definitions.rules import FORM_NAME
from engine.errors import DefinitionInvalid, DefinitionTooLarge, EngineError
from engine.forms import FormDefinitionError, compile_form
from engine.migration import migrate
from engine.models import Case, FormDraft, PathwayVersion
from engine.runtime import Actor

from .. import policy
from ..pathway_admin import available_forms, diff
from .session import login_required

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="../templates")


def _engine():  # type: ignore[no-untyped-def]
    return current_app.extensions["himaya"]


def _actor() -> Actor:
    return Actor(g.principal.username, g.principal.role, (request.remote_addr or "")[:64] or None)


def admin_only(view):  # type: ignore[no-untyped-def]
    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not policy.is_admin(g.principal):
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def _version(session: Any, key: str, version: int) -> PathwayVersion:
    row = session.scalar(select(PathwayVersion).where(PathwayVersion.key == key, PathwayVersion.version == version))
    if row is None:
        abort(404)
    return row


@bp.get("/pathways")
@admin_only
def pathways():  # type: ignore[no-untyped-def]
    with _engine().db.reading() as session:
        rows = session.scalars(select(PathwayVersion).order_by(PathwayVersion.key, PathwayVersion.version.desc())).all()
        counts = dict(session.execute(select(Case.pathway_version_id, func.count()).where(Case.status == "open")
                                      .group_by(Case.pathway_version_id)).all())
        drafts = session.scalars(select(FormDraft.name).order_by(FormDraft.name)).all()
        forms = sorted(available_forms(session))
    keys: dict[str, list[Any]] = {}
    for row in rows:
        keys.setdefault(row.key, []).append({"row": row, "open": counts.get(row.id, 0)})
    return render_template("admin/pathways.html", keys=keys, forms=forms, drafts=drafts)


@bp.get("/pathways/<string(maxlength=100):key>/versions/<int(min=1, max=1000000):version>/modeler")
@admin_only
def modeler(key: str, version: int):  # type: ignore[no-untyped-def]
    with _engine().db.reading() as session:
        row = _version(session, key, version)
        forms = sorted(available_forms(session))
    return render_template("admin/modeler.html", row=row, forms=forms,
                           xml_url=url_for("admin.bpmn", key=key, version=version))


@bp.get("/pathways/<string(maxlength=100):key>/versions/<int(min=1, max=1000000):version>/bpmn")
@admin_only
def bpmn(key: str, version: int):  # type: ignore[no-untyped-def]
    with _engine().db.reading() as session:
        xml = _version(session, key, version).bpmn_xml
    return current_app.response_class(xml, mimetype="application/xml")


def _problems(error: EngineError) -> list[dict[str, Any]]:
    errors = error.errors if isinstance(error.errors, list) else []
    return errors or [{"element": None, "line": None, "message": error.message}]


@bp.post("/pathways/check")
@admin_only
def check():  # type: ignore[no-untyped-def]
    """Validate a diagram from the modeler; errors name their element."""
    from engine.definitions.checking import check_definition

    with _engine().db.reading() as session:
        forms = available_forms(session)
    try:
        checked = check_definition(request.get_data(), forms)
    except (DefinitionInvalid, DefinitionTooLarge) as error:
        return jsonify({"ok": False, "errors": _problems(error)}), 422
    return jsonify({"ok": True, "key": checked.key, "warnings": [w.as_dict() for w in checked.warnings]})


@bp.post("/pathways/deploy")
@admin_only
def deploy():  # type: ignore[no-untyped-def]
    engine = _engine()
    with engine.db.reading() as session:
        forms = available_forms(session)
    try:
        result = engine.deploy(request.get_data(), forms, _actor())
    except (DefinitionInvalid, DefinitionTooLarge) as error:
        return jsonify({"ok": False, "errors": _problems(error)}), 422
    return jsonify({"ok": True, "key": result.pathway.key, "version": result.pathway.version,
                    "created": result.created, "warnings": [w.as_dict() for w in result.warnings]})


@bp.get("/pathways/<string(maxlength=100):key>/compare")
@admin_only
def compare(key: str):  # type: ignore[no-untyped-def]
    old_version = request.args.get("from", type=int)
    new_version = request.args.get("to", type=int)
    engine = _engine()
    with engine.db.reading() as session:
        old, new = _version(session, key, old_version or 0), _version(session, key, new_version or 0)
        changes = diff(engine.definitions.get(old), engine.definitions.get(new))
    return render_template("admin/compare.html", key=key, old=old, new=new, changes=changes)


@bp.route("/pathways/<string(maxlength=100):key>/migrate", methods=["GET", "POST"])
@admin_only
def migration(key: str):  # type: ignore[no-untyped-def]
    report = None
    error = None
    values = {"from_version": request.values.get("from_version", ""), "to_version": request.values.get("to_version", "")}
    if request.method == "POST":
        try:
            report = migrate(_engine(), key, int(values["from_version"]), int(values["to_version"]),
                             actor=_actor(), dry_run=request.form.get("apply") != "1")
        except (ValueError, EngineError) as problem:
            error = getattr(problem, "message", None) or str(problem)
    return render_template("admin/migrate.html", key=key, report=report, error=error, values=values), \
        400 if error else 200


@bp.route("/forms/<string(maxlength=100):name>", methods=["GET", "POST"])
@admin_only
def form_editor(name: str):  # type: ignore[no-untyped-def]
    engine = _engine()
    if not FORM_NAME.match(name):
        abort(404)
    if request.method == "POST":
        schema = request.get_json(silent=True)
        try:
            compile_form(name, schema)
        except FormDefinitionError as error:
            return jsonify({"ok": False, "errors": error.problems}), 422
        with engine.db.transaction() as session:
            draft = session.get(FormDraft, name) or FormDraft(name=name)
            draft.schema, draft.updated_at, draft.updated_by = schema, engine.now(), g.principal.username
            session.add(draft)
        return jsonify({"ok": True})
    with engine.db.reading() as session:
        schema = available_forms(session).get(name) or {"type": "default", "components": [], "schemaVersion": 16}
    return render_template("admin/form_editor.html", name=name, schema=json.dumps(schema, ensure_ascii=False))
