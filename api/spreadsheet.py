"""Cells of the exported spreadsheets and CSV files: what a person typed stays text.

A plan's title, a pilot's name or a unit's code that begins like a formula (``=1+2``,
``=cmd|' /C calc'!A0``, ``+…``, ``-…``, ``@…``) must not be run by the spreadsheet program that
opens the export. In XLSX, text is written as a text cell (never a formula) with the quote
prefix, so that it stays text even when someone edits the cell. CSV has no cell types: text
beginning with one of those characters, a tab or a carriage return gets a leading apostrophe,
as OWASP recommends against CSV injection. Numbers are left as they are.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _looks_like_formula(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value: Any) -> Any:
    """``value`` for a CSV file: text that a spreadsheet would read as a formula, prefixed with '."""
    return f"'{value}" if _looks_like_formula(value) else value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(value) for value in values]


def keep_as_text(cell: Any) -> None:
    """Make an openpyxl cell holding text a text cell (openpyxl reads a leading ``=`` as a formula)."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if _looks_like_formula(cell.value):
            cell.quotePrefix = True


def append_row(sheet: Any, values: Iterable[Any]) -> None:
    """Append a row to an openpyxl sheet, every text in it kept as text."""
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        keep_as_text(cell)
