"""Documents on a child's case: the medico-legal certificate, the court order, the school
certificate, a photo.

A document is kept in ``case_documents``, a table of its own (the bytes in a binary column, so
that every node of a multi-node deployment reads them from the database), with its SHA-256, its
kind, title, type and size, who uploaded it (role and sector: what partners may read of it, see
:mod:`api.policy`) and whether a virus scanner saw it.

:meth:`Documents.add` does every slow thing **before** the write transaction: the fields are
checked, the type is decided from the bytes (:func:`sniff`), the bytes are hashed and, when a
ClamAV daemon is configured (``HIMAYA_CLAMD_SOCKET``), scanned through its ``INSTREAM`` protocol
(:class:`ClamdScanner`). Only then does one short transaction check the case (open, and the task
named is one of its own), insert the row and append the case event ``document_added`` (kind,
title, size, type, SHA-256: never the content).

Refusals, nothing stored: a bad field or an empty file (:class:`ValidationFailed`, 400), too large
(:class:`DocumentTooLarge`, 413), a type that is not allowed or a polyglot
(:class:`UnsupportedDocument`, 415), flagged by the scanner (:class:`DocumentInfected`, 422), a
scanner configured but unreachable (:class:`ScannerUnavailable`, 503: never accepted unscanned).
What the type check looks at is written out in ``docs/security.md`` ("Documents").
"""
from __future__ import annotations

import hashlib
import re
import socket
import struct
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from .db import Database
from .errors import Conflict, EngineError, NotFound, ValidationFailed
from .intake import BIDI_CONTROLS, LINE_SEPARATORS
from .models import Case, CaseDocument, CaseEvent, OpenTask, TaskRecord
from .settings import Settings
from .vocabulary import CHILD, PARTNER

DOCUMENTS, CASES, EVENTS = CaseDocument.__table__, Case.__table__, CaseEvent.__table__

KINDS = ("medical_certificate", "medico_legal_certificate", "court_order", "school_document",
         "civil_status_document", "photo", "other")
TITLE_MAX = 200
FILENAME_MAX = 255
ADDED_EVENT, DOWNLOADED_EVENT, VIEWED_EVENT = "document_added", "document_downloaded", "document_viewed"
CLEAN, NOT_SCANNED = "clean", "not_scanned"  # ``scan`` of a stored document

PDF, JPEG, PNG, WEBP = "application/pdf", "image/jpeg", "image/png", "image/webp"
EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png", WEBP: ".webp"}
IMAGES = (JPEG, PNG, WEBP)
EDGE = 1024  # bytes at each end of the file searched for another format's signature
ZIP_TAIL = 65_536 + 22  # where a ZIP reader looks for the end of the central directory


class DocumentTooLarge(EngineError):
    """Over ``HIMAYA_DOCUMENT_MAX_BYTES``: the field message names the limit (``%(max)s``, filled
    by the caller as it translates, in its units)."""

    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__("The file is too large.", {"file": [TOO_LARGE]})
        self.limit = limit


class UnsupportedDocument(EngineError):
    status = 415


class DocumentInfected(EngineError):
    status = 422


class ScannerUnavailable(EngineError):
    status = 503


# --- the type, from the bytes ------------------------------------------------------------------

TOO_LARGE = "The file is larger than %(max)s, the largest accepted: scan it at a lower resolution, or split it."
ALLOWED = "This file type is not accepted: send a PDF, or a JPEG, PNG or WebP image."
PROGRAM = "This file is a program: programs are not accepted. Send a PDF, or a JPEG, PNG or WebP image."
ARCHIVE = ("This file is an archive or an Office document: it is not accepted. Save the document as a PDF "
           "and send that file.")
WEB_PAGE = "This file is a web page or an SVG image: it is not accepted. Send a PDF, or a JPEG, PNG or WebP image."
HIDES_PROGRAM = ("This file hides a program inside it: it is not accepted. Save or scan the document again and "
                 "send the new file.")
HIDES_ARCHIVE = ("This file hides an archive (ZIP or another) inside it: it is not accepted. Save or scan the "
                 "document again and send the new file.")
