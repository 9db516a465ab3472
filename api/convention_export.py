"""Exports of the units' conventions and where their milestones stand: the follow-up table the
CPPE works from (seed 000's "tableau de suivi": each activity with its dates, state and
percentage done), one row per milestone under its convention, then the history of the updates.

XLSX with openpyxl, every text a text cell (``api/spreadsheet.py``); PDF with fpdf2 and the
plan exports' Unicode font (Arabic laid out right to left).
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from .context import settings
from .i18n import current_language
from .pdf_text import use_unicode_font
from .plan_export import XLSX_TYPE, font_path, progress_text, state_label
from .readers import conventions as convention_reader
from .readers import territory
from .readers.context import ReadContext
from .spreadsheet import append_row


def columns() -> list[str]:
    return [_("Reference of the convention"), _("Unit"), _("Period"), _("Milestone"), _("Due"), _("Progress"),
            _("Follow-up note")]


def history_columns() -> list[str]:
    return [_("Reference of the convention"), _("Milestone"), _("Date"), _("By"), _("State"), _("Percentage done"),
            _("Actual start"), _("Actual end"), _("Follow-up note")]


def _period(convention: dict[str, Any]) -> str:
    return f"{convention['starts_on']} → {convention['ends_on']}"


def summary_line(convention: dict[str, Any]) -> str:
    summary = convention["summary"]
    percent = "—" if summary.get("percent_done") is None else f"{summary['percent_done']} %"
    return _("%(reference)s — %(title)s: %(percent)s, %(done)s of %(milestones)s milestones done, %(late)s late",
             reference=convention["reference"], title=convention["title"], percent=percent,
             done=summary["done"], milestones=summary["milestones"], late=summary["late"])


def rows(conventions: list[dict[str, Any]]) -> list[list[str]]:
    """One row per milestone, conventions in the list's order."""
    found = []
    for convention in conventions:
        for milestone in convention["milestones"]:
            found.append([convention["reference"], convention["unit_name"], _period(convention), milestone["title"],
                          str(milestone["due_on"]), progress_text(milestone, milestone["late"]),
                          milestone.get("note") or ""])
    return found


def history_rows(conventions: list[dict[str, Any]]) -> list[list[str]]:
    from .web.chrome import local_date
    from .web.labels import FOLLOWER_LABELS

    found = []
    for convention in conventions:
        for milestone in convention["milestones"]:
            for entry in milestone.get("history") or []:
                who = f"{entry['updated_by']} ({FOLLOWER_LABELS.get(entry['updated_as'], entry['updated_as'])})"
                found.append([convention["reference"], milestone["title"], local_date(entry["updated_at"]), who,
                              state_label(entry["state"]), f"{entry['percent_done']} %",
                              str(entry.get("started_on") or "—"), str(entry.get("ended_on") or "—"),
                              entry.get("note") or ""])
    return found


def _title(province: str) -> str:
    return _("Follow-up of the units' conventions — %(province)s", province=province)


def xlsx(conventions: list[dict[str, Any]], province: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    book = Workbook()
    sheet = book.active
    sheet.title = _("Conventions")[:31]
    rtl = current_language() == "ar"
    sheet.sheet_view.rightToLeft = rtl
    thin = Side(style="thin", color="888888")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    append_row(sheet, [_title(province)])
    sheet.cell(1, 1).font = Font(bold=True, size=13)
    for convention in conventions:
        append_row(sheet, [summary_line(convention)])
    sheet.append([])

    def table(target: Any, heading: list[str], body: list[list[str]], widths: tuple[int, ...]) -> None:
        append_row(target, heading)
        for cell in target[target.max_row]:
            cell.font, cell.border, cell.alignment = Font(bold=True), box, wrap
            cell.fill = PatternFill("solid", fgColor="DDE7F0")
        for row in body:
            append_row(target, row)
            for cell in target[target.max_row]:
                cell.border, cell.alignment = box, wrap
        for index, size in enumerate(widths, start=1):
            target.column_dimensions[chr(64 + index)].width = size

    table(sheet, columns(), rows(conventions), (22, 26, 24, 40, 12, 34, 40))
    history = book.create_sheet(_("Follow-up history")[:31])
    history.sheet_view.rightToLeft = rtl
    table(history, history_columns(), history_rows(conventions), (22, 36, 12, 26, 14, 10, 12, 12, 40))
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def pdf(conventions: list[dict[str, Any]], province: str, font: Path | None = None) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    arabic = current_language() == "ar"
    align = "R" if arabic else "L"
    document = FPDF(orientation="L", unit="mm", format="A4")
    document.set_auto_page_break(True, margin=12)
    use_unicode_font(document, "Conventions", font_path(font), arabic)
    document.set_title(_title(province))
    document.add_page()
    document.set_font("Conventions", size=13)
    document.multi_cell(0, 7, _title(province), align="C", new_x="LMARGIN", new_y="NEXT")
    document.set_font("Conventions", size=9)
    for convention in conventions:
        document.multi_cell(0, 5, summary_line(convention), new_x="LMARGIN", new_y="NEXT", align=align)

    def table(heading: list[str], body: list[list[str]], widths: tuple[int, ...]) -> None:
        document.ln(3)
        document.set_font("Conventions", size=7)
        with document.table(col_widths=widths[::-1] if arabic else widths, text_align="RIGHT" if arabic else "LEFT",
                            headings_style=FontFace(fill_color=(221, 231, 240)), line_height=3.6) as grid:
            for row in [heading, *body]:
                cells = grid.row()
                for value in (row[::-1] if arabic else row):
                    cells.cell(str(value))

    body = rows(conventions)
    if body:
        table(columns(), body, (30, 36, 34, 60, 18, 48, 51))
    history = history_rows(conventions)
    if history:
        document.ln(3)
        document.set_font("Conventions", size=10)
        document.multi_cell(0, 6, _("Follow-up history"), new_x="LMARGIN", new_y="NEXT", align=align)
        table(history_columns(), history, (28, 46, 20, 34, 20, 16, 20, 20, 73))
    return bytes(document.output())


def export(context: ReadContext, unit: str | None, fmt: str) -> tuple[bytes, str, str]:
    """(bytes, media type, file name) of the follow-up table of the conventions the reader sees."""
    listed = convention_reader.exported(context, unit)
    province = context.principal.province
    title = territory.provinces(context).get(province or "", "") or _("All provinces")
    name = f"conventions-{province or 'national'}.{fmt}"
    if fmt == "xlsx":
        return xlsx(listed, title), XLSX_TYPE, name
    return pdf(listed, title, settings().pdf_font), "application/pdf", name
