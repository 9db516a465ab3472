"""``/api/v1/pathways``: deploy and version the pathways (administrators)."""
from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from engine.definitions.storage import MAX_FORM_BYTES
from engine.migration import migrate

from .. import pathway_admin, policy
from ..readers import pathways
from ..schemas import ActivateArgs, DeployResponse, PathwayListItem, PathwayVersionSchema, Strict
from .common import Blueprint, abort, actor, engine, load_principal, reader, requires

blp = Blueprint("pathways", __name__, url_prefix="/api/v1/pathways", description="Pathway administration")
blp.before_request(load_principal)


@blp.route("", methods=["GET"])
@blp.response(200, PathwayListItem(many=True))
@blp.alt_response(403, description="Administrators only")
@requires(policy.is_admin)
def list_pathways() -> list[dict[str, Any]]:
    """Every pathway key with its versions, the active one and open cases per version."""
    context = reader()
    keys: dict[str, dict[str, Any]] = {}
    for row, open_cases in pathways.versions(context):
        entry = keys.setdefault(row.key, {"key": row.key, "name": row.name, "active_version": None, "versions": []})
        entry["versions"].append(pathways.present_version(context, row, open_cases))
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


# The deploy body, documented here and read by _uploaded (XML, or multipart with forms).
DEPLOY_BODY = {"required": True, "content": {
    "application/xml": {"schema": {"type": "string", "description": "The BPMN 2.0 XML of the pathway"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "The BPMN 2.0 XML file"},
        "forms": {"type": "array", "items": {"type": "string", "format": "binary"},
                  "description": "form-js forms named <form>.json, added to the shipped and stored ones"}}}},
}}


@blp.route("", methods=["POST"])
@blp.doc(requestBody=DEPLOY_BODY)
@blp.arguments(ActivateArgs, location="query")
@blp.response(201, DeployResponse)
@blp.alt_response(200, schema=DeployResponse, description="Identical to an existing version: that version")
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(413, description="Too large")
@blp.alt_response(415, description="Neither BPMN XML nor a multipart form")
@blp.alt_response(422, description="Invalid BPMN: each error with its element and line")
@requires(policy.is_admin)
def deploy(args: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Validate and deploy a BPMN pathway; forms: shipped, stored, edited drafts, then the upload."""
    xml, extra_forms = _uploaded()
    forms = pathways.forms(reader())
    forms.update(extra_forms)
    result = engine().deploy(xml, forms, actor(), activate=args["activate"])
    body = {"key": result.pathway.key, "version": result.pathway.version, "created": result.created,
            "active": result.pathway.is_active, "warnings": [w.as_dict() for w in result.warnings]}
    return body, 201 if result.created else 200


@blp.route("/<string(maxlength=100):key>/versions/<int(min=1, max=1000000):version>", methods=["GET"])
@blp.response(200, PathwayVersionSchema)
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(404, description="No such version")
@requires(policy.is_admin)
def get_version(key: str, version: int) -> dict[str, Any]:
    """Metadata of one version."""
    context = reader()
    return pathways.present_version(context, *pathways.version(context, key, version))


@blp.route("/<string(maxlength=100):key>/versions/<int(min=1, max=1000000):version>/bpmn", methods=["GET"])
@blp.response(200, description="The BPMN XML", content_type="application/xml")
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(404, description="No such version")
@requires(policy.is_admin)
def get_bpmn(key: str, version: int) -> Response:
    """The BPMN XML of one version."""
    row, _open_cases = pathways.version(reader(), key, version)
    return Response(row.bpmn_xml, mimetype="application/xml")


@blp.route("/<string(maxlength=100):key>/versions/<int(min=1, max=1000000):version>/activate", methods=["POST"])
@blp.response(200, PathwayVersionSchema)
@blp.alt_response(403, description="Administrators only")
@blp.alt_response(404, description="No such version")
@requires(policy.is_admin)
def activate(key: str, version: int) -> dict[str, Any]:
    """Make this version the one new cases start on."""
    pathway_admin.activate(engine(), key, version, actor=actor().username)
    context = reader()
    return pathways.present_version(context, *pathways.version(context, key, version))


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
    started = fields.List(fields.String(), metadata={
        "description": "listening events the move starts (the target's listens_at property)"})
    ended = fields.List(fields.String(), metadata={
        "description": "removed joins whose waiting thread the move ends (the case goes on without it)"})


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
def migrate_cases(body: dict[str, Any], key: str) -> dict[str, Any]:
    """Move open cases from one version to another: a dry-run report, or the migration itself."""
    report = migrate(engine(), key, body["from_version"], body["to_version"], actor=actor(), dry_run=body["dry_run"])
    return {"key": report.key, "from_version": report.from_version, "to_version": report.to_version,
            "dry_run": report.dry_run, "migrated": report.migrated, "left": report.left,
            "cases": [vars(c) for c in report.cases]}
