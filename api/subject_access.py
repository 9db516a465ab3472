"""A child's whole file for a subject-access request (law 09-08, art. 7): ``POST
/api/v1/cases/{id}/subject-access`` and the case page's form, for the province's coordinators.

The export is a ZIP named after the case reference (never the child's name):

| entry | what |
|---|---|
| ``summary.pdf`` | the case summary (:mod:`api.case_summary_pdf`) as printed for the request |
| ``documents/`` | every document the file still holds, decrypted, under a safe numbered name |
| ``history.json``, ``history.csv`` | the completed steps with their answers and the timeline's events, |
| | oldest first: what, when, by which role and unit |
| ``README.txt`` | in the requested language: what the archive holds, when, for which request, what was withheld |

Withheld (and said so in the README): the identity and phone of whoever reported the child
(their name and phone blanked wherever written: answers, notes of a decision, the account of the
report), the contacts' phone numbers, addresses and notes and the name of a consent's witness
(third parties), the professionals' names (their role and unit instead), the team's working notes
and the access log. Documents are handed over as they were added.

Everything is read with the readers (no query here), in the requested language, and built in a
temporary file before anything is written; the export is recorded afterwards, in one short
transaction (:func:`engine.subject_access.record_export`).
"""
from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import IO, Any

from flask_babel import force_locale
from flask_babel import gettext as _

from engine import audit
from engine.documents import download_name

from . import case_summary_pdf
from .context import settings
from .readers import cases as case_readers
from .readers import territory
from .readers.administration import staff_posts
from .readers.context import ReadContext
from .readers.documents import content
from .spreadsheet import csv_row

SPOOL = 8 * 1024 * 1024  # the ZIP stays in memory up to this size, then goes to a temporary file
NAME_LENGTH = 60  # characters of a document's name kept in the archive
SYSTEM = "system"


@dataclass(frozen=True)
class Withholding:
    """What a subject-access copy leaves out, and how it names people instead."""

    request_reference: str
    requested_by: str
    patterns: tuple[re.Pattern[str], ...] = ()
    posts: Mapping[str, tuple[str, str | None, str | None]] = field(default_factory=dict)
    unit_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def requested_by_label(self) -> str:
        from .web.labels import REQUESTER_LABELS

        return str(REQUESTER_LABELS.get(self.requested_by, self.requested_by))

    @property
    def mark(self) -> str:
        return _("[withheld]")

    def scrub(self, text: str) -> str:
        """``text`` with the reporter's name and phone number blanked wherever written."""
        for pattern in self.patterns:
            text = pattern.sub(self.mark, text)
        return text

    def post(self, username: str | None, role: str | None = None, sector: str | None = None) -> str:
        """A professional by their post: "Case worker — UPE Tanger", "Partner — Health"."""
        from .web.labels import ROLE_LABELS, SECTOR_LABELS

        if username == SYSTEM:
            return _("Himaya (automatic)")
        if username is not None and username in self.posts:
            role, _unit, sector = self.posts[username]
        if not role or role == SYSTEM:
            return _("a professional")
        words = [str(ROLE_LABELS.get(role, role))]
        if sector and role == "partner":
            words.append(str(SECTOR_LABELS.get(sector, sector)))
        elif unit := (self.posts.get(username or "", (None, None, None))[1]):
            words.append(self.unit_names.get(unit, unit))
        return " — ".join(words)


def reporter_patterns(report: Mapping[str, Any]) -> tuple[re.Pattern[str], ...]:
    """Patterns finding the reporter's name (whole, and each word of 3 letters or more) and phone
    number (its digits, whatever separates them) in a text."""
    reporter = report.get("reporter") or {}
    found: list[re.Pattern[str]] = []
    name = unicodedata.normalize("NFC", str(reporter.get("name") or "")).strip()
    if name:
        words = sorted({name, *(w for w in re.split(r"[\s\-']+", name) if len(w) >= 3)}, key=len, reverse=True)
        found.extend(re.compile(rf"(?<!\w){re.escape(w)}(?!\w)", re.IGNORECASE) for w in words if w)
    digits = re.sub(r"\D", "", str(reporter.get("phone") or ""))
    if len(digits) >= 6:
        # the last nine digits, with or without +212 or 0 before them, whatever separates them
        found.append(re.compile(r"(?:\+?212|0)?[\s.\-/]*" + r"[\s.\-/]*".join(digits[-9:])))
    return tuple(found)


@dataclass
class Export:
    """The archive, ready to send, and what the event records of it."""

    reference: str
    language: str
    documents: int
    body: IO[bytes]

    @property
    def filename(self) -> str:
        return f"{self.reference}-subject-access.zip"


