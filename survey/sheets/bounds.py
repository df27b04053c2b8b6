"""How much a workbook holds, counted before a reader allocates it.

Readers allocate the rectangle from A1 to the last cell that holds content (calamine ignores empty
styled cells, column and row formats and the declared <dimension>, measured in `bench files`), so
the bound is on content: the cells that hold a value, and the rectangle they span. A sheet
formatted to XFD1048576 with 30 rows of content is ordinary and passes; a sheet with millions of
filled cells, or two filled cells at A1 and XFD1048576, is refused before it is read. The sheet XML
is streamed with a cap on the bytes it unpacks to, so a zip bomb stops early too."""

from __future__ import annotations

import html
import itertools
import re
import zipfile
import zlib

from survey.errors import ValidationError
from survey.sheets.cells import column_letters, column_number

# Our largest legitimate files: a registry of ~50,000 companies in 12 columns (600,000 cells),
# questionnaires of a few hundred rows. Calamine needs about 50 bytes a cell and Python about 100
# more once read, so these bounds keep a workbook's reading under a few hundred MB.
MAX_CELLS = 2_000_000  # cells holding content, per sheet
MAX_AREA = 4_000_000  # rows x columns from A1 to the last cell holding content
MAX_XML_BYTES = 256 * 1024 * 1024  # one sheet's XML unpacked; a 50,000-row registry is ~40 MB

_CHUNK = 1 << 20
_OVERLAP = 2048


class SpreadsheetTooLargeError(ValidationError):
    """A sheet beyond MAX_CELLS filled cells or MAX_AREA, or XML past MAX_XML_BYTES."""


def too_many_cells(filename: str, sheet: str, cells: int, limit: int) -> SpreadsheetTooLargeError:
    return SpreadsheetTooLargeError(
        f"文件“{filename}”的工作表“{sheet}”填写的单元格超过 {limit:,} 个（已数到 {cells:,} 个），"
        f"无法导入。本系统每个工作表最多读取 {limit:,} 个有内容的单元格；请把数据拆成几个文件，"
        "或删除不需要导入的列后另存再上传。",
        "file",
    )


def too_wide(
    filename: str, sheet: str, rows: int, columns: int, limit: int
) -> SpreadsheetTooLargeError:
    return SpreadsheetTooLargeError(
        f"文件“{filename}”的工作表“{sheet}”内容从 A1 一直延伸到 {column_letters(columns)}{rows}"
        f"（{rows:,} 行 × {columns:,} 列），超过 {limit:,} 个单元格的上限。通常是远处的某个单元格"
        "还有内容（哪怕是一个空格）：请删除数据区域以外的行和列后另存再上传。",
        "file",
    )


def too_big_xml(filename: str, sheet: str, limit: int) -> SpreadsheetTooLargeError:
    return SpreadsheetTooLargeError(
        f"文件“{filename}”的工作表“{sheet}”解压后超过 {limit // 1024 // 1024} MB，无法读取。"
        "请删除多余的内容后另存再上传，或把数据拆成几个文件。",
        "file",
    )


def check_area(filename: str, sheet: str, rows: int, columns: int, max_area: int) -> None:
    if rows * columns > max_area:
        raise too_wide(filename, sheet, rows, columns, max_area)


def _stream(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, filename: str, sheet: str):
    """The member's bytes in chunks, refused once past `limit` whatever its header declares."""
    if info.file_size > limit:
        raise too_big_xml(filename, sheet, limit)
    total = 0
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            total += len(chunk)
            if total > limit:
                raise too_big_xml(filename, sheet, limit)
            yield chunk


def _scan(chunks, pattern: re.Pattern, visit) -> None:
    """Run `visit` on every match of `pattern` over a stream of chunks, each match once."""
    tail = b""
    for chunk in chunks:
        buffer = tail + chunk
        cut = max(0, len(buffer) - _OVERLAP)
        end = 0
        for match in pattern.finditer(buffer, 0, cut + _OVERLAP):
            if match.start() >= cut:
                break
            visit(match)
            end = match.end()
        tail = buffer[max(cut, end) :]
    for match in pattern.finditer(tail):
        visit(match)


# ---- .xlsx / .xlsm -----------------------------------------------------------------------------

