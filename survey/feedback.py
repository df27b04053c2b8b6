"""Monitor feedback (监督员反馈): reading it within the actor's scope."""

from __future__ import annotations

from sqlite_utils import Database

from survey import db as store
from survey.auth import Actor
from survey.errors import NotFoundError
from survey.permissions import feedback_scope


def list_feedback(db: Database, actor: Actor, *, limit: int = 200) -> list[dict]:
    where, params = feedback_scope(actor)
    return store.query(
        db,
        "SELECT f.id, f.kind, f.submitted_at, f.department_code, f.body, f.anonymous"
        f" FROM feedback f WHERE {where} ORDER BY f.submitted_at DESC, f.id DESC LIMIT {int(limit)}",
        params,
    )


def get_feedback(db: Database, actor: Actor, feedback_id: int) -> dict:
    where, params = feedback_scope(actor)
    rows = store.query(
        db, f"SELECT f.* FROM feedback f WHERE f.id = ? AND {where}", [feedback_id, *params]
    )
    if not rows:
        raise NotFoundError(f"没有编号为 {feedback_id} 的反馈，或您无权查看。")
    return rows[0]
