"""A year's selection round (评选): its panel, weighted criteria and each member's scores, private to
their author until the round closes; then the weighted ranking, for the organisers and the panel.
"""

from __future__ import annotations

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require, sees_everything
from survey.cases.library import readable_titles
from survey.errors import NotFoundError, PermissionDeniedError, ValidationError
from survey.names import one_line


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
    title = one_line(title) or f"{year} 年度经典案例评选"
    with store.transaction(db):
        if store.scalar(
            db,
            "SELECT 1 FROM case_rounds WHERE year = ? AND title = ? AND status = 'open'",
            (int(year), title),
        ):  # a second tap on 发起 (or a second organiser) does not start the same round twice
            raise ValidationError(f"“{title}”已在进行中，不能重复发起。", "title")
        round_id = db.execute(
            "INSERT INTO case_rounds (year, title, created_by, created_at) VALUES (?, ?, ?, ?)",
            (int(year), title, actor.id, now),
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
        "SELECT c.id, c.title, c.status, round(sum(s.score * k.weight) / sum(k.weight), 1)"
        " AS score,"
        " count(DISTINCT s.user_id) AS judges FROM case_round_cases rc JOIN cases c ON c.id = rc.case_id"
        " LEFT JOIN case_scores s ON s.round_id = rc.round_id AND s.case_id = c.id"
        " LEFT JOIN case_criteria k ON k.id = s.criterion_id WHERE rc.round_id = ?"
        " GROUP BY c.id ORDER BY score DESC NULLS LAST, c.id",
        (round_id,),
    )
    titles = readable_titles(db, actor, [r["id"] for r in ranked])
    return [r | {"title": titles.get(r["id"], r["title"])} for r in ranked]


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
    titles = readable_titles(db, actor, [c["id"] for c in detail["cases"]])
    detail["cases"] = [c | {"title": titles.get(c["id"], c["title"])} for c in detail["cases"]]
    return detail


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
