"""Visit coverage: how many of the registry's companies were visited, per sector or department."""

from __future__ import annotations

import pandas as pd
from sqlite_utils import Database

from survey import db as store
from survey import reference
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.reports.periods import Filters, month_add


def _company_conditions(filters: Filters) -> tuple[list[str], list]:
    """Companies by their registry sector and area (park first, as problems and visits record it)."""
    clauses, params = ["c.active = 1"], []
    if filters.sectors:
        clauses.append(f"c.sector_code IN ({', '.join('?' for _ in filters.sectors)})")
        params += list(filters.sectors)
    if filters.areas:
        clauses.append(
            f"coalesce(c.park_code, c.district_code) IN ({', '.join('?' for _ in filters.areas)})"
        )
        params += list(filters.areas)
    return clauses, params


def _visited(alias: str, filters: Filters, first_day: str, last_day: str) -> tuple[str, list]:
    sql = f"EXISTS (SELECT 1 FROM visits {alias} WHERE {alias}.company_id = c.id"
    sql += f" AND {alias}.visit_date BETWEEN ? AND ?"
    params = [first_day, last_day]
    if filters.departments:
        sql += f" AND {alias}.department_code IN ({', '.join('?' for _ in filters.departments)})"
        params += list(filters.departments)
    return sql + ")", params


def companies_visited(db: Database, actor: Actor, filters: Filters) -> tuple[int, int]:
    """(this period, previous period): companies with at least one visit."""
    previous = filters.previous()
    return companies_visited_between(
        db,
        actor,
        filters,
        [(filters.first_day, filters.last_day), (previous.first_day, previous.last_day)],
    )


def companies_visited_between(
    db: Database, actor: Actor, filters: Filters, ranges: list[tuple[str, str]]
) -> tuple[int, ...]:
    """Companies of the view with at least one visit in each date range (one pass over companies)."""
    require(actor, "dashboard.read")
    clauses, params = _company_conditions(filters)
    sums, sum_params = [], []
    for i, (first, last) in enumerate(ranges):
        sql, values = _visited(f"v{i}", filters, first, last)
        sums.append(f"coalesce(sum({sql}), 0)")
        sum_params += values
    row = db.conn.execute(
        f"SELECT {', '.join(sums)} FROM companies c WHERE {' AND '.join(clauses)}",
        [*sum_params, *params],
    ).fetchone()
    return tuple(int(v) for v in row)


def quarter_bounds(month: str) -> tuple[str, str]:
    first = f"{month[:4]}-{(int(month[5:]) - 1) // 3 * 3 + 1:02d}"
    return first, month_add(first, 2)


def coverage(db: Database, actor: Actor, filters: Filters, by: str) -> pd.DataFrame:
    """Companies linked to each sector (or department) and how many were visited in the quarter that
    holds the period's last month."""
    require(actor, "dashboard.read")
    column = {"sector": "c.sector_code", "department": "c.department_code"}[by]
    first, last = quarter_bounds(filters.end)
    quarter = Filters(first, last, departments=filters.departments)
    clauses, params = _company_conditions(filters)
    if by == "department":
        clauses.append("c.department_code IS NOT NULL")
        if filters.departments:
            clauses.append(f"c.department_code IN ({', '.join('?' for _ in filters.departments)})")
            params += list(filters.departments)
        quarter = Filters(
            first, last
        )  # a department's coverage: its linked companies, visited by anyone
    visited_sql, visited_params = _visited("v", quarter, quarter.first_day, quarter.last_day)
    rows = store.query(
        db,
        f"SELECT {column} AS code, count(*) AS companies, coalesce(sum({visited_sql}), 0) AS visited"
        f" FROM companies c WHERE {' AND '.join(clauses)} GROUP BY {column}",
        [*visited_params, *params],
    )
    frame = pd.DataFrame(rows, columns=["code", "companies", "visited"])
    names = reference.names(db, "sectors" if by == "sector" else "departments")
    frame["name"] = frame["code"].map(names).fillna(frame["code"])
    frame["not_visited"] = frame["companies"] - frame["visited"]
    frame["rate"] = frame["visited"] / frame["companies"].where(frame["companies"] > 0)
    frame.attrs["quarter"] = f"{first} 至 {last}"
    return frame.sort_values("rate", ascending=False, ignore_index=True)