HIDES_WEB_PAGE = ("This file hides a web page or a script inside it: it is not accepted. Save or scan the "
                  "document again and send the new file.")
TRAILING = ("This file carries extra data after its end, where another file can hide: it is not accepted. Save "
            "or scan the document again and send the new file.")
PDF_ACTIVE = ("This PDF holds a script, an action that starts a program or an attached file: it is not accepted. "
              "Print it to a new PDF or scan it, and send that file.")
DAMAGED = {PDF: "This PDF file is damaged or incomplete: save or scan it again.",
           JPEG: "This JPEG image is damaged or incomplete: save it again.",
           PNG: "This PNG image is damaged or incomplete: save it again.",
           WEBP: "This WebP image is damaged or incomplete: save it again."}
# What a refused file starts with, and what it is (anything else not allowed: ALLOWED).
_REFUSED_STARTS = (
    (b"MZ", PROGRAM), (b"\x7fELF", PROGRAM), (b"\xfe\xed\xfa\xce", PROGRAM), (b"\xfe\xed\xfa\xcf", PROGRAM),
    (b"\xce\xfa\xed\xfe", PROGRAM), (b"\xcf\xfa\xed\xfe", PROGRAM), (b"\xca\xfe\xba\xbe", PROGRAM), (b"#!", PROGRAM),
    (b"PK\x03\x04", ARCHIVE), (b"PK\x05\x06", ARCHIVE), (b"Rar!\x1a\x07", ARCHIVE), (b"7z\xbc\xaf\x27\x1c", ARCHIVE),
    (b"\x1f\x8b", ARCHIVE), (b"\xd0\xcf\x11\xe0", ARCHIVE),
)
# Signatures of other formats that must not appear in the first or the last KB of an allowed file.
_FOREIGN = (
    (re.compile(rb"\x7fELF|\xfe\xed\xfa[\xce\xcf]|[\xce\xcf]\xfa\xed\xfe|\xca\xfe\xba\xbe"), HIDES_PROGRAM),
    (re.compile(rb"PK\x03\x04|PK\x01\x02|PK\x05\x06|Rar!\x1a\x07|7z\xbc\xaf\x27\x1c"), HIDES_ARCHIVE),
    (re.compile(rb"<\s*(?:script|html|svg|body|iframe|object|embed|\?php|!doctype\s+html)\b", re.IGNORECASE),
     HIDES_WEB_PAGE),
)
_DOS_STUB = b"This program cannot be run in DOS mode"  # every Windows program carries it
_PDF_ACTIVE = re.compile(rb"/(?:JavaScript|JS|Launch|EmbeddedFiles?|RichMedia)(?=[\s/<>\[\]()%]|$)")
_PDF_ESCAPED_NAME = re.compile(rb"/[^\s/<>\[\]()%{}]*#[0-9A-Fa-f]{2}[^\s/<>\[\]()%{}]*")
_PADDING = b" \t\r\n\f\x00"


def sniff(data: bytes) -> str:
    """The content type of ``data`` (PDF, JPEG, PNG or WebP), decided from the bytes alone;
    :class:`UnsupportedDocument` for any other type, and for a file of an allowed type that also
    carries another format (a polyglot)."""
    head = data[:EDGE]
    kind = _allowed_start(data)
    if kind is None:
        stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n\f")
        if stripped[:1] == b"<":  # HTML, SVG, XML
            raise UnsupportedDocument(WEB_PAGE)
        for prefix, message in _REFUSED_STARTS:
            if data.startswith(prefix):
                raise UnsupportedDocument(message)
        raise UnsupportedDocument(ALLOWED)
    _check_end(kind, data)
    _check_foreign(data)
    if kind == PDF:
        _check_pdf_active(data)
    return kind


def _allowed_start(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 16 and data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:15] == b"VP8":
        return WEBP
    return None


