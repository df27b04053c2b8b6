"""The case library (经典案例评选): a supervisor or a department nominates a closed problem, or a
supervisor a monitor's suggestion that was adopted, with a write-up (背景, 做法, 成效, figures and
photos). A year's selection round has a panel, weighted criteria and each member's scores, which
stay private to their author until the round closes; then the weighted ranking is shown and the
best cases are selected and published. A published case may mask the company's name
(江苏某某科技有限公司) for every reader without access to that company, in its text too, with
whatever else the text calls it: a declared short name (以下简称“天盛智能”), the name without its
place and legal form, and the company's aliases an editor adds. Such a reader never finds the
case by any of those names, and a panel member without access reads the titles masked too. The
library is searched by category, sector and words."""

from __future__ import annotations

import re

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import can, company_detail_scope, require, sees_everything
from survey.attachments import add_photo
from survey.errors import NotFoundError, PermissionDeniedError, ValidationError
from survey.names import one_line

FIELDS = {"title": "标题", "background": "背景", "approach": "做法", "results": "成效"}
STATUS_LABELS = {"nominated": "已推荐", "selected": "已入选", "published": "已发布"}
SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")
PLACES = ("江苏", "镇江", "京口", "润州", "丹徒", "丹阳", "句容", "扬中", "新区", "高新")
# What a text may call a company besides its registered name: the legal forms and place prefixes
# it drops (with the districts' names from the reference list), and declared short names.
LEGAL_FORMS = (
    "集团股份有限公司",
    "集团有限责任公司",
    "集团有限公司",
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "分公司",
    "集团",
    "公司",
)
PLACE_PREFIXES = ("江苏省", "江苏", "镇江市", "镇江", "镇江新区", "新区", "高新区")
_QUOTES = "“”\"「」『』‘’'《》【】〔〕"
_DECLARED = re.compile(  # 以下简称“天盛智能”, 简称：天盛智能, 以下称「天盛」, 简称天盛智能，
    rf"(?:简称|下称)为?[:：]?\s*(?:[{_QUOTES}](?P<quoted>[^{_QUOTES}\n]{{2,30}})[{_QUOTES}]"
    rf"|(?P<bare>[^\s{_QUOTES}（）()，,。；;、：:]{{2,20}})(?=[\s）)，,。；;、]|$))"
)
_BEFORE_DECLARED = re.compile(r"[\s（(，,：:]*(?:以下)?$")
ALIAS_MAX = 50


def mask_name(name: str) -> str:
    """镇江大全电气设备有限公司 -> 镇江某某设备有限公司: the place and the trade kept, the brand not."""
    suffix = next((s for s in SUFFIXES if name.endswith(s)), "")
    core = name[: len(name) - len(suffix)] if suffix else name
    place = next((p for p in PLACES if core.startswith(p)), "")
    trade = core[-2:] if len(core) - len(place) > 2 else ""
    return f"{place or '某地'}某某{trade}{suffix or '企业'}"


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
) -> int:
    """A closed problem as a case; a department nominates only problems it led."""
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
    return _insert(db, actor, clean, source | facts, mask_company, photos)


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


# ---- selection rounds ------------------------------------------------------------------------


