"""Plan tasks: reading them in scope, editing one task, linking tasks to problems, and each
task's state (未启动, 推进中, 已完成, 滞后). Importing a year's list is survey/plans/importing.py."""

from __future__ import annotations

from datetime import date

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import can, problem_scope, require, task_scope
from survey.access.settings import get_setting
from survey.errors import NotFoundError, ValidationError
from survey.names import one_line

STATE_LABELS = {
    "not_started": "未启动",
    "in_progress": "推进中",
    "done": "已完成",
    "lagging": "滞后",
}
LAG_MARGIN_SETTING = "plan_lag_margin"  # percentage points behind the time elapsed
DEFAULT_LAG_MARGIN = 15
NO_DEADLINE_LABEL = "长期（不设时限）"  # shown for a task with no deadline (长期坚持, 持续推进)


def _co_of(db: Database, task_id: int) -> list[str]:
    return [
        r[0]
        for r in db.conn.execute(
            "SELECT department_code FROM plan_task_departments WHERE task_id = ?"
            " ORDER BY department_code",
            (task_id,),
        )
    ]


def years(db: Database, actor: Actor) -> list[int]:
    require(actor, "plans.read")
    return [r[0] for r in db.conn.execute("SELECT year FROM plans ORDER BY year DESC")]


def lag_margin(db: Database) -> int:
    return int(get_setting(db, LAG_MARGIN_SETTING) or DEFAULT_LAG_MARGIN)


def state_of(task: dict, today: date, margin: int) -> str:
    """未启动, 推进中, 已完成 or 滞后, from the latest accepted report's percent and the time
    elapsed between 1 January of the plan's year and the due date (a task with no deadline is
    never 滞后)."""
    percent = task["percent"] or 0
    if percent >= 100:
        return "done"
    if not task["due_on"]:  # 长期坚持: no deadline to fall behind
        return "in_progress" if percent > 0 else "not_started"
    due = date.fromisoformat(task["due_on"])
    if due < today:
        return "lagging"
    start = date(int(task["year"]), 1, 1)
    span = max(1, (due - start).days)
    elapsed = min(100.0, max(0.0, 100.0 * (today - start).days / span))
    if elapsed - percent > margin:
        return "lagging"
    return "in_progress" if percent > 0 else "not_started"


TASK_SQL = (
    "SELECT t.id, t.number, t.content, t.target, t.lead_department_code, d.name AS lead_name,"
    " t.due_on, t.indicator_code, i.name AS indicator_name, p.year,"
    " (SELECT group_concat(x.name, '、') FROM plan_task_departments c"
    "  JOIN departments x ON x.code = c.department_code WHERE c.task_id = t.id) AS co_names,"
    " (SELECT r.percent FROM task_reports r WHERE r.task_id = t.id AND r.status = 'accepted'"
    "  ORDER BY r.month DESC LIMIT 1) AS percent,"
    " (SELECT max(r.month) FROM task_reports r WHERE r.task_id = t.id) AS last_month"
    " FROM plan_tasks t JOIN plans p ON p.id = t.plan_id"
    " JOIN departments d ON d.code = t.lead_department_code"
    " LEFT JOIN indicators i ON i.code = t.indicator_code"
)


def list_tasks(db: Database, actor: Actor, year: int, today: date | None = None) -> list[dict]:
    """The year's tasks the actor may see, each with its state, in plan order."""
    where, params = task_scope(actor)
    today = today or clock.today()
    margin = lag_margin(db)
    rows = store.query(
        db,
        f"{TASK_SQL} WHERE p.year = ? AND {where} ORDER BY t.id",
        [year, *params],
    )
    for row in rows:
        row["state"] = state_of(row, today, margin)
    return rows


def get_task(db: Database, actor: Actor, task_id: int, today: date | None = None) -> dict:
    where, params = task_scope(actor)
    rows = store.query(db, f"{TASK_SQL} WHERE t.id = ? AND {where}", [task_id, *params])
    if not rows:
        raise NotFoundError(f"没有编号为 {task_id} 的任务，或不在您的范围内。")
    row = rows[0]
    row["state"] = state_of(row, today or clock.today(), lag_margin(db))
    row["co"] = _co_of(db, task_id)
    return row


def update_task(db: Database, actor: Actor, task_id: int, values: dict) -> None:
    """Edit a task's content, target, lead, due date or indicator (audited)."""
    require(actor, "plans.manage")
    allowed = ("content", "target", "lead_department_code", "due_on", "indicator_code")
    values = {k: v for k, v in values.items() if k in allowed}
    if "content" in values:
        values["content"] = one_line(values["content"])  # a task is named by its content
    if "content" in values and not values["content"]:
        raise ValidationError("请填写任务内容。", "content")
    if values.get("due_on"):  # None: no deadline (长期坚持)
        try:
            date.fromisoformat(str(values["due_on"]))
        except ValueError:
            raise ValidationError("完成时限应为日期，例如 2026-06-30。", "due_on") from None
    with store.transaction(db):
        before = store.query(db, "SELECT * FROM plan_tasks WHERE id = ?", (task_id,))
        if not before:
            raise NotFoundError(f"没有编号为 {task_id} 的任务。")
        changed = {k: v for k, v in values.items() if before[0][k] != v}
        if not changed:
            return
        db.execute(
            f"UPDATE plan_tasks SET {', '.join(f'{k} = ?' for k in changed)}, updated_at = ?"
            " WHERE id = ?",
            [*changed.values(), clock.now_iso(), task_id],
        )
        audit.record(
            db,
            actor,
            "update",
            "plan_tasks",
            task_id,
            before={k: before[0][k] for k in changed},
            after=changed,
        )


def link_problem(db: Database, actor: Actor, task_id: int, problem_id: int) -> None:
    """Link a problem to the task it answers (supervisors; audited; linking twice is a no-op)."""
    require(actor, "plans.manage")
    with store.transaction(db):
        for table, key, label in (
            ("plan_tasks", task_id, "任务"),
            ("problems", problem_id, "问题"),
        ):
            if not store.scalar(db, f"SELECT 1 FROM {table} WHERE id = ?", (key,)):
                raise NotFoundError(f"没有编号为 {key} 的{label}。")
        added = db.execute(
            "INSERT INTO task_problems (task_id, problem_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (task_id, problem_id),
        ).rowcount
        if added:
            audit.record(db, actor, "insert", "task_problems", f"{task_id}-{problem_id}")


def problems_of_task(db: Database, actor: Actor, task_id: int) -> list[dict]:
    get_task(db, actor, task_id)  # the task in scope
    where, params = problem_scope(actor)
    return store.query(
        db,
        "SELECT p.id, p.status, pc.name AS category, coalesce(c.name, '') AS company"
        " FROM task_problems tp JOIN problems p ON p.id = tp.problem_id"
        " JOIN problem_categories pc ON pc.code = p.category_code"
        f" LEFT JOIN companies c ON c.id = p.company_id WHERE tp.task_id = ? AND {where}"
        " ORDER BY p.id",
        [task_id, *params],
    )


def tasks_of_problem(db: Database, actor: Actor, problem_id: int) -> list[dict]:
    """The plan tasks a problem answers (shown on the problem's page), in the actor's scope."""
    if not can(actor, "plans.read"):
        return []
    where, params = task_scope(actor)
    return store.query(
        db,
        "SELECT t.id, p.year, t.number, t.content FROM task_problems tp"
        " JOIN plan_tasks t ON t.id = tp.task_id JOIN plans p ON p.id = t.plan_id"
        f" WHERE tp.problem_id = ? AND {where} ORDER BY p.year DESC, t.id",
        [problem_id, *params],
    )
