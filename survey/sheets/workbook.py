"""Every sheet of a workbook or a text table, as rows of cells (see cells.cell), whatever the file's
format: .xlsx .xlsm .xls .xlsb .ods through calamine, .csv .txt in UTF-8 (with or without BOM),
GB18030/GBK or UTF-16 (Excel's "Unicode text"), comma, tab or semicolon separated. The format is
read from the content, so an .xls that is really an .xlsx, or a .csv that is really UTF-16 tab
text, is read as what it is. Every refusal is a ValidationError in Chinese naming the file: a
damaged file too, whatever the library reading it raised (zipfile's BadZipFile, zlib's error, a
UnicodeDecodeError on a mangled member name, calamine's Rust panic) — read_workbook is the boundary
where they become our words."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field

from python_calamine import CalamineWorkbook, PasswordError

import survey.sheets.bounds as bounds
from survey.errors import ValidationError
from survey.sheets.cells import cell

SPREADSHEET_TYPES = ("xlsx", "xlsm", "xls", "xlsb", "ods")
TEXT_TYPES = ("csv", "txt")
TYPES = SPREADSHEET_TYPES + TEXT_TYPES  # what the uploaders offer
SUPPORTED = "、".join("." + t for t in TYPES)

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END_OF_ZIP = b"PK\x05\x06"  # a zip's directory ends with this record, in its last 64 KB
# Let through as they are: the process being stopped, not the file being damaged. Everything else
# a reader raises on a damaged file is caught, including BaseException subclasses such as pyo3's
# PanicException (calamine's Rust panic), which `except Exception` misses.
_NOT_THE_FILE = (KeyboardInterrupt, SystemExit, GeneratorExit)
_SAVE_AS = "请用 Excel 或 WPS 打开后“另存为” .xlsx 再上传。"
_OTHER_FORMATS = {
    "et": "WPS 表格格式（.et）",
    "ett": "WPS 表格模板（.ett）",
    "numbers": "Apple Numbers 格式（.numbers）",
    "xltx": "Excel 模板（.xltx）",
    "xlt": "Excel 模板（.xlt）",
    "wps": "WPS 文字文档",
    "doc": "Word 文档",
    "docx": "Word 文档",
    "pdf": "PDF 文件",
}


@dataclass
class Sheet:
    """One sheet: rows of cells from row 1 and column A (row i of the file is rows[i - 1]),
    merged ranges filled with their top-left value, trailing empty rows and columns dropped;
    rows are padded to the same width."""

    name: str
    visible: bool = True
    rows: list[list] = field(default_factory=list)


def refuse(message: str) -> ValidationError:
    return ValidationError(message, "file")


def extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def sniff(data: bytes) -> str:
    """What the content is: 'xlsx', 'xlsb', 'ods', 'zip' (another zip), 'xls', 'encrypted'
    (an OOXML workbook saved with a password), 'ole' (another compound file), 'text', 'binary',
    'damaged' (a zip whose directory cannot be read, a compound file cut short). Never raises."""
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except Exception:  # noqa: BLE001 - BadZipFile, UnicodeDecodeError, NotImplementedError…
            return "damaged"
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "xl/workbook.bin" in names:
            return "xlsb"
        if "content.xml" in names and "mimetype" in names:
            return "ods"
        return "zip"
    if data.startswith(_OLE):
        head = data[:65536]
        if "EncryptionInfo".encode("utf-16-le") in head or b"E\x00n\x00c\x00r\x00y" in data:
            return "encrypted"
        if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in head:
            return "xls"
        return "damaged" if _cut_short(data) else "ole"
    if data.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return "text"
    sample = data[:4096]
    if b"\x00" in sample:
        return "text" if _utf16_without_bom(sample) else "binary"
    controls = sum(1 for b in sample if b < 0x20 and b not in b"\t\r\n\f")
    return "binary" if controls > len(sample) * 0.05 else "text"


def _plain(ch: str) -> bool:
    """ASCII text, CJK or full-width forms: what a Chinese table's text is made of."""
    if ch.isascii():
        return ch.isprintable() or ch in "\t\r\n"
    return "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"