def _check_end(kind: str, data: bytes) -> None:
    """The file ends where its format says it ends: after it, padding (spaces, line breaks, NUL)
    at most. Data appended after the end is how a second file rides along."""
    body = data.rstrip(_PADDING)
    end = {PDF: b"%%EOF", JPEG: b"\xff\xd9", PNG: b"IEND\xaeB`\x82"}.get(kind)
    if end is not None:
        if not body.endswith(end):
            raise UnsupportedDocument(TRAILING if end in data else DAMAGED[kind])
        return
    declared = struct.unpack("<I", data[4:8])[0] + 8  # WebP: the RIFF chunk's size
    declared += declared % 2  # a RIFF chunk is padded to an even size
    if declared > len(data) + 1:
        raise UnsupportedDocument(DAMAGED[kind])
    if data[declared:].strip(_PADDING):
        raise UnsupportedDocument(TRAILING)


def _check_foreign(data: bytes) -> None:
    """No other format's signature in the first or the last KB (a ZIP's end record in the last
    64 KB, where ZIP readers look for it), and no Windows program anywhere."""
    edges = (data[:EDGE], data[-EDGE:])
    for pattern, message in _FOREIGN:
        if any(pattern.search(edge) for edge in edges):
            raise UnsupportedDocument(message)
    if b"PK\x05\x06" in data[-ZIP_TAIL:]:
        raise UnsupportedDocument(HIDES_ARCHIVE)
    if _DOS_STUB in data or any(_portable_executable(edge) for edge in edges):
        raise UnsupportedDocument(HIDES_PROGRAM)


def _portable_executable(edge: bytes) -> bool:
    """An ``MZ`` whose header points at a ``PE\\0\\0`` signature (a bare ``MZ`` pair is common in
    compressed image data and means nothing)."""
    start = edge.find(b"MZ")
    while start != -1:
        offset = start + 0x3C
        if offset + 4 <= len(edge):
            pe = start + struct.unpack("<I", edge[offset:offset + 4])[0]
            if edge[pe:pe + 4] == b"PE\x00\x00":
                return True
        start = edge.find(b"MZ", start + 1)
    return False


def _check_pdf_active(data: bytes) -> None:
    """No script, launch action, embedded file or rich media in a PDF (names written plainly or
    with ``#xx`` escapes; names inside compressed object streams are left to the scanner)."""
    found = _PDF_ACTIVE.search(data)
    if found is None:
        for escaped in _PDF_ESCAPED_NAME.finditer(data):
            name = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), escaped.group())
            if _PDF_ACTIVE.fullmatch(name) or _PDF_ACTIVE.match(name + b" "):
                found = escaped
                break
    if found is not None:
        raise UnsupportedDocument(PDF_ACTIVE)


# --- the virus scanner -----------------------------------------------------------------------

@dataclass(frozen=True)
class ScanVerdict:
    clean: bool
    signature: str | None = None


class ClamdScanner:
    """A ClamAV daemon, over a unix socket (``/run/clamav/clamd.ctl``) or TCP (``host:port``)."""

    CHUNK = 64 * 1024

    def __init__(self, address: str, timeout: float = 30.0) -> None:
        self.address = address
        self.timeout = timeout

    def _connect(self, timeout: float) -> socket.socket:
        if self.address.startswith("/"):
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: Any = self.address
        else:
            host, _, port = self.address.rpartition(":")
            connection = socket.socket(socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET,
                                       socket.SOCK_STREAM)
            target = (host.strip("[]"), int(port))
        connection.settimeout(timeout)
        try:
            connection.connect(target)
        except BaseException:
            connection.close()
            raise
        return connection

    @staticmethod
    def _reply(connection: socket.socket) -> str:
        answer = b""
        while not answer.endswith(b"\x00"):
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
            if len(answer) > 8192:
                break
        return answer.rstrip(b"\x00").decode("utf-8", "replace").strip()

    def scan(self, data: bytes) -> ScanVerdict:
        """Scan ``data`` (``zINSTREAM``); :class:`ScannerUnavailable` when the daemon cannot be
        reached, answers late or answers an error (a stream over its ``StreamMaxLength``…)."""
        try:
            with self._connect(self.timeout) as connection:
                connection.sendall(b"zINSTREAM\x00")
                view = memoryview(data)
                for start in range(0, len(data), self.CHUNK):
                    chunk = view[start:start + self.CHUNK]
                    connection.sendall(struct.pack(">I", len(chunk)) + chunk)
                connection.sendall(struct.pack(">I", 0))
                answer = self._reply(connection)
        except (OSError, ValueError) as error:
            raise ScannerUnavailable(UNREACHABLE) from error
        if answer.endswith("FOUND"):
            return ScanVerdict(False, answer.removeprefix("stream:").removesuffix("FOUND").strip() or None)
        if answer.endswith("OK"):
            return ScanVerdict(True)
        raise ScannerUnavailable(UNREACHABLE)

    def ping(self, timeout: float = 2.0) -> bool:
        """Whether the daemon answers ``PING`` within ``timeout`` seconds (``/healthz``)."""
        try:
            with self._connect(min(timeout, self.timeout)) as connection:
                connection.sendall(b"zPING\x00")
                return self._reply(connection) == "PONG"
        except (OSError, ValueError):
            return False


