"""The actions on a problem (README, "Handling a problem to the end"): triage and assignment with
working-day deadlines, acceptance, reply, return, escalation, extensions, callback with the 5-level
review, reopening and closing, and links between problems.

Each action validates its input, then moves the problem through survey.problems.register, which
checks the status and the permission and writes the problem, its event and its audit row.
"""

from __future__ import annotations

from datetime import date

from sqlite_utils import Database

from survey import clock, repeats, workdays
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.errors import ValidationError
from survey.labels import OUTCOME_LABELS
from survey.problems import register
from survey.problems.register import IllegalTransitionError, check, load, transition


def _repeat(
    db: Database, actor: Actor, request_id: str | None, action: str, problem_id: int
) -> repeats.Repeat | None:
    """The first result of a repeated request for this move (survey.repeats), inside its
    transaction before anything is read or written. Its result starts with the problem's id: the
    same id for another problem (it cannot come from a form) is refused."""
    repeat = repeats.first(db, actor, request_id, f"problem_{action}")
    if repeat is not None and repeat.result[0] != int(problem_id):
        raise ValidationError("提交编号已被使用，请刷新页面后重试。", "request_id")
    return repeat


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
    request_id: str | None = None,
) -> str | None:
    """待交办 → 已交办: a lead department, co-departments and a deadline. Returns the deadline.
    A repeat of `request_id` (survey.repeats: a second tap that cut off the page's run after this
    write) writes nothing and returns the first deadline."""
    with store.transaction(db):
        if repeat := _repeat(db, actor, request_id, "assign", problem_id):
            return repeat.result[1]
        problem = load(db, problem_id)
        check(actor, problem, "assign")
        active = dict(db.conn.execute("SELECT code, name FROM departments WHERE active = 1"))
        if department_code not in active:
            raise ValidationError("请选择有效的牵头部门。", "department_code")
        co = sorted({c for c in co_departments or [] if c != department_code})
        if any(c not in active for c in co):
            raise ValidationError("协办部门中有无效的部门。", "co_departments")
        deadline = register.deadline_for(db, deadline_class, clock.today())
        db.execute("DELETE FROM problem_co_departments WHERE problem_id = ?", (problem_id,))
        db.conn.executemany(
            "INSERT INTO problem_co_departments (problem_id, department_code) VALUES (?, ?)",
            [(problem_id, c) for c in co],
        )
        changes = {"lead_department_code": department_code, "deadline_class": deadline_class}
        changes |= {"deadline_on": deadline, "assigned_at": clock.now_iso()}
        changes |= {"accepted_at": None, "escalated_at": None}
        note = note or f"交办{active[department_code]}，时限 {deadline or '长期推进'}"
        transition(db, actor, problem, "assign", note=note, changes=changes)
        repeats.record(db, actor, request_id, "problem_assign", [int(problem_id), deadline])
    return deadline


def escalate(db: Database, actor: Actor, problem_id: int, note: str) -> None:
    """督办: a logged reminder the department sees; the status does not change."""
    with store.transaction(db):
        problem = load(db, problem_id)
        check(actor, problem, "escalate")
        if len((note or "").strip()) < 2:
            raise ValidationError("请填写督办意见。", "note")
        changes = {"escalated_at": clock.now_iso()}
        transition(db, actor, problem, "escalate", note=note.strip(), changes=changes)


def decide_extension(
    db: Database, actor: Actor, problem_id: int, approve: bool, note: str = ""
) -> None:
    """Grant (the deadline moves by the requested working days) or refuse a pending extension."""
    action = "extension_granted" if approve else "extension_refused"
    with store.transaction(db):
        problem = load(db, problem_id)
        check(actor, problem, action)
        days = problem["extension_requested_days"]
        if not days:
            raise IllegalTransitionError(f"问题 #{problem_id} 没有待处理的延期申请。")
        changes = {"extension_requested_days": None, "extension_reason": None}
        if approve and problem["deadline_on"]:
            changes["deadline_on"] = workdays.add_working_days(
                date.fromisoformat(problem["deadline_on"]), days
            ).isoformat()
        text = note.strip() or (f"同意延期 {days} 个工作日" if approve else "不同意延期")
        transition(db, actor, problem, action, note=text, changes=changes)


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
    with store.transaction(db):
        problem = load(db, problem_id)
        check(actor, problem, "callback")
        bad = store.scalar(
            db, "SELECT is_bad_review FROM satisfaction_levels WHERE level = ?", (int(level),)
        )
        if bad is None:
            raise ValidationError("请选择 1–5 级满意度。", "level")
        said = f"满意度 {level}" + ("，企业认为已解决" if company_says_solved else "")
        changes = {"called_back_at": clock.now_iso(), "satisfaction_level": int(level)}
        changes["company_says_solved"] = int(bool(company_says_solved))
        text = f"{said}：{note.strip()}" if (note or "").strip() else said
        problem = transition(db, actor, problem, "callback", note=text, changes=changes)
        if bad:
            deadline = register.reopen_deadline(clock.today())
            changes = {"deadline_on": deadline, "reopen_count": problem["reopen_count"] + 1}
            changes |= {"replied_at": None, "outcome": None}
            problem = transition(
                db, actor, problem, "reopen", note=f"差评重办，新时限 {deadline}", changes=changes
            )
        else:
            problem = transition(
                db, actor, problem, "close", changes={"closed_at": clock.now_iso()}
            )
    return problem["status"]


# ---- department ----------------------------------------------------------------------------------


def accept(db: Database, actor: Actor, problem_id: int) -> None:
    """已交办 → 办理中 (签收)."""
    transition(db, actor, problem_id, "accept", changes={"accepted_at": clock.now_iso()})


