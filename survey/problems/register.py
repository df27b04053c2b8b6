"""The problem register's rules, in one place: the statuses, the moves between them, who may make
each move, the deadline rules, and the only code that writes a problem's status or its timeline.

- `STATUS_LABELS` / `STATUSES` and the sets built from them (`WITH_DEPARTMENT`, `UNRESOLVED`).
- `TRANSITIONS`: one row per action: the statuses it starts from, the status it leads to (None:
  unchanged) and the permission (survey.permissions.RULES) the actor needs.
- `raise_problem()`: the one way a problem enters the register (visits and monitor leads).
- `transition()`: the one way a problem moves or gains a timeline entry. It checks the status and
  the permission, then writes the problem's columns, the event row and the audit row in the
  caller's transaction, and hands the event to every listener (`listen`).

The notifications (survey.notify.routing) are the first listener, always on. Listeners run
inside that transaction, after the writes: whatever they write (a notification
outbox row, for example) commits or rolls back with the change itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlite_utils import Database

from survey import clock, workdays
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require, require_on
from survey.companyview import links as company_links
from survey.errors import NotFoundError, PermissionDeniedError, SurveyError, ValidationError
from survey.notify import routing, webhooks

STATUS_LABELS = {
    "new": "待交办",
    "assigned": "已交办",
    "in_progress": "办理中",
    "replied": "已答复",
    "called_back": "已回访",
    "closed": "已办结",
}
STATUSES = tuple(STATUS_LABELS)
# The statuses in the company's own words (企业端); {department} is the lead department's name.
STATUS_FOR_COMPANY = {
    "new": "已收到，正在分派给责任部门",
    "assigned": "已交{department}办理",
    "in_progress": "{department}正在办理",
    "replied": "{department}已答复，请您评价",
    "called_back": "已回访",
    "closed": "已办结",
}
WITH_DEPARTMENT = ("assigned", "in_progress")  # a department holds it; its deadline runs
UNRESOLVED = tuple(s for s in STATUSES if s != "closed")

REOPEN_WORKING_DAYS = 10  # a bad review reopens the problem with this many working days
WARNING_WORKING_DAYS = 2  # 预警: the deadline is this close


def sql_list(statuses: tuple[str, ...]) -> str:
    """A status set as an SQL list literal: the quoted codes, comma-separated, in brackets."""
    return "(" + ", ".join(f"'{s}'" for s in statuses) + ")"


HELD_SQL = sql_list(WITH_DEPARTMENT)  # for `status IN {HELD_SQL}` in queries


class IllegalTransitionError(SurveyError):
    """The problem's status does not allow this action."""


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str | None, ...]
    target: str | None  # None: the status does not change
    permission: str
    verb: str  # for "当前为“…”，不能{verb}"


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("raise", (None,), "new", "problems.raise", "登记"),
        Transition("solve_on_spot", ("new",), "closed", "problems.raise", "现场解决"),
        Transition("assign", ("new",), "assigned", "problems.triage", "交办"),
        Transition("accept", ("assigned",), "in_progress", "problems.handle", "签收"),
        Transition("reply", ("in_progress",), "replied", "problems.handle", "答复"),
        Transition("return", WITH_DEPARTMENT, "new", "problems.handle", "退回"),
        Transition("extension_requested", WITH_DEPARTMENT, None, "problems.handle", "申请延期"),
        Transition("extension_granted", WITH_DEPARTMENT, None, "problems.triage", "处理延期申请"),
        Transition("extension_refused", WITH_DEPARTMENT, None, "problems.triage", "处理延期申请"),
        Transition("escalate", WITH_DEPARTMENT, None, "problems.triage", "督办"),
        Transition("joint_review", WITH_DEPARTMENT, None, "problems.triage", "联审会办"),
        Transition("callback", ("replied",), "called_back", "problems.triage", "回访"),
        # The company's own rating of an answer (企业端): the callback move, from its link.
        Transition("rate", ("replied",), "called_back", "company_view.rate", "评价"),
        Transition("reopen", ("called_back",), "in_progress", "problems.triage", "重办"),
        Transition("close", ("called_back",), "closed", "problems.triage", "办结"),
        Transition("raised_again", UNRESOLVED, None, "visits.create", "记录再次反映"),
        Transition("annotate", STATUSES, None, "problems.annotate", "添加备注"),
        Transition("link", STATUSES, None, "problems.triage", "关联"),
    )
}


def target_of(action: str, current: str | None, problem_id: int | None = None) -> str:
    """The status after `action` from `current`, or IllegalTransitionError."""
    move = TRANSITIONS[action]
    if current not in move.sources:
        label = STATUS_LABELS.get(current or "", "未登记")
        which = f"问题 #{problem_id}" if problem_id is not None else "问题"
        raise IllegalTransitionError(f"{which} 当前为“{label}”，不能{move.verb}。")
    return move.target or current


# ---- listeners -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One timeline entry, as listeners receive it; `problem` is the row after the change."""

    id: int
    problem_id: int
    action: str
    from_status: str | None
    to_status: str
    actor: Actor
    at: str
    note: str
    problem: dict = field(repr=False)