UNREACHABLE = "The virus scanner cannot be reached, so the document was not accepted: try again in a few " \
              "minutes, or tell the administrator if it goes on."


def scanner_of(settings: Settings) -> ClamdScanner | None:
    if not settings.clamd_address:
        return None
    return ClamdScanner(settings.clamd_address, settings.clamd_timeout.total_seconds())


def scanner_health(settings: Settings) -> dict[str, str]:
    """What ``/healthz`` says of documents: scanning off (accepted unscanned), or whether the
    daemon answers (uploads are refused while it does not)."""
    scanner = scanner_of(settings)
    if scanner is None:
        return {"scanner": "off", "documents": "scanning off"}
    if scanner.ping():
        return {"scanner": "ok", "documents": "scanned"}
    return {"scanner": "unreachable", "documents": "uploads refused until the scanner answers"}


# --- the command -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Upload:
    """What a caller sent: the fields as given (checked by :meth:`Documents.add`) and the bytes
    (read up to one byte past the limit)."""

    kind: Any
    title: Any
    filename: Any
    data: bytes
    task_id: Any = None


@dataclass(frozen=True)
class Uploader:
    username: str
    role: str
    sector: str | None = None
    source: str | None = None


def _bad_filename(name: str) -> str | None:
    if "/" in name or "\\" in name:
        return "The file name may not contain / or \\: rename the file and send it again."
    if any(c in BIDI_CONTROLS or c in LINE_SEPARATORS or unicodedata.category(c) in ("Cc", "Cf") for c in name):
        return ("The file name contains invisible control characters (such as direction marks): rename the file "
                "and send it again.")
    if len(name) > FILENAME_MAX:
        return f"Keep it to {FILENAME_MAX} characters at most."
    if name.strip(" .") == "":
        return "Choose a file to send."
    return None


def check_fields(upload: Upload) -> dict[str, list[str]]:
    """Each bad field of ``upload`` with its message (empty: all good)."""
    errors: dict[str, list[str]] = {}
    if upload.kind not in KINDS:
        errors["kind"] = ["Choose what kind of document this is."]
    title = upload.title.strip() if isinstance(upload.title, str) else ""
    if not title:
        errors["title"] = ["Give the document a title (e.g. Medico-legal certificate of 12 March)."]
    elif len(title) > TITLE_MAX:
        errors["title"] = [f"Keep it to {TITLE_MAX} characters at most."]
    elif any(c in BIDI_CONTROLS or c in LINE_SEPARATORS or unicodedata.category(c) == "Cc" for c in title):
        errors["title"] = ["This text contains invisible control characters (such as direction marks or line "
                           "breaks): type it again without them."]
    if not isinstance(upload.filename, str) or not upload.filename:
        errors["file"] = ["Choose a file to send."]
    else:
        problem = _bad_filename(upload.filename)
        if problem:
            errors["file"] = [problem]
        elif not upload.data:
            errors["file"] = ["This file is empty (0 bytes): choose the document again."]
    if upload.task_id is not None:
        try:
            uuid.UUID(str(upload.task_id))
        except ValueError:
            errors["task_id"] = ["This is not a step of this case."]
    return errors


