"""In-app messages (消息): writing one per recipient, and each user reading, counting and marking
their own. This channel needs no set-up and is the record of what was sent."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.access.settings import get_setting
from survey.notify import outbox

BASE_URL_SETTING = "public_base_url"  # e.g. https://zhy.example.gov.cn, for links sent outside


@dataclass(frozen=True)
class Message:
    kind: str
    title: str
    body: str
    problem_id: int | None = None
    event_id: int | None = None
    urgent: bool = False
    dedupe_key: str | None = None  # one message per key and recipient, however often it is sent


def problem_link(db: Database, problem_id: int) -> str:
    """The problem's address in the app, absolute when a base URL is configured."""
    base = (get_setting(db, BASE_URL_SETTING) or "").rstrip("/")
    return f"{base}/problems?id={problem_id}"


def send(db: Database, recipients: set[int], message: Message) -> int:
    """Write the message to each recipient (in the caller's transaction), and queue an e-mail to
    those with an address when e-mail is set up; returns how many were new (a repeated dedupe key
    is skipped)."""
    if not recipients:
        return 0
    link = problem_link(db, message.problem_id) if message.problem_id else ""
    now = clock.now_iso()
    key = message.dedupe_key
    fixed = (message.kind, message.problem_id, message.event_id, message.title, message.body)
    written: list[tuple[int, int]] = []
    for user in sorted(recipients):
        cursor = db.execute(
            "INSERT INTO messages (user_id, created_at, kind, problem_id, event_id, title, body,"
            " link, urgent, dedupe_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(dedupe_key) DO NOTHING",
            (user, now, *fixed, link, int(message.urgent), f"{key}:{user}" if key else None),
        )
        if cursor.rowcount:
            written.append((cursor.lastrowid, user))
    if written and mail_enabled(db):
        marks = ", ".join("?" for _ in written)
        addresses = dict(
            db.conn.execute(
                f"SELECT id, email FROM users WHERE id IN ({marks}) AND email != ''",
                [user for _, user in written],
            ).fetchall()
        )
        outbox.enqueue(
            db, [(mid, "email", addresses[user]) for mid, user in written if user in addresses]
        )
    return len(written)


def mail_enabled(db: Database) -> bool:
    return bool(get_setting(db, "smtp_host") and get_setting(db, "smtp_sender"))


def list_messages(db: Database, actor: Actor, *, unread_only: bool = False, limit: int = 200):
    """The actor's own messages, unread first, newest first."""
    require(actor, "messages.read")
    where = "user_id = ?" + (" AND read_at IS NULL" if unread_only else "")
    return store.query(
        db,
        "SELECT id, created_at, kind, problem_id, title, body, link, urgent, read_at FROM messages"
        f" WHERE {where} ORDER BY read_at IS NOT NULL, id DESC LIMIT {int(limit)}",
        (actor.id,),
    )


def unread_count(db: Database, actor: Actor) -> int:
    require(actor, "messages.read")
    return int(
        store.scalar(
            db, "SELECT count(*) FROM messages WHERE user_id = ? AND read_at IS NULL", (actor.id,)
        )
    )


def mark_read(db: Database, actor: Actor, message_ids: list[int] | None = None) -> int:
    """Mark the actor's own messages read (all unread ones when no ids are given). Reading one's
    own messages is not audited, like a draft: nobody else's data changes."""
    require(actor, "messages.read")
    with store.transaction(db):
        sql = "UPDATE messages SET read_at = ? WHERE user_id = ? AND read_at IS NULL"
        params: list = [clock.now_iso(), actor.id]
        if message_ids is not None:
            if not message_ids:
                return 0
            sql += f" AND id IN ({', '.join('?' for _ in message_ids)})"
            params += [int(i) for i in message_ids]
        return db.execute(sql, params).rowcount
