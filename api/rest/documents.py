"""Documents of a child's case: ``POST|GET /api/v1/cases/{id}/documents`` and
``GET /api/v1/documents/{id}/content`` (an attachment, audited)."""
from __future__ import annotations

from typing import Any

from flask import Response, g, request
from flask_babel import format_decimal
from flask_babel import gettext as _

from engine.documents import DocumentInfected, Documents, DocumentTooLarge, UnsupportedDocument, Upload, Uploader
from engine.errors import ValidationFailed

from .. import policy
from ..context import settings
from ..i18n import translate_errors, translate_message
from ..readers import cases as case_readers
from ..readers import documents
from ..schemas import DocumentList, DocumentSchema, DocumentUploadFile, DocumentUploadForm
from .common import Blueprint, abort, actor, engine, load_principal, reader

blp = Blueprint("documents", __name__, url_prefix="/api/v1", description="Documents of a child's case")
blp.before_request(load_principal)

# The upload's own refusals, answered with their field messages (the scanner down, a closed or
# unseen case: the application's error handler).
REFUSALS = (ValidationFailed, DocumentTooLarge, UnsupportedDocument, DocumentInfected)
FORM_ALLOWANCE = 1024 * 1024  # the multipart envelope and the other fields, beyond the file itself
# Downloads: nothing in them runs, whatever a browser makes of them.
DOCUMENT_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'"


@blp.before_request
def allow_upload_size() -> None:
    """An upload may be as large as ``HIMAYA_DOCUMENT_MAX_BYTES`` (the other requests: 1 MB)."""
    if request.method == "POST" and request.endpoint == "documents.add_document":
        request.max_content_length = upload_limit()


def upload_limit() -> int:
    return settings().document_max_bytes + FORM_ALLOWANCE


def service() -> Documents:
    himaya = engine()
    return Documents.of(himaya.db, settings(), himaya.now)


def read_upload(kind: Any, title: Any, task_id: Any) -> Upload:
    """The request's file, read up to one byte past the limit (the engine refuses it with 413)."""
    sent = request.files.get("file")
    data = sent.stream.read(settings().document_max_bytes + 1) if sent is not None else b""
    return Upload(kind=kind, title=title, filename=sent.filename if sent is not None else None, data=data,
                  task_id=task_id or None)


def field_errors(error: Any) -> Any:
    """The refusal's field messages in the request's language (a size names the limit)."""
    if isinstance(error, DocumentTooLarge):
        return {"file": [_(m, max=document_size(error.limit)) for m in error.errors["file"]]}
    return translate_errors(error.errors)


def document_size(size: int) -> str:
    """A size in the reader's language: ``640 KB``, ``10 MB``."""
    if size < 1024 * 1024:
        return _("%(size)s KB", size=format_decimal(max(1, round(size / 1024))))
    return _("%(size)s MB", size=format_decimal(round(size / (1024 * 1024), 1)))


def uploader() -> Uploader:
    p, who = g.principal, actor()
    return Uploader(p.username, p.role, p.sector, who.source)


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


def serve(found: documents.Content, how: str = "attachment") -> Response:
    """The bytes with their stored type, never sniffed, never run."""
    return Response(found.data, mimetype=found.content_type, headers={
        "Content-Disposition": found.disposition(how), "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": DOCUMENT_POLICY, "Cache-Control": "private, no-store",
        "Cross-Origin-Resource-Policy": "same-origin"})