def create_round(
    db: Database,
    actor: Actor,
    *,
    year: int,
    title: str,
    criteria: list[tuple[str, float]],
    panel: list[int],
    case_ids: list[int],
) -> int:
    require(actor, "cases.manage")
    criteria = [(one_line(n), w) for n, w in criteria or []]
    if not criteria or any(not n or float(w) <= 0 for n, w in criteria):
        raise ValidationError("请填写评分项及其权重（大于 0）。", "criteria")
    if not panel:
        raise ValidationError("请选择评审组成员。", "panel")
    if not case_ids:
        raise ValidationError("请选择参评案例。", "cases")
    now = clock.now_iso()
    with store.transaction(db):
        round_id = db.execute(
            "INSERT INTO case_rounds (year, title, created_by, created_at) VALUES (?, ?, ?, ?)",
            (int(year), one_line(title) or f"{year} 年度经典案例评选", actor.id, now),
        ).lastrowid
        db.conn.executemany(
            "INSERT INTO case_criteria (round_id, name, weight) VALUES (?, ?, ?)",
            [(round_id, n, float(w)) for n, w in criteria],
        )
        db.conn.executemany(
            "INSERT INTO case_panel (round_id, user_id) VALUES (?, ?)",
            [(round_id, u) for u in panel],
        )
        db.conn.executemany(
            "INSERT INTO case_round_cases (round_id, case_id) VALUES (?, ?)",
            [(round_id, c) for c in case_ids],
        )
        audit.record(db, actor, "insert", "case_rounds", round_id, after={"cases": len(case_ids)})
    return int(round_id)


def _round(db: Database, round_id: int) -> dict:
    rows = store.query(db, "SELECT * FROM case_rounds WHERE id = ?", (round_id,))
    if not rows:
        raise NotFoundError(f"没有编号为 {round_id} 的评选。")
    return rows[0]


def on_panel(db: Database, actor: Actor, round_id: int) -> bool:
    return bool(
        store.scalar(
            db, "SELECT 1 FROM case_panel WHERE round_id = ? AND user_id = ?", (round_id, actor.id)
        )
    )


def score(
    db: Database, actor: Actor, round_id: int, case_id: int, criterion_id: int, value: int
) -> None:
    """A panel member's score (0–100) for one case and criterion, while the round is open."""
    require(actor, "cases.read")
    if not on_panel(db, actor, round_id):
        raise PermissionDeniedError("您不是本轮评选的评审组成员。")
    if _round(db, round_id)["status"] != "open":
        raise ValidationError("评选已结束，不能再评分。", "round")
    if not isinstance(value, int) or not 0 <= value <= 100:
        raise ValidationError("评分应为 0–100 之间的整数。", "score")
    with store.transaction(db):
        known = store.scalar(
            db,
            "SELECT 1 FROM case_round_cases rc JOIN case_criteria k ON k.round_id = rc.round_id"
            " WHERE rc.round_id = ? AND rc.case_id = ? AND k.id = ?",
            (round_id, case_id, criterion_id),
        )
        if not known:
            raise ValidationError("案例或评分项不属于本轮评选。", "case")
        db.execute(
            "INSERT INTO case_scores (round_id, case_id, criterion_id, user_id, score, scored_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (round_id, case_id, criterion_id, user_id)"
            " DO UPDATE SET score = excluded.score, scored_at = excluded.scored_at",
            (round_id, case_id, criterion_id, actor.id, value, clock.now_iso()),
        )


def my_scores(db: Database, actor: Actor, round_id: int) -> dict[tuple[int, int], int]:
    """The actor's own scores, (case, criterion) -> score: nobody reads another's before closing."""
    require(actor, "cases.read")
    return {
        (c, k): s
        for c, k, s in db.conn.execute(
            "SELECT case_id, criterion_id, score FROM case_scores WHERE round_id = ? AND user_id = ?",
            (round_id, actor.id),
        )
    }


def close_round(db: Database, actor: Actor, round_id: int) -> None:
    require(actor, "cases.manage")
    with store.transaction(db):
        changed = db.execute(
            "UPDATE case_rounds SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'open'",
            (clock.now_iso(), round_id),
        ).rowcount
        if not changed:
            raise ValidationError("评选已结束或不存在。", "round")
        audit.record(db, actor, "update", "case_rounds", round_id, note="结束评选")


