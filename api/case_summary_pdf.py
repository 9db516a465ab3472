"""The printable summary of a child's file (``GET /api/v1/cases/{id}/summary.pdf`` and the page
``/cases/{id}/summary.pdf``): a header (Himaya, province, reference, when printed, "confidential"),
the child's identity, the report, the case (categories, risk, status, legal basis), every
completed step in order with who and when and its answers, the open steps with their due dates,
the judicial branch (for those who may read it), the contacts and the documents — as the reader
may see the file (partners: no account of the report, no reporter, only their sector's steps).

Read with the readers (:func:`read_summary`: no query of its own), written with fpdf2 in a
Unicode TrueType font (:mod:`api.pdf_text`): in Arabic the page runs right to left, each label
and each value is its own paragraph in the direction of its own text, so that a Latin name, a
phone number or a date inside an Arabic page keeps its order. Pages are numbered "page X / Y".
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel import Locale
from flask_babel import gettext as _

from . import policy
from .context import settings
from .i18n import RTL_LANGUAGES
from .pdf_text import direction_of, set_direction, use_unicode_font
from .plan_export import font_path
from .readers import territory
from .readers.cases import CaseFile, case_file
from .readers.context import ReadContext
from .readers.documents import case_documents
from .readers.judicial import JudicialStatus, judicial_status
from .readers.notes import contacts as case_contacts

if TYPE_CHECKING:
    from .subject_access import Withholding

FAMILY = "Summary"
MARGIN = 15  # mm, on every side
LABEL_WIDTH = 58  # mm: the column of labels; values take the rest of the line
LINE = 5.2  # mm: the height of a line of text at the body's size
BODY, SMALL, HEADING = 9.5, 8, 12  # font sizes (pt)
ORPHAN = 22  # mm: a heading with less room than this under it starts on the next page
SHADE = (228, 235, 242)  # the background of section headings
NONE = "—"


@dataclass
class CaseSummary:
    """What the summary prints: the file as its reader may see it, in the reader's language.

    ``contacts``: the case's contacts as :func:`api.readers.notes.contacts` lists them for this
    reader (partners: relation, name and phone of those who may be contacted). ``documents`` is
    the hook for the case's documents (their table lives on another branch): dicts as ``GET
    /api/v1/cases/{id}/documents`` answers them, ``{"title", "kind", "kind_label", "content_type",
    "size", "uploaded_by", "uploaded_at"}`` (``kind_label``: the kind in the reader's language).
    An empty list prints "none recorded".

    ``withholding``: printed for a subject-access request (:mod:`api.subject_access`): no
    reporter, no third party's contact details, roles instead of the professionals' names, the
    reporter's name and phone blanked wherever written.
    """

    file: CaseFile
    judicial: JudicialStatus | None
    province_name: str
    unit_name: str
    printed_at: datetime  # in the installation's time zone
    printed_by: str
    language: str
    contacts: list[Mapping[str, Any]] = field(default_factory=list)
    documents: list[Mapping[str, Any]] = field(default_factory=list)
    withholding: Withholding | None = None

    @property
    def filename(self) -> str:
        return f"{self.file.case.reference}.pdf"


def read_summary(ctx: ReadContext, case_id: str, *, contacts: Sequence[Mapping[str, Any]] | None = None,
                 documents: Sequence[Mapping[str, Any]] | None = None) -> CaseSummary:
    """The summary of a case the reader sees (:class:`engine.errors.NotFound` otherwise).

    ``contacts`` and ``documents``: read with :func:`api.readers.notes.contacts` and
    :func:`api.readers.documents.case_documents` (what this reader may read) unless given."""
    from .web.documents import KIND_LABELS

    file = case_file(ctx, case_id)
    case = file.case
    if contacts is None:
        contacts = case_contacts(ctx, case) if policy.can_read_contacts(ctx.principal) else []
    if documents is None:
        documents = [{**d, "kind_label": str(KIND_LABELS.get(d["kind"], d["kind"]))}
                     for d in case_documents(ctx, case.id)[1]]
    unit_name = {u.code: u.name for u in territory.units(ctx, case.province)}.get(case.unit, case.unit)
    return CaseSummary(file=file, judicial=judicial_status(ctx, case),
                       province_name=territory.provinces(ctx).get(case.province, case.province),
                       unit_name=unit_name, printed_at=ctx.now.astimezone(settings().zone),
                       printed_by=ctx.principal.username, language=ctx.language,
                       contacts=list(contacts or []), documents=list(documents or []))


def render(summary: CaseSummary, font: Path | None = None) -> bytes:
    """The summary as a PDF (A4 portrait) in the summary's language."""
    writer = _Writer(summary, font_path(font))
    writer.write()
    return bytes(writer.document.output())


# -- the words ---------------------------------------------------------------------------------


def _labels() -> Any:
    from .web import labels

    return labels


def _yes_no(value: Any) -> str:
    if value is None:
        return NONE
    return _("Yes") if value else _("No")


def local_moment(value: Any, *, machine: bool = False) -> str:
    """A moment (an aware datetime or its ISO text) in the installation's time zone: for a
    person (``2026-12-04 09:30``), or ``machine``-readable ISO 8601 with its offset (the
    subject-access export's files)."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        local = value.astimezone(settings().zone)
        return local.isoformat(timespec="minutes") if machine else local.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _country(code: str | None, language: str) -> str:
    if not code:
        return NONE
    name = Locale.parse(language).territories.get(code.upper())
    return f"{name} ({code})" if name else code


def _separator(language: str) -> str:
    return "، " if language in RTL_LANGUAGES else ", "


# -- the layout --------------------------------------------------------------------------------


def _document_class() -> type:
    from fpdf import FPDF

    class SummaryDocument(FPDF):
        """Running header (after the first page) and "page X / Y" at the foot of every page."""

        running: tuple[str, str] = ("", "")
        rtl = False

        def header(self) -> None:
            if self.page_no() == 1:
                return
            start, end = self.running
            self.set_font(FAMILY, size=SMALL)
            self.set_text_color(90, 90, 90)
            half = (self.w - 2 * MARGIN) / 2
            for text, side in ((start, "start"), (end, "end")):
                set_direction(self, direction_of(text, "rtl" if self.rtl else "ltr"))
                left = (side == "start") == (not self.rtl)
                self.set_xy(MARGIN if left else MARGIN + half, 7)
                self.cell(half, 4, text, align="L" if left else "R")
            self.line(MARGIN, 12, self.w - MARGIN, 12)
            self.set_text_color(0, 0, 0)
            self.set_xy(MARGIN, 15)
            set_direction(self, "rtl" if self.rtl else "ltr")

        def number_pages(self) -> None:
            """"page X / Y" at the foot of every page, once the last page is known (fpdf2's alias
            of the page count would leave the width of its placeholder inside an Arabic line)."""
            total = self.page
            self.set_auto_page_break(False)
            for number in range(1, total + 1):
                self.page = number
                self.set_xy(MARGIN, self.h - 11)
                self.set_font(FAMILY, size=SMALL)
                self.set_text_color(90, 90, 90)
                set_direction(self, "rtl" if self.rtl else "ltr")
                self.cell(self.w - 2 * MARGIN, 4, _("Page %(page)s / %(pages)s", page=number, pages=total),
                          align="C")
            self.page = total
            self.set_text_color(0, 0, 0)

    return SummaryDocument


class _Writer:
    def __init__(self, summary: CaseSummary, font: Path) -> None:
        self.summary = summary
        self.rtl = summary.language in RTL_LANGUAGES
        self.base = "rtl" if self.rtl else "ltr"
        document = _document_class()(orientation="P", unit="mm", format="A4")
        document.rtl = self.rtl
        document.running = (_("Confidential — child protection file"), summary.file.case.reference)
        document.set_margins(MARGIN, MARGIN, MARGIN)
        document.set_auto_page_break(True, margin=16)
        use_unicode_font(document, FAMILY, font, self.rtl, bold=True)
        document.set_title(_("Summary of the case file") + f" {summary.file.case.reference}")
        document.set_creator("Himaya")
        self.document = document
        self.width = document.w - 2 * MARGIN

    # the pieces

    def _scrub(self, text: str) -> str:
        withholding = self.summary.withholding
        return withholding.scrub(text) if withholding is not None else text

    def _who(self, username: str | None, role: str | None = None, sector: str | None = None) -> str:
        """A professional: their user name, or (for a subject-access copy) their role and unit."""
        withholding = self.summary.withholding
        if withholding is None:
            return username or NONE
        return withholding.post(username, role, sector)

    def _align(self) -> str:
        return "R" if self.rtl else "L"

    def _paragraph(self, text: str, *, size: float = BODY, style: str = "", x: float | None = None,
                   width: float | None = None, height: float = LINE, dry: bool = False,
                   neutral: str | None = None) -> float:
        """A paragraph in the direction of its own text (``neutral``, else the page's, when it has
        no letter), aligned to the page's start side; the height it takes (``dry``: measured, not
        written)."""
        document = self.document
        document.set_font(FAMILY, style=style, size=size)
        set_direction(document, direction_of(text, neutral or self.base))
        if x is not None:
            document.set_x(x)
        width = width or self.width
        if dry:
            lines = document.multi_cell(width, height, text, align=self._align(), dry_run=True, output="LINES")
            result = float(len(lines) * height)
        else:
            document.multi_cell(width, height, text, align=self._align(), new_x="LMARGIN", new_y="NEXT")
            result = 0.0
        set_direction(document, self.base)
        return result

    def _room(self) -> float:
        return float(self.document.page_break_trigger - self.document.get_y())

    def _ensure(self, height: float) -> None:
        if height > self._room():
            self.document.add_page()

    def heading(self, text: str) -> None:
        """A section's heading on a shaded band (never alone at the foot of a page)."""
        document = self.document
        document.ln(2.5)
        self._ensure(ORPHAN)
        document.set_fill_color(*SHADE)
        document.set_font(FAMILY, style="B", size=HEADING)
        set_direction(document, self.base)
        document.cell(self.width, 7.5, text, align=self._align(), fill=True, new_x="LMARGIN", new_y="NEXT")
        document.ln(1.5)

    def subheading(self, text: str, size: float = 10.5) -> None:
        self.document.ln(1.5)
        self._ensure(14)
        self._paragraph(text, size=size, style="B", height=6, neutral="ltr")
        y = self.document.get_y()
        self.document.set_draw_color(170, 170, 170)
        self.document.line(MARGIN, y, MARGIN + self.width, y)
        self.document.set_draw_color(0, 0, 0)
        self.document.ln(1)

    def row(self, label: str, value: Any) -> None:
        """``label`` and its value side by side (the label at the page's start side); a value too
        long for a page goes under its label and runs over the pages."""
        text = NONE if value in (None, "") else self._scrub(str(value))
        document = self.document
        value_width = self.width - LABEL_WIDTH
        label_x, value_x = (MARGIN + value_width, MARGIN) if self.rtl else (MARGIN, MARGIN + LABEL_WIDTH)
        label_height = self._paragraph(label, size=SMALL, style="B", width=LABEL_WIDTH - 3, dry=True)
        # a value without letters (a date, a number, a phone) reads left to right in every language
        value_height = self._paragraph(text, width=value_width, dry=True, neutral="ltr")
        height = max(label_height, value_height)
        usable = document.page_break_trigger - document.t_margin - 6
        if height > usable:  # longer than a page: label, then the value over as many pages as it needs
            self._ensure(label_height + 2 * LINE)
            self._paragraph(label, size=SMALL, style="B")
            self._paragraph(text, neutral="ltr")
            document.ln(1)
            return
        self._ensure(height)
        top = document.get_y()
        self._paragraph(label, size=SMALL, style="B", x=label_x + (3 if self.rtl else 0), width=LABEL_WIDTH - 3)
        document.set_y(top)
        self._paragraph(text, x=value_x, width=value_width, neutral="ltr")
        document.set_y(top + height + 1)

    def note(self, text: str) -> None:
        self.document.set_text_color(90, 90, 90)
        self._paragraph(text, size=SMALL)
        self.document.set_text_color(0, 0, 0)

    # the sections

    def write(self) -> None:
        self.document.add_page()
        self.title_block()
        self.child()
        self.report()
        self.case()
        self.completed()
        self.open_steps()
        if self.summary.judicial is not None:
            self.judicial(self.summary.judicial)
        self.contacts()
        self.documents()
        self.document.number_pages()

    def title_block(self) -> None:
        summary, document = self.summary, self.document
        self._paragraph(_("Himaya"), size=16, style="B", height=8)
        self._paragraph(_("Summary of the case file"), size=13, height=7)
        document.ln(2)
        document.set_fill_color(253, 236, 234)
        document.set_draw_color(180, 40, 30)
        document.set_font(FAMILY, style="B", size=10.5)
        set_direction(document, self.base)
        document.cell(self.width, 8, _("Confidential — child protection file"), border=1, align="C", fill=True,
                      new_x="LMARGIN", new_y="NEXT")
        document.set_draw_color(0, 0, 0)
        document.ln(3)
        self.row(_("Reference"), summary.file.case.reference)
        self.row(_("Province"), summary.province_name)
        self.row(_("Unit"), summary.unit_name)
        self.row(_("Printed on"), summary.printed_at.strftime("%Y-%m-%d %H:%M"))
        self.row(_("Printed by"), summary.printed_by)
        if summary.withholding is not None:
            self.row(_("Copy for a subject-access request"), summary.withholding.request_reference)
            self.row(_("Requested by"), summary.withholding.requested_by_label)
        if not summary.file.full:
            self.note(_("Partner's view: what this partner's steps need (no account of the report, no reporter)."))

    def child(self) -> None:
        labels, case = _labels(), self.summary.file.case
        brief = self.summary.file.child_brief(self.summary.printed_at.date())
        self.heading(_("The child"))
        if brief["identity_masked"]:  # the reference (in the header), the age and sex only
            self.row(_("Name"), _("name not shown"))
            self.note(_("Your steps need the child's age and sex only: the name is not shown to your service."))
            self.row(_("Sex"), labels.CHILD_SEX_LABELS.get(case.child_sex, case.child_sex or NONE))
            self._age(brief)
            return
        if brief["identity_known"]:
            self.row(_("Name"), brief["display_name"])
        else:
            self.row(_("Alias"), f'{brief["display_name"]} ({_("alias: name not known")})')
        other = " ".join(n for n in (case.child_first_name_other, case.child_last_name_other) if n)
        if other:
            self.row(_("In the other script"), other)
        if brief["identity_known"] and case.child_alias:
            self.row(_("Alias"), case.child_alias)
        self.row(_("Sex"), labels.CHILD_SEX_LABELS.get(case.child_sex, case.child_sex or NONE))
        self.row(_("Birth date"), case.child_birth_date.isoformat() if isinstance(case.child_birth_date, date)
                 else _("not known"))
        self._age(brief)
        self.row(_("Nationality"), _country(case.child_nationality, self.summary.language))
        registered = case.child_civil_status_registered
        self.row(_("Civil status"), NONE if registered is None else (
            _("Registered in civil status") if registered else _("Not registered in civil status")))

    def _age(self, brief: dict[str, Any]) -> None:
        age = brief["age"]
        self.row(_("Age"), NONE if age is None else (_("about %(age)s years", age=age) if brief["age_estimated"]
                                                     else _("%(age)s years", age=age)))

    def report(self) -> None:
        labels, file = _labels(), self.summary.file
        report = file.report()
        self.heading(_("Report"))
        self.row(_("Source"), labels.SOURCE_LABELS.get(report.get("source"), report.get("source")))
        self.row(_("Received on"), local_moment(report.get("received_at")))
        place = report.get("location") or {}
        self.row(_("Place"), place.get("place"))
        self.row(_("Commune"), place.get("commune"))
        if file.full and self.summary.withholding is not None:
            self.row(_("Reported by"), _("withheld (the law protects whoever reports a child)"))
            self.row(_("What was reported"), report.get("description"))
        elif file.full:
            reporter = report.get("reporter") or {}
            if any(reporter.get(k) for k in ("name", "relation", "phone")):
                self.row(_("Reported by"), reporter.get("name"))
                if reporter.get("relation"):
                    self.row(_("Relation to the child"), reporter.get("relation"))
                if reporter.get("phone"):
                    self.row(_("Phone"), reporter.get("phone"))
            self.row(_("What was reported"), report.get("description"))

    def case(self) -> None:
        labels, case = _labels(), self.summary.file.case
        comma = _separator(self.summary.language)
        self.heading(_("The case"))
        self.row(_("Status"), labels.STATUS_LABELS.get(case.status, case.status))
        if case.closed_at is not None:
            self.row(_("Closed on"), local_moment(case.closed_at))
        self.row(_("Opened"), local_moment(case.opened_at))
        self.row(_("Risk level"), labels.RISK_LABELS.get(case.risk_level, case.risk_level))
        self.row(_("Categories"), comma.join(str(labels.CATEGORY_LABELS.get(c, c)) for c in case.categories or []))
        self.row(_("Medical emergency"), _yes_no(case.emergency_medical))
        self.row(_("Immediate danger"), _yes_no(case.immediate_danger))
        consent = self.summary.file.consent()  # a partner's: no notes, no names
        basis = consent.get("legal_basis")
        self.row(_("Legal basis"), labels.LEGAL_BASIS_LABELS.get(basis, basis))
        if consent.get("given_by"):
            self.row(_("Consent given by"), consent["given_by"])
        self.row(_("Child informed"), _yes_no(consent.get("child_informed")))
        self.row(_("Guardian informed"), _yes_no(consent.get("guardian_informed")))
        if consent.get("notes"):
            self.row(_("Notes on consent"), consent["notes"])
        young = consent.get("young_person")
        if young:
            method = young.get("method")
            self.row(_("The young person's consent"), _("Given on %(date)s", date=young.get("given_on")))
            self.row(_("How"), labels.CONSENT_METHOD_LABELS.get(method, method))
            if young.get("witness") and self.summary.withholding is None:
                self.row(_("Witness"), young["witness"])

    def completed(self) -> None:
        steps = [s for s in self.summary.file.completed_steps if s["readable"]]
        self.heading(_("Completed steps"))
        if not steps:
            self.note(_("No step completed yet."))
        for number, step in enumerate(steps, start=1):
            self.subheading(f"{number}. {step['title']}")
            self.row(_("Completed by"), self._who(step["completed_by"], step.get("role"), step.get("sector")))
            self.row(_("Completed on"), local_moment(step["completed_at"]))
            for answer in step["answers"]:
                self.row(answer["label"], answer["display"])
            if not step["answers"]:
                self.note(_("Nothing recorded at this step."))

    def open_steps(self) -> None:
        tasks = self.summary.file.open_tasks
        self.heading(_("Open steps"))
        if not tasks:
            self.note(_("No open step."))
        for task in tasks:
            due = local_moment(task.get("due_at")) or NONE
            if task.get("overdue"):
                due = f"{due} · {_('Overdue')}"
            self.subheading(task["title"])
            self.row(_("Due"), due)
            self.row(_("Assigned to"), self._who(task["assignee"], task.get("role"), task.get("sector"))
                     if task.get("assignee") else _("not claimed yet"))

    def judicial(self, status: JudicialStatus) -> None:
        labels = _labels()
        comma = _separator(self.summary.language)
        self.heading(_("Judicial protection"))
        if not status.engaged:
            self.note(_("The prosecutor's office has not been informed: no violence, exploitation or danger has "
                        "been recorded."))
            return
        if status.decisions:
            self.subheading(_("Decisions of the prosecutor's office"))
            for decision in status.decisions:
                self.row(_("Decision"), decision.measure or _("Decision recorded"))
                if decision.decision_date:
                    self.row(_("Decision date"), decision.decision_date)
                if decision.court_reference:
                    self.row(_("Court reference"), decision.court_reference)
                by = self._who(decision.by) if decision.by else NONE
                self.row(_("Recorded on"), f"{local_moment(decision.at)} · {by}")
        if status.pending:
            self.row(_("Decisions awaited"), str(status.pending))
            if status.pending_due:
                self.row(_("Due"), local_moment(status.pending_due))
        if status.notifications:
            self.subheading(_("Information sent to the prosecutor's office"))
            for notification in status.notifications:
                where = _("at the report") if notification.recorded_at == "report" else notification.recorded_at
                self.subheading(local_moment(notification.at), size=9.5)
                self.row(_("Recorded at"), where)
                self.row(_("Concerns"), comma.join(notification.concerns) or NONE)
                self.row(_("Delivery"), labels.OUTBOX_STATUS_LABELS.get(notification.status, notification.status))

    def contacts(self) -> None:
        labels = _labels()
        self.heading(_("Contacts"))
        if not self.summary.contacts:
            self.note(_("None recorded."))
        third_parties = self.summary.withholding is not None
        if third_parties and self.summary.contacts:
            self.note(_("Their phone numbers, addresses and notes are withheld (third parties' personal data)."))
        for contact in self.summary.contacts:
            relation = contact.get("relation")
            if third_parties:
                self.subheading(str(contact.get("name") or NONE))
                self.row(_("Relation to the child"), labels.RELATION_LABELS.get(relation, relation))
                if contact.get("guardian") is not None:
                    self.row(_("Guardian"), _yes_no(contact["guardian"]))
                continue
            self.subheading(str(contact.get("name") or NONE))
            self.row(_("Relation to the child"), labels.RELATION_LABELS.get(relation, relation))
            if contact.get("phone"):
                self.row(_("Phone"), contact["phone"])
            if contact.get("may_contact") is not None:
                self.row(_("May be contacted"), _yes_no(True) if contact["may_contact"] else _("Do not contact"))
            if contact.get("guardian") is not None:
                self.row(_("Guardian"), _yes_no(contact["guardian"]))
            if contact.get("address"):
                self.row(_("Address"), contact["address"])
            if contact.get("note"):
                self.row(_("Note"), contact["note"])

    def documents(self) -> None:
        self.heading(_("Documents"))
        if not self.summary.documents:
            self.note(_("None recorded."))
        for document in self.summary.documents:
            self.subheading(self._scrub(str(document.get("title") or NONE)))
            self.row(_("Kind"), document.get("kind_label") or document.get("kind"))
            by = self._who(document.get("uploaded_by"), document.get("uploader_role")) \
                if document.get("uploaded_by") else None
            uploaded = " · ".join(p for p in (local_moment(document.get("uploaded_at")), by) if p)
            self.row(_("Added"), uploaded)
