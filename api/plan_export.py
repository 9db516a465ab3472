"""Exports of a provincial action plan in the guide's canvas ("exemple de canevas de plan
d'action"): a title block (province, period), then for each priority and general objective a
table — specific objectives, means/actions, expected results, pilot(s), partners, human /
material resources, deadline, budget, indicators, follow-up/revision — and the version date.

A validated plan also shows its follow-up (:mod:`engine.plan_progress`): two more columns —
progress (state, percentage done, actual dates) and the follow-up note —, each priority's
progress under its heading, and the history of the updates (a sheet of its own in XLSX, a last
table in PDF).

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


def columns(followed: bool = False) -> list[str]:
    canvas = [_("Specific objectives"), _("Means / actions"), _("Expected results"), _("Pilot(s)"), _("Partners"),
              _("Human / material resources needed"), _("Deadline"), _("Budget (MAD)"), _("Indicators"),
              _("Follow-up / revision")]
    return canvas + ([_("Progress"), _("Follow-up note")] if followed else [])


def history_columns() -> list[str]:
    return [_("Action"), _("Date"), _("By"), _("State"), _("Percentage done"), _("Actual start"), _("Actual end"),
            _("Follow-up note")]


def state_label(code: str) -> str:
    from .web.labels import ACTION_STATE_LABELS

    return str(ACTION_STATE_LABELS.get(code, code))


def progress_text(progress: dict[str, Any] | None, late: bool) -> str:
    """"In progress · 40 % · 2027-01-10 → —", with "late" when it is."""
    progress = progress or {}
    text = f"{state_label(progress.get('state', 'not_started'))} · {progress.get('percent_done', 0)} %"
    if progress.get("started_on") or progress.get("ended_on"):
        text += f" · {progress.get('started_on') or '—'} → {progress.get('ended_on') or '—'}"
    if late:
        text += f" · {_('Late')}"
    return text


def priority_progress(summary: dict[str, Any]) -> str:
    percent = "—" if summary.get("percent_done") is None else f"{summary['percent_done']} %"
    return _("Progress: %(percent)s — %(done)s of %(actions)s actions done, %(in_progress)s in progress, "
             "%(not_started)s not started, %(dropped)s dropped, %(late)s late", percent=percent,
             done=summary.get("done", 0), actions=summary.get("actions", 0),
             in_progress=summary.get("in_progress", 0), not_started=summary.get("not_started", 0),
             dropped=summary.get("dropped", 0), late=summary.get("late", 0))


def history_rows(plan: dict[str, Any]) -> list[list[str]]:
    """Every update of every action, by action then in order."""
    from .web.chrome import local_date
    from .web.labels import FOLLOWER_LABELS

    titles = plan.get("action_titles") or {}
    rows = []
    for path in sorted(plan.get("progress") or {}, key=lambda key: [int(part) for part in key.split(".")]):
        for entry in plan["progress"][path].get("history") or []:
            who = f"{entry.get('updated_by', '')} ({FOLLOWER_LABELS.get(entry.get('updated_as'), '')})"
            rows.append([titles.get(path, path), local_date(entry["updated_at"]), who, state_label(entry["state"]),
                         f"{entry['percent_done']} %", str(entry.get("started_on") or "—"),
                         str(entry.get("ended_on") or "—"), entry.get("note") or ""])
    return rows


def area_label(area: str) -> str:
    from .web.labels import AREA_LABELS

    return str(AREA_LABELS.get(area, area))


@dataclass
class Block:
    """One table of the canvas: a general objective of a priority, with its action rows."""

    priority: str
    objective: str
    rows: list[list[str]]
    progress: str = ""  # the priority's progress (a followed plan)


def blocks(content: dict[str, Any], plan: dict[str, Any] | None = None) -> Iterator[Block]:
    followed = bool(plan and plan.get("followed"))
    progress = (plan or {}).get("progress") or {}
    late = set((plan or {}).get("late") or [])
    summaries = ((plan or {}).get("progress_summary") or {}).get("priorities") or []
    for p, priority in enumerate(content.get("priorities") or [], start=1):
        heading = _("Priority %(n)s: %(title)s", n=p, title=priority.get("title", ""))
        heading += f" ({area_label(priority.get('area', ''))})"
        summary = priority_progress(summaries[p - 1]) if followed and p - 1 < len(summaries) else ""
        for g, general in enumerate(priority.get("general_objectives") or [], start=1):
            rows = []
            for s, specific in enumerate(general.get("specific_objectives") or []):
                for a, action in enumerate(specific.get("actions") or [{}]):
                    row = _action_row(specific.get("title", ""), action)
                    if followed:
                        path = f"{p - 1}.{g - 1}.{s}.{a}"
                        row += [progress_text(progress.get(path), path in late),
                                (progress.get(path) or {}).get("note", "")] if action else ["", ""]
                    rows.append(row)
            yield Block(heading, _("General objective %(n)s: %(title)s", n=g, title=general.get("title", "")), rows,
                        summary)


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
    followed = bool(plan.get("followed"))
    width = len(columns(followed))
    for title in _titles(plan):
        append_row(sheet, [title])
        sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=width)
        sheet.cell(sheet.max_row, 1).font = Font(bold=True, size=13)
    if followed:
        append_row(sheet, [f"{_('Whole plan')}: {priority_progress(plan['progress_summary']['plan'])}"])
    last_priority = None
    for block in blocks(plan.get("content") or {}, plan):
        sheet.append([])
        if block.priority != last_priority:
            append_row(sheet, [block.priority])
            sheet.cell(sheet.max_row, 1).font = Font(bold=True, size=12)
            if block.progress:
                append_row(sheet, [block.progress])
                sheet.cell(sheet.max_row, 1).font = Font(italic=True)
            last_priority = block.priority
        append_row(sheet, [block.objective])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
        append_row(sheet, columns(followed))
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
    for index, size in enumerate((28, 34, 28, 18, 22, 26, 14, 14, 26, 22, 30, 30)[:width], start=1):
        sheet.column_dimensions[chr(64 + index)].width = size
    if followed:
        history = book.create_sheet(_("Follow-up history")[:31])
        history.sheet_view.rightToLeft = sheet.sheet_view.rightToLeft
        append_row(history, history_columns())
        for cell in history[history.max_row]:
            cell.font, cell.border = Font(bold=True), box
        for row in history_rows(plan):
            append_row(history, row)
            for cell in history[history.max_row]:
                cell.border, cell.alignment = box, wrap
        for index, size in enumerate((34, 12, 26, 14, 10, 12, 12, 40), start=1):
            history.column_dimensions[chr(64 + index)].width = size
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
    followed = bool(plan.get("followed"))
    widths = (24, 27, 23, 17, 19, 21, 15, 16, 22, 20, 26, 27) if followed else (30, 34, 30, 22, 24, 28, 18, 20, 30, 27)
    align = "R" if arabic else "L"
    if followed:
        document.set_font("Plan", size=9)
        document.multi_cell(0, 5, f"{_('Whole plan')}: {priority_progress(plan['progress_summary']['plan'])}",
                            new_x="LMARGIN", new_y="NEXT", align=align)
    last_priority = None
    for block in blocks(plan.get("content") or {}, plan):
        document.ln(3)
        if block.priority != last_priority:
            document.set_font("Plan", size=11)
            document.multi_cell(0, 6, block.priority, new_x="LMARGIN", new_y="NEXT", align=align)
            if block.progress:
                document.set_font("Plan", size=8)
                document.multi_cell(0, 5, block.progress, new_x="LMARGIN", new_y="NEXT", align=align)
            last_priority = block.priority
        document.set_font("Plan", size=10)
        document.multi_cell(0, 6, block.objective, new_x="LMARGIN", new_y="NEXT", align="R" if arabic else "L")
        document.set_font("Plan", size=7)
        ordered = widths[::-1] if arabic else widths
        with document.table(col_widths=ordered, text_align="RIGHT" if arabic else "LEFT",
                            headings_style=FontFace(fill_color=(221, 231, 240)), line_height=3.6) as table:
            spans = [1, *_spans(block.rows)]
            for row, span in zip([columns(followed), *block.rows], spans):
                cells = table.row()
                # the specific objective spans the rows of its actions, as in the canvas
                values = [(str(value), span if index == 0 else 1) for index, value in enumerate(row)
                          if index > 0 or span]
                for value, rowspan in (values[::-1] if arabic else values):
                    cells.cell(value, rowspan=rowspan)
    history = history_rows(plan) if followed else []
    if history:
        document.ln(4)
        document.set_font("Plan", size=10)
        document.multi_cell(0, 6, _("Follow-up history"), new_x="LMARGIN", new_y="NEXT", align=align)
        document.set_font("Plan", size=7)
        history_widths = (52, 20, 36, 22, 16, 20, 20, 81)
        with document.table(col_widths=history_widths[::-1] if arabic else history_widths,
                            text_align="RIGHT" if arabic else "LEFT",
                            headings_style=FontFace(fill_color=(221, 231, 240)), line_height=3.6) as table:
            for row in [history_columns(), *history]:
                cells = table.row()
                for value in (row[::-1] if arabic else row):
                    cells.cell(str(value))
    document.ln(4)
    document.set_font("Plan", size=9)
    document.multi_cell(0, 5, _footer(plan), new_x="LMARGIN", new_y="NEXT")
    return bytes(document.output())