def ranking(db: Database, actor: Actor, round_id: int) -> list[dict]:
    """Each case's weighted mean score across the panel, best first: only once the round is
    closed, and only for its organisers and its panel (titles masked as in round_detail)."""
    require(actor, "cases.read")
    if not (sees_everything(actor) or on_panel(db, actor, round_id)):
        raise PermissionDeniedError("只有评选组织者和评审组成员可以查看排名。")
    if _round(db, round_id)["status"] != "closed":
        raise PermissionDeniedError("评选结束前不公开评分和排名。")
    ranked = store.query(
        db,
        "SELECT c.id, c.title, round(sum(s.score * k.weight) / sum(k.weight), 1) AS score,"
        " count(DISTINCT s.user_id) AS judges FROM case_round_cases rc JOIN cases c ON c.id = rc.case_id"
        " LEFT JOIN case_scores s ON s.round_id = rc.round_id AND s.case_id = c.id"
        " LEFT JOIN case_criteria k ON k.id = s.criterion_id WHERE rc.round_id = ?"
        " GROUP BY c.id ORDER BY score DESC NULLS LAST, c.id",
        (round_id,),
    )
    titles = _titles(db, actor, [r["id"] for r in ranked])
    return [r | {"title": titles.get(r["id"], r["title"])} for r in ranked]


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


def aliases(db: Database, actor: Actor, case_id: int) -> list[str]:
    """The other names of the case's company that are masked with it (editors)."""
    require(actor, "cases.manage")
    company_id = _company_of(db, case_id)
    return sorted(_aliases_of(db, {company_id}).get(company_id, [])) if company_id else []


def save_aliases(db: Database, actor: Actor, case_id: int, names) -> list[str]:
    """Replace the aliases of the case's company (one per line, or a list): names a case's text
    uses for it that masking cannot guess (TS公司, 天盛电气). They are the company's, so every case
    about it masks them. Audited; returns the list saved."""
    require(actor, "cases.manage")
    if isinstance(names, str):
        names = names.splitlines()
    wanted = sorted({one_line(n) for n in names or []} - {""})
    for name in wanted:
        if not 2 <= len(name) <= ALIAS_MAX:
            raise ValidationError(
                f"企业的其他名称“{name}”应为 2–{ALIAS_MAX} 个字（一行一个）。", "aliases"
            )
    company_id = _company_of(db, case_id)
    if not company_id:
        raise ValidationError(f"案例 #{case_id} 没有关联企业，无需隐去其他名称。", "aliases")
    with store.transaction(db):
        before = sorted(_aliases_of(db, {company_id}).get(company_id, []))
        if before == wanted:
            return wanted
        db.execute("DELETE FROM company_aliases WHERE company_id = ?", (company_id,))
        db.conn.executemany(
            "INSERT INTO company_aliases (company_id, alias) VALUES (?, ?)",
            [(company_id, name) for name in wanted],
        )
        audit.record(
            db, actor, "update", "company_aliases", company_id, before=before, after=wanted
        )
    return wanted


def _company_of(db: Database, case_id: int) -> int | None:
    rows = store.query(db, "SELECT company_id FROM cases WHERE id = ?", (case_id,))
    if not rows:
        raise NotFoundError(f"没有编号为 {case_id} 的案例。")
    return rows[0]["company_id"]


# ---- reading ---------------------------------------------------------------------------------


def _places(db: Database) -> tuple[str, ...]:
    """Place prefixes a company name may start with, longest first: the province and city, and
    every district of the reference list with and without 区/市/县."""
    names = [r[0] for r in db.conn.execute("SELECT name FROM districts")]
    short = [n[:-1] for n in names if n[-1:] in ("区", "市", "县") and len(n) > 2]
    return tuple(sorted({*PLACE_PREFIXES, *names, *short}, key=len, reverse=True))


def _without_place(name: str, places: tuple[str, ...]) -> str:
    """江苏省镇江市京口区天盛智能电气有限公司 -> 天盛智能电气有限公司."""
    while True:
        place = next((p for p in places if name.startswith(p) and len(name) > len(p) + 1), "")
        if not place:
            return name
        name = name[len(place) :]


