"""The printable summary of a child's file, from the case page (``/cases/<id>/summary.pdf``): the
same summary as ``GET /api/v1/cases/{id}/summary.pdf``, in the page's language, scoped and audited
alike; and the whole file for a subject-access request (``/cases/<id>/subject-access``, the
province's coordinators), the same ZIP as ``POST /api/v1/cases/{id}/subject-access``."""
from __future__ import annotations

from typing import Any

from flask import Response, abort, g, request, send_file
from flask.typing import ResponseReturnValue

from engine.errors import Conflict, ValidationFailed
from engine.subject_access import ANONYMISED, REQUESTERS, load_request, record_export

from .. import case_summary_pdf, policy, subject_access
from ..context import actor, engine, reader, settings
from ..i18n import LANGUAGES, translate_errors, translate_message
from ..readers import cases
from ..readers.context import ReadContext
from .forms import flat_errors
from .notes import case_page_again
from .session import login_required


@login_required
def case_summary(case_id: str) -> ResponseReturnValue:
    if request.args.get("lang") not in (None, *LANGUAGES):
        abort(400)
    summary = case_summary_pdf.read_summary(reader(), str(case_id))
    body = case_summary_pdf.render(summary, settings().pdf_font)
    engine().record_access(actor(), "summary_printed", [summary.file.case.id], {"language": summary.language})
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{summary.filename}"'})


# --- the whole file for a subject-access request (api/subject_access.py) ----------------------

SUBJECT_ACCESS_FORM = "subject_access_form"  # g: the form refused, its values and errors


def subject_access_context(context: ReadContext, case: Any) -> dict[str, Any]:
    """What the case page's "subject access" card needs (None for whoever may not export)."""
    if (not policy.can_export_for_subject_access(context.principal, case) or case.subject_kind != "child"
            or case.anonymised_at is not None):
        return {"subject_access": None}
    form = g.get(SUBJECT_ACCESS_FORM) or {"values": {"language": context.language}, "errors": {}}
    return {"subject_access": {"form": form, "requesters": REQUESTERS, "languages": LANGUAGES}}


@login_required
def export_for_subject_access(case_id: str) -> ResponseReturnValue:
    """The export's form: the ZIP as a download, or the case page with the fields' errors (400),
    or 409 when the file was anonymised meanwhile."""
    context = reader()
    case = cases.visible(context, str(case_id))  # 404 when not visible
    if not policy.can_export_for_subject_access(context.principal, case) or case.subject_kind != "child":
        abort(403)
    values = {key: request.form.get(key, "") for key in ("request_reference", "requested_by", "language")}
    status = 400
    try:
        if case.anonymised_at is not None:
            raise Conflict(ANONYMISED)
        loaded = load_request({k: v for k, v in values.items() if v != "" or k != "language"})
        export = subject_access.build(context, case.id, loaded)
        himaya = engine()
        record_export(himaya.db, case.id, loaded, language=export.language, documents=export.documents,
                      actor=actor(), now=himaya.now())
    except ValidationFailed as error:
        errors = flat_errors(translate_errors(error.errors))
    except Conflict as conflict:
        errors, status = {"_schema": [translate_message(str(conflict))]}, 409
    else:
        return send_file(export.body, mimetype="application/zip", as_attachment=True,
                         download_name=export.filename)
    g.setdefault(SUBJECT_ACCESS_FORM, {"values": values, "errors": errors})
    response = case_page_again(case.id)
    response.status_code = status
    return response
