"""The documents of a child's case on its page: the list (with thumbnails of images), the upload
form, the download and the inline image.

The case page includes ``_documents.html``, which reads the list through :func:`template_globals`
(``case_documents(case)``); an upload that is refused shows the case page again with the errors
next to the fields (400, 413, 415, 422 or 503), an accepted one goes back to it. Downloads are
attachments; only images are ever shown inline. Both are scoped like the case and audited.
"""
from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.documents import TITLE_MAX, ScannerUnavailable
from engine.errors import Conflict, NotFound

from .. import policy
from ..context import actor, engine, reader, settings
from ..i18n import translate_message
from ..readers import cases as case_readers
from ..readers import documents
from ..uploads import REFUSALS, document_size, field_errors, read_upload, serve, service, upload_limit, uploader
from . import cases, tasks
from .chrome import isolate
from .session import login_required

KIND_LABELS = {
    "medical_certificate": _l("Medical certificate"), "medico_legal_certificate": _l("Medico-legal certificate"),
    "court_order": _l("Court order"), "school_document": _l("School document"),
    "civil_status_document": _l("Civil-status document"), "photo": _l("Photo"), "other": _l("Other document"),
}
FIELDS = ("kind", "title", "file", "task_id")


def template_globals() -> dict[str, Any]:
    return {"case_documents": case_documents, "document_size": document_size, "document_kinds": KIND_LABELS,
            "document_form": lambda: g.get("document_form") or {"values": {}, "errors": {}},
            "document_title_max": TITLE_MAX}


def case_documents(case: Any) -> dict[str, Any]:
    """What the case page's Documents card shows: the documents the reader may read, and whether
    the reader may add one (and the largest size)."""
    context = reader()
    _case, items = documents.case_documents(context, case.id)
    return {"items": items, "may_add": policy.can_add_document(context.principal, case) and case.status == "open",
            "max_mb": document_size(settings().document_max_bytes)}


def allow_upload_size() -> None:
    """The upload page takes files up to ``HIMAYA_DOCUMENT_MAX_BYTES`` (before the CSRF check reads
    the form; the other pages: 1 MB)."""
    if request.method == "POST" and request.endpoint == "web.add_document":
        request.max_content_length = upload_limit()


def too_large(error: Exception) -> ResponseReturnValue:
    """A request over the limit: the API's JSON error, or a page that says what to do."""
    if request.path.startswith("/api/"):
        return current_app.extensions["himaya_api"].handle_http_exception(error)
    message = _("The file is larger than %(max)s, the largest accepted: scan it at a lower resolution, or split it.",
                max=document_size(settings().document_max_bytes))
    return render_template("error.html", code=413, message=message), 413


@login_required
def add_document(case_id: str) -> ResponseReturnValue:
    context = reader()
    case = case_readers.visible(context, str(case_id))  # 404 when not visible
    if not policy.can_add_document(context.principal, case):
        return render_template("error.html", code=403, message=_("You may read this case's documents, not add "
                                                                 "one.")), 403
    values = {key: request.form.get(key, "") for key in ("kind", "title", "task_id")}
    upload = read_upload(values["kind"], values["title"], values["task_id"])
    errors: dict[str, list[str]] = {}
    status = 400
    try:
        stored = service().add(case.id, upload, uploader())
    except REFUSALS as refused:
        status = refused.status
        errors = {key if key in FIELDS else "file": list(messages)
                  for key, messages in field_errors(refused).items()}
    except (ScannerUnavailable, Conflict) as refused:
        status = refused.status
        errors = {"_form": [translate_message(refused.message)]}
    else:
        flash(_("Document added: %(title)s.", title=isolate(stored["title"])), "success")
        if values["task_id"] and stored.get("task_id"):  # added from a step's page: back to the step
            return redirect(url_for("web.task", task_id=values["task_id"], _anchor="documents"))
        return redirect(url_for("web.case", case_id=case.id, _anchor="documents"))
    g.document_form = {"values": values, "errors": errors}
    step_page = tasks.task_page_again(values["task_id"]) if values["task_id"] and "task_id" not in errors else None
    if isinstance(step_page, tuple):  # sent from a step's page that is still open: that page again
        return step_page[0], status
    page = cases.case(case_id)
    return page if isinstance(page, tuple) else (page, status)


def _found(document_id: str) -> documents.Content:
    return documents.content(reader(), str(document_id))


@login_required
def download(document_id: str) -> ResponseReturnValue:
    found = _found(document_id)
    engine().record_access(actor(), "document_downloaded", [found.case_id],
                           {"document_id": found.id, "kind": found.kind, "sha256": found.sha256})
    return serve(found)


@login_required
def image(document_id: str) -> ResponseReturnValue:
    """An image shown on the case page (inline; a PDF is never served inline: 404)."""
    found = _found(document_id)
    if not found.image:
        raise NotFound("No such document.")
    engine().record_access(actor(), "document_viewed", [found.case_id],
                           {"document_id": found.id, "kind": found.kind})
    return serve(found, "inline")
