"""Visits (走访): submitting one exactly once (visit, answers and problems in one transaction keyed
by the client's submission id), reading them within the actor's scope, editing for 7 days, and
withdrawing or annotating a problem the officer raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlite_utils import Database

from survey import attachments, clock, drafts, questionnaires, reference
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require, visit_scope
from survey.companies import registry
from survey.errors import NotFoundError, PermissionDeniedError, SurveyError, ValidationError
from survey.labels import VISIT_MODES
from survey.problems import register
from survey.xlsform import engine

EDIT_DAYS = 7
MIN_DESCRIPTION = 10
MAX_DESCRIPTION = 2000
MAX_PROBLEMS = 30


class VisitInvalidError(SurveyError):
    """A visit that cannot be saved; `errors` maps each field (e.g. 'problems[1].description') to
    its message. Nothing was written and the draft is kept."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(f"还有 {len(errors)} 处需要修改，草稿已保留。")
        self.errors = errors


@dataclass
class Receipt:
    visit_id: int
    problem_ids: list[int] = field(default_factory=list)
    closed_on_spot: list[int] = field(default_factory=list)
    already_submitted: bool = False


# ---- choices for the form ------------------------------------------------------------------------


def category_options(db: Database, actor: Actor) -> dict[str, str]:
    """Second-level categories as code -> '大类 / 小类', the officer's most used first."""
    rows = store.query(
        db,
        "SELECT c.code, p.name AS parent, c.name, c.sort_order,"
        " (SELECT count(*) FROM problems x WHERE x.category_code = c.code AND x.created_by = ?) AS used"
        " FROM problem_categories c JOIN problem_categories p ON p.code = c.parent"
        " WHERE c.active = 1 AND c.parent IS NOT NULL ORDER BY used DESC, p.sort_order, c.sort_order",
        (actor.id,),
    )
    return {r["code"]: f"{r['parent']} / {r['name']}" for r in rows}


def open_problems_of_company(db: Database, actor: Actor, company_id: int) -> list[dict]:
    """Earlier problems of the company not yet closed, so a problem raised again is not duplicated."""
    from survey.problems.listing import list_problems

    return list_problems(db, actor, company_id=company_id, statuses=list(register.UNRESOLVED))


def colleagues(db: Database) -> dict[int, str]:
    """Officers who may go along on a visit: id -> name."""
    return dict(
        db.conn.execute(
            "SELECT u.id, u.display_name || '（' || u.username || '）' FROM users u JOIN user_roles r"
            " ON r.user_id = u.id AND r.role = 'officer' WHERE u.active = 1 ORDER BY u.username"
        ).fetchall()
    )


# ---- validation ----------------------------------------------------------------------------------


def check_visit(
    db: Database, actor: Actor, payload: dict, today: date | None = None
) -> dict[str, str]:
    """The messages submit_visit would give, without writing anything (for live hints)."""
    return _validate(db, actor, payload, today or clock.today())[2]


