"""The life of a problem (README, "Handling a problem to the end"): triage and assignment with
working-day deadlines, acceptance, reply, return, escalation, extensions, callback with the 5-level
review, reopening and closing.

Every change is one transaction that writes the problem and one event row per step (who, when,
from, to, note). A move the current status does not allow raises IllegalTransitionError.
"""

from __future__ import annotations

from datetime import date

from sqlite_utils import Database

from survey import audit, clock, workdays
from survey import db as store
from survey.actor import Actor
from survey.errors import NotFoundError, PermissionDeniedError, SurveyError, ValidationError
from survey.labels import OUTCOME_LABELS, PROBLEM_STATUS_LABELS

REOPEN_WORKING_DAYS = 10
OPEN = ("assigned", "in_progress")


class IllegalTransitionError(SurveyError):
    """The problem's status does not allow this action."""


def _load(db: Database, problem_id: int) -> dict:
    rows = store.query(db, "SELECT * FROM problems WHERE id = ?", (problem_id,))
    if not rows:
        raise NotFoundError(f"没有编号为 {problem_id} 的问题。")
    return rows[0]


def _require_status(problem: dict, allowed: tuple[str, ...], action: str) -> None:
    if problem["status"] not in allowed:
        current = PROBLEM_STATUS_LABELS[problem["status"]]
        raise IllegalTransitionError(f"问题 #{problem['id']} 当前为“{current}”，不能{action}。")


def _require_supervisor(actor: Actor) -> None:
    if not actor.has_role("supervisor", "admin"):
        raise PermissionDeniedError("此操作需要营商办（督查）角色。")


def _require_lead_handler(actor: Actor, problem: dict) -> None:
    if not actor.has_role("handler") or actor.department_code != problem["lead_department_code"]:
        raise PermissionDeniedError(f"只有牵头部门可以办理问题 #{problem['id']}。")


def _event(
    db: Database,
    actor: Actor,
    problem_id: int,
    action: str,
    before: str,
    after: str,
    note: str = "",
) -> None:
    db.execute(
        "INSERT INTO problem_events (problem_id, actor_id, at, action, from_status, to_status, note)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (problem_id, actor.id, clock.now_iso(), action, before, after, note),
    )


def _update(db: Database, problem_id: int, **values) -> None:
    values["updated_at"] = clock.now_iso()
    db.execute(
        f"UPDATE problems SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
        [*values.values(), problem_id],
    )


def deadline_for(db: Database, deadline_class: str | None, start: date) -> str | None:
    """The deadline date: `working_days` of the class after `start` on the Chinese calendar."""
    if not deadline_class:
        return None
    days = store.scalar(
        db, "SELECT working_days FROM deadline_classes WHERE code = ?", (deadline_class,)
    )
    if days is None:
        if not store.scalar(db, "SELECT 1 FROM deadline_classes WHERE code = ?", (deadline_class,)):
            raise ValidationError(f"办理时限“{deadline_class}”无效。", "deadline_class")
        return None  # 长期推进: no fixed deadline
    return workdays.add_working_days(start, int(days)).isoformat()


def deadline_state(problem: dict, today: date | None = None) -> str:
    """'overdue', 'warning' (two working days or less), 'ok' or '' when no deadline applies."""
    if problem["status"] not in OPEN or not problem.get("deadline_on"):
        return ""
    today = today or clock.today()
    deadline = date.fromisoformat(problem["deadline_on"])
    if deadline < today:
        return "overdue"
    if deadline <= workdays.add_working_days(today, 2):
        return "warning"
    return "ok"


# ---- supervisor ----------------------------------------------------------------------------------


