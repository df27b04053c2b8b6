"""How much a workbook holds, counted before a reader allocates it.

Readers allocate the rectangle from A1 to the last cell that holds content (calamine ignores empty
styled cells, column and row formats and the declared <dimension>, measured in `bench files`), so
the bound is on content: the cells that hold a value, and the rectangle they span. A sheet
formatted to XFD1048576 with 30 rows of content is ordinary and passes; a sheet with millions of
filled cells, or two filled cells at A1 and XFD1048576, is refused before it is read. The sheet XML
is streamed with a cap on the bytes it unpacks to, so a zip bomb stops early too."""

from __future__ import annotations

import contextlib
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


def _scan(chunks, pattern: re.Pattern, visit, overlap: int = _OVERLAP) -> None:
    """Run `visit` on every match of `pattern` over a stream of chunks, each match once (a match
    longer than `overlap` may be missed where two chunks meet)."""
    tail = b""
    for chunk in chunks:
        buffer = tail + chunk
        cut = max(0, len(buffer) - overlap)
        end = 0
        for match in pattern.finditer(buffer):
            if match.start() >= cut:
                break
            visit(match)
            end = match.end()
        tail = buffer[max(cut, end) :]
    for match in pattern.finditer(tail):
        visit(match)


# ---- .xlsx / .xlsm -----------------------------------------------------------------------------

