"""Documents of a child's case: the list (never the content), one document's bytes.

Both read through :func:`api.policy.case_scope` (the case) and :func:`api.policy.document_scope`
(partners: their sector's documents): a document outside them is not found (404).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from engine.documents import IMAGES, download_name
from engine.errors import NotFound
from engine.models import Case, CaseDocument

from .. import policy
from ..messages import N_
from .cases import visible_case
from .context import ReadContext

LISTED = (CaseDocument.id, CaseDocument.case_id, CaseDocument.task_id, CaseDocument.kind, CaseDocument.title,
          CaseDocument.filename, CaseDocument.content_type, CaseDocument.size, CaseDocument.sha256,
          CaseDocument.scan, CaseDocument.uploaded_by, CaseDocument.uploaded_at)


def present(row: Any) -> dict[str, Any]:
    """A document as the API answers it (without its content)."""
    return {"id": row["id"], "case_id": row["case_id"], "task_id": row["task_id"], "kind": row["kind"],
            "title": row["title"], "filename": row["filename"], "content_type": row["content_type"],
            "size": row["size"], "sha256": row["sha256"], "uploaded_by": row["uploaded_by"],
            "uploaded_at": row["uploaded_at"], "scan": row["scan"], "image": row["content_type"] in IMAGES}


def case_documents(ctx: ReadContext, case_id: str) -> tuple[Case, list[dict[str, Any]]]:
    """The case (:class:`NotFound` when not visible) and the documents of it the reader may read,
    newest first."""
    with ctx.engine.db.reading() as session:
        case = visible_case(session, ctx.principal, case_id)
        rows = session.execute(select(*LISTED).where(CaseDocument.case_id == case.id,
                                                     policy.document_scope(ctx.principal))
                               .order_by(CaseDocument.uploaded_at.desc(), CaseDocument.id)).mappings().all()
    return case, [present(r) for r in rows]


@dataclass(frozen=True)
class Content:
    """One document's bytes and how to serve them."""

    id: str
    case_id: str
    kind: str
    content_type: str
    filename: str
    sha256: str
    data: bytes

    @property
    def image(self) -> bool:
        return self.content_type in IMAGES

    def disposition(self, how: str = "attachment") -> str:
        """``Content-Disposition`` (RFC 6266): an ASCII fallback name, and the real name as
        ``filename*=UTF-8''…``; the name has no path, quote or control character (checked at upload)."""
        name = download_name(self.filename, self.content_type)
        fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;%' else "_" for c in name)
        return f"{how}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def content(ctx: ReadContext, document_id: str) -> Content:
    """The document's bytes if the reader may read it; :class:`NotFound` otherwise."""
    with ctx.engine.db.reading() as session:
        row = session.execute(select(*LISTED, CaseDocument.content).join(Case, Case.id == CaseDocument.case_id)
                              .where(CaseDocument.id == str(document_id), policy.case_scope(ctx.principal),
                                     policy.document_scope(ctx.principal))).mappings().first()
    if row is None:
        raise NotFound(N_("No such document."))
    return Content(row["id"], row["case_id"], row["kind"], row["content_type"], row["filename"], row["sha256"],
                   row["content"])
