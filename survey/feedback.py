"""Monitor feedback (监督员反馈): submitting exactly once (leads become problems in the register),
reading within scope with anonymity enforced here, quarterly duties, and department ratings.
"""

from __future__ import annotations

from datetime import date

from sqlite_utils import Database

from survey import attachments, clock, drafts, questionnaires, reference
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import can, feedback_scope, require
from survey.access.settings import get_setting, set_setting
from survey.companies import registry
from survey.errors import NotFoundError, SurveyError, ValidationError
from survey.labels import FEEDBACK_KIND_LABELS
from survey.problems import register
from survey.xlsform import engine

MIN_BODY = 10
ANONYMOUS = "匿名监督员"
DEFAULT_QUARTER_TARGET = 1


class FeedbackInvalidError(SurveyError):
    """Nothing was written and the draft is kept; `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(f"还有 {len(errors)} 处需要修改，草稿已保留。")
        self.errors = errors


def check_feedback(
    db: Database, actor: Actor, payload: dict, today: date | None = None
) -> tuple[dict, dict, dict | None]:
    """(errors, clean answers, company) for a feedback payload, without writing anything."""
    today = today or clock.today()
    errors: dict[str, str] = {}
    kind = payload.get("kind")
    if kind not in FEEDBACK_KIND_LABELS:
        errors["kind"] = "请选择反馈类型。"
    departments = reference.options(db, "departments")
    if payload.get("department_code") and payload["department_code"] not in departments:
        errors["department_code"] = "所选部门无效。"
    if kind == "rating" and not payload.get("department_code"):
        errors["department_code"] = "部门评价须选择被评价的部门。"
    if payload.get("indicator_code") and payload["indicator_code"] not in reference.options(
        db, "indicators"
    ):
        errors["indicator_code"] = "所选营商环境指标无效。"
    company = None
    if payload.get("company_id"):
        try:
            company = registry.get_company(db, actor, int(payload["company_id"]))
        except (SurveyError, ValueError, TypeError):
            errors["company_id"] = "所选企业不存在。"
    body = (payload.get("body") or "").strip()
    if len(body) < MIN_BODY:
        errors["body"] = f"内容至少 {MIN_BODY} 个字（当前 {len(body)} 个）。"
    if kind == "lead":
        categories = {
            r[0]
            for r in db.conn.execute(
                "SELECT code FROM problem_categories WHERE active = 1 AND parent IS NOT NULL"
            )
        }
        if payload.get("category") not in categories:
            errors["category"] = "问题线索请选择问题类别（小类）。"
    if kind == "rating":
        dimensions = reference.options(db, "rating_dimensions")
        ratings = payload.get("ratings") or {}
        for code, name in dimensions.items():
            if ratings.get(code) not in (1, 2, 3, 4, 5):
                errors[f"ratings.{code}"] = f"请为“{name}”打 1–5 分。"
    clean: dict = {}
    if payload.get("questionnaire_id"):
        form = questionnaires.get_version(db, actor, int(payload["questionnaire_id"]))
        clean, form_errors, _ = engine.evaluate_form(form, payload.get("answers") or {}, today)
        errors.update({f"answers.{k}": v for k, v in form_errors.items()})
    return errors, clean, company


def submit_feedback(
    db: Database,
    actor: Actor,
    submission_id: str,
    payload: dict,
    *,
    photos: list[tuple[str, bytes]] | None = None,
) -> dict:
    """Write the feedback (its ratings, answers, photos, and for a lead the problem) in one
    transaction; a repeated submission id returns what was saved the first time."""
    require(actor, "feedback.create")
    if not submission_id or len(submission_id) > 80:
        raise ValidationError("缺少提交编号，请重新打开表单。", "submission_id")
    with store.transaction(db):
        existing = db.conn.execute(
            "SELECT f.id, p.id FROM feedback f LEFT JOIN problems p ON p.feedback_id = f.id WHERE f.submission_id = ?",
            (submission_id,),
        ).fetchone()
        if existing:
            return {
                "feedback_id": existing[0],
                "problem_id": existing[1],
                "already_submitted": True,
            }
        errors, answers, company = check_feedback(db, actor, payload)
        if errors:
            raise FeedbackInvalidError(errors)
        now = clock.now_iso()
        cursor = db.execute(
            "INSERT INTO feedback (submission_id, monitor_id, kind, department_code, service_window, indicator_code,"
            " company_id, body, anonymous, questionnaire_id, submitted_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(submission_id) DO NOTHING",
            (
                submission_id,
                actor.id,
                payload["kind"],
                payload.get("department_code") or None,
                (payload.get("service_window") or "").strip(),
                payload.get("indicator_code") or None,
                company["id"] if company else None,
                payload["body"].strip(),
                int(bool(payload.get("anonymous"))),
                payload.get("questionnaire_id"),
                now,
                now,
            ),
        )
        feedback_id = cursor.lastrowid
        if payload["kind"] == "rating":
            db.conn.executemany(
                "INSERT INTO feedback_ratings (feedback_id, dimension, score) VALUES (?, ?, ?)",
                [
                    (feedback_id, code, int(score))
                    for code, score in payload["ratings"].items()
                    if code in reference.options(db, "rating_dimensions")
                ],
            )
        if payload.get("questionnaire_id"):
            questionnaires.save_answers(
                db, int(payload["questionnaire_id"]), answers, feedback_id=feedback_id
            )
        for filename, data in photos or []:
            attachments.add_photo(db, actor, filename, data, feedback_id=feedback_id)
        problem_id = None
        if payload["kind"] == "lead":
            new = register.NewProblem(
                source="monitor",
                submission_id=f"{submission_id}-lead",
                category_code=payload["category"],
                nature_code=payload.get("nature") or "report",
                description=payload["body"],
                raised_on=now[:10],
                company=company,
                feedback_id=feedback_id,
                note=f"监督员线索 #{feedback_id}",
            )
            problem_id = register.raise_problem(db, actor, new)
        drafts.mark_submitted(db, submission_id)
        audit.record(
            db,
            actor,
            "insert",
            "feedback",
            feedback_id,
            after={
                "kind": payload["kind"],
                "problem_id": problem_id,
                "anonymous": bool(payload.get("anonymous")),
            },
        )
    return {"feedback_id": feedback_id, "problem_id": problem_id, "already_submitted": False}


def list_feedback(
    db: Database,
    actor: Actor,
    *,
    kind: str | None = None,
    department_code: str | None = None,
    since: str | None = None,
    limit: int = 500,
) -> list[dict]:
    """Feedback within scope; for leads, the problem's status and the department's reply."""
    where, params = feedback_scope(actor)
    clauses = [where]
    for column, value in (("f.kind", kind), ("f.department_code", department_code)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if since:
        clauses.append("f.submitted_at >= ?")
        params.append(since)
    rows = store.query(
        db,
        "SELECT f.id, f.kind, f.submitted_at, f.department_code, d.name AS department, f.body, f.anonymous,"
        " f.monitor_id, u.display_name AS monitor, p.id AS problem_id, p.status AS problem_status,"
        " p.reply_text, p.outcome FROM feedback f JOIN users u ON u.id = f.monitor_id"
        " LEFT JOIN departments d ON d.code = f.department_code LEFT JOIN problems p ON p.feedback_id = f.id"
        f" WHERE {' AND '.join(clauses)} ORDER BY f.submitted_at DESC, f.id DESC LIMIT {int(limit)}",
        params,
    )
    for row in rows:
        row["monitor"] = reporter_name(actor, row)
    return rows


def get_feedback(db: Database, actor: Actor, feedback_id: int) -> dict:
    where, params = feedback_scope(actor)
    rows = store.query(
        db, f"SELECT f.* FROM feedback f WHERE f.id = ? AND {where}", [feedback_id, *params]
    )
    if not rows:
        raise NotFoundError(f"没有编号为 {feedback_id} 的反馈，或您无权查看。")
    return rows[0]


def reporter_name(actor: Actor, row: dict) -> str:
    """Who reported: hidden unless not anonymous, or the reader is the monitor or a supervisor."""
    name = row.get("monitor") or ""
    if (
        row.get("anonymous")
        and actor.id != row.get("monitor_id")
        and not can(actor, "feedback.review")
    ):
        return ANONYMOUS
    return name


# ---- duties and ratings --------------------------------------------------------------------------


def quarter_of(day: date) -> tuple[str, str, str]:
    """('2026Q4', first day, first day of the next quarter)."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    end = date(day.year + (first_month == 10), 1 if first_month == 10 else first_month + 3, 1)
    return f"{day.year}Q{(first_month - 1) // 3 + 1}", start.isoformat(), end.isoformat()


