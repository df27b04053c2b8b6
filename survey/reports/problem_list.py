"""The dashboard's problem list: the newest problems of the view, and all of them for the export."""

from __future__ import annotations

from sqlite_utils import Database

from survey import db as store
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.problems.columns import headers
from survey.problems.listing import PROBLEM_JOINS
from survey.reports.periods import Filters, problem_conditions

LIST_COLUMNS = headers(
    [
        "id",
        "raised_on",
        "company",
        "sector",
        "area",
        "category_group",
        "category",
        "source",
        "status",
        "department",
        "deadline_on",
        "replied_at",
        "reply_working_days",
        "satisfaction_level",
        "description",
    ]
)

_LIST_SELECT = """
    p.id, p.raised_on, c.name AS company, s.name AS sector, d.name AS area, parent.name AS category_group,
    pc.name AS category, p.source, p.status, dep.name AS department, p.deadline_on, p.replied_at,
    p.reply_working_days, p.satisfaction_level, p.description, p.company_id
"""


_LIST_SELECT_ALIASED = f"SELECT {_LIST_SELECT} FROM problems p {PROBLEM_JOINS}"


def _listwhere_clause(filters: Filters) -> tuple[str, list]:
    clauses, params = problem_conditions(filters, "days")
    return " AND ".join(clauses), params


def problem_list(db: Database, actor: Actor, filters: Filters, *, limit: int = 200) -> list[dict]:
    """The newest problems of the view (the dashboard's list under the charts)."""
    require(actor, "dashboard.read")
    where, params = _listwhere_clause(filters)
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
    where, params = _listwhere_clause(filters)
    yield from store.stream(
        db,
        f"SELECT {', '.join(LIST_COLUMNS)} FROM ({_LIST_SELECT_ALIASED} WHERE {where}) AS listed"
        " ORDER BY raised_on, id",
        params,
        chunk,
    )
