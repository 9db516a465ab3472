"""``/api/v1/pathways``: deploy and version the pathways (administrators)."""
from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from flask_babel import gettext as _
from flask_smorest import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from engine.definitions.storage import MAX_FORM_BYTES, activate_version
from engine.models import Case, PathwayVersion

from .. import policy
from ..schemas import ActivateArgs, DeployResponse, PathwayListItem, PathwayVersionSchema, Strict
from ..pathway_admin import available_forms
from .common import Blueprint, actor, engine, load_principal, requires

blp = Blueprint("pathways", __name__, url_prefix="/api/v1/pathways", description="Pathway administration")
blp.before_request(load_principal)


def _open_counts(session: Any) -> dict[int, int]:
    rows = session.execute(select(Case.pathway_version_id, func.count()).where(Case.status == "open")
                           .group_by(Case.pathway_version_id))
    return dict(rows.all())


def _version_view(row: PathwayVersion, open_cases: int) -> dict[str, Any]:
    himaya = engine()
    with himaya.db.reading() as session:
        compiled = himaya.compiled(session, row.id)
    return {"key": row.key, "version": row.version, "name": row.name, "active": row.is_active,
            "deployed_at": row.deployed_at, "deployed_by": row.deployed_by, "content_hash": row.content_hash,
            "properties": row.properties, "forms": sorted(row.forms), "steps": sorted(compiled.user_tasks),
            "open_cases": open_cases}


def _version(session: Any, key: str, version: int) -> PathwayVersion:
    row = session.scalar(select(PathwayVersion).where(PathwayVersion.key == key, PathwayVersion.version == version))
    if row is None:
        abort(404, message=_("No such pathway version."))
    return row


@blp.route("", methods=["GET"])
@blp.response(200, PathwayListItem(many=True))
@blp.alt_response(403, description="Administrators only")
@requires(policy.is_admin)
def list_pathways():
    """Every pathway key with its versions, the active one and open cases per version."""
    himaya = engine()
    with himaya.db.reading() as session:
        counts = _open_counts(session)
        rows = session.scalars(select(PathwayVersion).order_by(PathwayVersion.key, PathwayVersion.version)).all()
    keys: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = keys.setdefault(row.key, {"key": row.key, "name": row.name, "active_version": None, "versions": []})
        entry["versions"].append(_version_view(row, counts.get(row.id, 0)))
        if row.is_active:
            entry["active_version"], entry["name"] = row.version, row.name
    return list(keys.values())


def _uploaded() -> tuple[bytes, dict[str, Any]]:
    """The BPMN of the request (XML body or multipart ``file``) and extra forms (multipart ``forms``)."""
    extra: dict[str, Any] = {}
    if request.mimetype in ("application/xml", "text/xml"):
        return request.get_data(), extra
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            abort(400, message=_("Send the BPMN file as the multipart field 'file'."),
                  errors={"files": {"file": [_("Missing data for required field.")]}})
        for form_file in request.files.getlist("forms"):
            name = (form_file.filename or "").rsplit("/", 1)[-1].removesuffix(".json")
            content = form_file.read(MAX_FORM_BYTES + 1)
            try:
                extra[name] = json.loads(content)
            except ValueError:
                abort(400, message=_("A form file is not valid JSON."), errors={"files": {"forms": [name]}})
        return upload.read(), extra
    abort(415, message=_("Send BPMN XML (application/xml) or a multipart form with a 'file'."))
    raise AssertionError  # abort raises


@blp.route("", methods=["POST"])
@blp.arguments(ActivateArgs, location="query")
@blp.response(201, DeployResponse)
@blp.alt_response(200, schema=DeployResponse, description="Identical to an existing version: that version")
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(413, description="Too large")
@blp.alt_response(422, description="Invalid BPMN: each error with its element and line")
@requires(policy.is_admin)
def deploy(args):
    """Validate and deploy a BPMN pathway; forms: shipped, stored, edited drafts, then the upload."""
    xml, extra_forms = _uploaded()
    himaya = engine()
    with himaya.db.reading() as session:
        forms = available_forms(session)
    forms.update(extra_forms)
    result = himaya.deploy(xml, forms, actor(), activate=args["activate"])
    body = {"key": result.pathway.key, "version": result.pathway.version, "created": result.created,
            "active": result.pathway.is_active, "warnings": [w.as_dict() for w in result.warnings]}
    return body, 201 if result.created else 200


@blp.route("/<string(maxlength=100):key>/versions/<int(min=1, max=1000000):version>", methods=["GET"])
@blp.response(200, PathwayVersionSchema)
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(404, description="No such version")
@requires(policy.is_admin)
def get_version(key, version):
    """Metadata of one version."""
    with engine().db.reading() as session:
        row = _version(session, key, version)
        count = _open_counts(session).get(row.id, 0)
    return _version_view(row, count)


@blp.route("/<string(maxlength=100):key>/versions/<int(min=1, max=1000000):version>/bpmn", methods=["GET"])
@blp.response(200, description="The BPMN XML", content_type="application/xml")
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(404, description="No such version")
@requires(policy.is_admin)
def get_bpmn(key, version):
    """The BPMN XML of one version."""
    with engine().db.reading() as session:
        row = _version(session, key, version)
    return Response(row.bpmn_xml, mimetype="application/xml")


@blp.route("/<string(maxlength=100):key>/versions/<int(min=1, max=1000000):version>/activate", methods=["POST"])
@blp.response(200, PathwayVersionSchema)
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(404, description="No such version")
@requires(policy.is_admin)
def activate(key, version):
    """Make this version the one new cases start on."""
    himaya = engine()
    with himaya.db.transaction() as session:
        row = _version(session, key, version)
        activate_version(session, row, actor=actor().username, now=himaya.now())
        count = _open_counts(session).get(row.id, 0)
    return _version_view(row, count)


class MigrationRequest(Strict):
    from_version = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000))
    to_version = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000))
    dry_run = fields.Boolean(load_default=True)


class CaseMigrationSchema(Schema):
    case_id = fields.String()
    reference = fields.String()
    open_steps = fields.List(fields.String())
    can_migrate = fields.Boolean()
    reason = fields.String(allow_none=True)
    migrated = fields.Boolean()


class MigrationResponse(Schema):
    key = fields.String()
    from_version = fields.Integer()
    to_version = fields.Integer()
    dry_run = fields.Boolean()
    migrated = fields.Integer()
    left = fields.Integer()
    cases = fields.List(fields.Nested(CaseMigrationSchema))


@blp.route("/<string(maxlength=100):key>/migrations", methods=["POST"])
@blp.arguments(MigrationRequest)
@blp.response(200, MigrationResponse)
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(404, description="No such version")
@requires(policy.is_admin)
def migrate_cases(body, key):
    """Move open cases from one version to another: a dry-run report, or the migration itself."""
    from engine.migration import migrate

    report = migrate(engine(), key, body["from_version"], body["to_version"], actor=actor(), dry_run=body["dry_run"])
    return {"key": report.key, "from_version": report.from_version, "to_version": report.to_version,
            "dry_run": report.dry_run, "migrated": report.migrated, "left": report.left,
            "cases": [vars(c) for c in report.cases]}
