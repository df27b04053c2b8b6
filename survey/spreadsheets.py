"""Spreadsheets in and out. In: a workbook's size is checked before any reader allocates it (calamine
and openpyxl both trust a sheet's declared dimension). Out: user text is always written as text,
never as a live formula or link."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import xlsxwriter
from python_calamine import CalamineWorkbook

from survey.errors import ValidationError

# Our largest legitimate files: a registry of ~50,000 companies in 12 columns, questionnaires of a
# few hundred rows. The limits leave room for both and stop a sheet that would need gigabytes.
MAX_ROWS = 200_000
MAX_COLUMNS = 60
MAX_SHEET_XML_BYTES = 256 * 1024 * 1024  # uncompressed; a 50,000-row registry sheet is ~15 MB

_SHEET = re.compile(r"xl/worksheets/[^/]+\.xml", re.IGNORECASE)
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*\bref="([^"]*)"')
_ROW = re.compile(rb"<(?:\w+:)?row\b")
_ROW_REF = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="(\d+)"')
_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Za-z]{1,3})\d')


class SpreadsheetTooLargeError(ValidationError):
    """A workbook beyond MAX_ROWS x MAX_COLUMNS (declared or real): refused before reading."""


def column_number(letters: str) -> int:
    """'A' -> 1, 'Z' -> 26, 'AA' -> 27, 'XFD' -> 16384."""
    number = 0
    for ch in letters.upper():
        number = number * 26 + (ord(ch) - 64)
    return number


def _too_large(filename: str, sheet: str, rows: int, columns: int) -> SpreadsheetTooLargeError:
    return SpreadsheetTooLargeError(
        f"文件“{filename}”的工作表 {sheet} 范围过大（{rows:,} 行 × {columns:,} 列），"
        f"最多支持 {MAX_ROWS:,} 行 × {MAX_COLUMNS} 列。请删除多余的行列（包括空白但有格式的单元格）"
        "后另存再上传。",
        "file",
    )


def _extent(ref: bytes) -> tuple[int, int]:
    """(rows, columns) of a dimension ref such as b'A1:XFD1048576'."""
    last = ref.split(b":")[-1]
    match = re.fullmatch(rb"\$?([A-Za-z]{1,3})\$?(\d+)", last)
    if not match:
        return 0, 0
    return int(match.group(2)), column_number(match.group(1).decode())


def check_xlsx(data: bytes, filename: str) -> None:
    """Refuse a workbook whose declared dimension, real rows or real columns pass the limits, or
    whose sheets unpack to more than MAX_SHEET_XML_BYTES. A file that is not a zip passes here
    and is refused by the reader with its own message."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return
    with archive:
        for info in archive.infolist():
            if not _SHEET.fullmatch(info.filename):
                continue
            sheet = info.filename.rsplit("/", 1)[-1].removesuffix(".xml")
            if info.file_size > MAX_SHEET_XML_BYTES:
                raise SpreadsheetTooLargeError(
                    f"文件“{filename}”的工作表 {sheet} 解压后超过 "
                    f"{MAX_SHEET_XML_BYTES // 1024 // 1024} MB，无法读取。",
                    "file",
                )
            try:
                xml = archive.read(info)
            except (zipfile.BadZipFile, OSError, EOFError):
                return  # the reader reports a damaged file in its own words
            declared = _DIMENSION.search(xml, 0, 4096)
            if declared:
                rows, columns = _extent(declared.group(1))
                if rows > MAX_ROWS or columns > MAX_COLUMNS:
                    raise _too_large(filename, sheet, rows, columns)
            rows, columns = _real_extent(xml)
            if rows > MAX_ROWS or columns > MAX_COLUMNS:
                raise _too_large(filename, sheet, rows, columns)


def _real_extent(xml: bytes) -> tuple[int, int]:
    """The last row and column that hold an element: the highest address, or the count of row
    elements when rows carry no address."""
    row_refs = (int(m) for m in _ROW_REF.findall(xml))
    last_row = max(max(row_refs, default=0), len(_ROW.findall(xml)))
    letters = set(_CELL_REF.findall(xml))
    last_column = max((column_number(c.decode()) for c in letters), default=0)
    return last_row, last_column


def check_table(rows: list[list], filename: str) -> None:
    """The same limits for rows already parsed (a .csv)."""
    columns = max((len(r) for r in rows), default=0)
    if len(rows) > MAX_ROWS or columns > MAX_COLUMNS:
        raise _too_large(filename, "1", len(rows), columns)


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


def _cell(value):
    """Spreadsheet cells as the text a person typed: 123.0 -> "123", empty -> None."""
    if value == "" or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def read_table(data: bytes, filename: str) -> tuple[list[str], list[list]]:
    """Headers and rows of the first sheet of an .xlsx, or of a .csv (UTF-8 or GBK)."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        check_xlsx(data, filename)  # before calamine allocates the declared size
        try:  # calamine reads a 50,000-row sheet several times faster than openpyxl
            workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
            rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same message
            raise ValidationError(f"无法读取 Excel 文件“{filename}”：{exc}", "file") from None
        rows = [[_cell(v) for v in r] for r in rows]
    elif name.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValidationError("CSV 文件编码无法识别，请另存为 UTF-8。", "file")
        rows = list(csv.reader(io.StringIO(text)))
        check_table(rows, filename)
    else:
        raise ValidationError("只支持 .xlsx 或 .csv 文件。", "file")
    while rows and not any(v not in (None, "") for v in rows[-1]):
        rows.pop()
    if not rows:
        raise ValidationError("文件是空的。", "file")
    headers = [str(h).strip() if h is not None else "" for h in rows[0]]
    return headers, rows[1:]