def quarter_target(db: Database) -> int:
    return int(get_setting(db, "monitor_quarter_target") or DEFAULT_QUARTER_TARGET)


def set_quarter_target(db: Database, actor: Actor, target: int) -> None:
    require(actor, "settings.edit")
    if not 0 <= int(target) <= 100:
        raise ValidationError("每季度目标须在 0–100 之间。", "target")
    set_setting(db, actor, "monitor_quarter_target", str(int(target)))


def duty_progress(db: Database, actor: Actor, day: date | None = None) -> dict:
    """Each monitor's leads and suggestions this quarter against the target, furthest behind first."""
    require(actor, "feedback.review")
    label, start, end = quarter_of(day or clock.today())
    target = quarter_target(db)
    rows = store.query(
        db,
        "SELECT u.id, u.display_name AS monitor, u.username,"
        " (SELECT count(*) FROM feedback f WHERE f.monitor_id = u.id AND f.kind IN ('lead', 'suggestion')"
        "  AND f.submitted_at >= ? AND f.submitted_at < ?) AS done,"
        " (SELECT count(*) FROM feedback f WHERE f.monitor_id = u.id AND f.submitted_at >= ? AND f.submitted_at < ?) AS total"
        " FROM users u JOIN user_roles r ON r.user_id = u.id AND r.role = 'monitor' WHERE u.active = 1",
        (start, end, start, end),
    )
    for row in rows:
        row["behind"] = max(0, target - row["done"])
    rows.sort(key=lambda r: (-r["behind"], r["done"], r["username"]))
    return {"quarter": label, "target": target, "monitors": rows}


