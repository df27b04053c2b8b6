"""共性问题: the same sub-category raised by many companies of a sector, and groups of similar
descriptions across companies (character bigram TF-IDF, cosine similarity), for a supervisor to take a
policy issue upward.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlite_utils import Database

from survey import db as store
from survey import reference
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.labels import NO_SECTOR
from survey.reports import chart_data, cubes, periods, problem_list
from survey.reports.periods import Filters

DEFAULT_MIN_COMPANIES = 3
DEFAULT_SAMPLE = 1500  # newest problems of the view compared pairwise
DEFAULT_THRESHOLD = 0.55
EXAMPLE_ROWS = 10  # the most widespread rows get example descriptions
MAX_ROWS = 100  # the most widespread sub-categories listed


def _year_masks(filters: Filters) -> dict[str, int]:
    """Month bits of each year the period touches (bit 0 = January)."""
    masks: dict[str, int] = {}
    month = filters.start
    while month <= filters.end:
        masks[month[:4]] = masks.get(month[:4], 0) | (1 << (int(month[5:]) - 1))
        month = periods.month_add(month, 1)
    return masks


def common_categories(
    db: Database,
    actor: Actor,
    filters: Filters,
    *,
    min_companies: int = DEFAULT_MIN_COMPANIES,
    examples: int = 2,
    counts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Sub-categories raised by at least `min_companies` different companies of one sector in the
    period, most widespread first, with problem counts (from `counts`, the sector × category frame
    the caller may already hold) and a few example descriptions."""
    require(actor, "dashboard.read")
    masks = _year_masks(filters)
    case = " ".join("WHEN ? THEN ?" for _ in masks)
    params: list = [v for year, mask in masks.items() for v in (year, mask)]
    clauses = [
        f"year IN ({', '.join('?' for _ in masks)})",
        f"(months & (CASE year {case} END)) != 0",
    ]
    params = [*list(masks), *params]
    for field, dim in periods.FILTER_DIMS.items():
        values = getattr(filters, field)
        if values:
            clauses.append(f"{dim} IN ({', '.join('?' for _ in values)})")
            params += list(values)
    # No ORDER BY: at most one row per sector and sub-category comes back, sorted here. PostgreSQL,
    # given the order (with SQLite's NULL order spelled out), sorted the 313,000 rows of the
    # period to group them instead of reading them in its index's order (10M problems: 197 ms;
    # without it 67 ms).
    rows = store.query(
        db,
        f"SELECT sector, category, count(DISTINCT company_id) AS companies FROM {cubes.COMPANY_TABLE}"
        f" WHERE {' AND '.join(clauses)} GROUP BY sector, category HAVING count(DISTINCT company_id) >= ?",
        [*params, int(min_companies)],
    )
    frame = (
        pd.DataFrame(rows, columns=["sector", "category", "companies"])
        .sort_values(["companies", "sector", "category"], ascending=[False, True, True])
        .head(MAX_ROWS)
        .reset_index(drop=True)
    )
    if frame.empty:
        return frame.assign(
            sector_name=[], category_name=[], group_name=[], problems=[], examples=[]
        )
    if counts is None:
        counts = chart_data.sector_category(db, actor, filters)
    counts = counts[["sector", "category", "n"]]
    frame = frame.merge(
        counts.rename(columns={"n": "problems"}), on=["sector", "category"], how="left"
    )
    frame = frame.merge(chart_data.category_frame(db), on="category", how="left")
    frame["sector_name"] = frame["sector"].map(reference.names(db, "sectors")).fillna(NO_SECTOR)
    frame["examples"] = [
        _examples(db, filters, sector, category, examples) if rank < EXAMPLE_ROWS else []
        for rank, (sector, category) in enumerate(
            zip(frame["sector"], frame["category"], strict=True)
        )
    ]
    return frame


