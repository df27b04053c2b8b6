"""Spreadsheets in and out. In: the one reader, survey.sheets (read_workbook, read_table,
parse_date; every format, bounded by content), re-exported here. Out: user text is always written
as text, never as a live formula or link."""

from __future__ import annotations

import xlsxwriter

from survey.sheets import (  # noqa: F401 - the reading API, importable from here as before
    MAX_AREA,
    MAX_CELLS,
    MAX_XML_BYTES,
    SUPPORTED,
    TYPES,
    Sheet,
    SpreadsheetTooLargeError,
    Table,
    check_ods,
    check_xlsx,
    column_letters,
    column_number,
    parse_date,
    read_table,
    read_workbook,
)

# ---- out ---------------------------------------------------------------------------------------

# A cell that starts with "=" is text typed by a user, never a formula; no string becomes a link.
SAFE_OPTIONS = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}


def new_workbook(target) -> xlsxwriter.Workbook:
    """An .xlsx writer for a path or a binary file object that writes every string as text."""
    return xlsxwriter.Workbook(target if hasattr(target, "write") else str(target), SAFE_OPTIONS)


def write_rows(sheet, rows, start: int = 0) -> int:
    """Write rows (iterables of values) from row `start` down; returns the next free row."""
    row = start
    for values in rows:
        sheet.write_row(row, 0, list(values))
        row += 1
    return row
