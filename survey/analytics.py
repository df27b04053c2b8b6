"""Dashboard aggregates: KPIs with the previous period, sector × category counts, reply times, the
department league, visit coverage and common problems. Every figure is summed in SQL (mostly from the
summary tables in survey.cubes); callers get small frames.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date

import pandas as pd
from sqlite_utils import Database

from survey import clock, cubes, reference
from survey import db as store
from survey.actor import Actor
from survey.cubes import DAY_BUCKETS, MAX_EXACT_DAYS, MEASURES, SATISFACTION_COLUMNS
from survey.errors import ValidationError
from survey.permissions import require
from survey.problems.listing import PROBLEM_JOINS
from survey.problems.register import WITH_DEPARTMENT, bad_review_levels, sql_list

DEFAULT_MIN_VOLUME = 20  # departments with fewer problems are listed apart in the league table


# ---- filters --------------------------------------------------------------------------------------


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


_FILTER_DIMS = {
    "areas": "area",
    "sectors": "sector",
    "sources": "source",
    "departments": "department",
    "categories": "category",
}


def _active_dims(filters: Filters) -> set[str]:
    return {dim for field, dim in _FILTER_DIMS.items() if getattr(filters, field)}


def _where(filters: Filters, column, *, start: str | None = None) -> tuple[str, list]:
    """Conditions on month and the code lists; `column(dim)` names the column in the table read."""
    clauses = [f"{column('month')} BETWEEN ? AND ?"]
    params: list = [start or filters.start, filters.end]
    for field, dim in _FILTER_DIMS.items():
        values = getattr(filters, field)
        if values:
            clauses.append(f"{column(dim)} IN ({', '.join('?' for _ in values)})")
            params += list(values)
    return " AND ".join(clauses), params


def _cube_column(dim: str) -> str:
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
    for field, dim in _FILTER_DIMS.items():
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


# ---- measure sums ---------------------------------------------------------------------------------


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
    cube = cubes.cube_for({"month"} | _active_dims(filters) | set(group_by))
    start = filters.previous().start if with_previous else None
    where, params = _where(filters, _cube_column, start=start)
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


def raw_measure_sums(
    db: Database, actor: Actor, first_day: str, last_day: str, filters: Filters
) -> dict:
    """The same measures straight from `problems` for a date range (the weekly report's days do not
    fall on month boundaries). Month bounds in `filters` are ignored."""
    require(actor, "dashboard.read")
    clauses, params = problem_conditions(filters)
    clauses, params = ["p.raised_on BETWEEN ? AND ?", *clauses], [first_day, last_day, *params]
    sums = ", ".join(f"coalesce(sum({MEASURES[m].format(p='p')}), 0) AS {m}" for m in KPI_MEASURES)
    return store.query(db, f"SELECT {sums} FROM problems p WHERE {' AND '.join(clauses)}", params)[
        0
    ]


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
    clauses = [f"p.status IN {sql_list(WITH_DEPARTMENT)}", "p.deadline_on < ?"]
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
    key = f"coalesce(p.{cubes.DIMENSIONS[group_by]}, '')" if group_by else "NULL"
    rows = db.conn.execute(
        f"SELECT {key}, count(*) FROM problems p WHERE {' AND '.join(clauses)} GROUP BY 1", params
    ).fetchall()
    return dict(rows)


# ---- KPIs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: float | None
    previous: float | None
    kind: str  # 'count', 'rate' (0..1) or 'days'
    higher_is_better: bool
    help: str

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


KPI_SPECS = (
    ("raised", "提出问题", "count", True, "期间内提出的问题数"),
    (
        "companies_visited",
        "走访企业",
        "count",
        True,
        "期间内至少走访一次的企业数（按企业当前所属行业、区域）",
    ),
    ("closed_rate", "办结率", "rate", True, "已办结 ÷ 提出问题"),
    ("on_time_rate", "按时办结率", "rate", True, "时限内答复 ÷（有时限的已答复 + 当前逾期未答复）"),
    ("median_days", "答复中位数", "days", False, "已答复问题从交办到答复的工作日数的中位数"),
    ("satisfaction_rate", "满意率", "rate", True, "1 − 差评数 ÷ 回访数"),
    ("overdue", "当前逾期", "count", False, "期间内提出、今天仍在办理且已过时限的问题"),
    ("return_rate", "退回率", "rate", False, "被部门退回过的问题 ÷ 已交办的问题"),
    ("reopen_rate", "重办率", "rate", False, "因差评重办过的问题 ÷ 回访数"),
)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def median_days(sums: dict) -> float | None:
    """Median working days to reply from the day buckets (exact up to 30; beyond that reported as 31)."""
    counts = [int(sums.get(b, 0) or 0) for b in DAY_BUCKETS]
    total = sum(counts)
    if not total:
        return None
    lower, upper = (total - 1) // 2, total // 2  # 0-based positions of the middle value(s)
    cumulative, found = 0, {}
    for days, count in enumerate(counts):
        for position in (lower, upper):
            if position not in found and position < cumulative + count:
                found[position] = days
        cumulative += count
    return (found[lower] + found[upper]) / 2


KPI_MEASURES = ("n", "st_new", "st_closed", "on_time", "due_replied", "returned", "reopened",
                *SATISFACTION_COLUMNS, *DAY_BUCKETS)  # fmt: skip


def kpi_values(sums: dict, overdue: int, visited: int | None, bad_levels: list[int]) -> dict:
    """KPI values from measure sums: one formula shared by the dashboard, the weekly report, the
    export and the benchmark's check."""
    n = sums.get("n", 0) or 0
    callbacks = sum(sums.get(c, 0) or 0 for c in SATISFACTION_COLUMNS)
    bad = sum(sums.get(f"sat_{level}", 0) or 0 for level in bad_levels)
    assigned_ever = n - (sums.get("st_new", 0) or 0)
    return {
        "raised": n,
        "companies_visited": visited,
        "closed_rate": _ratio(sums.get("st_closed", 0), n),
        "on_time_rate": _ratio(sums.get("on_time", 0), (sums.get("due_replied", 0) or 0) + overdue),
        "median_days": median_days(sums),
        "satisfaction_rate": (1 - bad / callbacks) if callbacks else None,
        "overdue": overdue,
        "return_rate": _ratio(sums.get("returned", 0), assigned_ever),
        "reopen_rate": _ratio(sums.get("reopened", 0), callbacks),
    }


