"""A task's 完成时限 as plans write it: a date cell or serial, an exact date, a month's end
(2026年6月底), the year's end (年底), a quarter or half year, a range's end, or no deadline at all
(长期坚持, 持续推进)."""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date

from survey import sheets

NO_DEADLINE = ("长期坚持", "持续推进", "长期推进", "长期", "持续", "常态化", "常态化推进")
_SPACE = re.compile(r"[\s\u3000]+")


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


_QUARTERS = {"一": 3, "1": 3, "二": 6, "2": 6, "三": 9, "3": 9, "四": 12, "4": 12}


def _due_text(text: str, year: int) -> date | None:
    if text in ("年底", "年末", "全年", "年内", "下半年"):
        return date(year, 12, 31)
    if text == "上半年":
        return date(year, 6, 30)
    match = re.fullmatch(r"(?:(\d{4})[年.\-/])?(\d{1,2})月?(?:底|末|份|中旬|下旬)?", text)
    if match and 1 <= int(match[2]) <= 12 and (match[1] or "月" in text):
        return _month_end(int(match[1] or year), int(match[2]))
    match = re.fullmatch(r"(\d{4})年?(?:年底|年末|底|末|全年)?", text)
    if match:
        return date(int(match[1]), 12, 31)
    match = re.fullmatch(r"(?:(\d{4})年)?(?:第)?([一二三四1-4])季度(?:末|底)?", text)
    if match:
        return _month_end(int(match[1] or year), _QUARTERS[match[2]])
    match = re.fullmatch(r"(?:(\d{4})年)?(上|下)半年", text)
    if match:
        return date(int(match[1] or year), 6 if match[2] == "上" else 12, 30 + (match[2] == "下"))
    return None


def parse_due(value, year: int) -> date | None:
    """A 完成时限 as a date: a date cell, an Excel serial number, 2026-06-30, 2026年6月30日,
    2026年6月底, 6月底, 2026.6, 年底, 2026年底, 三季度, 上半年, a range (its end: 2026年3月至6月);
    None for a task with no deadline (长期坚持, 持续推进). ValueError for anything else."""
    exact = sheets.parse_date(value)  # a date cell, a serial, 2026年6月30日, 2026-06-30
    if exact is not None:
        return exact
    text = _SPACE.sub("", unicodedata.normalize("NFKC", str(value or ""))).strip("。.")
    for word in ("完成", "以前", "之前", "前"):
        text = text.removesuffix(word)
    if not text:
        raise ValueError("empty")
    if any(text.startswith(word) for word in NO_DEADLINE):
        return None
    parts = re.split(r"[—–~～至到]|(?<=[年月])-", text)
    if len(parts) > 1 and parts[-1]:  # a range: its end, in the year its start names
        start_year = re.match(r"(\d{4})", parts[0])
        end = parts[-1] if re.match(r"\d{4}", parts[-1]) or not start_year else None
        end = end or f"{start_year[1]}年{parts[-1]}"
        text = end
    try:
        due = _due_text(text, year)
    except ValueError:
        due = None
    if due is None:
        raise ValueError(text)
    return due
