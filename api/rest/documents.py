"""Documents of a child's case: ``POST|GET /api/v1/cases/{id}/documents`` and
``GET /api/v1/documents/{id}/content`` (an attachment, audited)."""
from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_babel import gettext as _

from .. import policy
from ..i18n import translate_message
from ..readers import cases as case_readers
from ..readers import documents
from ..schemas import DocumentList, DocumentSchema, DocumentUploadFile, DocumentUploadForm
from ..uploads import REFUSALS, field_errors, read_upload, serve, service, upload_limit, uploader
from .common import Blueprint, abort, actor, engine, load_principal, reader

blp = Blueprint("documents", __name__, url_prefix="/api/v1", description="Documents of a child's case")
blp.before_request(load_principal)

@blp.before_request
def allow_upload_size() -> None:
    """An upload may be as large as ``HIMAYA_DOCUMENT_MAX_BYTES`` (the other requests: 1 MB)."""
    if request.method == "POST" and request.endpoint == "documents.add_document":
        request.max_content_length = upload_limit()


@blp.route("/cases/<uuid:case_id>/documents", methods=["POST"])
@blp.arguments(DocumentUploadForm, location="form")
@blp.arguments(DocumentUploadFile, location="files")
@blp.response(201, DocumentSchema)
@blp.alt_response(400, description="A bad field or an empty file (each listed)")
@blp.alt_response(403, description="A supervisor, or another role that does not add documents")
@blp.alt_response(404, description="Unknown or not visible case")
@blp.alt_response(409, description="The case is closed")
@blp.alt_response(413, description="Over HIMAYA_DOCUMENT_MAX_BYTES")
@blp.alt_response(415, description="Not a PDF, JPEG, PNG or WebP file (from its bytes), or a polyglot")
@blp.alt_response(422, description="The virus scanner flagged it")
@blp.alt_response(503, description="The virus scanner is configured but cannot be reached")
def add_document(form: dict[str, Any], _files: dict[str, Any], case_id: str) -> dict[str, Any]:
    """Add a document (multipart: ``file``, ``kind``, ``title``, optional ``task_id``): the type is
    decided from the bytes, the file scanned when ClamAV is configured; nothing is stored when refused."""
    context = reader()
    case = case_readers.visible(context, str(case_id))
    if not policy.can_add_document(context.principal, case):
        abort(403, message=_("You may read this case's documents, not add one."))
    upload = read_upload(form.get("kind"), form.get("title"), form.get("task_id"))
    try:
        stored = service().add(case.id, upload, uploader())
    except REFUSALS as error:
        abort(error.status, message=translate_message(error.message), errors={"form": field_errors(error)})
    return documents.present(stored)


@blp.route("/cases/<uuid:case_id>/documents", methods=["GET"])
@blp.response(200, DocumentList)
@blp.alt_response(404, description="Unknown or not visible case")
def list_documents(case_id: str) -> dict[str, Any]:
    """The case's documents the caller may read (partners: their sector's), newest first, without content."""
    _case, items = documents.case_documents(reader(), str(case_id))
    return {"items": items}


@blp.route("/documents/<uuid:document_id>/content", methods=["GET"])
@blp.doc(responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string",
                                                                               "format": "binary"}}}}})
@blp.response(200, description="The bytes, as an attachment, with the stored content type")
@blp.alt_response(404, description="Unknown, or not visible to the caller")
def document_content(document_id: str) -> Response:
    """The document's bytes (audited: ``document_downloaded`` on the case)."""
    found = documents.content(reader(), str(document_id))
    engine().record_access(actor(), "document_downloaded", [found.case_id],
                           {"document_id": found.id, "kind": found.kind, "sha256": found.sha256})
    return serve(found)
