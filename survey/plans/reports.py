"""Monthly progress (月度进展): the lead department reports on each of its tasks by the month's
cut-off (a setting, the 25th by default, moved to the previous working day when it falls on a
holiday or weekend); a report after the cut-off is accepted and marked late, never refused.
Supervisors accept a report or return it with a reason; a returned report is reported again."""

from __future__ import annotations

from datetime import date

from sqlite_utils import Database

from survey import clock, repeats, workdays
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require, task_scope
from survey.access.settings import get_setting
from survey.attachments import add_photo
from survey.errors import NotFoundError, PermissionDeniedError, ValidationError
from survey.notify.messages import Message, send
from survey.notify.routing import handlers_of

CUTOFF_SETTING = "plan_cutoff_day"
DEFAULT_CUTOFF = 25
REPORT_STATUS_LABELS = {"submitted": "待审核", "accepted": "已通过", "returned": "已退回"}


def cutoff_day(db: Database) -> int:
    return int(get_setting(db, CUTOFF_SETTING) or DEFAULT_CUTOFF)


def cutoff(month: str, day: int) -> date:
    """The month's cut-off: `day` (or the month's last day), moved back to a working day."""
    year, number = int(month[:4]), int(month[5:7])
    moment = date(year, number, 1)
    while True:
        try:
            moment = date(year, number, day)
            break
        except ValueError:
            day -= 1
    while not workdays.is_workday(moment):
        moment = date.fromordinal(moment.toordinal() - 1)
    return moment


def _task_for_report(db: Database, actor: Actor, task_id: int) -> dict:
    rows = store.query(db, "SELECT * FROM plan_tasks WHERE id = ?", (task_id,))
    if not rows:
        raise NotFoundError(f"没有编号为 {task_id} 的任务。")
    task = rows[0]
    require(actor, "plans.report")
    if actor.department_code != task["lead_department_code"]:  # the lead department reports
        raise PermissionDeniedError(f"只有牵头单位可以报送任务 {task['number']} 的进展。")
    return task


def submit(
    db: Database,
    actor: Actor,
    task_id: int,
    month: str,
    *,
    done_text: str,
    percent: int,
    issues_text: str = "",
    photos: list[tuple[str, bytes]] = (),
    today: date | None = None,
    request_id: str | None = None,
) -> int:
    """The lead department's report for `month` (YYYY-MM); again after a return, it replaces the
    returned one. Late when sent after the month's cut-off. Returns the report's id (a repeat of
    `request_id`, survey.repeats: the first one's, nothing written)."""
    task = _task_for_report(db, actor, task_id)
    if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit():
        raise ValidationError("月份应为 YYYY-MM。", "month")
    if not 1 <= int(month[5:]) <= 12:
        raise ValidationError("月份应在 01–12 之间。", "month")
    today = today or clock.today()
    if month > today.isoformat()[:7]:
        raise ValidationError("不能报送将来月份的进展。", "month")
    if not str(done_text or "").strip():
        raise ValidationError("请填写本月完成情况。", "done_text")
    if not isinstance(percent, int) or not 0 <= percent <= 100:
        raise ValidationError("完成进度应为 0–100 之间的整数。", "percent")
    late = int(today > cutoff(month, cutoff_day(db)))
    now = clock.now_iso()
    with store.transaction(db):
        if repeat := repeats.first(db, actor, request_id, "plan_report"):
            return repeat.result
        old = store.query(
            db,
            "SELECT id, status FROM task_reports WHERE task_id = ? AND month = ?",
            (task_id, month),
        )
        if old and old[0]["status"] != "returned":
            raise ValidationError(
                f"任务 {task['number']} 的 {month} 进展已报送（{REPORT_STATUS_LABELS[old[0]['status']]}），"
                "退回后才能重新报送。",
                "month",
            )
        values = (done_text.strip(), percent, issues_text.strip(), late, actor.id, now)
        if old:
            report_id = old[0]["id"]
            db.execute(
                "UPDATE task_reports SET done_text = ?, percent = ?, issues_text = ?, late = ?,"
                " submitted_by = ?, submitted_at = ?, status = 'submitted', review_note = '',"
                " reviewed_by = NULL, reviewed_at = NULL WHERE id = ?",
                (*values, report_id),
            )
        else:
            report_id = db.execute(
                "INSERT INTO task_reports (task_id, month, done_text, percent, issues_text, late,"
                " submitted_by, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (task_id, month, *values),
            ).lastrowid
        for filename, data in photos:
            add_photo(db, actor, filename, data, report_id=report_id)
        audit.record(
            db,
            actor,
            "insert" if not old else "update",
            "task_reports",
            report_id,
            after={"task": task["number"], "month": month, "percent": percent, "late": late},
        )
        return repeats.record(db, actor, request_id, "plan_report", int(report_id))