def _validate(db: Database, actor: Actor, payload: dict, today: date) -> tuple[dict, dict, dict]:
    """(company, clean answers, errors)."""
    errors: dict[str, str] = {}
    company = None
    company_id = payload.get("company_id")
    if not company_id:
        errors["company"] = "请选择走访的企业。"
    else:
        try:
            company = registry.get_company(db, actor, int(company_id))
        except (NotFoundError, ValueError, TypeError):
            errors["company"] = "所选企业不存在或不在您的联系范围内。"
    try:
        visit_date = date.fromisoformat(str(payload.get("visit_date") or ""))
        if visit_date > today:
            errors["visit_date"] = "走访日期不能晚于今天。"
        elif visit_date < today - timedelta(days=366):
            errors["visit_date"] = "走访日期不能早于一年前。"
    except ValueError:
        errors["visit_date"] = "请填写走访日期。"
    if payload.get("mode") not in VISIT_MODES:
        errors["mode"] = "请选择走访方式。"
    known = colleagues(db)
    if any(int(p) not in known for p in payload.get("participants") or []):
        errors["participants"] = "同行人员中有无效的用户。"
    clean: dict = {}
    questionnaire_id = payload.get("questionnaire_id")
    if questionnaire_id:
        form = questionnaires.get_version(db, actor, int(questionnaire_id))
        clean, form_errors, _ = engine.evaluate_form(form, payload.get("answers") or {}, today)
        errors.update({f"answers.{k}": v for k, v in form_errors.items()})
    category_state = {
        code: bool(active)
        for code, active in db.conn.execute(
            "SELECT code, active FROM problem_categories WHERE parent IS NOT NULL"
        )
    }
    natures = reference.options(db, "request_natures")
    deadlines = reference.options(db, "deadline_classes")
    problems = payload.get("problems") or []
    if len(problems) > MAX_PROBLEMS:
        errors["problems"] = f"一次走访最多登记 {MAX_PROBLEMS} 个问题。"
    for i, p in enumerate(problems):
        where = f"problems[{i}]"
        if not category_state.get(p.get("category")):
            errors[f"{where}.category"] = (
                "该类别已停用，请重选。"
                if p.get("category") in category_state
                else "请选择问题的小类。"
            )
        if p.get("nature") not in natures:
            errors[f"{where}.nature"] = "请选择诉求性质。"
        text = (p.get("description") or "").strip()
        if len(text) < MIN_DESCRIPTION:
            errors[f"{where}.description"] = (
                f"问题描述至少 {MIN_DESCRIPTION} 个字（当前 {len(text)} 个）。"
            )
        elif len(text) > MAX_DESCRIPTION:
            errors[f"{where}.description"] = f"问题描述最多 {MAX_DESCRIPTION} 个字。"
        if p.get("deadline_class") and p["deadline_class"] not in deadlines:
            errors[f"{where}.deadline_class"] = "办理时限无效。"
        if p.get("solved_on_spot") and len((p.get("spot_solution") or "").strip()) < 4:
            errors[f"{where}.spot_solution"] = "现场解决的问题请写明如何解决（至少 4 个字）。"
    if company is not None and payload.get("raised_again"):
        open_ids = {p["id"] for p in open_problems_of_company(db, actor, company["id"])}
        if any(int(pid) not in open_ids for pid in payload.get("raised_again") or []):
            errors["raised_again"] = "“再次反映”的问题须是该企业尚未办结的问题。"
    return company, clean, errors


# ---- submit exactly once -------------------------------------------------------------------------


def _receipt_of(db: Database, visit_id: int) -> Receipt:
    rows = db.conn.execute(
        "SELECT id, status FROM problems WHERE visit_id = ? ORDER BY id", (visit_id,)
    ).fetchall()
    return Receipt(visit_id, [r[0] for r in rows], [r[0] for r in rows if r[1] == "closed"], True)