Listener = Callable[[Database, Event], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> Listener:
    """Call `listener(db, event)` after every raise and transition, inside its transaction."""
    _listeners.append(listener)
    return listener


def unlisten(listener: Listener) -> None:
    _listeners.remove(listener)


def _announce(db: Database, event: Event) -> None:
    """Notifications first (who hears of it, in survey.notify.routing), the subscribed systems'
    webhooks, the company's own link (survey.companyview.links), then any listener."""
    routing.on_event(db, event)
    webhooks.on_event(db, event)
    company_links.on_event(db, event)  # the company's SMS and e-mail with its link (企业端)
    for listener in list(_listeners):
        listener(db, event)


# ---- reading and checking ------------------------------------------------------------------------


def load(db: Database, problem_id: int) -> dict:
    rows = store.query(db, "SELECT * FROM problems WHERE id = ?", (problem_id,))
    if not rows:
        raise NotFoundError(f"没有编号为 {problem_id} 的问题。")
    return rows[0]


# The moments a problem's row records; each is at or before its updated_at.
DATED_COLUMNS = (
    "created_at",
    "assigned_at",
    "accepted_at",
    "replied_at",
    "called_back_at",
    "closed_at",
    "escalated_at",
)


def updated_at_behind(db: Database) -> list[int]:
    """Problems whose updated_at is older than their last event or one of DATED_COLUMNS: a system
    that mirrors the register by updated_at would miss their last change (for `survey check`)."""
    older = " OR ".join(f"p.updated_at < p.{c}" for c in DATED_COLUMNS)
    rows = db.conn.execute(
        "SELECT p.id FROM problems p LEFT JOIN"
        " (SELECT problem_id, max(at) AS last_at FROM problem_events GROUP BY problem_id) e"
        f" ON e.problem_id = p.id WHERE p.updated_at < e.last_at OR {older} ORDER BY p.id"
    )
    return [r[0] for r in rows]


def check(actor: Actor, problem: dict, action: str) -> str:
    """The permission first (its row rule included), then the status. Returns the new status."""
    require_on(actor, TRANSITIONS[action].permission, problem)
    return target_of(action, problem["status"], problem["id"])


# ---- deadlines -----------------------------------------------------------------------------------


def deadline_days(db: Database, deadline_class: str) -> int | None:
    """Working days of a deadline class; None for one without a fixed deadline (长期推进)."""
    row = db.conn.execute(
        "SELECT working_days FROM deadline_classes WHERE code = ?", (deadline_class,)
    ).fetchone()
    if row is None:
        raise ValidationError(f"办理时限“{deadline_class}”无效。", "deadline_class")
    return None if row[0] is None else int(row[0])


def deadline_for(db: Database, deadline_class: str | None, start: date) -> str | None:
    """The deadline date: `working_days` of the class after `start` on the Chinese calendar."""
    if not deadline_class:
        return None
    days = deadline_days(db, deadline_class)
    return None if days is None else workdays.add_working_days(start, days).isoformat()


def reopen_deadline(today: date) -> str:
    return workdays.add_working_days(today, REOPEN_WORKING_DAYS).isoformat()


def bad_review_levels(db: Database) -> list[int]:
    """Satisfaction levels that count as a bad review and reopen the problem."""
    return [
        r[0]
        for r in db.conn.execute("SELECT level FROM satisfaction_levels WHERE is_bad_review = 1")
    ]


def warning_cutoff(today: date | None = None) -> str:
    """Deadlines on or before this date are 预警 (or already 逾期)."""
    return workdays.add_working_days(today or clock.today(), WARNING_WORKING_DAYS).isoformat()


def deadline_state(problem: dict, today: date | None = None) -> str:
    """'overdue', 'warning' (WARNING_WORKING_DAYS or less), 'ok' or '' when no deadline applies."""
    if problem["status"] not in WITH_DEPARTMENT or not problem.get("deadline_on"):
        return ""
    today = today or clock.today()
    deadline = date.fromisoformat(problem["deadline_on"])
    if deadline < today:
        return "overdue"
    if deadline.isoformat() <= warning_cutoff(today):
        return "warning"
    return "ok"


# ---- writing -------------------------------------------------------------------------------------

EVENT_COLUMNS = ("problem_id", "actor_id", "at", "action", "from_status", "to_status", "note")
_INSERT_EVENT = (
    f"INSERT INTO problem_events ({', '.join(EVENT_COLUMNS)})"
    f" VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})"
)


def event_row(
    problem_id: int, actor_id: int | None, at: str, action: str, current: str | None, note=""
) -> tuple:
    """An event row for a legal move (the demo generator builds its timelines from these)."""
    return (problem_id, actor_id, at, action, current, target_of(action, current), note)


def insert_events(db: Database, rows: list[tuple]) -> int:
    """Write event rows built by `event_row` (bulk loads; the caller holds the transaction): by
    COPY on PostgreSQL, as survey.bulk writes every big table."""
    from survey import bulk

    return bulk.insert_rows(db, "problem_events", EVENT_COLUMNS, rows)


def _write_event(
    db: Database,
    actor: Actor,
    problem: dict,
    action: str,
    before: str | None,
    after: str,
    note,
    at: str,
) -> Event:
    cursor = db.execute(_INSERT_EVENT, (problem["id"], actor.id, at, action, before, after, note))
    return Event(cursor.lastrowid, problem["id"], action, before, after, actor, at, note, problem)


def transition(
    db: Database,
    actor: Actor,
    problem: dict | int,
    action: str,
    *,
    note: str = "",
    changes: dict | None = None,
    audit_note: str | None = None,
) -> dict:
    """Make one move: check it, write the problem's new status and `changes`, the event and the
    audit row, then tell the listeners. Runs in the caller's transaction (or its own). Returns the
    problem as it now is."""
    with store.transaction(db, savepoint=False):
        if not isinstance(problem, dict):
            problem = load(db, problem)
        before = problem["status"]
        after = check(actor, problem, action)
        values = dict(changes or {})
        if after != before:
            values["status"] = after
        # Every move, a note or a link too: updated_at is the time of the last event, so a system
        # that mirrors the register by updated_at sees each change (`survey check` verifies it).
        at = values["updated_at"] = clock.now_iso()
        db.execute(
            f"UPDATE problems SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
            [*values.values(), problem["id"]],
        )
        now = {**problem, **values}
        event = _write_event(db, actor, now, action, before, after, note, at)
        shown = {k: v for k, v in values.items() if k != "updated_at"}
        audit.record(
            db,
            actor,
            "update",
            "problems",
            problem["id"],
            before={"status": before, **{k: problem.get(k) for k in shown if k != "status"}},
            after={"status": after, **shown},
            note=audit_note if audit_note is not None else TRANSITIONS[action].verb,
        )
        _announce(db, event)
    return now


@dataclass
class NewProblem:
    """What a problem is raised with; `company` is the companies row (None for a lead without
    one). A problem solved on the spot is raised and closed in the same transaction."""

    source: str
    submission_id: str
    category_code: str
    nature_code: str
    description: str
    raised_on: str
    company: dict | None = None
    visit_id: int | None = None
    feedback_id: int | None = None
    deadline_class: str | None = None
    solved_on_spot: bool = False
    spot_solution: str = ""
    note: str = ""


_PROBLEM_COLUMNS = (
    "submission_id",
    "source",
    "visit_id",
    "feedback_id",
    "company_id",
    "sector_code",
    "district_code",
    "category_code",
    "nature_code",
    "description",
    "status",
    "raised_on",
    "raised_month",
    "deadline_class",
    "created_by",
    "created_at",
    "updated_at",
)


def raise_problem(db: Database, actor: Actor, new: NewProblem) -> int:
    """Enter a problem as 待交办 with its 'raise' event and audit row (then close it at once when
    it was solved on the spot). Returns its id."""
    require(actor, TRANSITIONS["raise"].permission)
    company = new.company or {}
    if actor.has_role("company") and (
        new.source != "company" or company.get("id") != actor.company_id
    ):  # a company (企业端) raises only its own requests
        raise PermissionDeniedError("企业只能为本企业提出诉求。")
    with store.transaction(db, savepoint=False):
        now = clock.now_iso()
        values = (
            new.submission_id,
            new.source,
            new.visit_id,
            new.feedback_id,
            company.get("id"),
            company.get("sector_code"),
            company.get("park_code") or company.get("district_code"),
            new.category_code,
            new.nature_code,
            new.description.strip(),
            target_of("raise", None),
            new.raised_on,
            new.raised_on[:7],
            new.deadline_class or None,
            actor.id,
            now,
            now,
        )
        cursor = db.execute(
            f"INSERT INTO problems ({', '.join(_PROBLEM_COLUMNS)})"
            f" VALUES ({', '.join('?' for _ in _PROBLEM_COLUMNS)})",
            values,
        )
        # The row as written (the columns left out hold their defaults); no read back.
        problem = dict(zip(_PROBLEM_COLUMNS, values, strict=True), id=cursor.lastrowid)
        event = _write_event(db, actor, problem, "raise", None, "new", new.note, now)
        audit.record(
            db,
            actor,
            "insert",
            "problems",
            problem["id"],
            after={"source": new.source, "category_code": new.category_code},
        )
        _announce(db, event)
        if new.solved_on_spot:
            solution = new.spot_solution.strip()
            closing = {"solved_on_spot": 1, "spot_solution": solution, "outcome": "resolved"}
            closing |= {"replied_at": now, "closed_at": now}
            transition(db, actor, problem, "solve_on_spot", note=solution, changes=closing)
    return problem["id"]


def withdraw(db: Database, actor: Actor, problem_id: int, reason: str) -> dict:
    """Remove a problem and its timeline (the caller checks who may, and when); audited."""
    with store.transaction(db, savepoint=False):
        problem = load(db, problem_id)
        db.execute("DELETE FROM messages WHERE problem_id = ?", (problem_id,))
        db.execute("DELETE FROM problem_events WHERE problem_id = ?", (problem_id,))
        db.execute("DELETE FROM problems WHERE id = ?", (problem_id,))
        audit.record(db, actor, "delete", "problems", problem_id, before=problem, note=reason)
    return problem
