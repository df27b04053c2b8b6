"""Joint review meetings (重点问题联审会办): a supervisor puts the hardest problems on a dated
meeting's agenda (overdue, escalated, reopened, or raised by several companies); the minutes
record for each a decision, the departments responsible, a deadline and the chair. The decision
enters the problem's timeline and its deadline becomes the problem's, through the register like
every other change. Decisions are followed like tasks (done, open, overdue), and a new meeting's
agenda carries over the open ones."""

from __future__ import annotations

from datetime import date

from sqlite_utils import Database

from survey import clock, repeats
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.errors import NotFoundError, ValidationError
from survey.names import one_line
from survey.problems.register import HELD_SQL, transition

REASONS = {
    "overdue": "逾期",
    "escalated": "已督办",
    "reopened": "差评重办",
    "several": "多家企业反映",
    "carried": "上次会议未办结",
}
ITEM_STATES = {"open": "推进中", "done": "已办结", "overdue": "逾期未办结"}


def candidates(
    db: Database, actor: Actor, today: date | None = None, *, limit: int = 200
) -> list[dict]:
    """Problems a department holds that are overdue, escalated, reopened or raised by several
    companies, with their reasons; those already on an open agenda item are left out. The first
    `limit`, soonest deadline first (those with none last): at a million problems the held ones
    are tens of thousands, which read whole took a second and filled a select box nobody scrolls.
    The reasons are in the WHERE, so the deadline order is an index range that stops at `limit`."""
    require(actor, "problems.triage")
    today_iso = (today or clock.today()).isoformat()
    several = (
        "EXISTS (SELECT 1 FROM problem_links l WHERE l.problem_id = p.id AND l.kind = 'same_issue')"
    )
    select = (
        "SELECT p.id, coalesce(c.name, '未指明企业') AS company, pc.name AS category,"
        " d.name AS department, p.deadline_on,"
        " p.deadline_on < ? AS overdue, p.escalated_at IS NOT NULL AS escalated,"
        f" p.reopen_count > 0 AS reopened, {several} AS several"
        " FROM problems p LEFT JOIN companies c ON c.id = p.company_id"
        " JOIN problem_categories pc ON pc.code = p.category_code"
        " LEFT JOIN departments d ON d.code = p.lead_department_code"
        f" WHERE p.status IN {HELD_SQL} AND NOT EXISTS (SELECT 1 FROM meeting_items i"
        "  WHERE i.problem_id = p.id AND i.status = 'open')"
        " AND (p.deadline_on < ? OR p.escalated_at IS NOT NULL OR p.reopen_count > 0"
        f" OR {several})"
    )
    # Two ranges, not ORDER BY deadline_on IS NULL: an expression no index holds (and NULLs sort
    # first in SQLite, last in PostgreSQL).
    rows = store.query(
        db,
        f"{select} AND p.deadline_on IS NOT NULL ORDER BY p.deadline_on, p.id LIMIT {int(limit)}",
        (today_iso, today_iso),
    )
    if len(rows) < limit:
        rows += store.query(
            db,
            f"{select} AND p.deadline_on IS NULL ORDER BY p.id LIMIT {int(limit) - len(rows)}",
            (today_iso, today_iso),
        )
    return [
        {**row, "reasons": [k for k in ("overdue", "escalated", "reopened", "several") if row[k]]}
        for row in rows
    ]


