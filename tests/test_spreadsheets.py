"""The one reader (survey.sheets, issue 27 items 1 and 3): every format and encoding offices
produce, files written elsewhere (pyxform's .xls forms, xlwt, odfpy through pandas), header rows
below titles, merged and hidden cells, dates, bounds by content, and refusals in our words."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import zipfile

import pandas as pd
import pytest
import xlwt
from openpyxl import Workbook

from survey import spreadsheets as sheets
from survey.errors import ValidationError
from tests.helpers import ROOT, rewrite_sheet

pytestmark = pytest.mark.store_independent

REAL = ROOT / "tests" / "forms" / "real"
TITLE = "镇江市2026年优化营商环境重点任务清单"
REQUIRED = ("序号", "重点任务", ("牵头单位", "责任单位"), "完成时限")
# Library text that must never reach a user (calamine, zipfile, csv, codecs).
ENGLISH = re.compile(
    r"Cannot|cannot|[Ee]rror|Invalid|invalid|detect|codec|Zip|zip file|Xml|line \d"
)


def xlsx_bytes(build) -> bytes:
    workbook = Workbook()
    build(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def published_plan(workbook):
    """The published shape: a merged title row, a note, the header, a merged lead department."""
    sheet = workbook.active
    sheet.title = "任务清单"
    sheet["A1"] = TITLE
    sheet.merge_cells("A1:E1")
    sheet["A2"] = "（2026年3月印发）"
    sheet.append(["序号", "重点任务", "牵头单位\n", "完成时限", "指标"])
    sheet.append([1, "\u3000优化审批流程\u3000", "市发改委", dt.date(2026, 3, 31), 95.5])
    sheet.append([2, "推进一网通办", None, "2026年6月30日", None])
    sheet.merge_cells("C4:C5")
    helper = workbook.create_sheet("部门代码")
    helper.append(["序号", "重点任务", "牵头单位", "完成时限"])
    helper.sheet_state = "hidden"


@pytest.fixture(scope="module")
def plan_xlsx() -> bytes:
    return xlsx_bytes(published_plan)


def test_header_below_a_merged_title_row_with_merged_cells_and_trimmed_text(plan_xlsx):
    table = sheets.read_table(plan_xlsx, "清单.xlsx", REQUIRED)
    headers, rows = table
    assert headers == ["序号", "重点任务", "牵头单位", "完成时限", "指标"]
    assert (table.sheet, table.header_row, table.first_row) == ("任务清单", 3, 4)
    assert list(table.row_numbers) == [4, 5]
    assert rows[0] == ["1", "优化审批流程", "市发改委", dt.date(2026, 3, 31), 95.5]
    assert rows[1][2] == "市发改委"  # merged C4:C5 reads as its top-left value
    assert sheets.parse_date(rows[1][3]) == dt.date(2026, 6, 30)


def test_hidden_helper_sheet_is_ignored_unless_named(plan_xlsx):
    book = sheets.read_workbook(plan_xlsx, "清单.xlsx")
    assert [(s.name, s.visible) for s in book] == [("任务清单", True), ("部门代码", False)]
    assert sheets.read_table(plan_xlsx, "清单.xlsx").sheet == "任务清单"
    named = sheets.read_table(plan_xlsx, "清单.xlsx", REQUIRED, sheet="部门代码")
    assert (named.sheet, named.header_row, named.rows) == ("部门代码", 1, [])


def test_missing_columns_say_which_and_where_we_looked(plan_xlsx):
    with pytest.raises(ValidationError) as caught:
        sheets.read_table(plan_xlsx, "清单.xlsx", (*REQUIRED, "配合单位"))
    message = str(caught.value)
    assert "工作表“任务清单”第 3 行" in message and "缺少 配合单位 列" in message
    assert "前 5 行" in message


def test_real_xls_forms_written_elsewhere():
    """pyxform's example forms (BSD, tests/forms/real/pyxform): BIFF8 .xls saved by Excel."""
    data = (REAL / "pyxform" / "calculate.xls").read_bytes()
    book = sheets.read_workbook(data, "calculate.xls")
    assert [s.name for s in book] == ["survey", "settings"]
    table = sheets.read_table(data, "calculate.xls", ("type", "name"))
    assert table.headers[:3] == ["type", "name", "label"] and table.sheet == "survey"
    # The same bytes named .xlsx (or anything) are read by their content.
    assert sheets.read_table(data, "calculate.xlsx", ("type",)).headers == table.headers


