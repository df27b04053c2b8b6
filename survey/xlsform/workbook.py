"""A form's workbook as rows of text: a sheet found by name, its header row and the non-empty rows
below it (with their file row numbers), a column header split into name and language."""

from __future__ import annotations

from datetime import date, datetime, time

from survey.sheets import Sheet
from survey.xlsform.vocabulary import COLUMN_ALIASES, TRANSLATABLE


def split_column(raw: str) -> tuple[str, str | None]:
    """'label::中文 (zh)' -> ('label', '中文 (zh)'); aliases folded; lower case base."""
    text = str(raw).strip()
    base, _, lang = text.partition("::")
    if not _ and ":" in text and text.split(":")[0].strip().lower() in TRANSLATABLE:
        base, _, lang = text.partition(":")
    base = base.strip().lower()
    base = COLUMN_ALIASES.get(base, base.replace(" ", "_"))
    return base, (lang.strip() or None)


def cell(value) -> str:
    """A cell as the text an XLSForm means: a whole number as its digits, TRUE/FALSE for a boolean
    (a formula such as =FALSE() is read as its cached value, as pyxform reads it), a date as text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date | datetime | time):
        return str(value)  # 2023-05-10 09:49:46, as pyxform writes a date cell
    return str(value).strip()


# As pyxform: a sheet's data ends after a run of this many empty rows, its header after this many
# empty columns (what lies beyond is not part of the form for pyxform, so not for us either).
EMPTY_ROWS_END = 60
EMPTY_COLUMNS_END = 20
OTHER_SHEETS = ("choices", "settings", "external_choices", "entities")


def find_sheet(book: list[Sheet], name: str) -> Sheet | None:
    """The sheet named `name` (case and surrounding spaces aside); a workbook of one sheet under
    another name is the survey, as pyxform reads it."""
    found = next((s for s in book if s.name.strip().lower() == name), None)
    if found is None and name == "survey" and len(book) == 1 and book[0].rows:
        header = {split_column(cell(h))[0] for h in book[0].rows[0]}
        if "type" in header and book[0].name.strip().lower() not in OTHER_SHEETS:
            return book[0]
    return found


def read_sheet(
    book: list[Sheet], name: str
) -> list[tuple[int, dict[str, str], dict[str, str]]] | None:
    """(row number in the file, {column: value}, {column: original header}) per non-empty row
    below the header (row 1); None if the sheet is absent."""
    sheet = find_sheet(book, name)
    if sheet is None:
        return None
    if not sheet.rows:
        return []
    keys, empty = [], 0
    for header in sheet.rows[0]:
        text = " ".join(cell(header).split())
        keys.append(text)
        empty = 0 if text else empty + 1
        if empty > EMPTY_COLUMNS_END:
            break
    headers = {k: k for k in keys if k}
    out, empty = [], 0
    for number, row in enumerate(sheet.rows[1:], start=2):
        values = {k: cell(v) for k, v in zip(keys, row, strict=False) if k}
        if any(values.values()):
            out.append((number, values, headers))
            empty = 0
        else:
            empty += 1
            if empty > EMPTY_ROWS_END:
                break
    return out