# A cell that holds a value, as Excel, WPS, openpyxl and xlsxwriter write it: <c r="B7" ...>
# followed by its value or inline string, a formula (<f>…</f> or <f …/>) between them or not; the
# %s are the namespace prefix a document uses (<x:c>). A cell holding only a formula is skipped, as
# calamine skips it. Each match holds exactly one value marker, so when the matches are as many
# as the markers (_count_values) every value lies in a cell whose address is known; otherwise the
# cells are written another way (attributes in another order, no address) and _check_any_cells
# reads every cell and row.
_CELL = (
    rb'<%sc r="\$?([A-Z]{1,3})\$?(\d{1,7})"[^<>]*(?<!/)>\s*'
    rb"(?:<%sf\b[^<>]*(?:/>|>[^<]*</%sf>)\s*)?<%s(?:v[\s/>]|is)"
)
# A row or a cell opening (self-closing when its attributes end with /), a cell's end, a value.
_ANY_TOKEN = re.compile(
    rb"<(?:\w+:)?(row|c)\b([^<>]{0,65536})>|</(?:\w+:)?c>|<(?:\w+:)?(?:v[\s/>]|is)"
)
_ROW_NUMBER = re.compile(rb'\br="(\d{1,7})"')
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
    counting at the limit. A file that is not a zip passes here (the reader says what it is); a
    sheet that cannot be unpacked is refused as damaged."""
    archive = _archive(data_or_archive)
    if archive is None:
        return
    names = xlsx_sheet_names(archive)
    for info in archive.infolist():
        part = info.filename.lower()
        if part == "xl/sharedstrings.xml":
            with _damage_said(filename):
                for _ in _stream(archive, info, max_xml_bytes, filename, "共享文本"):
                    pass
            continue
        if not (part.startswith("xl/worksheets/") and part.endswith(".xml")):
            continue
        sheet = names.get(part) or info.filename.rsplit("/", 1)[-1].removesuffix(".xml")
        with _damage_said(filename, sheet):
            _check_xlsx_sheet(archive, info, filename, sheet, max_cells, max_area, max_xml_bytes)


def damaged(filename: str, sheet: str | None = None) -> ValidationError:
    where = f"的工作表“{sheet}”" if sheet else ""
    return ValidationError(
        f"文件“{filename}”{where}已损坏（其中的数据无法解压），无法读取。"
        "请用 Excel 或 WPS 打开确认，另存为 .xlsx 后重新上传。",
        "file",
    )


@contextlib.contextmanager
def _damage_said(filename: str, sheet: str | None = None):
    """A member that cannot be unpacked (zipfile's BadZipFile on a wrong CRC, zlib's error on
    overwritten bytes, an unknown compression method) is refused in our words."""
    try:
        yield
    except ValidationError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError):
        raise damaged(filename, sheet) from None


def _check_xlsx_sheet(archive, info, filename, sheet, max_cells, max_area, max_xml_bytes):
    """Two passes over the streamed XML. The first counts values (<v>, <is>) with bytes.count and
    stops as soon as the count passes the limit, so a filled-cell bomb costs the limit's worth of
    unpacking and counting, not the file's. The second, for sheets within the limit, takes the
    extent of the cells that hold something (one regex over each chunk; distinct rows and columns
    converted once each)."""
    chunks = _stream(archive, info, max_xml_bytes, filename, sheet)
    prefix, values = _count_values(chunks, filename, sheet, max_cells)
    if not values:
        return
    chunks = _stream(archive, info, max_xml_bytes, filename, sheet)
    cells = _check_extent(chunks, prefix, filename, sheet, max_cells, max_area)
    if values > cells:  # some cells are written another way: look at every cell
        _check_any_cells(archive, info, filename, sheet, max_cells, max_area, max_xml_bytes)


def _value_markers(head: bytes) -> tuple[bytes, list[bytes]]:
    root = _ROOT.search(head)
    prefix = (root.group(1) or b"") if root else b""
    return prefix, [b"<%s%s" % (prefix, m) for m in (b"v>", b"v ", b"v/", b"is")]


def _count_values(chunks, filename, sheet, max_cells) -> tuple[bytes, int]:
    """(the document's namespace prefix, b"" or b"x:", how many values it holds); refuses once
    the count passes `max_cells`."""
    prefix, markers = b"", None
    values, tail = 0, b""
    for chunk in chunks:
        buffer = tail + chunk
        if markers is None:
            if _ROOT.search(buffer) is None and len(buffer) < 65536:
                tail = buffer  # the root element is not there yet
                continue
            prefix, markers = _value_markers(buffer)
        # Markers that start before `cut` are counted now, the others with the next chunk.
        cut = len(buffer) - max(map(len, markers)) + 1
        if cut <= 0:
            tail = buffer
            continue
        values += sum(buffer.count(m, 0, cut + len(m) - 1) for m in markers)
        if values > max_cells:  # counted at C speed: a filled-cell bomb stops here
            raise too_many_cells(filename, sheet, values, max_cells)
        tail = buffer[cut:]
    if markers is None:  # the whole sheet was shorter than 64 KB and had no root we know
        prefix, markers = _value_markers(tail)
    values += sum(tail.count(m) for m in markers)
    if values > max_cells:
        raise too_many_cells(filename, sheet, values, max_cells)
    return prefix, values


# A tag longer than this is not written by any spreadsheet program: a cell whose opening tag (or
# the space before its value) runs past it is refused rather than carried from chunk to chunk.
_LONGEST_TAG = 65536


def _check_extent(chunks, prefix: bytes, filename, sheet, max_cells, max_area) -> int:
    """The filled cells written <c r="B7" ...><v>: refused past `max_cells` or `max_area`; returns
    how many. Each chunk is cut at its last <c r=" so no cell is split between two chunks (a
    cell's match holds no "<" before its value's, so none crosses the cut)."""
    escaped = re.escape(prefix)
    pattern = re.compile(_CELL % ((escaped,) * 4))
    marker = b'<%sc r="' % prefix
    cells = last_row = last_column = 0
    seen_columns: set[bytes] = set()  # at most 16,384; rows are taken per chunk, not kept
    tail = b""
    for chunk in itertools.chain(chunks, [None]):
        buffer = tail + (chunk or b"")
        cut = buffer.rfind(marker) if chunk is not None else len(buffer)
        if cut < 0:  # no cell starts here; keep what may be the start of one
            cut = max(0, len(buffer) - len(marker) + 1)
        found = pattern.findall(buffer, 0, cut)
        tail = buffer[cut:]
        if len(tail) > _LONGEST_TAG:  # the cell at the cut is whole by now, or malformed
            whole = pattern.match(tail)
            if whole is not None:
                found.append(whole.groups())
            else:
                close = tail.find(b">")
                if close < 0 or (tail[close - 1 : close] != b"/" and not tail[close + 1 :].strip()):
                    raise _malformed(filename, sheet)
            tail = tail[-len(marker) + 1 :]
        if not found:
            continue
        cells += len(found)
        if cells > max_cells:
            raise too_many_cells(filename, sheet, cells, max_cells)
        columns, rows = zip(*found, strict=True)
        new_columns = set(columns) - seen_columns
        if new_columns:
            seen_columns |= new_columns
            last_column = max(last_column, max(column_number(c.decode()) for c in new_columns))
        last_row = max(last_row, max(map(int, set(rows))))
        check_area(filename, sheet, last_row, last_column, max_area)
    return cells


def _malformed(filename: str, sheet: str) -> ValidationError:
    return ValidationError(
        f"文件“{filename}”的工作表“{sheet}”格式异常（有内容不在可识别的单元格中，或单元格标记过长），"
        "不像是 Excel 或 WPS 保存的文件，无法读取。请用 Excel 或 WPS 打开后另存为 .xlsx 再上传。",
        "file",
    )


def _check_any_cells(archive, info, filename, sheet, max_cells, max_area, max_xml_bytes):
    """Every row and cell, as calamine places them: a cell at its r="B7", or without one in its
    row (the row's r="7", else the row after the last) after the cell before it. A value outside a
    cell we could read (an opening tag past 64 KB, say) is refused: its place is unknown."""
    state = {"row": 0, "column": 0, "open": False, "pending": None}
    counts = [0, 0, 0]  # filled cells, last row, last column

    def visit(match):
        kind, attrs = match.group(1), match.group(2)
        if kind == b"row":
            number = _ROW_NUMBER.search(attrs)
            state.update(row=int(number.group(1)) if number else state["row"] + 1, column=0)
        elif kind == b"c":
            ref = _REF.search(attrs)
            if ref is not None:
                row, column = int(ref.group(2)), column_number(ref.group(1).decode())
            else:
                row, column = max(state["row"], 1), state["column"] + 1
            state["column"] = column
            closed = attrs.endswith(b"/")
            state.update(open=not closed, pending=None if closed else (row, column))
        elif match.group(0).startswith(b"</"):
            state.update(open=False, pending=None)
        elif state["pending"] is not None:
            row, column = state["pending"]
            state["pending"] = None
            counts[0] += 1
            if counts[0] > max_cells:
                raise too_many_cells(filename, sheet, counts[0], max_cells)
            if row > counts[1] or column > counts[2]:
                counts[1], counts[2] = max(row, counts[1]), max(column, counts[2])
                check_area(filename, sheet, counts[1], counts[2], max_area)
        elif not state["open"]:
            raise _malformed(filename, sheet)

    chunks = _stream(archive, info, max_xml_bytes, filename, sheet)
    _scan(chunks, _ANY_TOKEN, visit, overlap=_LONGEST_TAG + 1024)


def _archive(data_or_archive) -> zipfile.ZipFile | None:
    if isinstance(data_or_archive, zipfile.ZipFile):
        return data_or_archive
    import io

    try:
        return zipfile.ZipFile(io.BytesIO(data_or_archive))
    except Exception:  # noqa: BLE001 - BadZipFile, UnicodeDecodeError…: the reader says what it is
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

    with _damage_said(filename):
        chunks = _stream(archive, info, max_xml_bytes, filename, "content.xml")
        _scan(chunks, _ODS_TAG, visit, overlap=_LONGEST_TAG + 1024)  # tags to 64 KB at the seams