def review(
    db: Database,
    actor: Actor,
    report_id: int,
    accept: bool,
    note: str = "",
    *,
    request_id: str | None = None,
) -> None:
    """Accept a report, or return it with a reason (which the department reads). A repeat of
    `request_id` (survey.repeats) writes nothing."""
    require(actor, "plans.manage")
    if not accept and not str(note or "").strip():
        raise ValidationError("退回须写明原因。", "review_note")
    with store.transaction(db):
        if repeats.first(db, actor, request_id, "plan_review"):
            return
        rows = store.query(
            db,
            "SELECT r.status, r.month, t.number, t.content, t.lead_department_code"
            " FROM task_reports r JOIN plan_tasks t ON t.id = r.task_id WHERE r.id = ?",
            (report_id,),
        )
        if not rows:
            raise NotFoundError(f"没有编号为 {report_id} 的进展报告。")
        if rows[0]["status"] != "submitted":
            raise ValidationError("这份报告已经审核过。", "status")
        status = "accepted" if accept else "returned"
        db.execute(
            "UPDATE task_reports SET status = ?, review_note = ?, reviewed_by = ?, reviewed_at = ?"
            " WHERE id = ?",
            (status, str(note or "").strip(), actor.id, clock.now_iso(), report_id),
        )
        audit.record(
            db, actor, "update", "task_reports", report_id, after={"status": status}, note=note
        )
        if not accept:  # the department must report again
            row = rows[0]
            body = (
                f"任务 {row['number']} {row['content']} · {row['month']}\n退回原因：{note.strip()}"
            )
            handlers = handlers_of(db, [row["lead_department_code"]])
            send(db, handlers, Message("plan_returned", "任务进展被退回", body, urgent=True))
        repeats.record(db, actor, request_id, "plan_review", report_id)


def reports_of(db: Database, actor: Actor, task_id: int) -> list[dict]:
    """A task's reports, newest month first (within the actor's task scope)."""
    where, params = task_scope(actor)
    if not store.scalar(
        db, f"SELECT 1 FROM plan_tasks t WHERE t.id = ? AND {where}", [task_id, *params]
    ):
        raise NotFoundError(f"没有编号为 {task_id} 的任务，或不在您的范围内。")
    return store.query(
        db,
        "SELECT r.id, r.month, r.done_text, r.percent, r.issues_text, r.status, r.late,"
        " r.review_note, r.submitted_at, (SELECT count(*) FROM attachments a"
        " WHERE a.report_id = r.id) AS photos FROM task_reports r WHERE r.task_id = ?"
        " ORDER BY r.month DESC",
        (task_id,),
    )


def report_photos(db: Database, actor: Actor, report_id: int) -> list[bytes]:
    """The evidence photos of a report (downscaled JPEGs, in upload order), for those who may see
    its task."""
    where, params = task_scope(actor)
    if not store.scalar(
        db,
        f"SELECT 1 FROM task_reports r JOIN plan_tasks t ON t.id = r.task_id"
        f" WHERE r.id = ? AND {where}",
        [report_id, *params],
    ):
        raise NotFoundError(f"没有编号为 {report_id} 的进展报告，或不在您的范围内。")
    return [
        r[0]
        for r in db.conn.execute(
            "SELECT content FROM attachments WHERE report_id = ? ORDER BY id", (report_id,)
        )
    ]


def waiting_review(db: Database, actor: Actor, year: int) -> list[dict]:
    require(actor, "plans.manage")
    return store.query(
        db,
        "SELECT r.id, r.month, r.percent, r.done_text, r.issues_text, r.late, t.number, t.content,"
        " t.target, (SELECT count(*) FROM attachments a WHERE a.report_id = r.id) AS photos,"
        " d.name AS lead_name FROM task_reports r JOIN plan_tasks t ON t.id = r.task_id"
        " JOIN plans p ON p.id = t.plan_id JOIN departments d ON d.code = t.lead_department_code"
        " WHERE p.year = ? AND r.status = 'submitted' ORDER BY r.submitted_at",
        (year,),
    )


def missing(db: Database, actor: Actor, year: int, month: str) -> list[dict]:
    """Tasks (in scope, not yet done) with no report for `month` that is not returned."""
    where, params = task_scope(actor)
    return store.query(
        db,
        "SELECT t.id, t.number, t.content, d.name AS lead_name FROM plan_tasks t"
        " JOIN plans p ON p.id = t.plan_id JOIN departments d ON d.code = t.lead_department_code"
        f" WHERE p.year = ? AND {where} AND NOT EXISTS (SELECT 1 FROM task_reports r"
        " WHERE r.task_id = t.id AND r.month = ? AND r.status != 'returned')"
        " AND coalesce((SELECT r.percent FROM task_reports r WHERE r.task_id = t.id"
        " AND r.status = 'accepted' ORDER BY r.month DESC LIMIT 1), 0) < 100 ORDER BY t.id",
        [year, *params, month],
    )
