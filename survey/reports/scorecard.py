"""The dashboard's KPIs: each figure with the previous period, from the measure sums."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlite_utils import Database

from survey.access.actor import Actor
from survey.problems.register import bad_review_levels
from survey.reports.aggregates import KPI_MEASURES, measure_sums, overdue_now
from survey.reports.cubes import DAY_BUCKETS, SATISFACTION_COLUMNS
from survey.reports.periods import Filters
from survey.reports.visit_coverage import companies_visited


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
