"""Webhooks: an API client with the 'webhooks' scope subscribes an address to kinds of event
(the register's actions, or all). Each event on a problem within the client's row scope becomes
a delivery in the outbox, written in the event's own transaction, and is POSTed by the worker as
the change feed's JSON, signed: X-ZHY-Timestamp (Unix seconds) and
X-ZHY-Signature: sha256=HMAC-SHA256(secret, "<timestamp>.<body>"). A subscriber that is down
misses nothing: the outbox retries with backoff, then parks the delivery for an admin."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.request
from collections.abc import Collection
from urllib.parse import urlsplit

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.clients import client_id_of
from survey.access.permissions import require
from survey.errors import NotFoundError, ValidationError
from survey.notify.failures import explain

TIMEOUT_SECONDS = 10
EVENT_SQL = (
    "SELECT e.id, e.problem_id, e.at, e.action, e.from_status, e.to_status, e.note"
    " FROM problem_events e WHERE e.id = ?"
)


def subscribe(
    db: Database, actor: Actor, url: str, actions: list[str], known: Collection[str]
) -> tuple[int, str]:
    """A new subscription of the calling client to `actions` ('*' for all) out of the register's
    `known` actions (passed in: the register imports this module); returns its id and its
    signing secret, which is shown once."""
    require(actor, "webhooks.manage")
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in url or len(url) > 500:
        raise ValidationError("url 应为 http:// 或 https:// 开头的地址。", "url")
    unknown = [a for a in actions if a != "*" and a not in known]
    if not actions or unknown:
        names = "、".join(known)
        raise ValidationError(f"actions 应为 * 或以下事件：{names}。", "actions")
    secret = secrets.token_urlsafe(32)
    with store.transaction(db):
        webhook_id = db.execute(
            "INSERT INTO webhooks (client_id, url, secret, actions, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (client_id_of(db, actor), url, secret, ",".join(sorted(set(actions))), clock.now_iso()),
        ).lastrowid
        after = {"url": url, "actions": sorted(set(actions))}
        audit.record(db, actor, "insert", "webhooks", webhook_id, after=after)
    return int(webhook_id), secret


def list_webhooks(db: Database, actor: Actor) -> list[dict]:
    require(actor, "webhooks.manage")
    rows = store.query(
        db,
        "SELECT id, url, actions, created_at FROM webhooks WHERE client_id = ? AND active = 1"
        " ORDER BY id",
        (client_id_of(db, actor),),
    )
    return [r | {"actions": r["actions"].split(",")} for r in rows]


def all_subscriptions(db: Database, actor: Actor) -> list[dict]:
    """Every client's subscriptions, for the admins' 接口客户端 page (no secrets)."""
    require(actor, "api_clients.manage")
    return store.query(
        db,
        "SELECT w.id, c.name AS client, w.url, w.actions, w.active, w.created_at,"
        " (SELECT count(*) FROM deliveries d WHERE d.channel = 'webhook'"
        " AND d.target = CAST(w.id AS TEXT) AND d.status = 'parked') AS parked"
        " FROM webhooks w JOIN api_clients c ON c.id = w.client_id ORDER BY w.id",
    )


def unsubscribe(db: Database, actor: Actor, webhook_id: int) -> None:
    require(actor, "webhooks.manage")
    with store.transaction(db):
        changed = db.execute(
            "UPDATE webhooks SET active = 0 WHERE id = ? AND client_id = ? AND active = 1",
            (webhook_id, client_id_of(db, actor)),
        ).rowcount
        if not changed:
            raise NotFoundError(f"没有编号为 {webhook_id} 的订阅。")
        audit.record(db, actor, "update", "webhooks", webhook_id, note="取消订阅")


def on_event(db: Database, event) -> int:
    """Queue the event for every subscription that wants it and may see its problem (in the
    event's transaction); returns how many deliveries were queued."""
    subscribed = db.conn.execute(
        "SELECT w.id, w.actions, c.row_kind, c.row_value FROM webhooks w"
        " JOIN api_clients c ON c.id = w.client_id WHERE w.active = 1 AND c.active = 1"
    ).fetchall()
    if not subscribed:
        return 0
    problem = event.problem
    wanted = []
    for webhook_id, actions, row_kind, row_value in subscribed:
        if actions != "*" and event.action not in actions.split(","):
            continue
        if row_kind == "district" and problem.get("district_code") != row_value:
            continue
        if row_kind == "department" and problem.get("lead_department_code") != row_value:
            helps = store.scalar(
                db,
                "SELECT 1 FROM problem_co_departments WHERE problem_id = ? AND department_code = ?",
                (event.problem_id, row_value),
            )
            if not helps:
                continue
        wanted.append(webhook_id)
    now = clock.now_iso()
    db.conn.executemany(
        "INSERT INTO deliveries (event_id, channel, target, next_at, created_at)"
        " VALUES (?, 'webhook', ?, ?, ?)",
        [(event.id, str(w), now, now) for w in wanted],
    )
    return len(wanted)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def deliver(db: Database, delivery_id: int, webhook_id: int, event_id: int) -> None:
    """POST one event to its subscriber; raises RuntimeError (in Chinese) unless it answers 2xx."""
    hook = db.conn.execute(
        "SELECT url, secret, active FROM webhooks WHERE id = ?", (webhook_id,)
    ).fetchone()
    if hook is None or not hook[2]:
        raise RuntimeError("订阅已取消")
    event = store.query(db, EVENT_SQL, (event_id,))[0]
    body = json.dumps(event, ensure_ascii=False, sort_keys=True).encode()
    stamp = str(int(time.time()))  # Unix time: the subscriber checks it against its own clock
    request = urllib.request.Request(
        hook[0],
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-ZHY-Event": event["action"],
            "X-ZHY-Delivery": str(delivery_id),
            "X-ZHY-Timestamp": stamp,
            "X-ZHY-Signature": signature(hook[1], stamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):  # noqa: S310
            pass
    except (OSError, ValueError) as exc:  # HTTPError (non-2xx) and URLError are OSErrors
        raise RuntimeError(explain(exc, "订阅地址")) from None
