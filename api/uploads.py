"""What the documents' API and pages share: reading an upload from the request, the engine's
document service, the refusals' field messages, sizes in the reader's language, and serving the
bytes (as an attachment, never sniffed, never run)."""
from __future__ import annotations

from typing import Any

from flask import Response, g, request
from flask_babel import format_decimal
from flask_babel import gettext as _

from engine.documents import DocumentInfected, Documents, DocumentTooLarge, UnsupportedDocument, Upload, Uploader
from engine.errors import ValidationFailed

from .context import actor, engine, settings
from .i18n import translate_errors
from .readers import documents

# The upload's own refusals, answered with their field messages (the scanner down, a closed or
# unseen case: the application's error handler).
REFUSALS = (ValidationFailed, DocumentTooLarge, UnsupportedDocument, DocumentInfected)
FORM_ALLOWANCE = 1024 * 1024  # the multipart envelope and the other fields, beyond the file itself
# Downloads: nothing in them runs, whatever a browser makes of them.
DOCUMENT_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'"


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


def serve(found: documents.Content, how: str = "attachment") -> Response:
    """The bytes with their stored type, never sniffed, never run."""
    return Response(found.data, mimetype=found.content_type, headers={
        "Content-Disposition": found.disposition(how), "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": DOCUMENT_POLICY, "Cache-Control": "private, no-store",
        "Cross-Origin-Resource-Policy": "same-origin"})