def assign(
    db: Database,
    actor: Actor,
    problem_id: int,
    department_code: str,
    deadline_class: str,
    *,
    co_departments: list[str] | None = None,
    note: str = "",
) -> str | None:
    """待交办 → 已交办: a lead department, co-departments and a deadline. Returns the deadline."""
    _require_supervisor(actor)
    with store.transaction(db):
        problem = _load(db, problem_id)
        _require_status(problem, ("new",), "交办")
        active = {r[0] for r in db.conn.execute("SELECT code FROM departments WHERE active = 1")}
        if department_code not in active:
            raise ValidationError("请选择有效的牵头部门。", "department_code")
        co = sorted({c for c in co_departments or [] if c != department_code})
        if any(c not in active for c in co):
            raise ValidationError("协办部门中有无效的部门。", "co_departments")
        deadline = deadline_for(db, deadline_class, clock.today())
        _update(db, problem_id, status="assigned", lead_department_code=department_code, deadline_class=deadline_class,
                deadline_on=deadline, assigned_at=clock.now_iso(), accepted_at=None, escalated_at=None)  # fmt: skip
        db.execute("DELETE FROM problem_co_departments WHERE problem_id = ?", (problem_id,))
        db.conn.executemany(
            "INSERT INTO problem_co_departments (problem_id, department_code) VALUES (?, ?)",
            [(problem_id, c) for c in co],
        )
        _event(
            db,
            actor,
            problem_id,
            "assign",
            "new",
            "assigned",
            note or f"交办 {department_code}，时限 {deadline or '长期推进'}",
        )
        audit.record(db, actor, "update", "problems", problem_id, before={"status": "new"},
                     after={"status": "assigned", "lead": department_code, "deadline_on": deadline})  # fmt: skip
    return deadline


def escalate(db: Database, actor: Actor, problem_id: int, note: str) -> None:
    """督办: a logged reminder the department sees; the status does not change."""
    _require_supervisor(actor)
    if len((note or "").strip()) < 2:
        raise ValidationError("请填写督办意见。", "note")
    with store.transaction(db):
        problem = _load(db, problem_id)
        _require_status(problem, OPEN, "督办")
        _update(db, problem_id, escalated_at=clock.now_iso())
        _event(
            db, actor, problem_id, "escalate", problem["status"], problem["status"], note.strip()
        )
        audit.record(db, actor, "update", "problems", problem_id, note="督办")


def decide_extension(
    db: Database, actor: Actor, problem_id: int, approve: bool, note: str = ""
) -> None:
    """Grant (the deadline moves by the requested working days) or refuse a pending extension."""
    _require_supervisor(actor)
    with store.transaction(db):
        problem = _load(db, problem_id)
        _require_status(problem, OPEN, "处理延期申请")
        days = problem["extension_requested_days"]
        if not days:
            raise IllegalTransitionError(f"问题 #{problem_id} 没有待处理的延期申请。")
        values = {"extension_requested_days": None, "extension_reason": None}
        if approve and problem["deadline_on"]:
            values["deadline_on"] = workdays.add_working_days(
                date.fromisoformat(problem["deadline_on"]), days
            ).isoformat()
        _update(db, problem_id, **values)
        action = "extension_granted" if approve else "extension_refused"
        text = note.strip() or (f"同意延期 {days} 个工作日" if approve else "不同意延期")
        _event(db, actor, problem_id, action, problem["status"], problem["status"], text)
        audit.record(db, actor, "update", "problems", problem_id, before={"deadline_on": problem["deadline_on"]},
                     after={"deadline_on": values.get("deadline_on", problem["deadline_on"])}, note=action)  # fmt: skip


