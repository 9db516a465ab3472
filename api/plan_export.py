"""Exports of a provincial action plan in the guide's canvas ("exemple de canevas de plan
d'action"): a title block (province, period), then for each priority and general objective a
table — specific objectives, means/actions, expected results, pilot(s), partners, human /
material resources, deadline, budget, indicators, follow-up/revision — and the version date.

XLSX with openpyxl, every text a text cell (never a formula: ``api/spreadsheet.py``); PDF with
fpdf2 and a Unicode TrueType font (Arabic is shaped by HarfBuzz and laid out right to left).
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from .i18n import current_language
from .pdf_text import use_unicode_font
from .spreadsheet import append_row

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


class ExportUnavailable(RuntimeError):
    """No Unicode font for PDF exports on this machine (install fonts-dejavu-core)."""


def columns() -> list[str]:
    return [_("Specific objectives"), _("Means / actions"), _("Expected results"), _("Pilot(s)"), _("Partners"),
            _("Human / material resources needed"), _("Deadline"), _("Budget (MAD)"), _("Indicators"),
            _("Follow-up / revision")]


def area_label(area: str) -> str:
    from .web.labels import AREA_LABELS

    return str(AREA_LABELS.get(area, area))


@dataclass
class Block:
    """One table of the canvas: a general objective of a priority, with its action rows."""

    priority: str
    objective: str
    rows: list[list[str]]


def blocks(content: dict[str, Any]) -> Iterator[Block]:
    for p, priority in enumerate(content.get("priorities") or [], start=1):
        heading = _("Priority %(n)s: %(title)s", n=p, title=priority.get("title", ""))
        heading += f" ({area_label(priority.get('area', ''))})"
        for g, general in enumerate(priority.get("general_objectives") or [], start=1):
            rows = []
            for specific in general.get("specific_objectives") or []:
                for action in specific.get("actions") or [{}]:
                    rows.append(_action_row(specific.get("title", ""), action))
            yield Block(heading, _("General objective %(n)s: %(title)s", n=g, title=general.get("title", "")), rows)


def _action_row(specific: str, action: dict[str, Any]) -> list[str]:
    if not action:
        return [specific] + [""] * 9
    deadline = _("ongoing") if action.get("ongoing") else action.get("deadline") or ""
    budget = action.get("budget_mad")
    return [specific, action.get("title", ""), action.get("expected_results", ""), action.get("pilot", ""),
            ", ".join(action.get("partners") or []), action.get("resources", ""), deadline,
            _amount(budget),
            "; ".join(action.get("indicators") or []), action.get("follow_up", "")]


def _amount(budget: Any) -> str:
    """12 000.50 in French; 12,000.50 otherwise (a comma keeps the number whole in Arabic text)."""
    if budget in (None, ""):
        return ""
    text = f"{Decimal(budget):,.2f}"
    return text.replace(",", " ") if current_language() == "fr" else text


def _titles(plan: dict[str, Any]) -> list[str]:
    return [_("PROVINCIAL CHILD PROTECTION ACTION PLAN"),
            _("of %(province)s", province=plan.get("province_name") or plan["province"]),
            f"({plan['period_start']} → {plan['period_end']}) — {plan['title']}"]


def _footer(plan: dict[str, Any]) -> str:
    from .web.labels import PLAN_STATUS_LABELS

    version = plan["version"]
    return _("Version of %(date)s (no. %(number)s, %(status)s)", date=version["version_date"],
             number=version["number"], status=str(PLAN_STATUS_LABELS.get(version["status"], version["status"])))


def _spans(rows: list[list[str]]) -> list[int]:
    """For each row, how many rows its specific objective spans (0: covered by the row above)."""
    spans = [0] * len(rows)
    start = 0
    for index in range(1, len(rows) + 1):
        if index == len(rows) or rows[index][0] != rows[start][0]:
            spans[start] = index - start
            start = index
    return spans


def xlsx(plan: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    book = Workbook()
    sheet = book.active
    sheet.title = _("Action plan")[:31]
    sheet.sheet_view.rightToLeft = current_language() == "ar"
    thin = Side(style="thin", color="888888")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    for title in _titles(plan):
        append_row(sheet, [title])
        sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=10)
        sheet.cell(sheet.max_row, 1).font = Font(bold=True, size=13)
    last_priority = None
    for block in blocks(plan.get("content") or {}):
        sheet.append([])
        if block.priority != last_priority:
            append_row(sheet, [block.priority])
            sheet.cell(sheet.max_row, 1).font = Font(bold=True, size=12)
            last_priority = block.priority
        append_row(sheet, [block.objective])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
        append_row(sheet, columns())
        for cell in sheet[sheet.max_row]:
            cell.font, cell.border, cell.alignment = Font(bold=True), box, wrap
            cell.fill = PatternFill("solid", fgColor="DDE7F0")
        first = sheet.max_row + 1
        for row in block.rows:
            append_row(sheet, row)
            for cell in sheet[sheet.max_row]:
                cell.border, cell.alignment = box, wrap
        _merge_repeated(sheet, first, sheet.max_row)
    sheet.append([])
    append_row(sheet, [_footer(plan)])
    for index, width in enumerate((28, 34, 28, 18, 22, 26, 14, 14, 26, 22), start=1):
        sheet.column_dimensions[chr(64 + index)].width = width
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def _merge_repeated(sheet: Any, first: int, last: int) -> None:
    """Merge the specific-objective cells repeated over their actions' rows, as in the canvas."""
    start = first
    for row in range(first + 1, last + 2):
        if row > last or sheet.cell(row, 1).value != sheet.cell(start, 1).value:
            if row - 1 > start:
                sheet.merge_cells(start_row=start, start_column=1, end_row=row - 1, end_column=1)
            start = row


