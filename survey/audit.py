"""The audit log: every write records who, when, what, and before/after on edits."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from survey import clock
from survey import db as store

if TYPE_CHECKING:
    from survey.auth import Actor


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


def list_entries(db: Database, *, table: str | None = None, limit: int = 200) -> list[dict]:
    """Newest first, optionally for one table."""
    where, params = ("WHERE table_name = ?", (table,)) if table else ("", ())
    return store.query(
        db,
        f"SELECT * FROM audit_log {where} ORDER BY id DESC LIMIT {int(limit)}",
        params,
    )