def _without_legal_form(name: str, bracket: bool = True) -> str:
    """天盛智能电气（江苏）有限公司 -> 天盛智能电气 (with bracket=False: 天盛智能电气（江苏）)."""
    form = next((f for f in LEGAL_FORMS if name.endswith(f) and len(name) > len(f) + 1), "")
    name = name[: len(name) - len(form)] if form else name
    return (bracket and re.sub(r"[（(][^（）()]{1,12}[）)]$", "", name)) or name


def _is_subsequence(short: str, name: str) -> bool:
    rest = iter(name)
    return all(ch in rest for ch in short)


def _declared(texts: list[str], name: str, variants: list[str]) -> set[str]:
    """Short names the texts declare for the company: 以下简称/简称/以下称 with or without quote
    marks, right after one of its names, or made of its name's characters in order."""
    found = set()
    for text in texts:
        for match in _DECLARED.finditer(text):
            short = (match["quoted"] or match["bare"]).strip()
            before = _BEFORE_DECLARED.sub("", text[: match.start()])
            if len(short) >= 2 and (
                _is_subsequence(short, name) or any(before.endswith(v) for v in variants)
            ):
                found.add(short)
    return found


def masking(name: str, texts: list[str], aliases: list[str], places: tuple[str, ...]):
    """What replaces each way the texts may call the company `name`, as one function of a text:
    the registered name as mask_name has it; the name without its place or legal form (or both)
    with its brand as 某某; declared short names and the editors' aliases as 某某."""
    core = _without_legal_form(_without_place(name, places))
    brand = f"某某{core[-2:] if len(core) > 2 else ''}"
    variants = {
        _without_legal_form(name),
        _without_legal_form(name, bracket=False),
        _without_place(name, places),
        core,
    }
    instead = {v: v.replace(core, brand) for v in variants if len(v) >= 2}
    instead |= {short: "某某" for short in _declared(texts, name, [name, *instead])}
    instead |= {alias: "某某" for alias in aliases if len(alias) >= 2}
    instead[name] = mask_name(name)
    pattern = re.compile("|".join(re.escape(t) for t in sorted(instead, key=len, reverse=True)))
    return lambda text: pattern.sub(lambda m: instead[m[0]], text or "")


def _hidden(db: Database, actor: Actor, company_ids: set[int]) -> set[int]:
    """The companies among these that the actor has no access to."""
    if not company_ids:
        return set()
    if not can(actor, "companies.read"):
        return set(company_ids)
    where, params = company_detail_scope(actor)
    marks = ", ".join("?" for _ in company_ids)
    allowed = {
        r[0]
        for r in db.conn.execute(
            f"SELECT c.id FROM companies c WHERE c.id IN ({marks}) AND {where}",
            [*company_ids, *params],
        )
    }
    return set(company_ids) - allowed


def _aliases_of(db: Database, company_ids: set[int]) -> dict[int, list[str]]:
    if not company_ids:
        return {}
    marks = ", ".join("?" for _ in company_ids)
    found: dict[int, list[str]] = {}
    for company_id, alias in db.conn.execute(
        f"SELECT company_id, alias FROM company_aliases WHERE company_id IN ({marks})",
        list(company_ids),
    ):
        found.setdefault(company_id, []).append(alias)
    return found


def _shown(db: Database, actor: Actor, rows: list[dict]) -> list[dict]:
    """The cases as this reader may see them: where a case asks for it and the reader has no
    access to its company, every name of the company masked in its text and title."""
    asking = {r["company_id"] for r in rows if r["mask_company"] and r.get("company_name")}
    hidden = _hidden(db, actor, asking)
    aliases = _aliases_of(db, hidden)
    places = _places(db) if hidden else ()
    shown = []
    for row in rows:
        row = dict(row)
        name = row.pop("company_name", None)
        if row["company_id"] in hidden and name:
            keys = (*FIELDS, "figures")
            mask = masking(name, [row[k] for k in keys], aliases.get(row["company_id"], []), places)
            row |= {k: mask(row[k]) for k in keys}
            name = mask(name)
        shown.append(row | {"company": name})
    return shown


