"""Plan tasks: importing a year's task list from the spreadsheet shape such plans are published in
(序号, 重点任务, 目标要求, 牵头单位, 配合单位, 完成时限; optionally 指标), editing one task, reading
them in scope, and each task's state (未启动, 推进中, 已完成, 滞后).

The import is all or nothing and reports every bad row. Department names are matched to the
reference list, then to the aliases learnt at earlier imports, then to the mapping the
supervisor chose for names that differ (which is learnt in turn). Importing the same year again
updates tasks by their number instead of duplicating them."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime

from rapidfuzz import process
from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import can, problem_scope, require, task_scope
from survey.access.settings import get_setting
from survey.errors import NotFoundError, SurveyError, ValidationError
from survey.names import one_line

COLUMNS = {  # our column -> the headers plans use for it
    "number": ("序号", "编号"),
    "content": ("重点任务", "任务", "工作任务", "任务内容"),
    "target": ("目标要求", "目标", "工作目标"),
    "lead": ("牵头单位", "牵头部门", "责任单位"),
    "co": ("配合单位", "配合部门", "协同单位"),
    "due": ("完成时限", "时限", "完成时间"),
    "indicator": ("指标", "对应指标", "评价指标"),
}
REQUIRED = ("number", "content", "lead", "due")
STATE_LABELS = {
    "not_started": "未启动",
    "in_progress": "推进中",
    "done": "已完成",
    "lagging": "滞后",
}
LAG_MARGIN_SETTING = "plan_lag_margin"  # percentage points behind the time elapsed
DEFAULT_LAG_MARGIN = 15
SPLIT = re.compile(r"[、，,;；/\s]+")


class PlanRejectedError(SurveyError):
    """An import with bad rows: nothing was written; `problems` lists every bad row, and
    `unknown` the department names no list or mapping matched (with a suggestion each)."""

    def __init__(self, problems: list[dict], unknown: dict[str, str | None]):
        rows = len({p["行号"] for p in problems})
        super().__init__(
            f"导入未执行：{rows} 行有问题（共 {len(problems)} 处），请修改后重新导入。"
        )
        self.problems, self.unknown = problems, unknown


@dataclass(frozen=True)
class Imported:
    plan_id: int
    inserted: int
    updated: int
    unchanged: int


def find_columns(headers: list[str]) -> dict[str, int]:
    found = {}
    for column, names in COLUMNS.items():
        for i, header in enumerate(headers):
            if header.strip() in names:
                found[column] = i
                break
    return found


def parse_due(value, year: int) -> str | None:
    """A 完成时限 as an ISO date: a date cell, 2026-06-30, 2026年6月30日, 2026年6月底, 6月底, 年底."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value or "").strip().replace("前", "").replace("以前", "")
    if not text:
        return None
    if text in ("年底", "年末", "全年"):
        return date(year, 12, 31).isoformat()
    match = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
        except ValueError:
            return None
    match = re.fullmatch(r"(?:(\d{4})年)?(\d{1,2})月(?:底|末|份)?", text)
    if match and 1 <= int(match[2]) <= 12:
        y, m = int(match[1] or year), int(match[2])
        return date(y, m, calendar.monthrange(y, m)[1]).isoformat()
    return None


def _departments(db: Database) -> tuple[dict[str, str], dict[str, str]]:
    names = dict(db.conn.execute("SELECT name, code FROM departments WHERE active = 1").fetchall())
    aliases = dict(
        db.conn.execute("SELECT alias, department_code FROM department_aliases").fetchall()
    )
    return names, aliases


def _match(name: str, names: dict, aliases: dict, mapping: dict) -> str | None:
    return names.get(name) or aliases.get(name) or mapping.get(name)


