"""A form's workbook as rows of text: a sheet found by name, its header row and the non-empty rows
below it (with their file row numbers), a column header split into name and language."""

from __future__ import annotations

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
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_sheet(workbook, name: str) -> list[tuple[int, dict[str, str], dict[str, str]]] | None:
    """(row number, {column: value}, {column: original header}) per non-empty row; None if absent."""
    sheet = next((ws for ws in workbook.worksheets if ws.title.strip().lower() == name), None)
    if sheet is None:
        return None
    rows = sheet.iter_rows(values_only=True)
    try:
        header = next(rows)
    except StopIteration:
        return []
    keys = [str(h).strip() if h is not None else "" for h in header]
    out = []
    for number, row in enumerate(rows, start=2):
        values = {k: cell(v) for k, v in zip(keys, row, strict=False) if k}
        if any(values.values()):
            out.append((number, values, {k: k for k in keys if k}))
    return out
