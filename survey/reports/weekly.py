"""周报: one week's KPIs against the week before, the week by sector and category group, the trend
of the last twelve weeks, the departments and the oldest overdue problems. Weeks do not fall on month
boundaries: what the day cubes hold (by day raised, sector and department; by day of the latest
reply and department) is read from them, the rest from `problems` through its indexes (a week is a
small slice)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from sqlite_utils import Database

from survey import clock, reference
from survey import db as store
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.labels import NO_SECTOR
from survey.problems import register
from survey.problems.register import HELD_SQL
from survey.reports import aggregates, chart_data, periods, scorecard, visit_coverage
from survey.reports.periods import Filters
from survey.reports.scorecard import KPI_SPECS, Kpi

TREND_WEEKS = 12


def week_of(day: date) -> date:
    """The Monday of the week holding `day`."""
    return day - timedelta(days=day.weekday())


def last_full_week(today: date | None = None) -> date:
    return week_of(today or clock.today()) - timedelta(days=7)


@dataclass(frozen=True)
class Week:
    monday: date

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def label(self) -> str:
        iso = self.monday.isocalendar()
        return f"{iso.year} 年第 {iso.week} 周（{self.monday:%m-%d} 至 {self.sunday:%m-%d}）"

    def bounds(self) -> tuple[str, str]:
        return self.monday.isoformat(), self.sunday.isoformat()


def kpis(
    db: Database, actor: Actor, week: Week, filters: Filters, today: date | None = None
) -> list[Kpi]:
    previous = Week(week.monday - timedelta(days=7))
    visited = visit_coverage.companies_visited_between(
        db, actor, filters, [week.bounds(), previous.bounds()]
    )
    bad = register.bad_review_levels(db)
    values = []
    for w, seen in ((week, visited[0]), (previous, visited[1])):
        first, last = w.bounds()
        sums = aggregates.day_sums(db, actor, first, last, filters).iloc[0].to_dict()
        overdue = aggregates.overdue_now(
            db, actor, filters, first_day=first, last_day=last, today=today
        )
        values.append(scorecard.kpi_values(sums, sum(overdue.values()), seen, bad))
    return [
        Kpi(key, label, values[0][key], values[1][key], kind, better, help_text)
        for key, label, kind, better, help_text in KPI_SPECS
    ]


def _conditions(filters: Filters) -> tuple[list[str], list]:
    return periods.problem_conditions(filters)


def by_sector(db: Database, actor: Actor, week: Week, filters: Filters) -> pd.DataFrame:
    """Problems raised in the week per sector and category group."""
    require(actor, "dashboard.read")
    first, last = week.bounds()
    sums = aggregates.day_sums(
        db, actor, first, last, filters, ("sector", "category"), measures=("n",)
    )
    frame = sums[sums["n"] > 0].merge(chart_data.category_frame(db), on="category")
    frame["sector_name"] = frame["sector"].map(reference.names(db, "sectors")).fillna(NO_SECTOR)
    grouped = frame.groupby(["sector_name", "group_name"], as_index=False)["n"].sum()
    return grouped.reindex(columns=["sector_name", "group_name", "n"])


def trend(db: Database, actor: Actor, week: Week, filters: Filters) -> pd.DataFrame:
    """Problems raised per week over the last twelve weeks (ending with `week`)."""
    require(actor, "dashboard.read")
    first = week.monday - timedelta(days=7 * (TREND_WEEKS - 1))
    days = aggregates.day_sums(
        db, actor, first.isoformat(), week.sunday.isoformat(), filters, ("day",), measures=("n",)
    )
    counts = {first + timedelta(days=7 * k): 0 for k in range(TREND_WEEKS)}
    for day, n in zip(days["day"], days["n"], strict=True):
        counts[week_of(date.fromisoformat(day))] += int(n)
    return pd.DataFrame({"week": [d.isoformat() for d in counts], "n": list(counts.values())})


def departments(db: Database, actor: Actor, week: Week, filters: Filters) -> pd.DataFrame:
    """Per department: problems assigned to it that were raised this week, replies made this week
    (on time or late), and what is overdue today."""
    require(actor, "dashboard.read")
    clauses, params = _conditions(filters)
    first, last = week.bounds()

    def grouped(condition: str, values: list, measures: str) -> list[tuple]:
        where = " AND ".join(["p.lead_department_code IS NOT NULL", condition, *clauses])
        return db.conn.execute(
            f"SELECT p.lead_department_code, {measures} FROM problems p WHERE {where} GROUP BY 1",
            [*values, *params],
        ).fetchall()

    def by_department(days_of: str, measures: tuple[str, ...]) -> pd.DataFrame:
        sums = aggregates.day_sums(
            db, actor, first, last, filters, ("department",), measures=measures, days_of=days_of
        )
        return sums[sums["department"] != ""].set_index("department")

    raised = by_department("raised", ("n",))["n"]
    replied = by_department("replied", ("replied", "on_time", "due_replied"))
    # On time: by the deadline, or with none to keep.
    on_time = replied["on_time"] + replied["replied"] - replied["due_replied"]
    overdue = grouped(
        f"p.status IN {HELD_SQL} AND p.deadline_on < ?",
        [clock.today().isoformat()],
        "count(*)",
    )
    frame = pd.DataFrame(
        {
            "raised": raised,
            "overdue": pd.Series(dict(overdue), dtype="int64"),
            "replied": replied["replied"],
            "on_time": on_time,
        }
    )
    frame = frame.fillna(0).astype("int64").rename_axis("department").reset_index()
    frame["department_name"] = frame["department"].map(reference.names(db, "departments"))
    columns = ["department", "department_name", "raised", "replied", "on_time", "overdue"]
    return frame.reindex(columns=columns).sort_values(
        ["overdue", "raised"], ascending=False, ignore_index=True
    )


def oldest_overdue(db: Database, actor: Actor, filters: Filters, limit: int = 20) -> list[dict]:
    require(actor, "dashboard.read")
    clauses, params = _conditions(filters)
    return store.query(
        db,
        "SELECT p.id, c.name AS company, pc.name AS category, dep.name AS department, p.deadline_on,"
        " p.raised_on FROM problems p LEFT JOIN companies c ON c.id = p.company_id"
        " JOIN problem_categories pc ON pc.code = p.category_code"
        " LEFT JOIN departments dep ON dep.code = p.lead_department_code"
        f" WHERE {' AND '.join([f'p.status IN {HELD_SQL}', 'p.deadline_on < ?', *clauses])}"
        f" ORDER BY p.deadline_on, p.id LIMIT {int(limit)}",
        [clock.today().isoformat(), *params],
    )
