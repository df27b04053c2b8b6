"""One cell as a person typed it, and dates however a person wrote them."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

# Trimmed at both ends of every text cell: ASCII white space, the full-width space U+3000 that
# Chinese input methods type, and the no-break space that copying from a web page brings.
SPACES = " \t\r\n\v\f\u3000\u00a0"


def cell(value):
    """A cell value as callers use it: text trimmed (None when nothing is left), a whole number
    as its digits ("123", never 123.0), other numbers as float, dates as datetime.date or
    datetime.datetime, booleans as bool, empty as None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip(SPACES) or None
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return str(int(value)) if value.is_integer() else value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def column_letters(number: int) -> str:
    """1 -> 'A', 27 -> 'AA', 16384 -> 'XFD'."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_number(letters: str) -> int:
    """'A' -> 1, 'Z' -> 26, 'AA' -> 27, 'XFD' -> 16384."""
    number = 0
    for ch in letters.upper():
        number = number * 26 + (ord(ch) - 64)
    return number


_EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01, counting Excel's 1900-02-29
_YMD = re.compile(r"(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*[日号]?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_TIME = re.compile(r"(?:\s*T?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*")
# Serial numbers of 1954-10-03 .. 2119-01-10: wide enough for any plan, and no year ("2026") or
# small count is taken for a date.
_SERIALS = (20_000, 80_000)


def parse_date(value) -> dt.date | None:
    """A date from a date cell, an Excel serial number (46112 or "46112"), or unambiguous text:
    2026年3月31日, 2026.3.31, 2026/3/31, 2026-03-31, 20260331 (full-width digits too, and a time
    after the date is ignored). Anything else, including vague text such as "3月底", is None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float):
        return _serial(value)
    text = unicodedata.normalize("NFKC", str(value)).strip(SPACES)
    if not text:
        return None
    if re.fullmatch(r"\d+(?:\.0+)?", text) and len(text.split(".")[0]) == 5:
        return _serial(float(text))
    match = _YMD.match(text) or _COMPACT.fullmatch(text)
    if not match or not _TIME.fullmatch(text, match.end()):
        return None
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def _serial(number: float) -> dt.date | None:
    if not _SERIALS[0] <= number < _SERIALS[1]:
        return None
    return _EXCEL_EPOCH + dt.timedelta(days=int(number))