def latest_feedback_id(db: Database) -> int:
    """The newest feedback's id. Feedback and its ratings are only ever inserted (a restore moves
    the data version), so what was read from them stays current while this stays the same."""
    return int(store.scalar(db, "SELECT coalesce(max(id), 0) FROM feedback"))


def rating_series(db: Database, actor: Actor, department_code: str | None = None) -> list[dict]:
    """Average score per month, department and dimension, with the number of ratings behind it."""
    require(actor, "feedback.review")
    where, params = "f.kind = 'rating'", []
    if department_code:
        where += " AND f.department_code = ?"
        params.append(department_code)
    # Grouped on the codes first, then named: the names' joins run per group, not per rating
    # (132,510 ratings at a million problems), and both tables are read from covering indexes.
    return store.query(
        db,
        "SELECT x.month, x.department_code, d.name AS department, x.dimension,"
        " coalesce(rd.name, x.dimension) AS dimension_name, x.average, x.ratings FROM"
        " (SELECT substr(f.submitted_at, 1, 7) AS month, f.department_code, r.dimension,"
        "  avg(r.score) AS average, count(*) AS ratings"
        "  FROM feedback f JOIN feedback_ratings r ON r.feedback_id = f.id"
        f"  WHERE {where} GROUP BY 1, 2, 3) x"
        " LEFT JOIN departments d ON d.code = x.department_code"
        " LEFT JOIN rating_dimensions rd ON rd.code = x.dimension ORDER BY 1, 2, 4",
        params,
    )
