"""Writing an XLSForm .xlsx from rows (for the shipped default forms, tests and downloads)."""

from __future__ import annotations

import io

from openpyxl import Workbook


def _sheet(workbook: Workbook, title: str, rows: list[dict]) -> None:
    sheet = workbook.create_sheet(title)
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(c, None) for c in columns])


def build_xlsform(
    survey: list[dict],
    choices: list[dict] | None = None,
    settings: dict | None = None,
    sheets: dict[str, list[dict]] | None = None,
) -> bytes:
    """An .xlsx with survey, choices and settings sheets (and any other `sheets`, such as
    external_choices), columns in order of first use."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    _sheet(workbook, "survey", survey)
    _sheet(workbook, "choices", choices or [])
    if settings:
        _sheet(workbook, "settings", [settings])
    for title, rows in (sheets or {}).items():
        _sheet(workbook, title, rows)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
