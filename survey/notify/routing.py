"""Who hears of each move of a problem, and what they read. survey.problems.register calls
`on_event` inside the transaction of every move; the messages it writes commit or roll back with it.

No message names the person who reported a problem: a department never learns an anonymous
monitor's name, and an SMS carries no personal data beyond the company's name.
"""

from __future__ import annotations

from sqlite_utils import Database

from survey import db as store
from survey.names import one_line
from survey.notify.messages import Message, send
from survey.notify.robots import SUPERVISORS

# action -> (kind, title, who: 'lead' | 'co' | 'supervisors' | 'raiser', urgent)
ROUTES: dict[str, list[tuple[str, str, str, bool]]] = {
    "assign": [
        ("assigned", "新交办问题", "lead", False),
        ("co_assigned", "新协办问题", "co", False),
    ],
    "return": [("returned", "问题被退回", "supervisors", False)],
    "extension_requested": [("extension_requested", "延期申请待审批", "supervisors", False)],
    "reply": [
        ("replied", "问题已答复，待回访", "supervisors", False),
        ("answered", "您反映的问题已答复", "raiser", False),
    ],
    "escalate": [("escalated", "督办", "lead", True)],
    "joint_review": [("joint_review", "联审会办决定", "lead", True)],
    "extension_granted": [("extension_decided", "延期申请已同意", "lead", False)],
    "extension_refused": [("extension_decided", "延期申请未同意", "lead", False)],
    "reopen": [("reopened", "差评重办", "lead", True)],
    "close": [("closed", "您反映的问题已办结", "raiser", False)],
}


def handlers_of(db: Database, departments: list[str]) -> set[int]:
    if not departments:
        return set()
    marks = ", ".join("?" for _ in departments)
    return {
        r[0]
        for r in db.conn.execute(
            "SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id AND r.role = 'handler'"
            f" WHERE u.active = 1 AND u.department_code IN ({marks})",
            departments,
        )
    }


def supervisors(db: Database) -> set[int]:
    return {
        r[0]
        for r in db.conn.execute(
            "SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id"
            " AND r.role = 'supervisor' WHERE u.active = 1"
        )
    }


def groups(db: Database, who: str, problem: dict) -> tuple[str, ...]:
    """The groups a route speaks to (department codes, or the supervisors), for their robots."""
    if who == "lead":
        lead = problem.get("lead_department_code")
        return (lead,) if lead else ()
    if who == "co":
        return tuple(
            r[0]
            for r in db.conn.execute(
                "SELECT department_code FROM problem_co_departments WHERE problem_id = ?"
                " ORDER BY department_code",
                (problem["id"],),
            )
            if r[0] != problem.get("lead_department_code")
        )
    if who == "supervisors":
        return (SUPERVISORS,)
    if who == "raiser":
        return ()
    raise ValueError(who)


def recipients(db: Database, who: str, problem: dict) -> set[int]:
    if who == "supervisors":
        return supervisors(db)
    if who == "raiser":  # a person; another system that raised it hears through its webhooks
        raiser = problem.get("created_by")
        active = raiser and store.scalar(db, "SELECT active FROM users WHERE id = ?", (raiser,))
        return {raiser} if active else set()
    people = handlers_of(db, list(groups(db, who, problem)))
    return people - recipients(db, "lead", problem) if who == "co" else people


def describe(db: Database, problem_id: int) -> dict:
    """Problem number, company, category and deadline: what every message carries."""
    row = store.query(
        db,
        "SELECT p.id, coalesce(c.name, '未指明企业') AS company, pc.name AS category, p.deadline_on,"
        " d.name AS department FROM problems p LEFT JOIN companies c ON c.id = p.company_id"
        " JOIN problem_categories pc ON pc.code = p.category_code"
        " LEFT JOIN departments d ON d.code = p.lead_department_code WHERE p.id = ?",
        (problem_id,),
    )[0]
    return row


def summary(facts: dict) -> str:
    """The problem's line: one line whatever the company is called (an SMS sends only it)."""
    deadline = facts["deadline_on"] or "长期推进"
    company, category = one_line(facts["company"]), one_line(facts["category"])
    return f"问题 #{facts['id']} · {company} · {category} · 办理时限 {deadline}"


def on_event(db: Database, event) -> int:
    """Write the messages one move causes; returns how many."""
    routes = ROUTES.get(event.action)
    if not routes:
        return 0
    facts = describe(db, event.problem_id)
    sent = 0
    for kind, title, who, urgent in routes:
        people = recipients(db, who, event.problem) - {event.actor.id}
        body = summary(facts) + (f"\n{event.note}" if event.note else "")
        audience = groups(db, who, event.problem)
        message = Message(kind, title, body, event.problem_id, event.id, urgent, audience=audience)
        sent += send(db, people, message)
    return sent