def check_plan(
    db: Database, year: int, headers: list[str], rows: list[list], mapping: dict[str, str]
) -> tuple[list[dict], list[dict], dict[str, str | None]]:
    """(records, problems, unknown department names with a suggested name each)."""
    found = find_columns(headers)
    missing = [COLUMNS[c][0] for c in REQUIRED if c not in found]
    if missing:
        return [], [{"行号": 1, "字段": "、".join(missing), "问题": "缺少这一列"}], {}
    names, aliases = _departments(db)
    indicators = dict(
        db.conn.execute("SELECT name, code FROM indicators WHERE active = 1").fetchall()
    )
    codes = set(indicators.values())
    problems: list[dict] = []
    unknown: dict[str, str | None] = {}
    records: list[dict] = []
    first_row_of: dict[str, int] = {}

    def cell(row, column):
        i = found.get(column)
        value = row[i] if i is not None and i < len(row) else None
        return value.strip() if isinstance(value, str) else value

    for offset, row in enumerate(rows):
        line = offset + 2
        if not any(v not in (None, "") for v in row):
            continue
        bad = []
        number = one_line(cell(row, "number"))
        if not number:
            bad.append(("序号", "缺少序号"))
        elif number in first_row_of:
            bad.append(("序号", f"序号 {number} 重复（第 {first_row_of[number]} 行已有）"))
        else:
            first_row_of[number] = line
        content = one_line(cell(row, "content"))
        if not content:
            bad.append(("重点任务", "缺少任务内容"))
        lead_name = str(cell(row, "lead") or "").strip()
        lead = _match(lead_name, names, aliases, mapping) if lead_name else None
        if not lead_name:
            bad.append(("牵头单位", "缺少牵头单位"))
        elif lead is None:
            unknown[lead_name] = _suggest(lead_name, names)
            bad.append(("牵头单位", f"“{lead_name}”不在部门列表中，请在下方对应到一个部门"))
        co = []
        for name in [n for n in SPLIT.split(str(cell(row, "co") or "")) if n]:
            code = _match(name, names, aliases, mapping)
            if code is None:
                unknown[name] = _suggest(name, names)
                bad.append(("配合单位", f"“{name}”不在部门列表中，请在下方对应到一个部门"))
            elif code != lead and code not in co:
                co.append(code)
        raw_due = cell(row, "due")
        due = parse_due(raw_due, year)
        if due is None:
            bad.append(("完成时限", f"“{raw_due or ''}”不是日期（例如 2026-06-30、2026年6月底）"))
        indicator_text = str(cell(row, "indicator") or "").strip()
        indicator = indicators.get(indicator_text) or (
            indicator_text if indicator_text in codes else None
        )
        if indicator_text and indicator is None:
            bad.append(("指标", f"“{indicator_text}”不在指标列表中"))
        problems += [{"行号": line, "字段": f, "问题": m} for f, m in bad]
        if not bad:
            records.append(
                {
                    "number": number,
                    "content": content,
                    "target": str(cell(row, "target") or "").strip(),
                    "lead_department_code": lead,
                    "due_on": due,
                    "indicator_code": indicator,
                    "co": sorted(co),
                }
            )
    return records, problems, unknown


def _suggest(name: str, names: dict[str, str]) -> str | None:
    best = process.extractOne(name, list(names), score_cutoff=40)
    return best[0] if best else None


def import_plan(
    db: Database,
    actor: Actor,
    year: int,
    headers: list[str],
    rows: list[list],
    mapping: dict[str, str] | None = None,
    *,
    title: str = "",
) -> Imported:
    """All or nothing (PlanRejectedError lists every bad row); the mapping's names are learnt as
    aliases. The same year again updates its tasks by number."""
    require(actor, "plans.manage")
    if not 2000 <= int(year) <= 2100:
        raise ValidationError("年度应为四位年份，例如 2026。", "year")
    mapping = {k: v for k, v in (mapping or {}).items() if v}
    known = {r[0] for r in db.conn.execute("SELECT code FROM departments")}
    if any(code not in known for code in mapping.values()):
        raise ValidationError("部门对应中有无效的部门。", "mapping")
    records, problems, unknown = check_plan(db, year, headers, rows, mapping)
    if problems:
        raise PlanRejectedError(problems, unknown)
    if not records:
        raise ValidationError("文件中没有任务。", "file")
    now = clock.now_iso()
    inserted = updated = unchanged = 0
    with store.transaction(db):
        plan_id = store.scalar(db, "SELECT id FROM plans WHERE year = ?", (year,))
        if plan_id is None:
            plan_id = db.execute(
                "INSERT INTO plans (year, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (year, title or f"{year} 年度任务清单", now, now),
            ).lastrowid
        existing = {
            r["number"]: r
            for r in store.query(db, "SELECT * FROM plan_tasks WHERE plan_id = ?", (plan_id,))
        }
        for record in records:
            co = record.pop("co")
            old = existing.get(record["number"])
            if old is None:
                task_id = db.execute(
                    "INSERT INTO plan_tasks (plan_id, number, content, target, lead_department_code,"
                    " due_on, indicator_code, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (plan_id, *record.values(), now, now),
                ).lastrowid
                inserted += 1
            else:
                task_id = old["id"]
                before_co = _co_of(db, task_id)
                changed = {k: v for k, v in record.items() if old[k] != v}
                if not changed and before_co == co:
                    unchanged += 1
                    continue
                if changed:
                    db.execute(
                        f"UPDATE plan_tasks SET {', '.join(f'{k} = ?' for k in changed)},"
                        " updated_at = ? WHERE id = ?",
                        [*changed.values(), now, task_id],
                    )
                updated += 1
            db.execute("DELETE FROM plan_task_departments WHERE task_id = ?", (task_id,))
            db.conn.executemany(
                "INSERT INTO plan_task_departments (task_id, department_code) VALUES (?, ?)",
                [(task_id, c) for c in co],
            )
        db.conn.executemany(
            "INSERT INTO department_aliases (alias, department_code) VALUES (?, ?)"
            " ON CONFLICT(alias) DO UPDATE SET department_code = excluded.department_code",
            list(mapping.items()),
        )
        db.execute("UPDATE plans SET updated_at = ? WHERE id = ?", (now, plan_id))
        audit.record(
            db,
            actor,
            "import",
            "plan_tasks",
            plan_id,
            after={"year": year, "inserted": inserted, "updated": updated, "unchanged": unchanged},
            note=f"{year} 年度任务清单",
        )
    return Imported(int(plan_id), inserted, updated, unchanged)


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
    elapsed between 1 January of the plan's year and the due date."""
    percent = task["percent"] or 0
    if percent >= 100:
        return "done"
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
    if "due_on" in values:
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
