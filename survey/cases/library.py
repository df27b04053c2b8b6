"""The case library's records: nominating a closed problem or an adopted suggestion with its
write-up and photos, selecting and publishing, and reading (one case, the search) as the reader may
see it, names masked where the case asks for it (survey/cases/masking.py).
"""

from __future__ import annotations

import re

from sqlite_utils import Database

from survey import clock, repeats
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require, sees_everything
from survey.attachments import add_photo
from survey.cases.masking import aliases_of, hidden_companies, masker, place_prefixes
from survey.errors import NotFoundError, PermissionDeniedError, ValidationError
from survey.names import one_line

FIELDS = {"title": "标题", "background": "背景", "approach": "做法", "results": "成效"}
STATUS_LABELS = {"nominated": "已推荐", "selected": "已入选", "published": "已发布"}


def _check_fields(fields: dict) -> dict:
    clean = {k: str(fields.get(k) or "").strip() for k in (*FIELDS, "figures")}
    clean["title"] = one_line(clean["title"])  # a case is named by its title
    for key, label in FIELDS.items():
        if not clean[key]:
            raise ValidationError(f"请填写{label}。", key)
        if len(clean[key]) > 5000:
            raise ValidationError(f"{label}过长（最多 5000 字）。", key)
    return clean


def nominate_problem(
    db: Database,
    actor: Actor,
    problem_id: int,
    fields: dict,
    *,
    mask_company: bool = False,
    photos: list[tuple[str, bytes]] = (),
    request_id: str | None = None,
) -> int:
    """A closed problem as a case; a department nominates only problems it led. A repeat of
    `request_id` (survey.repeats) returns the first case, writing nothing."""
    require(actor, "cases.nominate")
    clean = _check_fields(fields)
    rows = store.query(
        db,
        "SELECT p.status, p.lead_department_code, p.category_code, p.sector_code, p.company_id"
        " FROM problems p WHERE p.id = ?",
        (problem_id,),
    )
    if not rows:
        raise NotFoundError(f"没有编号为 {problem_id} 的问题。")
    problem = rows[0]
    if problem["status"] != "closed":
        raise ValidationError(f"问题 #{problem_id} 尚未办结，办结后才能推荐为案例。", "problem_id")
    if not sees_everything(actor) and problem["lead_department_code"] != actor.department_code:
        raise PermissionDeniedError(f"只能推荐本部门牵头办结的问题（#{problem_id} 不是）。")
    source = {"problem_id": problem_id, "feedback_id": None}
    facts = {k: problem[k] for k in ("category_code", "sector_code", "company_id")}
    with store.transaction(db):
        if repeat := repeats.first(db, actor, request_id, "nominate"):
            return repeat.result
        if store.scalar(  # the same write-up twice (a second tap on 推荐) is not a second case
            db,
            "SELECT 1 FROM cases WHERE problem_id = ? AND title = ? AND background = ?"
            " AND approach = ? AND results = ?",
            (problem_id, *(clean[k] for k in FIELDS)),
        ):
            raise ValidationError(f"问题 #{problem_id} 已以“{clean['title']}”推荐过。", "title")
        case_id = _insert(db, actor, clean, source | facts, mask_company, photos)
        return repeats.record(db, actor, request_id, "nominate", case_id)


def nominable(db: Database, actor: Actor, words: str = "", limit: int = 30) -> list[dict]:
    """Closed problems the actor may nominate (a department: those it led), newest first: by
    number (#61 or 61) or by words in the description or the company's name (instr, so two
    Chinese characters find). Each with its company, category and the start of its description,
    and whether it is already a case."""
    require(actor, "cases.nominate")
    clauses, params = ["p.status = 'closed'"], []
    if not sees_everything(actor):
        clauses.append("p.lead_department_code = ?")
        params.append(actor.department_code)
    words = (words or "").strip().lstrip("#＃")
    if words.isdigit():
        clauses.append("p.id = ?")
        params.append(int(words))
    else:
        for word in words.split()[:5]:
            clauses.append("(instr(p.description, ?) > 0 OR instr(coalesce(c.name, ''), ?) > 0)")
            params += [word, word]
    return store.query(
        db,
        "SELECT p.id, coalesce(c.name, '') AS company, pc.name AS category,"
        " substr(p.description, 1, 40) AS description,"
        " EXISTS (SELECT 1 FROM cases k WHERE k.problem_id = p.id) AS nominated"
        " FROM problems p LEFT JOIN companies c ON c.id = p.company_id"
        " JOIN problem_categories pc ON pc.code = p.category_code"
        f" WHERE {' AND '.join(clauses)} ORDER BY p.id DESC LIMIT ?",
        [*params, int(limit)],
    )


def nominate_suggestion(
    db: Database, actor: Actor, feedback_id: int, fields: dict, *, mask_company: bool = False
) -> int:
    """A monitor's suggestion that was adopted, as a case (supervisors)."""
    require(actor, "cases.manage")
    clean = _check_fields(fields)
    rows = store.query(db, "SELECT kind, company_id FROM feedback WHERE id = ?", (feedback_id,))
    if not rows or rows[0]["kind"] != "suggestion":
        raise ValidationError(f"#{feedback_id} 不是监督员建议。", "feedback_id")
    source = {"problem_id": None, "feedback_id": feedback_id}
    facts = {"category_code": None, "sector_code": None, "company_id": rows[0]["company_id"]}
    return _insert(db, actor, clean, source | facts, mask_company, ())


