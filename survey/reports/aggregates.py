"""Measure sums over the filtered view: from the summary tables (survey.reports.cubes) by month or
by day, or live from `problems` for what depends on today (overdue) and for filters no day cube
holds.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.problems.register import HELD_SQL
from survey.reports import cubes
from survey.reports.cubes import DAY_BUCKETS, MEASURES, SATISFACTION_COLUMNS
from survey.reports.periods import (
    Filters,
    active_dims,
    cube_column,
    problem_conditions,
    where_clause,
)

# The measures the KPIs read.
KPI_MEASURES = (
    "n",
    "st_new",
    "st_closed",
    "on_time",
    "due_replied",
    "returned",
    "reopened",
    *SATISFACTION_COLUMNS,
    *DAY_BUCKETS,
)


def measure_sums(
    db: Database,
    actor: Actor,
    filters: Filters,
    group_by: tuple[str, ...] = (),
    *,
    with_previous: bool = False,
    measures: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Measures (default: all) summed over the filtered view, grouped by dimensions. With
    `with_previous`, rows carry `period` = 'current' or 'previous' (the same number of months
    before)."""
    wanted = list(measures or MEASURES)
    require(actor, "dashboard.read")
    cube = cubes.cube_for({"month"} | active_dims(filters) | set(group_by))
    start = filters.previous().start if with_previous else None
    where, params = where_clause(filters, cube_column, start=start)
    select, keys, select_params = list(group_by), list(group_by), []
    if with_previous:
        select.insert(0, "CASE WHEN month >= ? THEN 'current' ELSE 'previous' END AS period")
        keys.insert(0, "period")
        select_params = [filters.start]
    sums = ", ".join(f"sum({m}) AS {m}" for m in wanted)
    sql = f"SELECT {', '.join([*select, sums])} FROM {cube.table} WHERE {where}"
    if keys:
        sql += f" GROUP BY {', '.join(keys)}"
    params = [*select_params, *params]
    rows = store.query(db, sql, params)
    columns = (["period"] if with_previous else []) + list(group_by) + wanted
    frame = pd.DataFrame(rows, columns=columns)
    frame[wanted] = frame[wanted].fillna(0).astype("int64")
    return frame


# Which day a day cube counts a problem on, and the same condition on `problems`: raised on it, or
# its latest reply made on it (replied_at is a timestamp: the last day's replies run to its end).
# The cubes of each, smallest first.
DAYS_OF = {
    "raised": (
        (cubes.DAY_CUBE, cubes.DAY_CATEGORY_CUBE),
        "day",
        "p.raised_on BETWEEN ? AND ?",
        "",
    ),
    "replied": ((cubes.REPLY_DAY_CUBE,), "reply_day", "p.replied_at BETWEEN ? AND ?", " 99"),
}


def day_sums(
    db: Database,
    actor: Actor,
    first_day: str,
    last_day: str,
    filters: Filters,
    group_by: tuple[str, ...] = (),
    *,
    measures: tuple[str, ...] = KPI_MEASURES,
    days_of: str = "raised",
    raw: bool = False,
) -> pd.DataFrame:
    """Measures summed over the problems raised (or, with `days_of="replied"`, last replied to;
    grouping by "day" is by that day too) from `first_day` to `last_day` (ISO days, both included: the weekly report's days do not fall
    on month boundaries), grouped by dimensions; the month bounds in `filters` are ignored. Read
    from the smallest day cube holding every dimension filtered or grouped on, else (or with `raw`,
    which the tests compare it with) from `problems`."""
    require(actor, "dashboard.read")
    day_cubes, day, condition, end_of_day = DAYS_OF[days_of]
    column = lambda dim: day if dim == "day" else dim  # noqa: E731 - "day" is that kind's day
    dims = [column(d) for d in group_by]
    cube = next((c for c in day_cubes if c.covers(active_dims(filters) | set(dims))), None)
    wanted = list(measures)
    if cube and not raw:
        where, params = where_clause(filters, column, days=(first_day, last_day))
        sums = ", ".join(f"sum({m}) AS {m}" for m in wanted)
        keys = [f"{d} AS {g}" for d, g in zip(dims, group_by, strict=True)]
        sql = f"SELECT {', '.join([*keys, sums])} FROM {cube.table} WHERE {where}"
    else:
        clauses, params = problem_conditions(filters)
        clauses = [condition, *clauses]
        params = [first_day, last_day + end_of_day, *params]
        keys = [f"{cubes.key_of(d, 'p')} AS {g}" for d, g in zip(dims, group_by, strict=True)]
        sums = ", ".join(f"sum({MEASURES[m].format(p='p')}) AS {m}" for m in wanted)
        sql = f"SELECT {', '.join([*keys, sums])} FROM problems p WHERE {' AND '.join(clauses)}"
    if group_by:
        sql += f" GROUP BY {', '.join(str(k + 1) for k in range(len(group_by)))}"
    frame = pd.DataFrame(store.query(db, sql, params), columns=[*group_by, *wanted])
    frame[wanted] = frame[wanted].fillna(0).astype("int64")
    return frame


def overdue_now(
    db: Database,
    actor: Actor,
    filters: Filters,
    *,
    group_by: str | None = None,
    first_day: str | None = None,
    last_day: str | None = None,
    today: date | None = None,
) -> dict:
    """Problems of the view still being handled past their deadline today: {group: count} (or
    {None: count}). Read live from `problems`: it depends on today's date."""
    require(actor, "dashboard.read")
    today = (today or clock.today()).isoformat()
    clauses = [f"p.status IN {HELD_SQL}", "p.deadline_on < ?"]
    params: list = [today]
    if first_day:
        clauses.append("p.raised_on BETWEEN ? AND ?")
        params += [first_day, last_day]
    else:
        # Unary + keeps the planner on (status, deadline_on): few rows are overdue, a period is most.
        clauses.append("+p.raised_month BETWEEN ? AND ?")
        params += [filters.start, filters.end]
    codes, code_params = problem_conditions(filters)
    clauses, params = clauses + codes, params + code_params
    key = cubes.key_of(group_by, "p") if group_by else "NULL"
    rows = db.conn.execute(
        f"SELECT {key}, count(*) FROM problems p WHERE {' AND '.join(clauses)} GROUP BY 1", params
    ).fetchall()
    return dict(rows)
