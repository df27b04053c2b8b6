"""What the supervisor is looking at (a month range and code lists) and the SQL conditions it
makes on the summary tables and on `problems`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import pandas as pd

from survey.errors import ValidationError
from survey.reports import cubes


def month_add(month: str, k: int) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + mon - 1 + k
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(start: str, end: str) -> int:
    return (int(end[:4]) * 12 + int(end[5:7])) - (int(start[:4]) * 12 + int(start[5:7])) + 1


@dataclass(frozen=True)
class Filters:
    """What the supervisor is looking at: a month range and optional code lists (empty = all)."""

    start: str
    end: str
    areas: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    def __post_init__(self):
        for value, label in ((self.start, "起始月份"), (self.end, "结束月份")):
            if len(value) != 7 or value[4] != "-" or not (value[:4] + value[5:]).isdigit():
                raise ValidationError(f"{label}应为 YYYY-MM 格式，收到“{value}”。", "period")
            if not 1 <= int(value[5:]) <= 12:
                raise ValidationError(f"{label}的月份应在 01–12 之间，收到“{value}”。", "period")
        if self.start > self.end:
            raise ValidationError("起始月份不能晚于结束月份。", "period")

    @property
    def months(self) -> int:
        return months_between(self.start, self.end)

    def previous(self) -> Filters:
        """The same number of months immediately before."""
        return replace(
            self, start=month_add(self.start, -self.months), end=month_add(self.start, -1)
        )

    def narrowed(self, **values) -> Filters:
        return replace(self, **values)

    @property
    def first_day(self) -> str:
        return f"{self.start}-01"

    @property
    def last_day(self) -> str:
        return (pd.Period(self.end, freq="M").end_time.date()).isoformat()


FILTER_DIMS = {
    "areas": "area",
    "sectors": "sector",
    "sources": "source",
    "departments": "department",
    "categories": "category",
}


def active_dims(filters: Filters) -> set[str]:
    return {dim for field, dim in FILTER_DIMS.items() if getattr(filters, field)}


def where_clause(
    filters: Filters,
    column,
    *,
    start: str | None = None,
    days: tuple[str, str] | None = None,
) -> tuple[str, list]:
    """Conditions on month (or on `days`, first and last, for the day cube) and the code lists;
    `column(dim)` names the column in the table read."""
    if days:
        clauses, params = [f"{column('day')} BETWEEN ? AND ?"], list(days)
    else:
        clauses, params = (
            [f"{column('month')} BETWEEN ? AND ?"],
            [start or filters.start, filters.end],
        )
    for field, dim in FILTER_DIMS.items():
        values = getattr(filters, field)
        if values:
            clauses.append(f"{column(dim)} IN ({', '.join('?' for _ in values)})")
            params += list(values)
    return " AND ".join(clauses), params


def cube_column(dim: str) -> str:
    return dim


def problem_conditions(filters: Filters, period: str | None = None) -> tuple[list[str], list]:
    """Conditions on `problems p` for the code lists, written so SQLite can use an index ('' stands
    for a missing code, as in the cubes). `period`: 'days' (raised_on within the months), 'month'
    (raised_month) or None."""
    clauses: list[str] = []
    params: list = []
    if period == "days":
        clauses.append("p.raised_on BETWEEN ? AND ?")
        params += [filters.first_day, filters.last_day]
    elif period == "month":
        clauses.append("p.raised_month BETWEEN ? AND ?")
        params += [filters.start, filters.end]
    for field, dim in FILTER_DIMS.items():
        values = [v for v in getattr(filters, field) if v]
        column = f"p.{cubes.DIMENSIONS[dim]}"
        if not getattr(filters, field):
            continue
        condition = f"{column} IN ({', '.join('?' for _ in values)})" if values else "0"
        if "" in getattr(filters, field):
            condition = f"({condition} OR {column} IS NULL)"
        clauses.append(condition)
        params += values
    return clauses, params


def filter_fields() -> list[str]:
    return [f.name for f in fields(Filters)]