# A cell that holds something, as Excel, WPS, openpyxl and xlsxwriter write it: <c r="B7" ...>
# followed by its value, inline string or formula. `_prefixed` adds the namespace prefix a
# document uses (<x:c>); cells written otherwise (attributes in another order, no address) are
# found by the slower _ANY_CELL pass, which runs only when the values outnumber the cells found.
_CELL_COLUMN = rb'<%sc r="\$?([A-Z]{1,3})\$?\d{1,7}"[^>]*>\s*<%s[vfi]'
_CELL_ROW = rb'<%sc r="\$?[A-Z]{1,3}\$?(\d{1,7})"[^>]*>\s*<%s[vfi]'
_ANY_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]{0,400}?)(?<!/)>\s*<(?:\w+:)?(?:v|is|f)\b")
_REF = re.compile(rb'\br="\$?([A-Za-z]{1,3})\$?(\d{1,7})"')
_ROOT = re.compile(rb"<(\w+:)?worksheet\b")
_SHEET_ENTRY = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_ATTR = re.compile(rb'([\w:]+)="([^"]*)"')


def xlsx_sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part (xl/worksheets/sheet1.xml) -> the sheet's name as the user sees it."""
    names: dict[str, str] = {}
    try:
        book = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, zlib.error):
        return names
    targets = {}
    for tag in re.findall(rb"<(?:\w+:)?Relationship\b[^>]*>", rels):
        attrs = dict(_ATTR.findall(tag))
        target = attrs.get(b"Target", b"").decode("utf-8", "replace").lstrip("/")
        if target and not target.startswith("xl/"):
            target = "xl/" + target
        targets[attrs.get(b"Id", b"")] = target
    for tag in _SHEET_ENTRY.findall(book):
        attrs = {k.split(b":")[-1]: v for k, v in _ATTR.findall(tag)}
        part = targets.get(attrs.get(b"id", b""))
        if part:
            names[part.lower()] = html.unescape(attrs.get(b"name", b"").decode("utf-8", "replace"))
    return names


def check_xlsx(
    data_or_archive,
    filename: str,
    *,
    max_cells: int = MAX_CELLS,
    max_area: int = MAX_AREA,
    max_xml_bytes: int = MAX_XML_BYTES,
) -> None:
    """Refuse an .xlsx/.xlsm whose sheet holds more than `max_cells` filled cells, spans more
    than `max_area` cells from A1 to its last filled cell, or unpacks past `max_xml_bytes`; stops
    counting at the limit. A file that is not a zip passes here (the reader says what it is)."""
    archive = _archive(data_or_archive)
    if archive is None:
        return
    names = xlsx_sheet_names(archive)
    for info in archive.infolist():
        part = info.filename.lower()
        if part == "xl/sharedstrings.xml":
            for _ in _stream(archive, info, max_xml_bytes, filename, "共享文本"):
                pass
            continue
        if not (part.startswith("xl/worksheets/") and part.endswith(".xml")):
            continue
        sheet = names.get(part) or info.filename.rsplit("/", 1)[-1].removesuffix(".xml")
        _check_xlsx_sheet(archive, info, filename, sheet, max_cells, max_area, max_xml_bytes)


def _check_xlsx_sheet(archive, info, filename, sheet, max_cells, max_area, max_xml_bytes):
    """One pass over the streamed XML: filled cells counted and their extent taken per chunk."""
    cells = values = rows = 0
    columns: set[bytes] = set()
    patterns = prefix = None
    tail = b""
    try:
        for chunk in itertools.chain(_stream(archive, info, max_xml_bytes, filename, sheet), [b""]):
            buffer = tail + chunk
            if patterns is None:
                root = _ROOT.search(buffer)
                prefix = re.escape((root.group(1) or b"") if root else b"")
                patterns = [re.compile(p % (prefix, prefix)) for p in (_CELL_COLUMN, _CELL_ROW)]
            cut = buffer.rfind(b"<", 0, max(0, len(buffer) - 1024)) if chunk else -1
            cut = cut if cut > 0 else len(buffer)
            values += buffer.count(b"<%sv>" % prefix, 0, cut)
            values += buffer.count(b"<%sis>" % prefix, 0, cut)
            if values > max_cells:  # counted at C speed: a filled-cell bomb stops here
                raise too_many_cells(filename, sheet, values, max_cells)
            found = patterns[0].findall(buffer, 0, cut)
            numbers = patterns[1].findall(buffer, 0, cut)
            tail = buffer[cut:]
            if found:
                cells += len(found)
                if cells > max_cells:
                    raise too_many_cells(filename, sheet, cells, max_cells)
                rows = max(rows, max(map(int, numbers)))
                columns.update(found)
                check_area(filename, sheet, rows, _last_column(columns), max_area)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
        return  # the reader reports a damaged file in its own words
    if values > max_cells:
        raise too_many_cells(filename, sheet, values, max_cells)
    if values > cells:  # some cells are written another way: look at every cell
        _check_any_cells(archive, info, filename, sheet, max_cells, max_area, max_xml_bytes)


