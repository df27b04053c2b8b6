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
from survey.notify.robots import for_audience
from survey.notify.sms import MOBILE

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
    audience: tuple[str, ...] = ()  # the groups whose robots post it: department codes, supervisors


def problem_link(db: Database, problem_id: int, base: str | None = None) -> str:
    """The problem's address in the app, absolute when a base URL is configured."""
    if base is None:
        base = get_setting(db, BASE_URL_SETTING) or ""
    return f"{base.rstrip('/')}/problems?id={problem_id}"


def channels_on(db: Database) -> dict[str, str]:
    """The settings `send` needs, in one read: the base URL and which channels are set up."""
    keys = (BASE_URL_SETTING, "smtp_host", "smtp_sender", "sms_enabled")
    found = dict(
        db.conn.execute(
            f"SELECT key, value FROM settings WHERE key IN ({', '.join('?' for _ in keys)})", keys
        ).fetchall()
    )
    return {key: found.get(key) or "" for key in keys}


def send(db: Database, recipients: set[int], message: Message) -> int:
    """Write the message to each recipient (in the caller's transaction) and queue what leaves
    the app: an e-mail to those with an address when e-mail is set up, an SMS to those with a
    mobile when SMS is on (neither for a non-urgent message to a user who wants urgent ones only),
    and one post per robot of the message's audience. Returns how many were new (a repeated
    dedupe key is skipped, and then nothing is queued for it)."""
    if not recipients:
        return 0
    on = channels_on(db)
    link = problem_link(db, message.problem_id, on[BASE_URL_SETTING]) if message.problem_id else ""
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
    if not written:
        return 0
    queued: list[tuple[int, str, str]] = []
    mail_on = bool(on["smtp_host"] and on["smtp_sender"])
    if mail_on or on["sms_enabled"] == "1":
        marks = ", ".join("?" for _ in written)
        contacts = {
            r[0]: r[1:]
            for r in db.conn.execute(
                f"SELECT id, email, phone, urgent_only FROM users WHERE id IN ({marks})",
                [user for _, user in written],
            )
        }
        for message_id, user in written:
            email, phone, urgent_only = contacts[user]
            if urgent_only and not message.urgent:
                continue
            if mail_on and email:
                queued.append((message_id, "email", email))
            if on["sms_enabled"] == "1" and MOBILE.fullmatch(phone or ""):
                queued.append((message_id, "sms", phone))
    first = written[0][0]  # a robot posts once per group, carried by the first recipient's row
    queued += [
        (first, platform, str(robot)) for robot, platform in for_audience(db, message.audience)
    ]
    if queued:
        outbox.enqueue(db, queued)
    return len(written)


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