def kpis(db: Database, actor: Actor, filters: Filters, today: date | None = None) -> list[Kpi]:
    sums = measure_sums(db, actor, filters, with_previous=True, measures=KPI_MEASURES)
    sums = sums.set_index("period")
    previous = filters.previous()
    by_period = {
        period: (sums.loc[period].to_dict() if period in sums.index else {})
        for period in ("current", "previous")
    }
    visited = companies_visited(db, actor, filters)
    bad = bad_review_levels(db)
    current = kpi_values(
        by_period["current"],
        sum(overdue_now(db, actor, filters, today=today).values()),
        visited[0],
        bad,
    )
    before = kpi_values(
        by_period["previous"],
        sum(overdue_now(db, actor, previous, today=today).values()),
        visited[1],
        bad,
    )
    return [
        Kpi(key, label, current[key], before[key], kind, better, help_text)
        for key, label, kind, better, help_text in KPI_SPECS
    ]


# ---- visits ---------------------------------------------------------------------------------------


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


# ---- chart data -----------------------------------------------------------------------------------


def _names(db: Database) -> dict[str, dict]:
    return {key: reference.names(db, key) for key in ("sectors", "departments", "districts")}


def _category_frame(db: Database) -> pd.DataFrame:
    rows = store.query(
        db,
        "SELECT c.code AS category, c.name AS category_name, coalesce(g.name, c.name) AS group_name,"
        " coalesce(g.code, c.code) AS group_code FROM problem_categories c"
        " LEFT JOIN problem_categories g ON g.code = c.parent",
    )
    return pd.DataFrame(rows, columns=["category", "category_name", "group_name", "group_code"])


