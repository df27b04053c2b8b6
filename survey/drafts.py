"""Drafts: every change to an unfinished visit or feedback is kept in the database, keyed by the
user and the submission id the form was opened with, so a reload, a sleeping tablet or a server
restart loses nothing. Drafts are only ever marked submitted or discarded, never deleted silently.
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.errors import NotFoundError, ValidationError

KINDS = ("visit", "feedback")
MAX_PAYLOAD = 1_000_000


def save_draft(db: Database, actor: Actor, kind: str, submission_id: str, payload: dict) -> str:
    """Create or update the draft; returns the time it was saved ("HH:MM:SS")."""
    if kind not in KINDS:
        raise ValidationError(f"未知的草稿类型 {kind}。", "kind")
    text = json.dumps(payload, ensure_ascii=False, default=str)
    if len(text) > MAX_PAYLOAD:
        raise ValidationError("草稿内容过大（超过 1 MB），请精简文字。", "payload")
    now = clock.now_iso()
    with store.transaction(db):
        owner = db.conn.execute(
            "SELECT user_id, submitted_at, discarded_at FROM drafts WHERE submission_id = ?",
            (submission_id,),
        ).fetchone()
        if owner and owner[0] != actor.id:
            raise ValidationError("该草稿属于其他用户。", "submission_id")
        if owner and (owner[1] or owner[2]):
            return now[11:]  # already submitted or discarded: nothing more to keep
        if owner:
            db.execute(
                "UPDATE drafts SET payload = ?, updated_at = ? WHERE submission_id = ?",
                (text, now, submission_id),
            )
        else:
            db.execute(
                "INSERT INTO drafts (submission_id, user_id, kind, payload, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (submission_id, actor.id, kind, text, now, now),
            )
            audit.record(db, actor, "insert", "drafts", submission_id, note=kind)
    return now[11:]


def open_drafts(db: Database, actor: Actor, kind: str) -> list[dict]:
    """The user's unfinished drafts, newest first."""
    rows = store.query(
        db,
        "SELECT submission_id, payload, created_at, updated_at FROM drafts WHERE user_id = ? AND kind = ?"
        " AND submitted_at IS NULL AND discarded_at IS NULL ORDER BY updated_at DESC",
        (actor.id, kind),
    )
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return rows


def get_draft(db: Database, actor: Actor, submission_id: str) -> dict:
    rows = store.query(
        db,
        "SELECT * FROM drafts WHERE submission_id = ? AND user_id = ?",
        (submission_id, actor.id),
    )
    if not rows:
        raise NotFoundError("没有找到这份草稿。")
    row = rows[0]
    row["payload"] = json.loads(row["payload"])
    return row


def discard_draft(db: Database, actor: Actor, submission_id: str) -> None:
    with store.transaction(db):
        get_draft(db, actor, submission_id)
        db.execute(
            "UPDATE drafts SET discarded_at = ? WHERE submission_id = ? AND submitted_at IS NULL",
            (clock.now_iso(), submission_id),
        )
        audit.record(db, actor, "update", "drafts", submission_id, note="放弃草稿")


def mark_submitted(db: Database, submission_id: str) -> None:
    """Inside the submitting transaction."""
    db.execute(
        "UPDATE drafts SET submitted_at = ? WHERE submission_id = ? AND submitted_at IS NULL",
        (clock.now_iso(), submission_id),
    )
