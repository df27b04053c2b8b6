"""A form's request id makes its write happen once: the first result is kept with the id, in the
write's own transaction, and a repeat of the same id (a double tap that interrupted the run before
the page recorded its success) writes nothing and returns that first result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access.actor import Actor
from survey.errors import ValidationError

MAX_LENGTH = 80
KEPT = timedelta(days=1)  # a repeat comes within seconds; a day covers a tablet back from sleep


@dataclass(frozen=True)
class Repeat:
    """The first result of a request id seen again (`result` may be None: a write that returns
    nothing)."""

    result: Any


def first(db: Database, actor: Actor, request_id: str | None, kind: str) -> Repeat | None:
    """Inside the write's transaction, before anything is written: the first result of this
    request, or None when it is new (or has no id: the API, the CLI, tests). An id used by
    another user or for another kind of write is refused (it cannot come from a form)."""
    if request_id is None:
        return None
    if not isinstance(request_id, str) or not 8 <= len(request_id) <= MAX_LENGTH:
        raise ValidationError("缺少提交编号，请刷新页面后重试。", "request_id")
    rows = store.query(
        db,
        "SELECT actor_id, kind, result FROM form_requests WHERE request_id = ?",
        (request_id,),
    )
    if not rows:
        return None
    row = rows[0]
    if row["actor_id"] != actor.id or row["kind"] != kind:
        raise ValidationError("提交编号已被使用，请刷新页面后重试。", "request_id")
    return Repeat(json.loads(row["result"]))


def record(db: Database, actor: Actor, request_id: str | None, kind: str, result: Any) -> Any:
    """Keep `result` (JSON: ids and flags, never a secret) as the answer to this request, in the
    transaction that wrote it; returns it. Requests older than KEPT go (the table stays small)."""
    if request_id is not None:
        now = clock.now()
        db.execute("DELETE FROM form_requests WHERE created_at < ?", (clock.iso(now - KEPT),))
        db.execute(
            "INSERT INTO form_requests (request_id, actor_id, kind, result, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (request_id, actor.id, kind, json.dumps(result), clock.iso(now)),
        )
    return result