def _titles(db: Database, actor: Actor, case_ids: list[int]) -> dict[int, str]:
    """Case id -> title as the actor may read it (masked as in the library)."""
    if not case_ids:
        return {}
    marks = ", ".join("?" for _ in case_ids)
    rows = store.query(db, f"{CASE_SQL} WHERE k.id IN ({marks})", list(case_ids))
    return {r["id"]: r["title"] for r in _shown(db, actor, rows)}


CASE_SQL = (
    "SELECT k.id, k.title, k.background, k.approach, k.results, k.figures, k.status,"
    " k.mask_company, k.company_id, k.problem_id, k.category_code, pc.name AS category,"
    " k.sector_code, s.name AS sector, c.name AS company_name, k.published_at"
    " FROM cases k LEFT JOIN companies c ON c.id = k.company_id"
    " LEFT JOIN problem_categories pc ON pc.code = k.category_code"
    " LEFT JOIN sectors s ON s.code = k.sector_code"
)


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
    return _shown(db, actor, rows[:1])[0]


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
    shown = _shown(db, actor, rows)
    # A masked case matches on what the reader sees: searching for the company's real name must
    # not reveal which case is about it.
    return [
        r
        for r in shown
        if all(w in r["title"] + r["background"] + r["approach"] + r["results"] for w in words)
    ]


def rounds_for(db: Database, actor: Actor) -> list[dict]:
    """The rounds the actor organises (supervisors: all) or sits on the panel of."""
    require(actor, "cases.read")
    mine = (
        "1 = 1"
        if sees_everything(actor)
        else "EXISTS (SELECT 1 FROM case_panel p WHERE p.round_id = r.id AND p.user_id = ?)"
    )
    return store.query(
        db,
        f"SELECT r.id, r.year, r.title, r.status FROM case_rounds r WHERE {mine} ORDER BY r.id DESC",
        [] if sees_everything(actor) else [actor.id],
    )


def round_detail(db: Database, actor: Actor, round_id: int) -> dict:
    """Criteria and cases of a round, for its organisers and its panel (titles masked as in the
    library for a member without access to a masked case's company)."""
    require(actor, "cases.read")
    if not (sees_everything(actor) or on_panel(db, actor, round_id)):
        raise PermissionDeniedError("您不是本轮评选的评审组成员。")
    detail = {
        "round": _round(db, round_id),
        "criteria": store.query(
            db,
            "SELECT id, name, weight FROM case_criteria WHERE round_id = ? ORDER BY id",
            (round_id,),
        ),
        "cases": store.query(
            db,
            "SELECT c.id, c.title, c.status FROM case_round_cases rc JOIN cases c ON c.id = rc.case_id"
            " WHERE rc.round_id = ? ORDER BY c.id",
            (round_id,),
        ),
    }
    titles = _titles(db, actor, [c["id"] for c in detail["cases"]])
    detail["cases"] = [c | {"title": titles.get(c["id"], c["title"])} for c in detail["cases"]]
    return detail


def nominated(db: Database, actor: Actor) -> list[dict]:
    """Cases not yet published, for the organisers to put in a round or publish."""
    require(actor, "cases.manage")
    return store.query(
        db, "SELECT id, title, status FROM cases WHERE status != 'published' ORDER BY id DESC"
    )


def panel_candidates(db: Database, actor: Actor) -> dict[int, str]:
    """Active users an organiser may put on a panel: id -> name (department)."""
    require(actor, "cases.manage")
    return {
        r[0]: r[1]
        for r in db.conn.execute(
            "SELECT u.id, u.display_name || coalesce('（' || d.name || '）', '') FROM users u"
            " LEFT JOIN departments d ON d.code = u.department_code"
            " WHERE u.active = 1 AND u.api_client = 0 ORDER BY u.id"
        )
    }