def reply(
    db: Database,
    actor: Actor,
    problem_id: int,
    outcome: str,
    text: str,
    *,
    request_id: str | None = None,
) -> None:
    """办理中 → 已答复, with an outcome and the reply text. A repeat of `request_id` writes nothing."""
    if outcome not in OUTCOME_LABELS:
        raise ValidationError("请选择办理结果。", "outcome")
    if len((text or "").strip()) < 10:
        raise ValidationError("答复内容至少 10 个字。", "text")
    with store.transaction(db):
        if _repeat(db, actor, request_id, "reply", problem_id):
            return
        problem = load(db, problem_id)
        check(actor, problem, "reply")
        worked = workdays.working_days_between(
            date.fromisoformat(problem["assigned_at"][:10]), clock.today()
        )
        changes = {"outcome": outcome, "reply_text": text.strip(), "replied_at": clock.now_iso()}
        changes["reply_working_days"] = worked
        # The reply's words go into the event too: a bad review reopens the problem and the next
        # reply overwrites reply_text, but the timeline keeps every answer given.
        note = f"{OUTCOME_LABELS[outcome]}：{text.strip()}"
        transition(db, actor, problem, "reply", note=note, changes=changes)
        repeats.record(db, actor, request_id, "problem_reply", [int(problem_id)])


def return_problem(
    db: Database, actor: Actor, problem_id: int, reason: str, *, request_id: str | None = None
) -> None:
    """退回: not this department's matter; back to 待交办 with the reason, counted against nobody.
    A repeat of `request_id` writes nothing."""
    if len((reason or "").strip()) < 4:
        raise ValidationError("请写明退回理由（至少 4 个字）。", "reason")
    with store.transaction(db):
        if _repeat(db, actor, request_id, "return", problem_id):
            return
        problem = load(db, problem_id)
        check(actor, problem, "return")
        db.execute("DELETE FROM problem_co_departments WHERE problem_id = ?", (problem_id,))
        changes = {"lead_department_code": None, "deadline_on": None, "assigned_at": None}
        changes |= {"accepted_at": None, "return_count": problem["return_count"] + 1}
        changes |= {"extension_requested_days": None, "extension_reason": None}
        transition(db, actor, problem, "return", note=reason.strip(), changes=changes)
        repeats.record(db, actor, request_id, "problem_return", [int(problem_id)])


def request_extension(
    db: Database,
    actor: Actor,
    problem_id: int,
    days: int,
    reason: str,
    *,
    request_id: str | None = None,
) -> None:
    """Ask the supervisor for more working days, with a reason. A repeat of `request_id` writes
    nothing."""
    if not 1 <= int(days) <= 60:
        raise ValidationError("延期天数须在 1–60 个工作日之间。", "days")
    if len((reason or "").strip()) < 4:
        raise ValidationError("请写明延期理由（至少 4 个字）。", "reason")
    with store.transaction(db):
        if _repeat(db, actor, request_id, "extension_requested", problem_id):
            return
        problem = load(db, problem_id)
        check(actor, problem, "extension_requested")
        if not problem["deadline_on"]:
            raise IllegalTransitionError(f"问题 #{problem_id} 没有固定时限，无需延期。")
        if problem["extension_requested_days"]:
            raise IllegalTransitionError(f"问题 #{problem_id} 已有待处理的延期申请。")
        changes = {"extension_requested_days": int(days), "extension_reason": reason.strip()}
        note = f"申请延期 {days} 个工作日：{reason.strip()}"
        transition(db, actor, problem, "extension_requested", note=note, changes=changes)
        repeats.record(db, actor, request_id, "problem_extension_requested", [int(problem_id)])


def suggest_departments(db: Database, category_code: str, limit: int = 3) -> list[tuple[str, int]]:
    """Departments that similar past problems (same category) went to and kept (never returned),
    most often first. Read from the department summary table (survey.reports.cubes, exact in every
    write's transaction): counting a category's problems took 0.1-0.24 s at a million, this 4 ms."""
    return [
        (r[0], int(r[1]))
        for r in db.conn.execute(
            "SELECT department, sum(n) - sum(returned) FROM cube_department"
            " WHERE category = ? AND department <> '' GROUP BY department"
            " HAVING sum(n) - sum(returned) > 0 ORDER BY 2 DESC, 1 LIMIT ?",
            (category_code, limit),
        )
    ]


LINK_KINDS = {"raised_again": "同一企业再次反映", "same_issue": "多家企业的同一问题"}


def link_problems(db: Database, actor: Actor, problem_id: int, other_id: int, kind: str) -> None:
    """Relate two problems (both directions) so they can be handled together."""
    if kind not in LINK_KINDS:
        raise ValidationError("请选择关联类型。", "kind")
    if problem_id == other_id:
        raise ValidationError("不能关联问题自身。", "other_id")
    with store.transaction(db):
        first, second = load(db, problem_id), load(db, other_id)
        for p in (first, second):
            check(actor, p, "link")
        if kind == "raised_again" and first["company_id"] != second["company_id"]:
            raise ValidationError("“再次反映”只能关联同一企业的问题。", "kind")
        now = clock.now_iso()
        for a, b in ((problem_id, other_id), (other_id, problem_id)):
            db.execute(
                "INSERT INTO problem_links (problem_id, linked_problem_id, kind, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (a, b, kind, actor.id, now),
            )
        for p, other in ((first, second), (second, first)):
            note = f"关联问题 #{other['id']}（{LINK_KINDS[kind]}）"
            transition(db, actor, p, "link", note=note)
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