def safe_name(number: int, filename: str, content_type: str) -> str:
    """A document's name in the archive: numbered, letters, digits, spaces, ``-`` and ``_`` only
    (no path, no dot but the extension's, no control character), its real type's extension."""
    name = unicodedata.normalize("NFC", download_name(filename, content_type))
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem = re.sub(r"[^\w\- ]+", "_", stem, flags=re.UNICODE)
    stem = re.sub(r"[\s_]+", lambda m: " " if m.group().isspace() else "_", stem).strip(" ._-")[:NAME_LENGTH]
    extension = re.sub(r"[^A-Za-z0-9]", "", extension)[:8].lower()
    return f"{number:02d}-{stem or 'document'}" + (f".{extension}" if extension else "")


def _local(value: Any) -> str:
    return case_summary_pdf.local_moment(value, machine=True)


def _event_note(kind: str, detail: Mapping[str, Any], withholding: Withholding) -> str:
    """The words a coordinator wrote with an event (a reason, a note, a title), blanked as needed."""
    from .web.labels import transfer_decision_reason

    words = []
    for key in sorted(audit.FREE_TEXT.get(kind, ())):
        value = detail.get(key)
        text = transfer_decision_reason(value) if audit.is_erased(value) else value
        if isinstance(text, str) and text:
            words.append(withholding.scrub(text))
    return " · ".join(words)


def history_records(file: case_readers.CaseFile, events: Iterable[Any], withholding: Withholding
                    ) -> list[dict[str, Any]]:
    """The file's history, oldest first: each completed step (with its answers) and each event of
    the timeline (no reads), each by role and unit."""
    from .web import labels

    steps: dict[str, dict[str, Any]] = {}
    for step in file.completed_steps:
        if not step["readable"]:
            continue
        steps[str(step["task_id"])] = {
            "record": "step", "at": _local(step["completed_at"]), "code": step["name"], "what": step["title"],
            "step": step["title"], "by": withholding.post(step["completed_by"], step["role"], step["sector"]),
            "answers": [{"question": a["label"], "answer": withholding.scrub(str(a["display"]))}
                        for a in step["answers"]]}
    records: list[dict[str, Any]] = []
    for event in events:
        detail = event.detail or {}
        records.append({
            "record": "event", "at": _local(event.at), "code": event.kind,
            "what": withholding.scrub(labels.event_label(event.kind, detail)),
            "step": labels.step_label(event.step, file.step_titles, file.element_names) if event.step else "",
            "by": withholding.post(event.actor), "note": _event_note(event.kind, detail, withholding)})
        if event.kind == "step_completed" and str(event.task_id) in steps:  # the step's answers after it
            records.append(steps.pop(str(event.task_id)))
    records.extend(steps.values())
    # a stable sort: a step stays after the event of its completion
    records.sort(key=lambda r: datetime.fromisoformat(r["at"]))
    return records


def history_csv(records: Iterable[Mapping[str, Any]]) -> bytes:
    """One line per answer of a step (a step without answers: one line), one per event; UTF-8 with
    a byte-order mark (spreadsheets then read Arabic right), no cell read as a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Date"), _("Record"), _("What"), _("Step"), _("Done by"), _("Question"), _("Answer")])
    kinds = {"step": _("Completed step"), "event": _("Event")}
    for record in records:
        start = [record["at"], kinds[record["record"]], record["what"], record["step"], record["by"]]
        if record["record"] == "step":
            for answer in record["answers"] or [{"question": "", "answer": ""}]:
                writer.writerow(csv_row([*start, answer["question"], answer["answer"]]))
        else:
            writer.writerow(csv_row([*start, "", record["note"]]))
    return ("\ufeff" + buffer.getvalue()).encode()


def readme(summary: case_summary_pdf.CaseSummary, withholding: Withholding, documents: list[dict[str, Any]]
           ) -> bytes:
    """The note of the archive, in the summary's language."""
    case = summary.file.case
    lines = [_("Himaya — copy of a child's file for a subject-access request"), "",
             _("Case reference: %(reference)s", reference=case.reference),
             _("Exported on: %(date)s", date=summary.printed_at.strftime("%Y-%m-%d %H:%M")),
             _("Request reference: %(reference)s", reference=withholding.request_reference),
             _("Requested by: %(who)s", who=withholding.requested_by_label),
             _("Exported by the coordinators (CAPE) of the province of %(province)s.",
               province=summary.province_name), "",
             _("What this archive holds"), "",
             "- " + _("summary.pdf: the summary of the file (the child, the report, the case, every completed step "
                      "with its answers, the open steps, the judicial branch, the contacts and the documents)."),
             "- " + _("documents/: the documents the file holds today (%(count)s), as they were added:",
                      count=len(documents))]
    for document in documents:
        lines.append("    " + _("%(file)s: %(title)s (%(kind)s, added on %(date)s; SHA-256 %(digest)s)",
                                file=document["archive_name"], title=withholding.scrub(str(document["title"])),
                                kind=document["kind_label"], date=_local(document["uploaded_at"])[:10],
                                digest=document["sha256"]))
    if not documents:
        lines.append("    " + _("The file holds no document."))
    lines += ["- " + _("history.json and history.csv: the history of the file, oldest first: each completed step "
                       "with its answers, and each event (what happened, when, by which role and unit)."),
              "- " + _("README.txt: this note."), "",
              _("What was withheld, and why"), "",
              "- " + _("The identity and phone number of the person who reported the child: the law protects "
                       "whoever reports a child in danger. Where their name or number was written in an answer or a "
                       "note, it is replaced by %(mark)s.", mark=withholding.mark),
              "- " + _("Other people's personal data (third parties): the phone numbers, addresses and notes of "
                       "the child's contacts, and the name of the witness of a consent."),
              "- " + _("The names of the professionals: each step and event gives their role and unit instead."),
              "- " + _("The team's working notes and the record of who read the file, kept by the CAPE for the "
                       "file's security."), "",
              _("The documents are given as they were added, without change."),
              _("For a question about this copy, or to ask for a correction of the file, write to the CAPE of "
                "%(province)s and quote the request reference.", province=summary.province_name), ""]
    return "\n".join(lines).encode()


