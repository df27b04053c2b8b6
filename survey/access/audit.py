"""The audit log: every write records who, when, what, and before/after on edits."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access.actor import Actor
from survey.access.permissions import require


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def record(
    db: Database,
    actor: Actor | None,
    action: str,
    table: str,
    row_id: Any = "",
    *,
    before: Any = None,
    after: Any = None,
    note: str = "",
) -> None:
    """Write one audit row. Call it inside the transaction of the write it describes."""
    db.execute(
        "INSERT INTO audit_log (at, actor_id, actor_name, action, table_name, row_id, before,"
        " after, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            clock.now_iso(),
            actor.id if actor else None,
            actor.username if actor else "system",
            action,
            table,
            str(row_id),
            _dump(before),
            _dump(after),
            note,
        ),
    )


def list_entries(
    db: Database,
    actor: Actor,
    *,
    table: str | None = None,
    username: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 500,
) -> list[dict]:
    """Audit rows, newest first, filtered; admins only."""
    require(actor, "audit.read")
    where, params = [], []
    for column, value in (("table_name", table), ("actor_name", username), ("action", action)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if since:
        where.append("at >= ?")
        params.append(since)
    if until:
        where.append("at < date(?, '+1 day')")
        params.append(until)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    return store.query(
        db, f"SELECT * FROM audit_log {clause} ORDER BY id DESC LIMIT {int(limit)}", params
    )


def distinct_values(db: Database, actor: Actor, column: str) -> list[str]:
    """Values offered in the audit filters (table names, user names, actions)."""
    require(actor, "audit.read")
    if column not in ("table_name", "actor_name", "action"):
        raise ValueError(column)
    return [r[0] for r in db.conn.execute(f"SELECT DISTINCT {column} FROM audit_log ORDER BY 1")]