def submit_visit(
    db: Database,
    actor: Actor,
    submission_id: str,
    payload: dict,
    *,
    today: date | None = None,
    photos: dict[int, list[tuple[str, bytes]]] | None = None,
) -> Receipt:
    """Write the visit, its participants, answers and problems in one transaction. The submission id
    is unique: a double tap, a resend or a retry returns the visit already saved. `photos` maps a
    problem's position (0-based) to (filename, bytes) pairs, stored downscaled with it."""
    require(actor, "visits.create")
    if not submission_id or len(submission_id) > 80:
        raise ValidationError("缺少提交编号，请重新打开表单。", "submission_id")
    today = today or clock.today()
    with store.transaction(db):
        existing = store.scalar(
            db, "SELECT id FROM visits WHERE submission_id = ?", (submission_id,)
        )
        if existing:
            return _receipt_of(db, existing)
        company, answers, errors = _validate(db, actor, payload, today)
        if errors:
            raise VisitInvalidError(errors)
        now = clock.now_iso()
        area = company["park_code"] or company["district_code"]
        cursor = db.execute(
            "INSERT INTO visits (submission_id, company_id, visit_date, mode, officer_id, department_code,"
            " questionnaire_id, summary, sector_code, district_code, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(submission_id) DO NOTHING",
            (
                submission_id,
                company["id"],
                payload["visit_date"],
                payload["mode"],
                actor.id,
                company["department_code"] or actor.department_code,
                payload.get("questionnaire_id"),
                (payload.get("summary") or "").strip(),
                company["sector_code"],
                area,
                now,
                now,
            ),
        )
        if cursor.rowcount == 0:  # cannot happen under BEGIN IMMEDIATE; kept as a guard
            return _receipt_of(
                db,
                store.scalar(db, "SELECT id FROM visits WHERE submission_id = ?", (submission_id,)),
            )
        visit_id = cursor.lastrowid
        people = sorted({actor.id, *(int(p) for p in payload.get("participants") or [])})
        db.conn.executemany(
            "INSERT INTO visit_participants (visit_id, user_id) VALUES (?, ?)",
            [(visit_id, p) for p in people],
        )
        if payload.get("questionnaire_id"):
            questionnaires.save_answers(
                db, int(payload["questionnaire_id"]), answers, visit_id=visit_id
            )
        receipt = Receipt(visit_id)
        for i, p in enumerate(payload.get("problems") or [], start=1):
            new = register.NewProblem(
                source="visit",
                submission_id=f"{submission_id}-p{i}",
                category_code=p["category"],
                nature_code=p["nature"],
                description=p["description"],
                raised_on=payload["visit_date"],
                company=company,
                visit_id=visit_id,
                deadline_class=p.get("deadline_class"),
                solved_on_spot=bool(p.get("solved_on_spot")),
                spot_solution=p.get("spot_solution") or "",
                note=f"走访 #{visit_id}",
            )
            problem_id = register.raise_problem(db, actor, new)
            receipt.problem_ids.append(problem_id)
            if new.solved_on_spot:
                receipt.closed_on_spot.append(problem_id)
            for filename, data in (photos or {}).get(i - 1, []):
                attachments.add_photo(db, actor, filename, data, problem_id=problem_id)
        for pid in payload.get("raised_again") or []:
            problem = register.load(db, int(pid))
            changes = {"raised_again_count": problem["raised_again_count"] + 1}
            note = f"走访 #{visit_id} 企业再次反映"
            register.transition(db, actor, problem, "raised_again", note=note, changes=changes)
        drafts.mark_submitted(db, submission_id)
        audit.record(
            db,
            actor,
            "insert",
            "visits",
            visit_id,
            after={
                "company_id": company["id"],
                "visit_date": payload["visit_date"],
                "mode": payload["mode"],
                "problems": receipt.problem_ids,
                "raised_again": payload.get("raised_again") or [],
            },
        )
    return receipt


# ---- reading -------------------------------------------------------------------------------------


def list_visits(
    db: Database,
    actor: Actor,
    *,
    since: str | None = None,
    until: str | None = None,
    company_text: str | None = None,
    limit: int = 200,
) -> list[dict]:
    where, params = visit_scope(actor)
    clauses = [where]
    if since:
        clauses.append("v.visit_date >= ?")
        params.append(since)
    if until:
        clauses.append("v.visit_date <= ?")
        params.append(until)
    if company_text:
        clauses.append("instr(c.name, ?) > 0")
        params.append(company_text)
    return store.query(
        db,
        "SELECT v.id, v.visit_date, v.mode, v.company_id, c.name AS company, u.display_name AS officer,"
        " v.officer_id, v.created_at, (SELECT count(*) FROM problems p WHERE p.visit_id = v.id) AS problems"
        " FROM visits v JOIN companies c ON c.id = v.company_id JOIN users u ON u.id = v.officer_id"
        f" WHERE {' AND '.join(clauses)} ORDER BY v.visit_date DESC, v.id DESC LIMIT {int(limit)}",
        params,
    )


def get_visit(db: Database, actor: Actor, visit_id: int) -> dict:
    """A visit with its company, participants, answers (with the labels of their own version) and
    problems."""
    where, params = visit_scope(actor)
    rows = store.query(
        db,
        "SELECT v.*, c.name AS company, u.display_name AS officer FROM visits v"
        " JOIN companies c ON c.id = v.company_id JOIN users u ON u.id = v.officer_id"
        f" WHERE v.id = ? AND {where}",
        [visit_id, *params],
    )
    if not rows:
        raise NotFoundError(f"没有编号为 {visit_id} 的走访记录，或您无权查看。")
    visit = rows[0]
    visit["participants"] = [
        r[0]
        for r in db.conn.execute(
            "SELECT u.display_name FROM visit_participants p JOIN users u ON u.id = p.user_id"
            " WHERE p.visit_id = ? ORDER BY u.id",
            (visit_id,),
        )
    ]
    visit["answers"] = questionnaires.load_answers(db, visit_id=visit_id)
    visit["problems"] = store.query(
        db,
        "SELECT p.id, p.status, p.category_code, c.name AS category, p.description, p.solved_on_spot"
        " FROM problems p JOIN problem_categories c ON c.code = p.category_code WHERE p.visit_id = ? ORDER BY p.id",
        (visit_id,),
    )
    return visit