def create_meeting(
    db: Database, actor: Actor, held_on: str, title: str = "", *, request_id: str | None = None
) -> int:
    """A new meeting; the open items of earlier meetings are carried onto its agenda. A repeat
    of `request_id` (survey.repeats) returns the first one's id."""
    require(actor, "problems.triage")
    try:
        day = date.fromisoformat(str(held_on))
    except ValueError:
        raise ValidationError("会议日期应为 YYYY-MM-DD。", "held_on") from None
    now = clock.now_iso()
    title = one_line(title) or f"{day.isoformat()} 重点问题联审会"
    with store.transaction(db):
        if repeat := repeats.first(db, actor, request_id, "create_meeting"):
            return repeat.result
        if store.scalar(
            db, "SELECT 1 FROM meetings WHERE held_on = ? AND title = ?", (day.isoformat(), title)
        ):  # a second tap on 新建会议 does not make a second meeting
            raise ValidationError(f"{day.isoformat()} 已有会议“{title}”，不能重复新建。", "title")
        meeting_id = db.execute(
            "INSERT INTO meetings (held_on, title, created_by, created_at) VALUES (?, ?, ?, ?)",
            (day.isoformat(), title, actor.id, now),
        ).lastrowid
        carried = db.conn.execute(
            "SELECT i.id, i.problem_id FROM meeting_items i WHERE i.status = 'open'"
            " AND NOT EXISTS (SELECT 1 FROM meeting_items later WHERE later.carried_from = i.id)"
        ).fetchall()
        db.conn.executemany(
            "INSERT INTO meeting_items (meeting_id, problem_id, reason, carried_from)"
            " VALUES (?, ?, 'carried', ?) ON CONFLICT DO NOTHING",
            [(meeting_id, problem_id, item_id) for item_id, problem_id in carried],
        )
        audit.record(
            db,
            actor,
            "insert",
            "meetings",
            meeting_id,
            after={"held_on": day.isoformat(), "carried": len(carried)},
        )
        return repeats.record(db, actor, request_id, "create_meeting", int(meeting_id))


def add_item(
    db: Database, actor: Actor, meeting_id: int, problem_id: int, reasons: list[str]
) -> int:
    require(actor, "problems.triage")
    with store.transaction(db):
        if not store.scalar(db, "SELECT 1 FROM meetings WHERE id = ?", (meeting_id,)):
            raise NotFoundError(f"没有编号为 {meeting_id} 的会议。")
        status = store.scalar(db, "SELECT status FROM problems WHERE id = ?", (problem_id,))
        if status is None:
            raise NotFoundError(f"没有编号为 {problem_id} 的问题。")
        added = db.execute(
            "INSERT INTO meeting_items (meeting_id, problem_id, reason) VALUES (?, ?, ?)"
            " ON CONFLICT(meeting_id, problem_id) DO NOTHING",
            (meeting_id, problem_id, ",".join(r for r in reasons if r in REASONS)),
        ).rowcount
        item_id = store.scalar(
            db,
            "SELECT id FROM meeting_items WHERE meeting_id = ? AND problem_id = ?",
            (meeting_id, problem_id),
        )  # already on the agenda (carried over): that item
        if added:
            audit.record(
                db, actor, "insert", "meeting_items", item_id, after={"problem": problem_id}
            )
    return int(item_id)


