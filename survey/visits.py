"""Visits (走访): reading them within the actor's scope. Logging a visit builds on this module."""

from __future__ import annotations

from sqlite_utils import Database

from survey import db as store
from survey.auth import Actor
from survey.errors import NotFoundError
from survey.permissions import visit_scope


def list_visits(db: Database, actor: Actor, *, limit: int = 200) -> list[dict]:
    where, params = visit_scope(actor)
    return store.query(
        db,
        "SELECT v.id, v.visit_date, v.mode, c.name AS company, u.display_name AS officer,"
        " (SELECT count(*) FROM problems p WHERE p.visit_id = v.id) AS problems"
        " FROM visits v JOIN companies c ON c.id = v.company_id JOIN users u ON u.id = v.officer_id"
        f" WHERE {where} ORDER BY v.visit_date DESC, v.id DESC LIMIT {int(limit)}",
        params,
    )


def get_visit(db: Database, actor: Actor, visit_id: int) -> dict:
    where, params = visit_scope(actor)
    rows = store.query(
        db, f"SELECT v.* FROM visits v WHERE v.id = ? AND {where}", [visit_id, *params]
    )
    if not rows:
        raise NotFoundError(f"没有编号为 {visit_id} 的走访记录，或您无权查看。")
    return rows[0]