def callback(
    db: Database,
    actor: Actor,
    problem_id: int,
    level: int,
    company_says_solved: bool,
    note: str = "",
) -> str:
    """已答复 → 已回访, then 已办结, or back to 办理中 (重办, a new deadline) after a bad review.
    Returns the new status."""
    _require_supervisor(actor)
    with store.transaction(db):
        problem = _load(db, problem_id)
        _require_status(problem, ("replied",), "回访")
        bad = store.scalar(
            db, "SELECT is_bad_review FROM satisfaction_levels WHERE level = ?", (int(level),)
        )
        if bad is None:
            raise ValidationError("请选择 1–5 级满意度。", "level")
        _update(db, problem_id, status="called_back", called_back_at=clock.now_iso(), satisfaction_level=int(level),
                company_says_solved=int(bool(company_says_solved)))  # fmt: skip
        said = f"满意度 {level}" + ("，企业认为已解决" if company_says_solved else "")
        _event(db, actor, problem_id, "callback", "replied", "called_back",
               f"{said}：{note.strip()}" if (note or "").strip() else said)  # fmt: skip
        if bad:
            deadline = workdays.add_working_days(clock.today(), REOPEN_WORKING_DAYS).isoformat()
            _update(db, problem_id, status="in_progress", deadline_on=deadline, reopen_count=problem["reopen_count"] + 1,
                    replied_at=None, outcome=None)  # fmt: skip
            _event(
                db,
                actor,
                problem_id,
                "reopen",
                "called_back",
                "in_progress",
                f"差评重办，新时限 {deadline}",
            )
            status = "in_progress"
        else:
            _update(db, problem_id, status="closed", closed_at=clock.now_iso())
            _event(db, actor, problem_id, "close", "called_back", "closed")
            status = "closed"
        audit.record(db, actor, "update", "problems", problem_id, before={"status": "replied"},
                     after={"status": status, "satisfaction_level": int(level)})  # fmt: skip
    return status


# ---- department ----------------------------------------------------------------------------------


def accept(db: Database, actor: Actor, problem_id: int) -> None:
    """已交办 → 办理中 (签收)."""
    with store.transaction(db):
        problem = _load(db, problem_id)
        _require_lead_handler(actor, problem)
        _require_status(problem, ("assigned",), "签收")
        _update(db, problem_id, status="in_progress", accepted_at=clock.now_iso())
        _event(db, actor, problem_id, "accept", "assigned", "in_progress")
        audit.record(
            db,
            actor,
            "update",
            "problems",
            problem_id,
            before={"status": "assigned"},
            after={"status": "in_progress"},
        )


def reply(db: Database, actor: Actor, problem_id: int, outcome: str, text: str) -> None:
    """办理中 → 已答复, with an outcome and the reply text."""
    if outcome not in OUTCOME_LABELS:
        raise ValidationError("请选择办理结果。", "outcome")
    if len((text or "").strip()) < 10:
        raise ValidationError("答复内容至少 10 个字。", "text")
    with store.transaction(db):
        problem = _load(db, problem_id)
        _require_lead_handler(actor, problem)
        _require_status(problem, ("in_progress",), "答复")
        worked = workdays.working_days_between(
            date.fromisoformat(problem["assigned_at"][:10]), clock.today()
        )
        _update(db, problem_id, status="replied", outcome=outcome, reply_text=text.strip(), replied_at=clock.now_iso(),
                reply_working_days=worked)  # fmt: skip
        # The reply's words go into the event too: a bad review reopens the problem and the next
        # reply overwrites reply_text, but the timeline keeps every answer given.
        _event(db, actor, problem_id, "reply", "in_progress", "replied",
               f"{OUTCOME_LABELS[outcome]}：{text.strip()}")  # fmt: skip
        audit.record(db, actor, "update", "problems", problem_id, before={"status": "in_progress"},
                     after={"status": "replied", "outcome": outcome})  # fmt: skip


def return_problem(db: Database, actor: Actor, problem_id: int, reason: str) -> None:
    """退回: not this department's matter; back to 待交办 with the reason, counted against nobody."""
    if len((reason or "").strip()) < 4:
        raise ValidationError("请写明退回理由（至少 4 个字）。", "reason")
    with store.transaction(db):
        problem = _load(db, problem_id)
        _require_lead_handler(actor, problem)
        _require_status(problem, OPEN, "退回")
        _update(db, problem_id, status="new", lead_department_code=None, deadline_on=None, assigned_at=None,
                accepted_at=None, return_count=problem["return_count"] + 1, extension_requested_days=None,
                extension_reason=None)  # fmt: skip
        db.execute("DELETE FROM problem_co_departments WHERE problem_id = ?", (problem_id,))
        _event(db, actor, problem_id, "return", problem["status"], "new", reason.strip())
        audit.record(db, actor, "update", "problems", problem_id, before={"status": problem["status"]},
                     after={"status": "new"}, note="退回")  # fmt: skip


