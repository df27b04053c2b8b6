"""The problem register (诉求): reading problems within the actor's scope.

The lifecycle actions (assign, accept, reply, callback...) build on these reads.
"""

from __future__ import annotations

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access.actor import Actor
from survey.access.permissions import problem_scope
from survey.errors import NotFoundError
from survey.problems.register import HELD_SQL

_LIST_COLUMNS = """
    p.id, p.status, p.source, p.raised_on, p.category_code, pc.name AS category,
    parent.name AS category_group, p.nature_code, p.description, p.company_id,
    c.name AS company, c.uscc, p.sector_code, s.name AS sector, p.district_code,
    d.name AS district, p.lead_department_code, dep.name AS department, p.deadline_on,
    p.outcome, p.satisfaction_level
"""
# The names every problem list shows; survey.reports.analytics uses them too.
PROBLEM_JOINS = """
    LEFT JOIN companies c ON c.id = p.company_id
    JOIN problem_categories pc ON pc.code = p.category_code
    LEFT JOIN problem_categories parent ON parent.code = pc.parent
    LEFT JOIN sectors s ON s.code = p.sector_code
    LEFT JOIN districts d ON d.code = p.district_code
    LEFT JOIN departments dep ON dep.code = p.lead_department_code
"""


def list_problems(
    db: Database,
    actor: Actor,
    *,
    statuses: list[str] | None = None,
    company_id: int | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[dict]:
    """Problems the actor may see, newest first."""
    where, params = problem_scope(actor)
    clauses = [where]
    if statuses:
        clauses.append(f"p.status IN ({', '.join('?' for _ in statuses)})")
        params += list(statuses)
    if company_id is not None:
        clauses.append("p.company_id = ?")
        params.append(company_id)
    sql = (
        f"SELECT {_LIST_COLUMNS} FROM problems p {PROBLEM_JOINS} WHERE {' AND '.join(clauses)}"
        f" ORDER BY p.raised_on DESC, p.id DESC LIMIT {int(limit)} OFFSET {int(offset)}"
    )
    return store.query(db, sql, params)


def count_problems(db: Database, actor: Actor, *, statuses: list[str] | None = None) -> int:
    where, params = problem_scope(actor)
    if statuses:
        where += f" AND p.status IN ({', '.join('?' for _ in statuses)})"
        params += list(statuses)
    return store.scalar(db, f"SELECT count(*) FROM problems p WHERE {where}", params)


def get_problem(db: Database, actor: Actor, problem_id: int) -> dict:
    """One problem with its events; a problem outside the actor's scope is reported as missing."""
    where, params = problem_scope(actor)
    rows = store.query(
        db,
        f"SELECT {_LIST_COLUMNS}, p.reply_text, p.solved_on_spot, p.spot_solution,"
        f" p.visit_id, p.feedback_id, p.assigned_at, p.replied_at, p.closed_at"
        f" FROM problems p {PROBLEM_JOINS} WHERE p.id = ? AND {where}",
        [problem_id, *params],
    )
    if not rows:
        raise NotFoundError(f"没有编号为 {problem_id} 的问题，或您无权查看。")
    problem = rows[0]
    problem["events"] = store.query(
        db,
        "SELECT e.at, e.action, e.from_status, e.to_status, e.note, e.actor_id, u.display_name AS actor"
        " FROM problem_events e LEFT JOIN users u ON u.id = e.actor_id"
        " WHERE e.problem_id = ? ORDER BY e.at, e.id",
        (problem_id,),
    )
    problem["reporter"] = ""
    if problem["source"] == "monitor":
        from survey.feedback import reporter_name

        source = store.query(
            db,
            "SELECT f.monitor_id, f.anonymous, u.display_name AS monitor FROM feedback f"
            " JOIN users u ON u.id = f.monitor_id WHERE f.id = ?",
            (problem["feedback_id"],),
        )[0]
        problem["reporter"] = reporter_name(actor, source)
        if problem["reporter"] != source["monitor"]:  # anonymous to this reader: hide it everywhere
            for event in problem["events"]:
                if event["actor_id"] == source["monitor_id"]:
                    event["actor"] = problem["reporter"]
    for event in problem["events"]:
        event.pop("actor_id")
    return problem


def list_for_department(db: Database, actor: Actor, *, limit: int = 500) -> list[dict]:
    """Open problems led by (or shared with) the handler's department, soonest deadline first."""
    where, params = problem_scope(actor)
    return store.query(
        db,
        f"SELECT {_LIST_COLUMNS}, p.escalated_at, p.extension_requested_days, p.assigned_at"
        f" FROM problems p {PROBLEM_JOINS} WHERE {where} AND p.status IN {HELD_SQL}"
        f" ORDER BY p.deadline_on IS NULL, p.deadline_on, p.id LIMIT {int(limit)}",
        params,
    )


WAITING = {
    "new": "p.status = 'new'",
    "replied": "p.status = 'replied'",
    "overdue": f"p.status IN {HELD_SQL} AND p.deadline_on < ?",
    "extension": f"p.status IN {HELD_SQL} AND p.extension_requested_days IS NOT NULL",
}


def _waiting(actor: Actor, kind: str, search: str | None) -> tuple[str, list, bool]:
    """(WHERE, params, whether it names the company) of a supervisor queue, narrowed by `search`:
    a problem's number (编号, with or without #) or a part of its company's name."""
    where, params = problem_scope(actor)
    clauses = [where, WAITING[kind]]
    if kind == "overdue":
        params = [*params, clock.today().isoformat()]
    text = (search or "").strip()
    if text:
        number = text.removeprefix("#").strip()
        if number.isdigit():
            clauses.append("(p.id = ? OR instr(c.name, ?) > 0)")
            params = [*params, int(number), text]
        else:
            clauses.append("instr(c.name, ?) > 0")
            params = [*params, text]
    return " AND ".join(clauses), params, bool(text)


def list_waiting(
    db: Database, actor: Actor, kind: str, *, limit: int = 500, search: str | None = None
) -> list[dict]:
    """Supervisor queues: 'new' (triage), 'replied' (callback), 'overdue', 'extension' requests;
    the first `limit` by date raised (an index range in that order at a million problems), or
    those that `search` finds among all of them."""
    where, params, _ = _waiting(actor, kind, search)
    return store.query(
        db,
        f"SELECT {_LIST_COLUMNS}, p.escalated_at, p.extension_requested_days, p.extension_reason, p.reply_text,"
        f" p.return_count FROM problems p {PROBLEM_JOINS} WHERE {where}"
        f" ORDER BY p.raised_on, p.id LIMIT {int(limit)}",
        params,
    )


def count_waiting(db: Database, actor: Actor, kind: str, *, search: str | None = None) -> int:
    """How many a queue holds in all (what `search` finds, when given): the page lists a first page."""
    where, params, named = _waiting(actor, kind, search)
    joins = "LEFT JOIN companies c ON c.id = p.company_id" if named else ""
    return store.scalar(db, f"SELECT count(*) FROM problems p {joins} WHERE {where}", params)
