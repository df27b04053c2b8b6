"""A table inside a sheet: which sheet, which row holds the headers, and the data rows below it
with the file row number of each, so messages can say “第 5 行”."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from survey.sheets.cells import SPACES
from survey.sheets.workbook import Sheet, read_workbook, refuse

HEADER_ROWS = 10  # the header is looked for in this many rows from the top

Required = Sequence[str | Sequence[str]]  # a header, or alternative spellings of one header


@dataclass
class Table:
    """What read_table found. Unpacks as `headers, rows = table` (what callers did before)."""

    headers: list[str]
    rows: list[list]
    sheet: str = ""
    header_row: int = 1  # the file's row number of the header row (1-based)
    sheets: list[str] = field(default_factory=list)  # every sheet of the file, in order

    @property
    def first_row(self) -> int:
        """The file row number of rows[0]."""
        return self.header_row + 1

    @property
    def row_numbers(self) -> range:
        """The file row number of each of rows (blank rows inside the table are kept)."""
        return range(self.first_row, self.first_row + len(self.rows))

    def __iter__(self):
        return iter((self.headers, self.rows))


def normal(header) -> str:
    """A header as compared: no white space anywhere (cells often wrap "企业\n名称"), no
    required-field star (企业名称*), no case."""
    text = re.sub(rf"[\s{SPACES}]+", "", str(header)) if header is not None else ""
    return text.rstrip("*＊").lower()


def _alternatives(item) -> tuple[str, ...]:
    return (item,) if isinstance(item, str) else tuple(item)


def _match(row: list, required: Required) -> tuple[dict[int, str], list[str]]:
    """(column -> the required name it holds, the required items missing from the row)."""
    at = {normal(v): i for i, v in reversed(list(enumerate(row))) if v is not None}
    found, missing = {}, []
    for item in required:
        names = _alternatives(item)
        column = next((at[normal(n)] for n in names if normal(n) in at), None)
        if column is None:
            missing.append(names[0])
        else:
            found[column] = next(n for n in names if normal(n) == normal(row[column]))
    return found, missing


def find_header(sheet: Sheet, required: Required) -> tuple[int, dict[int, str]] | None:
    """(index of the header row, its matched columns) within the first HEADER_ROWS rows."""
    for index, row in enumerate(sheet.rows[:HEADER_ROWS]):
        if not any(v is not None for v in row):
            continue
        found, missing = _match(row, required)
        if not missing:
            return index, found
    return None


def read_table(
    data: bytes,
    filename: str,
    required: Required = (),
    sheet: str | None = None,
    *,
    limits: dict | None = None,
) -> Table:
    """The table of a file (any format read_workbook reads).

    The sheet: `sheet` when named (hidden or not), else the first visible sheet whose first ten
    rows hold every `required` column, else the first visible sheet. The header row: the first row
    within the first ten that holds every required column (an item may be a tuple of alternative
    names, e.g. ("企业名称", "单位名称")); with nothing required, the first non-blank row. Title
    rows, notes and blank rows above it are skipped. Required headers are returned as spelled in
    `required` (the alternative that matched), other headers as in the file."""
    book = read_workbook(data, filename, limits=limits)
    names = [s.name for s in book]
    chosen = _choose_sheet(book, filename, required, sheet)
    if not any(any(v is not None for v in row) for row in chosen.rows):
        raise refuse(_empty(filename, chosen, book))
    if required:
        located = find_header(chosen, required)
        if located is None:
            raise refuse(_missing(filename, chosen, required))
        index, found = located
    else:
        index = next(i for i, row in enumerate(chosen.rows) if any(v is not None for v in row))
        found = {}
    header = chosen.rows[index]
    headers = [found.get(i) or ("" if v is None else str(v)) for i, v in enumerate(header)]
    return Table(headers, chosen.rows[index + 1 :], chosen.name, index + 1, names)


def _choose_sheet(book: list[Sheet], filename: str, required: Required, name: str | None) -> Sheet:
    if name is not None:
        for s in book:
            if s.name == name:
                return s
        for s in book:
            if normal(s.name) == normal(name):
                return s
        listed = "、".join(f"“{s.name}”" for s in book)
        raise refuse(f"文件“{filename}”中没有名为“{name}”的工作表（有：{listed}）。")
    visible = [s for s in book if s.visible] or book
    if required:
        for s in visible:
            if find_header(s, required) is not None:
                return s
    return visible[0]


def _empty(filename: str, sheet: Sheet, book: list[Sheet]) -> str:
    where = f"的工作表“{sheet.name}”" if len(book) > 1 else ""
    return f"文件“{filename}”{where}是空的，没有可导入的内容。"


def _missing(filename: str, sheet: Sheet, required: Required) -> str:
    """Which required columns are missing, from the row that holds the most of them."""
    best_row, best_missing = None, [_alternatives(i)[0] for i in required]
    for index, row in enumerate(sheet.rows[:HEADER_ROWS]):
        if any(v is not None for v in row):
            _found, missing = _match(row, required)
            if len(missing) < len(best_missing):
                best_row, best_missing = index + 1, missing
    looked = min(HEADER_ROWS, len(sheet.rows))
    names = "、".join(best_missing)
    if best_row is None:
        where = f"工作表“{sheet.name}”前 {looked} 行中找不到表头"
        return (
            f"文件“{filename}”{where}（需要包含 {names} 等列）。请确认表头在前 {HEADER_ROWS} 行内，"
            "列名与模板一致。"
        )
    return (
        f"文件“{filename}”工作表“{sheet.name}”第 {best_row} 行像是表头，但缺少 {names} 列"
        f"（查看了前 {looked} 行）。请补上这些列，或把列名改成与模板一致后再上传。"
    )


def rows_of(table: Table) -> Iterable[tuple[int, list]]:
    """(file row number, row) for each data row."""
    return zip(table.row_numbers, table.rows, strict=True)
