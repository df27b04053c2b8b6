"""Local time in Zhenjiang (UTC+8), as naive ISO strings so that they sort and compare in SQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def now() -> datetime:
    return datetime.now(CHINA).replace(tzinfo=None, microsecond=0)


def today() -> date:
    return now().date()


def iso(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="seconds")


def now_iso() -> str:
    return iso(now())