def font_path(configured: Path | None = None) -> Path:
    """The configured font (HIMAYA_PDF_FONT), else the first of the usual Debian fonts found."""
    for candidate in ([configured] if configured else []) + list(FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ExportUnavailable("no Unicode TrueType font found for PDF exports (set HIMAYA_PDF_FONT)")


def pdf(plan: dict[str, Any], font: Path | None = None) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    arabic = current_language() == "ar"
    document = FPDF(orientation="L", unit="mm", format="A4")
    document.set_auto_page_break(True, margin=12)
    use_unicode_font(document, "Plan", font_path(font), arabic)
    document.set_title(_("Provincial child protection action plan"))
    document.add_page()
    document.set_font("Plan", size=13)
    for title in _titles(plan):
        document.multi_cell(0, 7, title, align="C", new_x="LMARGIN", new_y="NEXT")
    widths = (30, 34, 30, 22, 24, 28, 18, 20, 30, 27)
    last_priority = None
    for block in blocks(plan.get("content") or {}):
        document.ln(3)
        if block.priority != last_priority:
            document.set_font("Plan", size=11)
            document.multi_cell(0, 6, block.priority, new_x="LMARGIN", new_y="NEXT",
                                align="R" if arabic else "L")
            last_priority = block.priority
        document.set_font("Plan", size=10)
        document.multi_cell(0, 6, block.objective, new_x="LMARGIN", new_y="NEXT", align="R" if arabic else "L")
        document.set_font("Plan", size=7)
        ordered = widths[::-1] if arabic else widths
        with document.table(col_widths=ordered, text_align="RIGHT" if arabic else "LEFT",
                            headings_style=FontFace(fill_color=(221, 231, 240)), line_height=3.6) as table:
            spans = [1, *_spans(block.rows)]
            for row, span in zip([columns(), *block.rows], spans):
                cells = table.row()
                # the specific objective spans the rows of its actions, as in the canvas
                values = [(str(value), span if index == 0 else 1) for index, value in enumerate(row)
                          if index > 0 or span]
                for value, rowspan in (values[::-1] if arabic else values):
                    cells.cell(value, rowspan=rowspan)
    document.ln(4)
    document.set_font("Plan", size=9)
    document.multi_cell(0, 5, _footer(plan), new_x="LMARGIN", new_y="NEXT")
    return bytes(document.output())