def build(ctx: ReadContext, case_id: str, request: Mapping[str, Any]) -> Export:
    """The archive of the case for this request (:class:`engine.errors.NotFound` when the reader
    does not see the case), read and written in the request's language (else the reader's)."""
    from .web.documents import KIND_LABELS

    language = request.get("language") or ctx.language
    ctx = replace(ctx, language=language)
    with force_locale(language):
        summary = case_summary_pdf.read_summary(ctx, case_id)
        case = summary.file.case
        usernames = {s["completed_by"] for s in summary.file.completed_steps if s["completed_by"]}
        _case, events = case_readers.history(ctx, case.id, view="timeline")
        usernames |= {e.actor for e in events} | {str(d["uploaded_by"]) for d in summary.documents}
        usernames |= {str(t["assignee"]) for t in summary.file.open_tasks if t.get("assignee")}
        if summary.judicial is not None:
            usernames |= {d.by for d in summary.judicial.decisions if d.by}
        withholding = Withholding(str(request["request_reference"]), str(request["requested_by"]),
                                  reporter_patterns(case.report or {}), staff_posts(ctx, usernames),
                                  territory.unit_names(ctx))
        summary.withholding = withholding
        summary.contacts = [{k: c.get(k) for k in ("name", "relation", "guardian")} for c in summary.contacts]
        pdf = case_summary_pdf.render(summary, settings().pdf_font)
        records = history_records(summary.file, events, withholding)
        listed = sorted(summary.documents, key=lambda d: (str(d["uploaded_at"]), str(d["id"])))
        body = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115  (handed to the response)
        documents: list[dict[str, Any]] = []
        with zipfile.ZipFile(body, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("summary.pdf", pdf)
            for number, document in enumerate(listed, start=1):
                stored = content(ctx, str(document["id"]))  # one document in memory at a time
                name = safe_name(number, stored.filename, stored.content_type)
                # PDF, JPEG, PNG and WebP are compressed already: stored as they are
                archive.writestr(f"documents/{name}", stored.data, compress_type=zipfile.ZIP_STORED)
                documents.append({"archive_name": f"documents/{name}", "title": document["title"],
                                  "kind": document["kind"],
                                  "kind_label": str(KIND_LABELS.get(document["kind"], document["kind"])),
                                  "uploaded_at": _local(document["uploaded_at"]), "sha256": stored.sha256,
                                  "size": len(stored.data)})
            archive.writestr("history.json", json.dumps({
                "case_reference": case.reference, "exported_at": summary.printed_at.isoformat(timespec="minutes"),
                "request_reference": withholding.request_reference, "requested_by": withholding.requested_by,
                "language": language, "history": records,
                "documents": [{**d, "title": withholding.scrub(str(d["title"]))} for d in documents],
            }, ensure_ascii=False, indent=2).encode())
            archive.writestr("history.csv", history_csv(records))
            archive.writestr("README.txt", readme(summary, withholding, documents))
    body.seek(0)
    return Export(case.reference, language, len(documents), body)
