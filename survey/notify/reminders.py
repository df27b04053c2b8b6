"""Deadline reminders: 预警 (the deadline is within WARNING_WORKING_DAYS working days) to the lead
department's handlers, 逾期 (past the deadline) to them and to the supervisors. Each is sent once
per problem, state and deadline, however often the scan runs: a new deadline (an extension, a
reopening) may warn again."""

from __future__ import annotations

from datetime import date

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.notify.messages import Message, send
from survey.notify.robots import SUPERVISORS
from survey.notify.routing import handlers_of, summary, supervisors
from survey.problems.register import HELD_SQL, WARNING_WORKING_DAYS, warning_cutoff

SCAN_SQL = (
    "SELECT p.id, p.lead_department_code, p.deadline_on, coalesce(c.name, '未指明企业') AS company,"
    " pc.name AS category FROM problems p LEFT JOIN companies c ON c.id = p.company_id"
    " JOIN problem_categories pc ON pc.code = p.category_code"
    f" WHERE p.status IN {HELD_SQL} AND p.deadline_on <= ?"
    " AND p.lead_department_code IS NOT NULL"
)


def scan(db: Database, today: date | None = None) -> dict[str, int]:
    """Send the reminders due today; returns the number of new messages per kind."""
    today = today or clock.today()
    cutoff = warning_cutoff(today)
    sent = {"warning": 0, "overdue": 0}
    with store.transaction(db):
        due = store.query(db, SCAN_SQL, (cutoff,))
        handlers: dict[str, set[int]] = {}
        bosses = supervisors(db)
        for row in due:
            late = row["deadline_on"] < today.isoformat()
            state = "overdue" if late else "warning"
            dept = row["lead_department_code"]
            if dept not in handlers:
                handlers[dept] = handlers_of(db, [dept])
            people = handlers[dept] | (bosses if late else set())
            title = "问题已逾期" if late else f"问题将在 {WARNING_WORKING_DAYS} 个工作日内到期"
            message = Message(
                state,
                title,
                summary(row),
                row["id"],
                urgent=late,
                dedupe_key=f"{state}:{row['id']}:{row['deadline_on']}",
                audience=(dept, SUPERVISORS) if late else (dept,),
            )
            sent[state] += send(db, people, message)
    return sent


def plan(db: Database, today: date | None = None) -> list[str]:
    """The scan's query plan (it must read through the (status, deadline_on) index)."""
    return [
        r[3] for r in db.conn.execute("EXPLAIN QUERY PLAN " + SCAN_SQL, (warning_cutoff(today),))
    ]