def _utf16_without_bom(sample: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when the sample decodes as plain text in that order."""
    for encoding in ("utf-16-le", "utf-16-be"):
        text = sample[: len(sample) // 2 * 2].decode(encoding, "replace")
        plain = sum(1 for ch in text if _plain(ch))
        if text and plain >= len(text) * 0.95:
            return encoding
    return None


def read_workbook(data: bytes, filename: str, *, limits: dict | None = None) -> list[Sheet]:
    """Every sheet of the file, hidden ones included (Sheet.visible says which). `limits` lowers
    bounds.MAX_CELLS / MAX_AREA / MAX_XML_BYTES (max_cells=..., for tests). Raises only
    ValidationError (a file it cannot read, in Chinese naming the file and what to do)."""
    try:
        return _read_workbook(data, filename, limits or {})
    except (ValidationError, *_NOT_THE_FILE):
        raise
    except MemoryError:
        raise refuse(
            f"文件“{filename}”内容太多，服务器内存不足，无法读取。请删除不需要导入的行和列，"
            "或把数据拆成几个文件后再上传。"
        ) from None
    except BaseException:  # noqa: BLE001 - a damaged file: the library's text is not for users
        raise refuse(_damaged(filename, data)) from None


def _read_workbook(data: bytes, filename: str, limits: dict) -> list[Sheet]:
    kind, ext = sniff(data), extension(filename)
    if not data:
        raise refuse(f"文件“{filename}”是空的（0 字节）。")
    if kind == "text":
        if ext in _OTHER_FORMATS:
            raise refuse(_not_a(filename, ext))
        if _looks_like_markup(data):  # a web page saved as .xls, as some systems export
            raise refuse(f"文件“{filename}”实际是网页（HTML/XML）格式，不是表格文件。{_SAVE_AS}")
        return [Sheet(_text_sheet_name(filename), True, read_text(data, filename, limits))]
    if kind == "encrypted":
        raise refuse(
            f"文件“{filename}”设置了打开密码，无法读取。请在 Excel 或 WPS 中打开，"
            "在“文件—信息—保护工作簿”（WPS：“文件—文档加密”）中取消密码后另存再上传。"
        )
    if kind == "damaged":
        raise refuse(_damaged(filename, data))
    if kind in ("zip", "ole", "binary"):
        raise refuse(_not_a(filename, ext))
    return _read_calamine(data, filename, kind, limits)


def _looks_like_markup(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = data[2:1024].decode("utf-16-le" if data[0] == 0xFF else "utf-16-be", "replace")
        head = head.lstrip().lower().encode()
    return head.startswith((b"<html", b"<!doctype", b"<?xml", b"<table", b"<meta"))


def _not_a(filename: str, ext: str) -> str:
    if ext in _OTHER_FORMATS:
        return f"文件“{filename}”是{_OTHER_FORMATS[ext]}，无法直接读取。{_SAVE_AS}"
    if ext in SPREADSHEET_TYPES:
        return (
            f"文件“{filename}”的扩展名是 .{ext}，但内容不是表格文件（可能改过扩展名，"
            f"或是网页、文本导出的文件）。{_SAVE_AS}"
        )
    return f"文件“{filename}”不是表格文件。支持 {SUPPORTED}；其他格式{_SAVE_AS}"


def _cut_short(data: bytes) -> bool:
    """A zip without the directory a zip ends with, or a compound file (.xls) whose directory or
    allocation table lies past its end: the file was cut short (an upload or download broken off)."""
    if data.startswith(b"PK\x03\x04"):
        return _END_OF_ZIP not in data[-(65536 + 22) :]
    if data.startswith(_OLE) and len(data) >= 512:
        shift = int.from_bytes(data[30:32], "little")
        if shift not in (9, 12):  # 512- or 4096-byte sectors; anything else is not one we know
            return False
        # the directory's first sector (offset 48) and the allocation table's (offsets 76..511)
        listed = [int.from_bytes(data[i : i + 4], "little") for i in (48, *range(76, 512, 4))]
        last = max((n for n in listed if n < 0xFFFFFFFA), default=0)
        # sector n spans (n + 1) to (n + 2) sector sizes; a whole file is whole sectors
        return (last + 2) << shift > len(data) and len(data) % (1 << shift) != 0
    return False


def _damaged(filename: str, data: bytes = b"") -> str:
    if _cut_short(data):
        return (  # what a file ends with is missing
            f"文件“{filename}”不完整（只有 {len(data) / 1024:,.0f} KB，文件的结尾缺失），"
            "可能没有上传完或下载时中断。请从原处重新下载或另存后再上传；"
            "若仍不行，请用 Excel 或 WPS 打开确认，另存为 .xlsx 后重新上传。"
        )
    return (
        f"文件“{filename}”已损坏或没有完整上传，无法读取。请用 Excel 或 WPS 打开确认，"
        "另存为 .xlsx 后重新上传。"
    )


def _text_sheet_name(filename: str) -> str:
    return filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] or filename


def _read_calamine(data: bytes, filename: str, kind: str, limits: dict) -> list[Sheet]:
    max_area = limits.get("max_area", bounds.MAX_AREA)
    if kind == "xlsx":
        bounds.check_xlsx(data, filename, **limits)
    elif kind == "ods":
        bounds.check_ods(data, filename, **limits)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except PasswordError:
        raise refuse(
            f"文件“{filename}”设置了密码，无法读取。请取消密码后另存为 .xlsx 再上传。"
        ) from None
    except _NOT_THE_FILE:
        raise
    except BaseException:  # noqa: BLE001 - calamine's text is English; a panic is a BaseException
        raise refuse(_damaged(filename, data)) from None
    sheets = []
    for meta in workbook.sheets_metadata:
        if str(meta.typ).rsplit(".", 1)[-1] != "WorkSheet":
            continue  # chart and dialog sheets hold no cells
        visible = str(meta.visible).rsplit(".", 1)[-1] == "Visible"
        try:
            sheet = workbook.get_sheet_by_name(meta.name)
            if kind in ("xls", "xlsb"):  # compact records: the extent is known once read
                bounds.check_area(filename, meta.name, sheet.height, sheet.width, max_area)
            grid = sheet.to_python(skip_empty_area=False)
            merged = sheet.merged_cell_ranges or []
        except (ValidationError, *_NOT_THE_FILE):
            raise
        except PasswordError:
            raise refuse(f"文件“{filename}”设置了密码，无法读取。") from None
        except BaseException:  # noqa: BLE001 - see above
            raise refuse(
                f"文件“{filename}”的工作表“{meta.name}”已损坏，无法读取。"
                "请用 Excel 或 WPS 打开确认，另存为 .xlsx 后重新上传。"
            ) from None
        sheets.append(Sheet(meta.name, visible, tidy(grid, merged)))
    workbook.close()
    if not sheets:
        raise refuse(f"文件“{filename}”中没有工作表。")
    return sheets


def tidy(grid: list[list], merged=()) -> list[list]:
    """Cells cleaned, merged ranges filled from their top-left cell (clipped to the grid, so a
    range merged to the sheet's edge costs nothing), trailing empty rows and columns dropped."""
    rows = [[cell(v) for v in row] for row in grid]
    for (top, left), (bottom, right) in merged:
        if top >= len(rows) or left >= len(rows[top]):
            continue
        value = rows[top][left]
        for r in range(top, min(bottom, len(rows) - 1) + 1):
            row = rows[r]
            for c in range(left, min(right, len(row) - 1) + 1):
                row[c] = value
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    width = max(
        (max((i + 1 for i, v in enumerate(r) if v is not None), default=0) for r in rows), default=0
    )
    return [r[:width] + [None] * (width - len(r)) for r in rows]


# ---- text tables -------------------------------------------------------------------------------


def decode(data: bytes, filename: str) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM (Excel's "Unicode text"), else GB18030 (GBK's
    superset, what Excel and WPS save as "CSV" on a Chinese Windows)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    elif b"\x00" in data[:4096]:
        encodings = tuple(filter(None, [_utf16_without_bom(data[:4096])]))
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise refuse(
        f"文件“{filename}”的文字编码无法识别（支持 UTF-8、GBK/GB18030 和 UTF-16）。"
        "请用 Excel 或 WPS 打开后另存为 .xlsx，或“CSV UTF-8”再上传。"
    )


def delimiter(text: str) -> str:
    """Comma, tab or semicolon: the one that splits the first lines into the most columns, the
    same number on most lines."""
    lines = [line for line in text[:65536].splitlines()[:20] if line.strip()]
    best, best_score = ",", 0
    for candidate in (",", "\t", ";"):
        counts = [len(r) for r in csv.reader(lines, delimiter=candidate)]
        if not counts:
            continue
        common = max(set(counts), key=counts.count)
        score = common * counts.count(common) if common > 1 else 0
        if score > best_score:
            best, best_score = candidate, score
    return best


def read_text(data: bytes, filename: str, limits: dict | None = None) -> list[list]:
    limits = limits or {}
    max_cells = limits.get("max_cells", bounds.MAX_CELLS)
    max_area = limits.get("max_area", bounds.MAX_AREA)
    text = decode(data, filename)
    sheet = _text_sheet_name(filename)
    rows, cells, width = [], 0, 0
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text)):
            rows.append(row)
            cells += len(row)
            width = max(width, len(row))
            if cells > max_cells:
                raise bounds.too_many_cells(filename, sheet, cells, max_cells)
            if len(rows) * width > max_area:
                raise bounds.too_wide(filename, sheet, len(rows), width, max_area)
    except csv.Error:
        raise refuse(
            f"文件“{filename}”第 {len(rows) + 1} 行无法按表格读取（引号不成对或含有不可见字符）。"
            "请用 Excel 或 WPS 打开后另存为 .xlsx 再上传。"
        ) from None
    return tidy(rows)