def sector_category(db: Database, actor: Actor, filters: Filters) -> pd.DataFrame:
    """Problems per sector × sub-category (the heatmap, and top categories per sector)."""
    sums = measure_sums(db, actor, filters, ("sector", "category"), measures=("n",))
    sectors = reference.list_entries(db, "sectors", include_inactive=True)
    names = {s["code"]: s["name"] for s in sectors}
    clusters = {s["code"]: s["cluster"] for s in sectors}
    frame = sums.merge(_category_frame(db), on="category", how="left")
    frame["sector_name"] = frame["sector"].map(names).fillna("（未指明行业）")
    frame["cluster"] = frame["sector"].map(clusters).fillna("")
    return frame[frame["n"] > 0].reset_index(drop=True)


def top_categories(frame: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """The k most raised sub-categories of each sector, from `sector_category`'s small result."""
    ordered = frame.sort_values(["sector_name", "n"], ascending=[True, False])
    top = ordered.groupby("sector_name", sort=False).head(k).copy()
    top["rank"] = top.groupby("sector_name").cumcount() + 1
    return top.reset_index(drop=True)


def monthly(db: Database, actor: Actor, filters: Filters) -> pd.DataFrame:
    """Problems per month, by category group (stacked bars)."""
    sums = measure_sums(db, actor, filters, ("month", "category"), measures=("n",))
    frame = sums.merge(_category_frame(db), on="category", how="left")
    grouped = frame.groupby(["month", "group_code", "group_name"], as_index=False)["n"].sum()
    return grouped[grouped["n"] > 0].reset_index(drop=True)


def _quantile(counts: list[int], q: float) -> float | None:
    total = sum(counts)
    if not total:
        return None
    target, cumulative = q * (total - 1), 0
    for days, count in enumerate(counts):
        cumulative += count
        if cumulative > target:
            return float(days)
    return float(len(counts) - 1)


def reply_days(db: Database, actor: Actor, filters: Filters) -> pd.DataFrame:
    """Working days from assignment to reply, per sector: quartiles, p90 and the median."""
    sums = measure_sums(db, actor, filters, ("sector",), measures=tuple(DAY_BUCKETS))
    names = reference.names(db, "sectors")
    rows = []
    for record in sums.to_dict("records"):
        counts = [int(record[b]) for b in DAY_BUCKETS]
        if not sum(counts):
            continue
        rows.append(
            {
                "sector": record["sector"],
                "sector_name": names.get(record["sector"], "（未指明行业）"),
                "replied": sum(counts),
                "p25": _quantile(counts, 0.25),
                "median": median_days(record),
                "p75": _quantile(counts, 0.75),
                "p90": _quantile(counts, 0.9),
            }
        )
    columns = ["sector", "sector_name", "replied", "p25", "median", "p75", "p90"]
    return pd.DataFrame(rows, columns=columns).sort_values("median", ignore_index=True)


def reply_days_histogram(db: Database, actor: Actor, filters: Filters) -> pd.DataFrame:
    """How many replies took 0, 1, ... 30 and more than 30 working days (the whole view)."""
    sums = measure_sums(db, actor, filters, measures=tuple(DAY_BUCKETS)).iloc[0]
    labels = [str(d) for d in range(MAX_EXACT_DAYS + 1)] + [f">{MAX_EXACT_DAYS}"]
    return pd.DataFrame(
        {"days": range(len(DAY_BUCKETS)), "label": labels, "n": [int(sums[b]) for b in DAY_BUCKETS]}
    )


def league(
    db: Database,
    actor: Actor,
    filters: Filters,
    *,
    min_volume: int = DEFAULT_MIN_VOLUME,
    today: date | None = None,
) -> pd.DataFrame:
    """Departments: volume, on-time rate, satisfaction; `ranked` is False below `min_volume`."""
    sums = measure_sums(db, actor, filters, ("department",), measures=KPI_MEASURES)
    sums = sums[sums["department"] != ""]
    overdue = overdue_now(db, actor, filters, group_by="department", today=today)
    bad = bad_review_levels(db)
    names = reference.names(db, "departments")
    rows = []
    for record in sums.to_dict("records"):
        values = kpi_values(record, overdue.get(record["department"], 0), None, bad)
        rows.append(
            {
                "department": record["department"],
                "department_name": names.get(record["department"], record["department"]),
                "volume": int(record["n"]),
                "on_time_rate": values["on_time_rate"],
                "satisfaction_rate": values["satisfaction_rate"],
                "median_days": values["median_days"],
                "overdue": overdue.get(record["department"], 0),
                "ranked": int(record["n"]) >= min_volume,
            }
        )
    columns = ["department", "department_name", "volume", "on_time_rate", "satisfaction_rate",
               "median_days", "overdue", "ranked"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(
        ["ranked", "on_time_rate", "satisfaction_rate", "volume"],
        ascending=[False, False, False, False],
        ignore_index=True,
        na_position="last",
    )


# ---- the problem list -----------------------------------------------------------------------------

LIST_COLUMNS = {
    "id": "编号",
    "raised_on": "提出日期",
    "company": "企业",
    "sector": "行业",
    "area": "区域",
    "category_group": "问题大类",
    "category": "问题类别",
    "source": "来源",
    "status": "状态",
    "department": "责任部门",
    "deadline_on": "办理时限",
    "replied_at": "答复时间",
    "reply_working_days": "答复用时(工作日)",
    "satisfaction_level": "满意度",
    "description": "问题描述",
}

_LIST_SELECT = """
    p.id, p.raised_on, c.name AS company, s.name AS sector, d.name AS area, parent.name AS category_group,
    pc.name AS category, p.source, p.status, dep.name AS department, p.deadline_on, p.replied_at,
    p.reply_working_days, p.satisfaction_level, p.description, p.company_id
"""


_LIST_SELECT_ALIASED = f"SELECT {_LIST_SELECT} FROM problems p {PROBLEM_JOINS}"


def _list_where(filters: Filters) -> tuple[str, list]:
    clauses, params = problem_conditions(filters, "days")
    return " AND ".join(clauses), params


def problem_list(db: Database, actor: Actor, filters: Filters, *, limit: int = 200) -> list[dict]:
    """The newest problems of the view (the dashboard's list under the charts)."""
    require(actor, "dashboard.read")
    where, params = _list_where(filters)
    return store.query(
        db,
        f"SELECT {_LIST_SELECT} FROM problems p {PROBLEM_JOINS} WHERE {where}"
        f" ORDER BY p.raised_on DESC, p.id DESC LIMIT {int(limit)}",
        params,
    )


def iter_problem_list(db: Database, actor: Actor, filters: Filters, *, chunk: int = 5000):
    """Every problem of the view, oldest first, as tuples in LIST_COLUMNS order, in chunks (the export
    never holds them all)."""
    require(actor, "dashboard.read")
    where, params = _list_where(filters)
    cursor = db.conn.execute(
        f"SELECT {', '.join(LIST_COLUMNS)} FROM ({_LIST_SELECT_ALIASED} WHERE {where})"
        " ORDER BY raised_on, id",
        params,
    )
    while batch := cursor.fetchmany(chunk):
        yield batch


def filter_fields() -> list[str]:
    return [f.name for f in fields(Filters)]


def dashboard_data(
    db: Database,
    actor: Actor,
    view: Filters,
    per_chart=None,
    *,
    min_volume: int = DEFAULT_MIN_VOLUME,
    today: date | None = None,
) -> dict:
    """Everything the dashboard page draws. `per_chart(name)` gives the filters of one chart (the view
    narrowed by the other charts' clicks); by default every chart shows the view."""
    chart = per_chart or (lambda name: view)
    return {
        "kpis": kpis(db, actor, view, today=today),
        "cells": sector_category(db, actor, chart("cell")),
        "top": top_categories(sector_category(db, actor, chart("topcat"))),
        "months": monthly(db, actor, chart("month")),
        "days": reply_days(db, actor, chart("replysector")),
        "departments": league(db, actor, chart("dept"), min_volume=min_volume, today=today),
        "cover_sector": coverage(db, actor, chart("coversector"), "sector"),
        "cover_department": coverage(db, actor, chart("coverdept"), "department"),
        "problems": problem_list(db, actor, view, limit=200),
    }
