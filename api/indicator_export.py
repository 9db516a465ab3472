"""Indicator exports (CSV and XLSX), shared by the API and the pages: flat rows of
(indicator, breakdown, value), with ``x`` where the national level hides a cell (a small count, or
one that would give a small count back by subtraction: :mod:`engine.disclosure`). Text is
never a formula (``api/spreadsheet.py``): a breakdown such as a unit's code comes from data."""
from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response

from engine.indicators import rows

from .spreadsheet import append_row, csv_row

HIDDEN = "x"  # a hidden cell, small or complementary alike
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filename(result: dict[str, Any], extension: str) -> str:
    return f"himaya-indicators-{result['period']['from']}-{result['period']['to']}.{extension}"


def _cells(result: dict[str, Any]) -> list[list[Any]]:
    hidden = "suppressed_below" in result
    return [[name, breakdown, HIDDEN if value is None and hidden else value] for name, breakdown, value in rows(result)]


def as_csv(result: dict[str, Any]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["indicator", "breakdown", "value"])
    writer.writerows(csv_row(cells) for cells in _cells(result))
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{_filename(result, "csv")}"'})


def as_xlsx(result: dict[str, Any]) -> Response:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Indicators"
    append_row(sheet, ["Himaya", f"{result['period']['from']} → {result['period']['to']}",
                       ", ".join(result["provinces"] or ["all provinces"])])
    append_row(sheet, ["indicator", "breakdown", "value"])
    for cells in _cells(result):
        append_row(sheet, cells)
    output = io.BytesIO()
    book.save(output)
    return Response(output.getvalue(), mimetype=XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{_filename(result, "xlsx")}"'})