def record_decision(
    db: Database,
    actor: Actor,
    item_id: int,
    *,
    decision: str,
    departments: list[str],
    deadline_on: str,
    chair: str,
    request_id: str | None = None,
) -> None:
    """The minutes of one item: it enters the problem's timeline and sets its new deadline. A
    repeat of `request_id` (survey.repeats) writes nothing."""
    require(actor, "problems.triage")
    decision, chair = (decision or "").strip(), one_line(chair)
    if len(decision) < 4:
        raise ValidationError("请填写会议决定（至少 4 个字）。", "decision")
    if not departments:
        raise ValidationError("请选择责任单位。", "departments")
    if not chair:
        raise ValidationError("请填写主持人。", "chair")
    try:
        deadline = date.fromisoformat(str(deadline_on)).isoformat()
    except ValueError:
        raise ValidationError("办理时限应为日期 YYYY-MM-DD。", "deadline_on") from None
    with store.transaction(db):
        if repeats.first(db, actor, request_id, "record_decision"):
            return
        rows = store.query(db, "SELECT * FROM meeting_items WHERE id = ?", (item_id,))
        if not rows:
            raise NotFoundError(f"没有编号为 {item_id} 的议题。")
        names = dict(db.conn.execute("SELECT code, name FROM departments").fetchall())
        unknown = [d for d in departments if d not in names]
        if unknown:
            raise ValidationError(f"责任单位代码无效：{unknown[0]}", "departments")
        recorded = {
            row[0]
            for row in db.conn.execute(
                "SELECT department_code FROM meeting_item_departments WHERE item_id = ?",
                (item_id,),
            )
        }
        item = rows[0]
        if (item["decision"], item["chair"], item["deadline_on"], recorded) == (
            decision,
            chair,
            deadline,
            set(departments),
        ):  # a second tap on 记录决定 does not write the decision into the timeline again
            raise ValidationError("这项决定已记录，未重复写入办理过程。", "decision")
        db.execute(
            "UPDATE meeting_items SET decision = ?, chair = ?, deadline_on = ?, decided_at = ?"
            " WHERE id = ?",
            (decision, chair, deadline, clock.now_iso(), item_id),
        )
        db.execute("DELETE FROM meeting_item_departments WHERE item_id = ?", (item_id,))
        db.conn.executemany(
            "INSERT INTO meeting_item_departments (item_id, department_code) VALUES (?, ?)",
            [(item_id, d) for d in departments],
        )
        responsible = "、".join(names[d] for d in departments)
        note = (
            f"联审会办决定：{decision}（责任单位：{responsible}；时限 {deadline}；主持：{chair}）"
        )
        transition(
            db,
            actor,
            rows[0]["problem_id"],
            "joint_review",
            note=note,
            changes={"deadline_on": deadline},
        )
        repeats.record(db, actor, request_id, "record_decision", item_id)


def mark_done(db: Database, actor: Actor, item_id: int) -> None:
    require(actor, "problems.triage")
    with store.transaction(db):
        changed = db.execute(
            "UPDATE meeting_items SET status = 'done', done_at = ? WHERE id = ? AND status = 'open'",
            (clock.now_iso(), item_id),
        ).rowcount
        if not changed:
            raise ValidationError("这个议题已办结或不存在。", "item")
        audit.record(db, actor, "update", "meeting_items", item_id, note="办结")


def list_meetings(db: Database, actor: Actor) -> list[dict]:
    require(actor, "problems.triage")
    return store.query(
        db,
        "SELECT m.id, m.held_on, m.title, count(i.id) AS items,"
        " sum(i.status = 'open') AS open_items FROM meetings m"
        " LEFT JOIN meeting_items i ON i.meeting_id = m.id GROUP BY m.id ORDER BY m.held_on DESC",
    )


def agenda(db: Database, actor: Actor, meeting_id: int, today: date | None = None) -> list[dict]:
    """The meeting's items with each problem's facts, its history and the item's follow-up state."""
    require(actor, "problems.triage")
    today_iso = (today or clock.today()).isoformat()
    items = store.query(
        db,
        "SELECT i.*, coalesce(c.name, '未指明企业') AS company, pc.name AS category,"
        " d.name AS department, p.description, p.status AS problem_status,"
        " p.deadline_on AS problem_deadline,"
        " (SELECT group_concat(x.name, '、') FROM meeting_item_departments md"
        "  JOIN departments x ON x.code = md.department_code WHERE md.item_id = i.id) AS responsible"
        " FROM meeting_items i JOIN problems p ON p.id = i.problem_id"
        " LEFT JOIN companies c ON c.id = p.company_id"
        " JOIN problem_categories pc ON pc.code = p.category_code"
        " LEFT JOIN departments d ON d.code = p.lead_department_code"
        " WHERE i.meeting_id = ? ORDER BY i.id",
        (meeting_id,),
    )
    for item in items:
        late = item["status"] == "open" and item["deadline_on"] and item["deadline_on"] < today_iso
        item["state"] = "overdue" if late else item["status"]
        item["reason_labels"] = "、".join(
            REASONS[r] for r in item["reason"].split(",") if r in REASONS
        )
        item["history"] = store.query(
            db,
            "SELECT at, action, note FROM problem_events WHERE problem_id = ? ORDER BY id",
            (item["problem_id"],),
        )
    return items