def _examples(db: Database, filters: Filters, sector: str, category: str, k: int) -> list[str]:
    sector_match = "p.sector_code = ?" if sector else "p.sector_code IS NULL"
    rows = db.conn.execute(
        f"SELECT p.description FROM problems p WHERE {sector_match} AND p.category_code = ?"
        " AND p.raised_month BETWEEN ? AND ? ORDER BY p.id DESC LIMIT 20",
        [*([sector] if sector else []), category, filters.start, filters.end],
    ).fetchall()
    return _distinct_examples([r[0] for r in rows], k)


# ---- similar descriptions -------------------------------------------------------------------------

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_DIGITS = re.compile(r"\d+")


def bigrams(text: str) -> list[str]:
    """Character bigrams of the text with punctuation and spaces removed and numbers folded to '#',
    so '缺少操作工约46人' and '缺少操作工约12人' share every bigram."""
    cleaned = _NOISE.sub("", _DIGITS.sub("#", text.lower()))
    return [cleaned[i : i + 2] for i in range(len(cleaned) - 1)] or ([cleaned] if cleaned else [])


def similarity_matrix(texts: list[str]) -> np.ndarray:
    """Cosine similarity of TF-IDF weighted character bigrams."""
    vocabulary: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for i, text in enumerate(texts):
        grams = pd.Series(bigrams(text)).value_counts()
        for gram, count in grams.items():
            rows.append(i)
            cols.append(vocabulary.setdefault(gram, len(vocabulary)))
            vals.append(float(count))
    matrix = np.zeros((len(texts), max(len(vocabulary), 1)), dtype=np.float32)
    matrix[rows, cols] = vals
    df = (matrix > 0).sum(axis=0)
    matrix *= (np.log((1 + len(texts)) / (1 + df)) + 1).astype(np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix /= np.where(norms == 0, 1, norms)
    return matrix @ matrix.T


@dataclass(frozen=True)
class Cluster:
    problem_ids: list[int]
    companies: int
    categories: list[str]
    examples: list[str]
    similarity: float  # mean similarity of members to the first example


def similar_groups(
    db: Database,
    actor: Actor,
    filters: Filters,
    *,
    min_companies: int = DEFAULT_MIN_COMPANIES,
    threshold: float = DEFAULT_THRESHOLD,
    sample: int = DEFAULT_SAMPLE,
) -> list[Cluster]:
    """Groups of similar descriptions among the newest `sample` problems of the view, each raised by at
    least `min_companies` companies. Leader clustering (the most connected description first, then its
    neighbours) so one chain of loosely similar texts does not swallow everything."""
    rows = problem_list.problem_list(db, actor, filters, limit=sample)
    rows = [r for r in rows if r["company_id"] is not None]
    if len(rows) < 2:
        return []
    scores = similarity_matrix([r["description"] for r in rows])
    similar = scores >= threshold
    np.fill_diagonal(similar, False)
    unassigned = np.ones(len(rows), dtype=bool)
    clusters: list[Cluster] = []
    for leader in np.argsort(-similar.sum(axis=1), kind="stable"):
        if not unassigned[leader]:
            continue
        members = [leader, *np.flatnonzero(similar[leader] & unassigned)]
        unassigned[members] = False
        companies = {rows[i]["company_id"] for i in members}
        if len(companies) < min_companies:
            continue
        clusters.append(
            Cluster(
                problem_ids=[rows[i]["id"] for i in members],
                companies=len(companies),
                categories=sorted({rows[i]["category"] for i in members}),
                examples=_distinct_examples([rows[i]["description"] for i in members], 3),
                similarity=float(scores[leader, members[1:]].mean()) if len(members) > 1 else 1.0,
            )
        )
    return sorted(clusters, key=lambda c: (-c.companies, -len(c.problem_ids)))


def _distinct_examples(texts: list[str], k: int) -> list[str]:
    seen: list[str] = []
    for text in texts:
        if text not in seen:
            seen.append(text)
        if len(seen) == k:
            break
    return seen
