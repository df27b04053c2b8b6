"""What a company sees of its own problems and what it may do there (企业端): each problem raised
in a visit, from another system or by itself, with its status in plain words, the department in
charge, the deadline and the department's reply; its rating of an answer (the register's
callback move); and a new request (企业自报), which arrives in 交办.

Every function takes the company's Actor (role 'company', survey.access.permissions.COMPANY) and
reads only through `company_problems`: another company's problem, a monitor's lead about it, or a
number that does not exist all read the same, as nothing. No person's name is ever returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access.actor import SYSTEM, Actor
from survey.access.permissions import company_problems, require
from survey.attachments import add_photo
from survey.errors import ValidationError
from survey.labels import OUTCOME_LABELS
from survey.problems import register

# The company's three words and the 好差评 level each is recorded as (satisfaction_levels):
# 不满意 is a bad review, so it reopens the problem (重办) as a phone callback's would.
RATINGS = {"满意": 4, "基本满意": 3, "不满意": 2}
MAX_COMMENT = 500
PAGE_SIZE = 20  # problems the page draws at a time
MAX_PHOTOS = 5
MAX_REQUESTS_PER_DAY = 5
MIN_DESCRIPTION, MAX_DESCRIPTION = 10, 2000
REQUEST_NATURE = "help"  # 求助: what a company asks of the government


def status_words(problem: dict) -> str:
    """The status as a company would say it (register.STATUS_FOR_COMPANY)."""
    words = register.STATUS_FOR_COMPANY.get(problem["status"], "办理中")
    return words.format(department=problem.get("department") or "责任部门")


_COLUMNS = (
    "p.id, p.source, p.status, p.raised_on, p.description, p.deadline_on, p.outcome,"
    " p.reply_text, p.replied_at, p.closed_at, p.solved_on_spot, p.spot_solution,"
    " pc.name AS category, d.name AS department"
)


def my_problems(db: Database, actor: Actor, problem_id: int | None = None) -> list[dict]:
    """The company's problems, answers awaiting its rating first, then open ones, newest first
    (or the one asked for, when it is the
    company's: else none). Each with `status_words`, the outcome's label, whether it awaits the
    company's rating and the rating it gave the current answer."""
    where, params = company_problems(actor)
    if problem_id is not None:
        where += " AND p.id = ?"
        params = [*params, int(problem_id)]
    rows = store.query(
        db,
        f"SELECT {_COLUMNS}, (SELECT max(e.id) FROM problem_events e WHERE e.problem_id = p.id"
        " AND e.action = 'reply') AS reply_event_id"
        " FROM problems p JOIN problem_categories pc ON pc.code = p.category_code"
        f" LEFT JOIN departments d ON d.code = p.lead_department_code WHERE {where}"
        " ORDER BY p.status = 'replied' DESC, p.status = 'closed', p.raised_on DESC, p.id DESC",
        params,
    )
    if not rows:
        return []
    rated = _ratings(db, [r["reply_event_id"] for r in rows if r["reply_event_id"]])
    for row in rows:
        row["status_words"] = status_words(row)
        # the deadline runs while a department holds it; otherwise it says nothing to the company
        row["deadline_shown"] = (
            row["deadline_on"] if row["status"] in register.WITH_DEPARTMENT else None
        )
        row["outcome_label"] = OUTCOME_LABELS.get(row["outcome"] or "", "")
        row["rating"] = rated.get(row["reply_event_id"])
        row["may_rate"] = row["status"] == "replied" and row["rating"] is None
    return rows


def _ratings(db: Database, event_ids: list[int]) -> dict[int, str]:
    words = {level: word for word, level in RATINGS.items()}
    found: dict[int, str] = {}
    for start in range(0, len(event_ids), 500):
        chunk = event_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for event_id, level in db.conn.execute(
            f"SELECT reply_event_id, level FROM company_ratings WHERE reply_event_id IN ({marks})",
            chunk,
        ):
            found[event_id] = words.get(level, str(level))
    return found


def company_name(db: Database, actor: Actor) -> str:
    require(actor, "company_view.read")
    return store.scalar(db, "SELECT name FROM companies WHERE id = ?", (actor.company_id,)) or ""


def _own(db: Database, actor: Actor, problem_id: int) -> dict:
    where, params = company_problems(actor)
    found = store.query(
        db, f"SELECT p.* FROM problems p WHERE {where} AND p.id = ?", [*params, int(problem_id)]
    )
    if not found:
        raise ValidationError("没有找到该问题。", "problem")
    return found[0]


def rate(db: Database, actor: Actor, problem_id: int, word: str, comment: str = "") -> str:
    """The company rates the department's answer: the register's callback move ('rate': 已答复 →
    已回访), then closed, or reopened (重办) with a new deadline after 不满意, as a supervisor's
    phone callback does; the department hears of the reopening (survey.notify.routing). One
    rating per answer: a second tap, or a rating after a phone callback, is refused. Returns the
    new status."""
    require(actor, "company_view.rate")
    if word not in RATINGS:
        raise ValidationError("请选择满意、基本满意或不满意。", "rating")
    comment = " ".join((comment or "").split())[:MAX_COMMENT]
    level = RATINGS[word]
    with store.transaction(db):
        problem = _own(db, actor, problem_id)
        reply_event = store.scalar(
            db,
            "SELECT max(id) FROM problem_events WHERE problem_id = ? AND action = 'reply'",
            (problem["id"],),
        )
        if reply_event and store.scalar(
            db, "SELECT 1 FROM company_ratings WHERE reply_event_id = ?", (reply_event,)
        ):
            raise ValidationError("这次答复您已经评价过了，谢谢。", "rating")
        if problem["status"] != "replied" or not reply_event:
            raise ValidationError("该问题当前没有待评价的答复。", "rating")
        now = clock.now_iso()
        note = f"企业评价：{word}" + (f"。{comment}" if comment else "")
        changes = {"called_back_at": now, "satisfaction_level": level}
        problem = register.transition(db, actor, problem, "rate", note=note, changes=changes)
        db.execute(
            "INSERT INTO company_ratings (problem_id, reply_event_id, company_id, level, comment,"
            " rated_at) VALUES (?, ?, ?, ?, ?, ?)",
            (problem["id"], reply_event, actor.company_id, level, comment, now),
        )
        # The rules apply as after a phone callback; the register records them as the system's.
        if level in register.bad_review_levels(db):
            deadline = register.reopen_deadline(clock.today())
            changes = {"deadline_on": deadline, "reopen_count": problem["reopen_count"] + 1}
            changes |= {"replied_at": None, "outcome": None}
            note = f"企业评价不满意，重办，新时限 {deadline}"
            problem = register.transition(db, SYSTEM, problem, "reopen", note=note, changes=changes)
        else:
            problem = register.transition(
                db, SYSTEM, problem, "close", changes={"closed_at": clock.now_iso()}
            )
    return problem["status"]


def categories(db: Database, actor: Actor) -> dict[str, str]:
    """The problem categories a company picks from: code -> '大类 / 小类'."""
    require(actor, "company_view.read")
    return {
        r[0]: f"{r[1]} / {r[2]}"
        for r in db.conn.execute(
            "SELECT c.code, g.name, c.name FROM problem_categories c"
            " JOIN problem_categories g ON g.code = c.parent"
            " WHERE c.active = 1 ORDER BY c.code"
        )
    }


@dataclass(frozen=True)
class Request:
    submission_id: str
    category_code: str
    description: str
    photos: tuple[tuple[str, bytes], ...] = ()


def raise_request(db: Database, actor: Actor, request: Request) -> tuple[int, bool]:
    """A new problem the company raises itself (企业自报): 待交办 in 交办, source 'company'. The
    submission id makes a double tap one problem; at most MAX_REQUESTS_PER_DAY a day per company,
    MAX_PHOTOS photos each, photos downscaled and size-checked as everywhere. Returns (problem id,
    whether it was already there)."""
    require(actor, "problems.raise")
    require(actor, "company_view.read")
    sid = (request.submission_id or "").strip()
    if not 8 <= len(sid) <= 64:
        raise ValidationError("提交编号无效，请刷新页面后重试。", "submission_id")
    description = (request.description or "").strip()
    if not MIN_DESCRIPTION <= len(description) <= MAX_DESCRIPTION:
        raise ValidationError(
            f"请描述遇到的问题（{MIN_DESCRIPTION}–{MAX_DESCRIPTION} 个字）。", "description"
        )
    if request.category_code not in categories(db, actor):
        raise ValidationError("请选择问题类别。", "category")
    if len(request.photos) > MAX_PHOTOS:
        raise ValidationError(f"照片最多 {MAX_PHOTOS} 张。", "photos")
    with store.transaction(db):
        known = store.scalar(
            db,
            "SELECT id FROM problems WHERE submission_id = ? AND company_id = ?",
            (sid, actor.company_id),
        )
        if known:
            return int(known), True
        since = clock.iso(clock.now() - timedelta(days=1))
        today = int(
            store.scalar(
                db,
                "SELECT count(*) FROM problems WHERE company_id = ? AND source = 'company'"
                " AND created_at > ?",
                (actor.company_id, since),
            )
        )
        if today >= MAX_REQUESTS_PER_DAY:
            raise ValidationError(
                f"每家企业每天最多提交 {MAX_REQUESTS_PER_DAY} 条诉求，请明天再提交或联系走访人员。",
                "description",
            )
        company = store.query(db, "SELECT * FROM companies WHERE id = ?", (actor.company_id,))[0]
        problem_id = register.raise_problem(
            db,
            actor,
            register.NewProblem(
                source="company",
                submission_id=sid,
                category_code=request.category_code,
                nature_code=REQUEST_NATURE,
                description=description,
                raised_on=clock.today().isoformat(),
                company=company,
            ),
        )
        for filename, data in request.photos:
            add_photo(db, actor, filename, data, problem_id=problem_id)
    return problem_id, False
