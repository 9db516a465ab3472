"""The printable summary of a child's file, from the case page (``/cases/<id>/summary.pdf``): the
same summary as ``GET /api/v1/cases/{id}/summary.pdf``, in the page's language, scoped and audited
alike."""
from __future__ import annotations

from flask import Response, abort, request
from flask.typing import ResponseReturnValue

from .. import case_summary_pdf
from ..context import actor, engine, reader, settings
from ..i18n import LANGUAGES
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