def download_name(filename: str, content_type: str) -> str:
    """The name a download is saved under: the uploaded name, with the extension of its real type
    (``photo.pdf`` that is a PNG downloads as ``photo.png``)."""
    extension = EXTENSIONS.get(content_type, "")
    stem, dot, current = filename.rpartition(".")
    if dot and f".{current.lower()}" in (extension, ".jpeg" if extension == ".jpg" else extension):
        return filename
    return f"{stem if dot and stem else filename}{extension}"


class Documents:
    """Adds documents to children's cases (who may is the caller's to decide: :mod:`api.policy`)."""

    def __init__(self, db: Database, *, max_bytes: int, scanner: ClamdScanner | None,
                 now: Callable[[], datetime]) -> None:
        self.db = db
        self.max_bytes = max_bytes
        self.scanner = scanner
        self.now = now

    @classmethod
    def of(cls, db: Database, settings: Settings, now: Callable[[], datetime]) -> Documents:
        return cls(db, max_bytes=settings.document_max_bytes, scanner=scanner_of(settings), now=now)

    def add(self, case_id: str, upload: Upload, uploader: Uploader) -> dict[str, Any]:
        """Check, hash and scan the upload, then store it and its case event in one short
        transaction; returns the stored document (without its content)."""
        errors = check_fields(upload)
        if errors:
            raise ValidationFailed("The document has invalid fields.", errors)
        data = upload.data
        if len(data) > self.max_bytes:
            raise DocumentTooLarge(self.max_bytes)
        try:
            content_type = sniff(data)
        except UnsupportedDocument as refused:
            raise UnsupportedDocument("This file type is not accepted.", {"file": [refused.message]}) from None
        digest = hashlib.sha256(data).hexdigest()
        scan = NOT_SCANNED
        if self.scanner is not None:
            verdict = self.scanner.scan(data)  # ScannerUnavailable: nothing stored, never unscanned
            if not verdict.clean:
                raise DocumentInfected("The virus scanner flagged this file.", {"file": [
                    "The virus scanner found a threat in this file: it was not stored. Do not open it; tell "
                    "the administrator."]})
            scan = CLEAN
        title = upload.title.strip()
        task = str(upload.task_id) if upload.task_id is not None else None
        row = {"id": str(uuid.uuid4()), "case_id": str(case_id), "task_id": task, "kind": upload.kind,
               "title": title, "filename": unicodedata.normalize("NFC", upload.filename),
               "content_type": content_type, "size": len(data), "sha256": digest, "scan": scan,
               "uploaded_by": uploader.username, "uploader_role": uploader.role,
               "uploader_sector": uploader.sector if uploader.role == PARTNER else None}
        with self.db.write_connection() as conn:
            now = self.now()
            case = conn.execute(select(CASES.c.status, CASES.c.subject_kind).where(CASES.c.id == str(case_id))).first()
            if case is None or case.subject_kind != CHILD:
                raise NotFound("No such case.")
            if case.status != "open":
                raise Conflict("The case is closed: documents can no longer be added.")
            if task is not None and not _task_of_case(conn, task, str(case_id)):
                raise ValidationFailed("The document has invalid fields.",
                                       {"task_id": ["This is not a step of this case."]})
            conn.execute(insert(DOCUMENTS).values(**row, uploaded_at=now, content=data))
            detail: dict[str, Any] = {"document_id": row["id"], "kind": row["kind"], "title": title,
                                      "content_type": content_type, "size": row["size"], "sha256": digest,
                                      "scan": scan}
            if uploader.source:
                detail["source"] = uploader.source
            conn.execute(insert(EVENTS).values(case_id=str(case_id), at=now, actor=uploader.username,
                                               kind=ADDED_EVENT, step=None, task_id=task, detail=detail))
        return {**row, "uploaded_at": now}


def _task_of_case(conn: Any, task_id: str, case_id: str) -> bool:
    for table in (OpenTask.__table__, TaskRecord.__table__):
        if conn.execute(select(table.c.id).where(table.c.id == task_id, table.c.case_id == case_id)).first():
            return True
    return False
