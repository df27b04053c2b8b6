"""Chart data: sector × category counts, the months, reply times and the department league, as
small frames the charts draw.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlite_utils import Database

from survey import db as store
from survey import reference
from survey.access.actor import Actor
from survey.labels import NO_SECTOR
from survey.problems.register import bad_review_levels
from survey.reports.aggregates import KPI_MEASURES, measure_sums, overdue_now
from survey.reports.cubes import DAY_BUCKETS, MAX_EXACT_DAYS
from survey.reports.periods import Filters
from survey.reports.scorecard import kpi_values, median_days

DEFAULT_MIN_VOLUME = 20  # departments with fewer problems are listed apart in the league table


def reference_names(db: Database) -> dict[str, dict]:
    return {key: reference.names(db, key) for key in ("sectors", "departments", "districts")}


def category_frame(db: Database) -> pd.DataFrame:
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
    frame = sums.merge(category_frame(db), on="category", how="left")
    frame["sector_name"] = frame["sector"].map(names).fillna(NO_SECTOR)
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
    frame = sums.merge(category_frame(db), on="category", how="left")
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
                "sector_name": names.get(record["sector"], NO_SECTOR),
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
    columns = [
        "department",
        "department_name",
        "volume",
        "on_time_rate",
        "satisfaction_rate",
        "median_days",
        "overdue",
        "ranked",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(
        ["ranked", "on_time_rate", "satisfaction_rate", "volume"],
        ascending=[False, False, False, False],
        ignore_index=True,
        na_position="last",
    )
