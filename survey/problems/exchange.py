"""The register as other systems read it (the API's problems and events): pages of problems after
a cursor, one problem with its timeline, and the change feed of every event after a cursor. Each
read is limited by the reader's row scope. Nothing names a person: not the officer or monitor who
raised a problem, not who moved it; the company's contact person and phone only for a reader
allowed personal data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from survey import db as store
from survey.access.actor import Actor
from survey.access.permissions import can, problem_scope
from survey.errors import NotFoundError, ValidationError
from survey.problems.register import STATUSES

MAX_PAGE = 500

PROBLEM_SQL = (
    "SELECT p.id, p.status, p.source, o.external_ref, p.category_code, pc.name AS category_name,"
    " p.nature_code, p.description, p.raised_on, p.sector_code, p.district_code,"
    " p.lead_department_code, p.deadline_on, p.assigned_at, p.replied_at, p.outcome, p.reply_text,"
    " p.called_back_at, p.satisfaction_level, p.closed_at, p.updated_at,"
    " c.uscc AS company_uscc, c.name AS company_name, c.contact_name AS company_contact_name,"
    " c.contact_phone AS company_contact_phone"
    " FROM problems p JOIN problem_categories pc ON pc.code = p.category_code"
    " LEFT JOIN companies c ON c.id = p.company_id"
    " LEFT JOIN problem_origins o ON o.problem_id = p.id"
)


@dataclass(frozen=True)
class ProblemFilter:
    statuses: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    sector: str | None = None
    department: str | None = None
    raised_from: str | None = None
    raised_to: str | None = None


def _shape(actor: Actor, row: dict) -> dict:
    personal = can(actor, "personal.read")
    company = None
    if row["company_uscc"]:
        company = {"uscc": row["company_uscc"], "name": row["company_name"]}
        if personal:
            company |= {
                "contact_name": row["company_contact_name"],
                "contact_phone": row["company_contact_phone"],
            }
    shaped = {k: v for k, v in row.items() if not k.startswith("company_")}
    return shaped | {"company": company}


def _limit(limit: int) -> int:
    if not 1 <= int(limit) <= MAX_PAGE:
        raise ValidationError(f"limit 应为 1–{MAX_PAGE}。", "limit")
    return int(limit)


def problems_after(
    db: Database, actor: Actor, filters: ProblemFilter, after: int = 0, limit: int = 100
) -> tuple[list[dict], int | None]:
    """Problems with an id above `after`, oldest first; returns them and the next cursor (None
    at the end)."""
    limit = _limit(limit)
    where, params = problem_scope(actor)
    clauses, values = [where, "p.id > ?"], [*params, int(after)]
    bad = [s for s in filters.statuses if s not in STATUSES]
    if bad:
        raise ValidationError(f"status 无效：{bad[0]}", "status")
    for column, chosen in (("p.status", filters.statuses), ("p.source", filters.sources)):
        if chosen:
            clauses.append(f"{column} IN ({', '.join('?' for _ in chosen)})")
            values += list(chosen)
    for clause, value in (
        ("p.sector_code = ?", filters.sector),
        ("p.lead_department_code = ?", filters.department),
        ("p.raised_on >= ?", filters.raised_from),
        ("p.raised_on <= ?", filters.raised_to),
    ):
        if value:
            clauses.append(clause)
            values.append(value)
    rows = store.query(
        db,
        f"{PROBLEM_SQL} WHERE {' AND '.join(clauses)} ORDER BY p.id LIMIT {limit + 1}",
        values,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return [_shape(actor, r) for r in rows], (rows[-1]["id"] if more else None)


def problem_with_timeline(db: Database, actor: Actor, problem_id: int) -> dict:
    where, params = problem_scope(actor)
    rows = store.query(db, f"{PROBLEM_SQL} WHERE p.id = ? AND {where}", [problem_id, *params])
    if not rows:
        raise NotFoundError(f"问题 #{problem_id} 不存在，或不在您的数据范围内。")
    problem = _shape(actor, rows[0])
    problem["co_departments"] = [
        r[0]
        for r in db.conn.execute(
            "SELECT department_code FROM problem_co_departments WHERE problem_id = ?"
            " ORDER BY department_code",
            (problem_id,),
        )
    ]
    problem["timeline"] = store.query(
        db,
        "SELECT id, at, action, from_status, to_status, note FROM problem_events"
        " WHERE problem_id = ? ORDER BY id",
        (problem_id,),
    )
    return problem


def events_after(
    db: Database, actor: Actor, after: int = 0, limit: int = 100
) -> tuple[list[dict], int]:
    """The change feed: every event with an id above `after` on a problem the reader may see,
    in order; returns them and the cursor to ask from next (the last id read, or `after` when
    nothing is new). Ids grow in commit order, so a reader that always asks from its last cursor
    sees each event exactly once: every event is written under the writers' lock (one writer at a
    time on SQLite; on PostgreSQL a server-wide advisory lock, so also across app hosts, released
    only after the commit is visible)."""
    limit = _limit(limit)
    where, params = problem_scope(actor)
    rows = store.query(
        db,
        "SELECT e.id, e.problem_id, e.at, e.action, e.from_status, e.to_status, e.note"
        f" FROM problem_events e JOIN problems p ON p.id = e.problem_id WHERE e.id > ? AND {where}"
        f" ORDER BY e.id LIMIT {limit}",
        [int(after), *params],
    )
    return rows, (rows[-1]["id"] if rows else int(after))
