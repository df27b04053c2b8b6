"""One reader for every spreadsheet people bring (companies, task lists, reference lists, choice
files, questionnaires).

    read_workbook(data, filename) -> list[Sheet]       every sheet: .name, .visible, .rows
    read_table(data, filename, required=(), sheet=None) -> Table
        headers, rows = read_table(...)                 still unpacks as before
        table.sheet, table.header_row, table.first_row, table.row_numbers
    parse_date(value) -> date | None                   date cells, Excel serials, 2026年3月31日 …

Formats: .xlsx .xlsm .xls .xlsb .ods .csv .txt (UTF-8 with or without BOM, GB18030/GBK, UTF-16
"Unicode text"; comma, tab or semicolon), read by content whatever the extension says.

Cells (cells.cell): text trimmed of ASCII, no-break and full-width (U+3000) spaces, None when
empty; whole numbers as their digits as text ("123", so codes and phone numbers keep their
form); other numbers float; dates datetime.date / datetime.datetime; booleans bool. Merged
ranges give every cell the top-left value; trailing empty rows and columns are dropped.

Header row: the first row within the first ten holding every `required` column (an item may be a
tuple of alternative names); the sheet: the named one, else the first visible sheet holding the
required columns, else the first visible sheet. Hidden helper sheets are ignored unless named.

Bounds (bounds.py): by content, not by declared size; every refusal is a ValidationError in
Chinese naming the file, the sheet and what to do. read_workbook and read_table raise nothing else:
a damaged file (cut short, overwritten) is refused in our words whatever zipfile, zlib, codecs or
calamine (a Rust panic, a BaseException) raised reading it."""

from survey.sheets.bounds import (
    MAX_AREA,
    MAX_CELLS,
    MAX_XML_BYTES,
    SpreadsheetTooLargeError,
    check_ods,
    check_xlsx,
)
from survey.sheets.cells import cell, column_letters, column_number, parse_date
from survey.sheets.tables import HEADER_ROWS, Table, read_table
from survey.sheets.workbook import SUPPORTED, TYPES, Sheet, read_workbook, sniff

__all__ = [
    "HEADER_ROWS",
    "MAX_AREA",
    "MAX_CELLS",
    "MAX_XML_BYTES",
    "SUPPORTED",
    "TYPES",
    "Sheet",
    "SpreadsheetTooLargeError",
    "Table",
    "cell",
    "check_ods",
    "check_xlsx",
    "column_letters",
    "column_number",
    "parse_date",
    "read_table",
    "read_workbook",
    "sniff",
]