def _last_column(columns: set[bytes]) -> int:
    return max((column_number(c.decode()) for c in columns), default=0)


def _check_any_cells(archive, info, filename, sheet, max_cells, max_area, max_xml_bytes):
    state = [0, 0, 0]  # filled cells, last row, last column

    def visit(match):
        state[0] += 1
        if state[0] > max_cells:
            raise too_many_cells(filename, sheet, state[0], max_cells)
        ref = _REF.search(match.group(1))
        if ref is None:
            return  # bounded by the count
        row, column = int(ref.group(2)), column_number(ref.group(1).decode())
        if row > state[1] or column > state[2]:
            state[1], state[2] = max(row, state[1]), max(column, state[2])
            check_area(filename, sheet, state[1], state[2], max_area)

    _scan(_stream(archive, info, max_xml_bytes, filename, sheet), _ANY_CELL, visit)


def _archive(data_or_archive) -> zipfile.ZipFile | None:
    if isinstance(data_or_archive, zipfile.ZipFile):
        return data_or_archive
    import io

    try:
        return zipfile.ZipFile(io.BytesIO(data_or_archive))
    except zipfile.BadZipFile:
        return None


# ---- .ods --------------------------------------------------------------------------------------

_ODS_TAG = re.compile(
    rb"<table:table\b[^>]*>|<table:table-row\b[^>]*>|</table:table-row>"
    rb"|<table:(?:covered-)?table-cell\b[^>]*>"
)
_REPEAT_COLUMNS = re.compile(rb'table:number-columns-repeated="(\d+)"')
_REPEAT_ROWS = re.compile(rb'table:number-rows-repeated="(\d+)"')
_TABLE_NAME = re.compile(rb'table:name="([^"]*)"')


def check_ods(
    data_or_archive,
    filename: str,
    *,
    max_cells: int = MAX_CELLS,
    max_area: int = MAX_AREA,
    max_xml_bytes: int = MAX_XML_BYTES,
) -> None:
    """The same bounds for an .ods: a cell repeated N times (number-columns-repeated, and rows by
    number-rows-repeated) counts N times when it holds something, and not at all when empty."""
    archive = _archive(data_or_archive)
    if archive is None:
        return
    try:
        info = archive.getinfo("content.xml")
    except KeyError:
        return
    state = {"sheet": "", "row": 0, "cells": 0, "last_row": 0, "last_col": 0}
    current = {"col": 0, "cells": 0, "last_col": 0, "repeat": 1}

    def visit(match):
        tag = match.group(0)
        if tag.startswith(b"<table:table "):
            name = _TABLE_NAME.search(tag)
            state.update(
                sheet=html.unescape(name.group(1).decode("utf-8", "replace")) if name else ""
            )
            state.update(row=0, cells=0, last_row=0, last_col=0)
        elif tag.startswith(b"<table:table-row"):
            repeat = _REPEAT_ROWS.search(tag)
            current.update(col=0, cells=0, last_col=0, repeat=int(repeat.group(1)) if repeat else 1)
        elif tag == b"</table:table-row>":
            if current["cells"]:
                state["cells"] += current["cells"] * current["repeat"]
                state["last_row"] = state["row"] + current["repeat"]
                state["last_col"] = max(state["last_col"], current["last_col"])
                if state["cells"] > max_cells:
                    raise too_many_cells(filename, state["sheet"], state["cells"], max_cells)
                check_area(filename, state["sheet"], state["last_row"], state["last_col"], max_area)
            state["row"] += current["repeat"]
        else:
            repeat = _REPEAT_COLUMNS.search(tag)
            count = int(repeat.group(1)) if repeat else 1
            current["col"] += count
            if b"office:value-type" in tag or not tag.endswith(b"/>"):
                current["cells"] += count
                current["last_col"] = current["col"]

    try:
        _scan(_stream(archive, info, max_xml_bytes, filename, "content.xml"), _ODS_TAG, visit)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
        return