def request_extension(db: Database, actor: Actor, problem_id: int, days: int, reason: str) -> None:
    """Ask the supervisor for more working days, with a reason."""
    if not 1 <= int(days) <= 60:
        raise ValidationError("延期天数须在 1–60 个工作日之间。", "days")
    if len((reason or "").strip()) < 4:
        raise ValidationError("请写明延期理由（至少 4 个字）。", "reason")
    with store.transaction(db):
        problem = _load(db, problem_id)
        _require_lead_handler(actor, problem)
        _require_status(problem, OPEN, "申请延期")
        if not problem["deadline_on"]:
            raise IllegalTransitionError(f"问题 #{problem_id} 没有固定时限，无需延期。")
        if problem["extension_requested_days"]:
            raise IllegalTransitionError(f"问题 #{problem_id} 已有待处理的延期申请。")
        _update(db, problem_id, extension_requested_days=int(days), extension_reason=reason.strip())
        _event(db, actor, problem_id, "extension_requested", problem["status"], problem["status"],
               f"申请延期 {days} 个工作日：{reason.strip()}")  # fmt: skip
        audit.record(db, actor, "update", "problems", problem_id, note="申请延期")


def suggest_departments(db: Database, category_code: str, limit: int = 3) -> list[tuple[str, int]]:
    """Departments that similar past problems (same category) went to, most often first."""
    return [
        (r[0], r[1])
        for r in db.conn.execute(
            "SELECT lead_department_code, count(*) FROM problems WHERE category_code = ?"
            " AND lead_department_code IS NOT NULL AND return_count = 0 GROUP BY 1 ORDER BY 2 DESC LIMIT ?",
            (category_code, limit),
        )
    ]


LINK_KINDS = {"raised_again": "同一企业再次反映", "same_issue": "多家企业的同一问题"}


def link_problems(db: Database, actor: Actor, problem_id: int, other_id: int, kind: str) -> None:
    """Relate two problems (both directions) so they can be handled together."""
    _require_supervisor(actor)
    if kind not in LINK_KINDS:
        raise ValidationError("请选择关联类型。", "kind")
    if problem_id == other_id:
        raise ValidationError("不能关联问题自身。", "other_id")
    with store.transaction(db):
        first, second = _load(db, problem_id), _load(db, other_id)
        if kind == "raised_again" and first["company_id"] != second["company_id"]:
            raise ValidationError("“再次反映”只能关联同一企业的问题。", "kind")
        now = clock.now_iso()
        for a, b in ((problem_id, other_id), (other_id, problem_id)):
            db.execute(
                "INSERT INTO problem_links (problem_id, linked_problem_id, kind, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (a, b, kind, actor.id, now),
            )
        for p in (first, second):
            other = second["id"] if p is first else first["id"]
            _event(
                db,
                actor,
                p["id"],
                "link",
                p["status"],
                p["status"],
                f"关联问题 #{other}（{LINK_KINDS[kind]}）",
            )
        audit.record(
            db, actor, "insert", "problem_links", f"{problem_id}-{other_id}", after={"kind": kind}
        )


def linked_ids(db: Database, problem_id: int) -> list[int]:
    """Every problem connected to this one through links, directly or not (itself excluded)."""
    seen, frontier = {problem_id}, [problem_id]
    while frontier:
        current = frontier.pop()
        for (other,) in db.conn.execute(
            "SELECT linked_problem_id FROM problem_links WHERE problem_id = ?", (current,)
        ):
            if other not in seen:
                seen.add(other)
                frontier.append(other)
    return sorted(seen - {problem_id})