def _insert(db, actor, clean, values, mask_company, photos) -> int:
    now = clock.now_iso()
    row = clean | values | {"mask_company": int(bool(mask_company)), "nominated_by": actor.id}
    row |= {"created_at": now, "updated_at": now}
    with store.transaction(db):
        case_id = db.execute(
            f"INSERT INTO cases ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
            list(row.values()),
        ).lastrowid
        for filename, data in photos:
            add_photo(db, actor, filename, data, case_id=case_id)
        audit.record(db, actor, "insert", "cases", case_id, after={"title": clean["title"]})
    return int(case_id)


def set_status(db: Database, actor: Actor, case_id: int, status: str) -> None:
    """Select (入选) or publish (发布) a case."""
    require(actor, "cases.manage")
    if status not in ("selected", "published"):
        raise ValidationError("状态无效。", "status")
    with store.transaction(db):
        changed = db.execute(
            "UPDATE cases SET status = ?, updated_at = ?, published_at = CASE WHEN ? = 'published'"
            " THEN ? ELSE published_at END WHERE id = ?",
            (status, clock.now_iso(), status, clock.now_iso(), case_id),
        ).rowcount
        if not changed:
            raise NotFoundError(f"没有编号为 {case_id} 的案例。")
        audit.record(db, actor, "update", "cases", case_id, after={"status": status})


CASE_SQL = (
    "SELECT k.id, k.title, k.background, k.approach, k.results, k.figures, k.status,"
    " k.mask_company, k.company_id, k.problem_id, k.category_code, pc.name AS category,"
    " k.sector_code, s.name AS sector, c.name AS company_name, k.published_at"
    " FROM cases k LEFT JOIN companies c ON c.id = k.company_id"
    " LEFT JOIN problem_categories pc ON pc.code = k.category_code"
    " LEFT JOIN sectors s ON s.code = k.sector_code"
)


def readable(db: Database, actor: Actor, rows: list[dict]) -> list[dict]:
    """The cases as this reader may see them: where a case asks for it and the reader has no
    access to its company, every name of the company masked in its text and title."""
    asking = {r["company_id"] for r in rows if r["mask_company"] and r.get("company_name")}
    hidden = hidden_companies(db, actor, asking)
    aliases = aliases_of(db, hidden)
    places = place_prefixes(db) if hidden else ()
    shown = []
    for row in rows:
        row = dict(row)
        name = row.pop("company_name", None)
        if row["company_id"] in hidden and name:
            keys = (*FIELDS, "figures")
            mask = masker(name, [row[k] for k in keys], aliases.get(row["company_id"], []), places)
            row |= {k: mask(row[k]) for k in keys}
            name = mask(name)
        shown.append(row | {"company": name})
    return shown


def readable_titles(db: Database, actor: Actor, case_ids: list[int]) -> dict[int, str]:
    """Case id -> title as the actor may read it (masked as in the library)."""
    if not case_ids:
        return {}
    marks = ", ".join("?" for _ in case_ids)
    rows = store.query(db, f"{CASE_SQL} WHERE k.id IN ({marks})", list(case_ids))
    return {r["id"]: r["title"] for r in readable(db, actor, rows)}


def get_case(db: Database, actor: Actor, case_id: int) -> dict:
    """One case: published ones for everyone, the rest for supervisors and their nominator."""
    require(actor, "cases.read")
    rows = store.query(db, f"{CASE_SQL} WHERE k.id = ?", (case_id,))
    visible = rows and (
        rows[0]["status"] == "published"
        or sees_everything(actor)
        or store.scalar(db, "SELECT nominated_by FROM cases WHERE id = ?", (case_id,)) == actor.id
    )
    if not visible:
        raise NotFoundError(f"没有编号为 {case_id} 的案例，或尚未发布。")
    return readable(db, actor, rows[:1])[0]


def search(
    db: Database,
    actor: Actor,
    text: str = "",
    *,
    category: str | None = None,
    sector: str | None = None,
    limit: int = 50,
) -> list[dict]:
    """Published cases (all cases for supervisors) by category, sector and words, newest first."""
    require(actor, "cases.read")
    words = [w for w in re.split(r"\s+", (text or "").strip()) if w][:5]
    clauses, params = ["1 = 1" if sees_everything(actor) else "k.status = 'published'"], []
    if category:
        clauses.append("(k.category_code = ? OR pc.parent = ?)")
        params += [category, category]
    if sector:
        clauses.append("k.sector_code = ?")
        params.append(sector)
    for word in words:  # narrowed in SQL
        clauses.append("(k.title || k.background || k.approach || k.results) LIKE ? ESCAPE '\\'")
        params.append(
            "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
    rows = store.query(
        db,
        f"{CASE_SQL} WHERE {' AND '.join(clauses)}"
        f" ORDER BY coalesce(k.published_at, k.created_at) DESC, k.id DESC LIMIT {int(limit)}",
        params,
    )
    shown = readable(db, actor, rows)
    # A masked case matches on what the reader sees: searching for the company's real name must
    # not reveal which case is about it.
    return [
        r
        for r in shown
        if all(w in r["title"] + r["background"] + r["approach"] + r["results"] for w in words)
    ]


def nominated(db: Database, actor: Actor) -> list[dict]:
    """Cases not yet published, for the organisers to put in a round or publish."""
    require(actor, "cases.manage")
    return store.query(
        db, "SELECT id, title, status FROM cases WHERE status != 'published' ORDER BY id DESC"
    )