def is_editable(visit: dict, actor: Actor | None) -> bool:
    """Visits can be corrected by their officer for 7 days after they were submitted."""
    created = date.fromisoformat(visit["created_at"][:10])
    mine = actor is None or visit["officer_id"] == actor.id
    return mine and clock.today() - created <= timedelta(days=EDIT_DAYS)


def edit_visit(db: Database, actor: Actor, visit_id: int, changes: dict) -> None:
    """Correct date, mode or summary within 7 days; the audit row keeps before and after."""
    require(actor, "visits.create")
    allowed = {"visit_date", "mode", "summary"}
    changes = {k: v for k, v in changes.items() if k in allowed}
    with store.transaction(db):
        visit = get_visit(db, actor, visit_id)
        if not is_editable(visit, actor):
            raise PermissionDeniedError(
                f"走访提交 {EDIT_DAYS} 天后不能再修改，只有登记人可以修改。"
            )
        if "mode" in changes and changes["mode"] not in VISIT_MODES:
            raise ValidationError("请选择走访方式。", "mode")
        if "visit_date" in changes:
            try:
                if date.fromisoformat(str(changes["visit_date"])) > clock.today():
                    raise ValidationError("走访日期不能晚于今天。", "visit_date")
            except ValueError:
                raise ValidationError("走访日期格式不正确。", "visit_date") from None
        changed = {k: v for k, v in changes.items() if visit.get(k) != v}
        if not changed:
            return
        db.execute(
            f"UPDATE visits SET {', '.join(f'{k} = ?' for k in changed)}, updated_at = ? WHERE id = ?",
            [*changed.values(), clock.now_iso(), visit_id],
        )
        if "visit_date" in changed:
            db.execute(
                "UPDATE problems SET raised_on = ?, raised_month = ? WHERE visit_id = ?",
                (changed["visit_date"], changed["visit_date"][:7], visit_id),
            )
        audit.record(
            db,
            actor,
            "update",
            "visits",
            visit_id,
            before={k: visit[k] for k in changed},
            after=changed,
        )


def withdraw_problem(db: Database, actor: Actor, problem_id: int, reason: str) -> None:
    """Remove a problem logged by mistake: only while still 待交办, by its officer, within 7 days.
    An assigned problem can only be annotated (annotate_problem)."""
    require(actor, "visits.create")
    with store.transaction(db):
        row = store.query(
            db, "SELECT * FROM problems WHERE id = ? AND created_by = ?", (problem_id, actor.id)
        )
        if not row:
            raise NotFoundError(f"没有您登记的编号为 {problem_id} 的问题。")
        problem = row[0]
        if problem["status"] != "new":
            raise PermissionDeniedError("问题已交办，不能删除，只能添加备注。")
        if clock.today() - date.fromisoformat(problem["created_at"][:10]) > timedelta(
            days=EDIT_DAYS
        ):
            raise PermissionDeniedError(f"问题登记 {EDIT_DAYS} 天后不能删除。")
        if len((reason or "").strip()) < 2:
            raise ValidationError("请写明删除原因。", "reason")
        register.withdraw(db, actor, problem_id, reason.strip())


def annotate_problem(db: Database, actor: Actor, problem_id: int, note: str) -> None:
    """Add a note to a problem one raised (kept in its timeline)."""
    require(actor, "problems.annotate")
    with store.transaction(db):
        rows = store.query(
            db, "SELECT * FROM problems WHERE id = ? AND created_by = ?", (problem_id, actor.id)
        )
        if not rows:
            raise NotFoundError(f"没有您登记的编号为 {problem_id} 的问题。")
        if len((note or "").strip()) < 2:
            raise ValidationError("请填写备注内容。", "note")
        register.transition(
            db, actor, rows[0], "annotate", note=note.strip(), audit_note="走访人员备注"
        )