@pytest.fixture(scope="module")
def xlwt_xls() -> bytes:
    """An .xls written by xlwt: GBK-era text, a merged title, a date cell, a hidden sheet."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("名录")
    sheet.write_merge(0, 0, 0, 2, "镇江市企业名录（2026）")
    for column, header in enumerate(["企业名称", "统一社会信用代码", "成立日期"]):
        sheet.write(1, column, header)
    sheet.write(2, 0, "江苏恒顺醋业股份有限公司\u3000")
    sheet.write(2, 1, "91321100142000000X")
    sheet.write(2, 2, dt.date(2001, 2, 6), xlwt.easyxf(num_format_str="YYYY-MM-DD"))
    sheet.write(3, 0, "丹阳眼镜有限公司")
    sheet.write(3, 1, 913211001)
    hidden = book.add_sheet("说明")
    hidden.write(0, 0, "企业名称")
    hidden.visibility = 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xls_with_merged_title_gbk_text_and_a_date(xlwt_xls):
    table = sheets.read_table(xlwt_xls, "名录.xls", ["企业名称"])
    assert (table.sheet, table.header_row) == ("名录", 2)
    assert table.rows[0] == ["江苏恒顺醋业股份有限公司", "91321100142000000X", dt.date(2001, 2, 6)]
    assert table.rows[1][1] == "913211001"  # a whole number reads as its digits
    assert sheets.read_workbook(xlwt_xls, "名录.xls")[0].rows[0] == ["镇江市企业名录（2026）"] * 3


def test_ods_written_by_odfpy():
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="odf") as writer:
        pd.DataFrame([["说明：请勿修改表头", None]]).to_excel(
            writer, sheet_name="清单", header=False, index=False
        )
        pd.DataFrame({"重点任务": ["任务一"], "完成时限": ["2026.3.31"]}).to_excel(
            writer, sheet_name="清单", index=False, startrow=2
        )
    table = sheets.read_table(buffer.getvalue(), "清单.ods", ["重点任务"])
    assert (table.headers, table.rows) == (["重点任务", "完成时限"], [["任务一", "2026.3.31"]])
    book = sheets.read_workbook(buffer.getvalue(), "清单.ods")
    assert table.header_row > 1 and book[0].rows[table.header_row - 1][0] == "重点任务"
    assert book[0].rows[0] == ["说明：请勿修改表头", None]
    assert sheets.parse_date(table.rows[0][1]) == dt.date(2026, 3, 31)


TEXT = "企业名称{d}统一社会信用代码{d}备注\n甲公司{d}913211{d}“含逗号, 的备注”\n"


@pytest.mark.parametrize(
    ("encoding", "delimiter", "name"),
    [
        ("utf-8", ",", "a.csv"),
        ("utf-8-sig", ",", "a.csv"),
        ("gb18030", ",", "a.csv"),
        ("gbk", ";", "a.csv"),
        ("utf-16", "\t", "a.txt"),  # Excel's "Unicode text": UTF-16 LE with BOM, tabs
        ("utf-16", "\t", "a.csv"),  # the same saved under .csv
        ("utf-8", "\t", "a.txt"),
        ("utf-16-le", "\t", "a.txt"),  # no BOM: told by the zero bytes
    ],
)
def test_text_tables_in_every_encoding_and_delimiter(encoding, delimiter, name):
    text = TEXT.format(d=delimiter).replace("“含逗号, 的备注”", '"含逗号, 的备注"')
    headers, rows = sheets.read_table(text.encode(encoding), name, ["企业名称"])
    assert headers == ["企业名称", "统一社会信用代码", "备注"]
    assert rows == [["甲公司", "913211", "含逗号, 的备注"]]


def test_xlsx_by_content_whatever_the_extension(plan_xlsx):
    assert sheets.read_table(plan_xlsx, "清单.xls", REQUIRED).header_row == 3
    assert sheets.read_table(plan_xlsx, "清单.csv", REQUIRED).header_row == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2026, 3, 31), dt.date(2026, 3, 31)),
        (dt.datetime(2026, 3, 31, 9, 30), dt.date(2026, 3, 31)),
        (46112.0, dt.date(2026, 3, 31)),
        ("46112", dt.date(2026, 3, 31)),
        ("2026年3月31日", dt.date(2026, 3, 31)),
        ("２０２６年３月３１日", dt.date(2026, 3, 31)),
        ("2026.3.31", dt.date(2026, 3, 31)),
        ("2026/3/31", dt.date(2026, 3, 31)),
        ("2026-03-31", dt.date(2026, 3, 31)),
        ("2026-03-31 00:00:00", dt.date(2026, 3, 31)),
        ("20260331", dt.date(2026, 3, 31)),
        ("3月底", None),
        ("2026", None),
        ("2026年2月30日", None),
        ("长期坚持", None),
        (None, None),
        (True, None),
    ],
)
def test_parse_date(value, expected):
    assert sheets.parse_date(value) == expected


# ---- bounds by content -------------------------------------------------------------------------


def formatted_to_the_edge(xml: bytes) -> bytes:
    """What a sheet formatted to XFD1048576 holds: the declared dimension, column formats on every
    column, a full row of styled empty cells and the last cell styled."""
    xml = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', xml)
    xml = xml.replace(
        b"<sheetData>", b'<cols><col min="1" max="16384" width="9" style="0"/></cols><sheetData>'
    )
    letters = [sheets.column_letters(i) for i in range(1, 16385)]
    styled = b"".join(b'<c r="%s40" s="0"/>' % c.encode() for c in letters)
    tail = b'<row r="40">' + styled + b'</row><row r="1048576"><c r="XFD1048576" s="0"/></row>'
    return xml.replace(b"</sheetData>", tail + b"</sheetData>")


def test_a_sheet_formatted_to_the_edge_is_read():
    """Its cost (0.02 s against pandas' 2 s) is measured by `python -m bench files`, not here: a
    timed assertion fails on a busy CI machine."""

    def thirty_rows(workbook):
        workbook.active.append(["企业名称", "统一社会信用代码"])
        for i in range(30):
            workbook.active.append([f"企业{i}", f"91321100{i:010d}"])

    data = rewrite_sheet(xlsx_bytes(thirty_rows), formatted_to_the_edge)
    table = sheets.read_table(data, "名录.xlsx", ["企业名称"])
    assert len(table.rows) == 30 and len(table.headers) == 2


def filled_sheet(rows: int, columns: int) -> bytes:
    """An .xlsx whose sheet is written straight into the zip (no workbook object in memory)."""
    base = xlsx_bytes(lambda w: None)
    source, out = zipfile.ZipFile(io.BytesIO(base)), io.BytesIO()
    letters = [sheets.column_letters(i) for i in range(1, columns + 1)]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info, source.read(info))
                continue
            with target.open(info.filename, "w") as sheet:
                sheet.write(
                    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    b"<sheetData>"
                )
                for r in range(1, rows + 1):
                    cells = "".join(f'<c r="{c}{r}"><v>{r}</v></c>' for c in letters)
                    sheet.write(f'<row r="{r}">{cells}</row>'.encode())
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def test_too_many_filled_cells_are_refused_before_reading():
    """50,000 filled cells against a limit of 20,000 (the bench runs the real 5 million)."""
    data = filled_sheet(5_000, 10)
    with pytest.raises(sheets.SpreadsheetTooLargeError) as caught:
        sheets.read_table(data, "大表.xlsx", limits={"max_cells": 20_000})
    assert "文件“大表.xlsx”的工作表“Sheet”填写的单元格超过 20,000 个" in str(caught.value)
    assert len(sheets.read_table(data, "大表.xlsx").rows) == 4_999


def test_no_cell_is_lost_between_chunks(monkeypatch):
    """The sheet XML is read in chunks (4 KB here, 1 MB in use): every cell holding a value is
    found by the fast pass, so the slower any-attribute-order pass never runs for a sheet written
    as Excel, WPS or openpyxl write it (a cell split between chunks used to be lost, and the
    50,000-row registry took the slow pass)."""
    from survey.sheets import bounds

    def slow_pass(*args):
        raise AssertionError("the any-order pass ran")

    monkeypatch.setattr(bounds, "_CHUNK", 4096)
    monkeypatch.setattr(bounds, "_check_any_cells", slow_pass)
    sheets.check_xlsx(filled_sheet(300, 7), "整齐.xlsx")
    with pytest.raises(sheets.SpreadsheetTooLargeError, match="填写的单元格超过 2,000 个"):
        sheets.check_xlsx(filled_sheet(300, 7), "整齐.xlsx", max_cells=2_000)
    edge = rewrite_sheet(
        filled_sheet(300, 7),
        lambda xml: xml.replace(
            b"</sheetData>", b'<row r="9000"><c r="ZZ9000"><v>1</v></c></row></sheetData>'
        ),
    )
    with pytest.raises(sheets.SpreadsheetTooLargeError, match=r"ZZ9000（9,000 行 × 702 列）"):
        sheets.check_xlsx(edge, "远处.xlsx")


FAR = b'<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576">%s</row>'
JUNK = b'j="' + b"x" * 600 + b'"'


@pytest.mark.parametrize(
    ("far_cell", "expected"),
    [
        (b'<c t="n" r="XFD1048576"><v>1</v></c>', "XFD1048576"),  # attributes in another order
        (b'<c t="n" %s r="XFD1048576"><v>1</v></c>' % JUNK, "XFD1048576"),  # 600 bytes before r
        (b'<c t="inlineStr" %s r="XFD1048576"><is/></c>' % JUNK, "XFD1048576"),  # an empty string
        (b'<c\nr="XFD1048576"><v>1</v></c>', "XFD1048576"),  # a newline for a space
        (b"<c/><c><v>1</v></c>", "B1048576"),  # no address: the row's, after the cell before
        (
            b'<c j="%s" r="XFD1048576"><v>1</v></c>' % (b"x" * 70_000),
            "格式异常",
        ),  # a tag past 64 KB
    ],
)
def test_a_cell_far_away_is_found_however_it_is_written(far_cell, expected):
    """Calamine allocates the rectangle up to its farthest cell: a 1.6 KB file with one far cell
    written in an unusual way asked it for 550 GB, and the process died (“memory allocation of
    549755813888 bytes failed”). The bound reads every cell and row in such a file. Checked with
    check_xlsx alone, so a regression fails here rather than in calamine."""
    far = rewrite_sheet(
        xlsx_bytes(lambda w: w.active.append(["a"])),
        lambda xml: re.sub(
            rb"<sheetData>.*</sheetData>|<sheetData/>",
            lambda m: b"<sheetData>" + FAR % far_cell + b"</sheetData>",
            xml,
            flags=re.S,
        ),
    )
    with pytest.raises(ValidationError, match=expected):
        sheets.check_xlsx(far, "远处.xlsx", max_area=2_000_000)


def test_sheet_xml_past_the_unpacked_limit_is_refused():
    data = filled_sheet(200, 10)
    with pytest.raises(sheets.SpreadsheetTooLargeError, match="解压后超过 0 MB"):
        sheets.read_table(data, "炸弹.xlsx", limits={"max_xml_bytes": 10_000})


def test_ods_repeated_cells_count_by_their_repeats():
    content = (
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
        '<office:spreadsheet><table:table table:name="表1">'
        '<table:table-row table:number-rows-repeated="1000">'
        '<table:table-cell office:value-type="float" office:value="1" '
        'table:number-columns-repeated="5000"><text:p>1</text:p></table:table-cell>'
        "</table:table-row></table:table></office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as ods:
        ods.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        ods.writestr("content.xml", content)
    with pytest.raises(sheets.SpreadsheetTooLargeError, match="工作表“表1”填写的单元格超过"):
        sheets.read_table(buffer.getvalue(), "重复.ods")


# ---- refusals in our words ---------------------------------------------------------------------


def encrypted() -> bytes:
    """The head of an OOXML file saved with a password: a compound file holding EncryptionInfo."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "EncryptionInfo".encode("utf-16-le")


def damaged_xlsx(plan: bytes) -> bytes:
    return plan[: len(plan) // 2]


@pytest.mark.parametrize(
    ("make", "name", "expected"),
    [
        (lambda p: b"", "空.xlsx", "是空的"),
        (lambda p: b"\x89PNG\r\n\x1a\n\0\0\0", "照片.xlsx", "内容不是表格文件"),
        (lambda p: encrypted(), "加密.xlsx", "设置了打开密码"),
        (damaged_xlsx, "损坏.xlsx", "不完整（只有"),
        (lambda p: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "旧.et", "WPS 表格格式"),
        (lambda p: b"PK\x03\x04" + p[4:2000], "半截.xlsx", "文件的结尾缺失"),
        (lambda p: scribbled_sheet(p), "涂改.xlsx", "工作表“任务清单”已损坏（其中的数据无法解压）"),
        (lambda p: _zip({"Index/Document.iwa": b"x"}), "表.numbers", "Apple Numbers"),
        (lambda p: _zip({"word/document.xml": b"x"}), "表.xlsx", "内容不是表格文件"),
        (lambda p: b"<html><body><table><tr><td>1</td></tr></table>", "导出.xls", "网页"),
        (lambda p: bytes(range(1, 40)) * 20, "乱码.csv", "不是表格文件"),
        (lambda p: "名称,代码\n".encode() + b"\xff\x30\n", "编码.csv", "编码无法识别"),
        (lambda p: b"\x00\x01\x02\x03" * 100, "二进制.csv", "不是表格文件"),
        (lambda p: b"\n\n", "空行.csv", "是空的"),
        (lambda p: b'a,"b\n' + b"x" * 10, "引号.csv", None),
        (lambda p: p, "清单.xlsx", "没有名为“总表”的工作表（有：“任务清单”、“部门代码”）"),
    ],
)
def test_every_refusal_is_in_our_words(plan_xlsx, make, name, expected):
    data = make(plan_xlsx)
    sheet = "总表" if expected and "总表" in expected else None
    try:
        sheets.read_table(data, name, sheet=sheet)
    except ValidationError as exc:
        message = str(exc)
        assert f"“{name}”" in message and (expected is None or expected in message), message
        assert not ENGLISH.search(message), message
    else:
        assert expected is None, f"{name} was read"


def scribbled_sheet(data: bytes) -> bytes:
    """The first sheet's compressed bytes overwritten in place: the zip's directory is intact."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    damaged = bytearray(data)
    damaged[start + 2 : start + info.compress_size - 2] = b"\xff" * (info.compress_size - 4)
    return bytes(damaged)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# ---- damaged files: every one refused in our words ---------------------------------------------

# What must never reach a user from a damaged file: the text of zipfile, zlib, codecs, calamine
# (a Rust panic says "panicked" and "index out of range"), or a traceback.
LIBRARY_TEXT = re.compile(
    r"Error|Exception|Traceback|zip|calamine|panick|codec|decode|index|range|slice|CRC|stream",
    re.IGNORECASE,
)


def _damage(data: bytes, how: str, rng: random.Random) -> bytes:
    """cut: the file ends early; flip: 1 to 64 bytes changed at random places; zero: one zip
    member's compressed bytes (or, in any other file, 512 bytes: an .xls sector) zeroed."""
    if how == "cut":
        return data[: rng.randrange(1, len(data))]
    damaged = bytearray(data)
    if how == "flip":
        for _ in range(rng.choice((1, 8, 64))):
            damaged[rng.randrange(len(damaged))] ^= rng.randrange(1, 256)
        return bytes(damaged)
    try:
        info = rng.choice(zipfile.ZipFile(io.BytesIO(data)).infolist())
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        size = info.compress_size
    except zipfile.BadZipFile:
        start, size = rng.randrange(len(data)), 512
    damaged[start : start + size] = bytes(len(damaged[start : start + size]))
    return bytes(damaged)


@pytest.fixture(scope="module")
def sources(plan_xlsx, xlwt_xls) -> list[tuple[str, bytes]]:
    """Every real form (.xls and .xlsx written by Excel and others), and what the tests write:
    the published plan (.xlsx), an .xls by xlwt, an .ods by odfpy, a GBK and a UTF-8 .csv."""
    files = [(p.name, p.read_bytes()) for p in sorted(REAL.rglob("*.xls*"))]
    ods = io.BytesIO()
    with pd.ExcelWriter(ods, engine="odf") as writer:
        pd.DataFrame({"重点任务": ["任务一", "任务二"], "完成时限": ["2026.3.31", None]}).to_excel(
            writer, sheet_name="清单", index=False
        )
    text = TEXT.format(d=",") * 20
    return [
        *files,
        ("清单.xlsx", plan_xlsx),
        ("名录.xls", xlwt_xls),
        ("清单.ods", ods.getvalue()),
        ("名录-gbk.csv", text.encode("gb18030")),
        ("名录.csv", text.encode("utf-8-sig")),
    ]


def test_damaged_files_are_refused_in_our_words(sources):
    """A fuzz: 210 damaged copies of real files (seeded, so the same every run). Each is read, or
    refused with a ValidationError in Chinese naming the file; nothing else escapes (zipfile's
    BadZipFile, zlib's error, a UnicodeDecodeError on a mangled member name and calamine's Rust
    panic, a BaseException, all did before the reader's boundary caught them)."""
    rng = random.Random(27)
    outcomes: dict[str, int] = {}
    wrong = []
    for case in range(210):
        name, data = rng.choice(sources)
        how = ("cut", "flip", "zero")[case % 3]
        damaged = _damage(data, how, rng)
        try:
            sheets.read_table(damaged, name)
            outcome = "read"
        except ValidationError as exc:
            message = str(exc)
            said = re.sub(r"“[^”]*”", "“”", message)  # the file's own name may say anything
            outcome = "refused"
            chinese = re.search(r"[\u4e00-\u9fff]", message)
            if f"“{name}”" not in message or not chinese or LIBRARY_TEXT.search(said):
                wrong.append((case, how, name, message))
        except BaseException as exc:  # noqa: BLE001 - what the fuzz looks for, a panic included
            outcome = type(exc).__name__
            wrong.append((case, how, name, f"{type(exc).__name__}: {exc}"))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert not wrong, wrong[:5]
    assert outcomes.get("refused", 0) > 100, outcomes  # the damage mostly hits what is read


def test_the_cli_refuses_a_damaged_company_file_in_one_line(demo_db, tmp_path, capsys):
    """survey/cli.py import-companies, the path a cut-short upload takes in the app too
    (ui.uploads.table_upload and survey.companies.transfer.read_file call read_table)."""
    from survey.cli import main

    registry = xlsx_bytes(lambda w: w.active.append(["企业名称", "统一社会信用代码"]))
    path = tmp_path / "企业名录.xlsx"
    path.write_bytes(scribbled_sheet(registry))
    assert main(["import-companies", str(path), "--db", str(demo_db)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：文件“企业名录.xlsx”"), lines
    assert "已损坏" in lines[0] and not LIBRARY_TEXT.search(lines[0].replace(".xlsx", "")), lines
