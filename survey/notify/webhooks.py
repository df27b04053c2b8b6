"""Webhooks: an API client with the 'webhooks' scope subscribes an address to kinds of event
(the register's actions, or all). Each event on a problem within the client's row scope becomes
a delivery in the outbox, written in the event's own transaction, and is POSTed by the worker as
the change feed's JSON, signed: X-ZHY-Timestamp (Unix seconds) and
X-ZHY-Signature: sha256=HMAC-SHA256(secret, "<timestamp>.<body>"). A subscriber that is down
misses nothing: the outbox retries with backoff, then parks the delivery for an admin. A client
holds at most MAX_SUBSCRIPTIONS subscriptions and a subscription at most MAX_PENDING queued
deliveries; when a subscription or its client is stopped, what is queued for it is parked, never
sent. The worker sends webhooks in a lane of their own (survey/notify/worker.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Collection
from urllib.parse import urlsplit

from sqlite_utils import Database

from survey import clock, outbound
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.clients import CLIENT_STOPPED, client_id_of
from survey.access.permissions import client_problems, require
from survey.errors import LimitError, NotFoundError, ValidationError

# A subscriber answers at once or not at all: short waits (the worker's webhook lane also stops
# trying a subscription for the rest of a run after one failure).
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 5
# Limits, so one client cannot fill the outbox: subscriptions per client, and deliveries waiting
# per subscription. An event for a subscription already MAX_PENDING behind is parked at once
# rather than queued or dropped: the worker never claims it (a dead subscriber's queue stops
# growing), nothing is lost (an admin can send it again from 通知记录, and the subscriber can read
# every event from the change feed, GET /events), and the row says why.
MAX_SUBSCRIPTIONS = 10
MAX_PENDING = 1000
BACKLOGGED = "订阅方已有 {} 条待送达，超过上限：本事件未排队，管理员可在通知记录中重新发送"
WHERE = "订阅地址"  # how failures name the subscriber
CANCELLED = "订阅已取消：未发送"  # why a cancelled subscription's queued event was not sent
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
    try:  # the outbound rule now (again at each delivery); a client learns no resolved address
        outbound.Guard.of(db, actor).check_url(url, WHERE)
    except outbound.RefusedError:
        raise ValidationError(
            "url 不允许：只能推送到公网地址（回环、内网、链路本地等地址不可用）。", "url"
        ) from None
    except outbound.OutboundError:
        raise ValidationError("url 的主机名无法解析。", "url") from None
    unknown = [a for a in actions if a != "*" and a not in known]
    if not actions or unknown:
        names = "、".join(known)
        raise ValidationError(f"actions 应为 * 或以下事件：{names}。", "actions")
    secret = secrets.token_urlsafe(32)
    with store.transaction(db):  # the writers' lock: two requests cannot both take the last place
        client_id = client_id_of(db, actor)
        held = store.scalar(
            db, "SELECT count(*) FROM webhooks WHERE client_id = ? AND active = 1", (client_id,)
        )
        if held >= MAX_SUBSCRIPTIONS:
            raise LimitError(
                f"本客户端已有 {MAX_SUBSCRIPTIONS} 个事件推送订阅，已达上限；请先取消不再使用的订阅"
                "（DELETE /webhooks/{id}），再新建。"
            )
        webhook_id = db.execute(
            "INSERT INTO webhooks (client_id, url, secret, actions, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (client_id, url, secret, ",".join(sorted(set(actions))), clock.now_iso()),
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
    """End a subscription; the deliveries queued for it are parked, not sent."""
    require(actor, "webhooks.manage")
    with store.transaction(db):
        changed = db.execute(
            "UPDATE webhooks SET active = 0 WHERE id = ? AND client_id = ? AND active = 1",
            (webhook_id, client_id_of(db, actor)),
        ).rowcount
        if not changed:
            raise NotFoundError(f"没有编号为 {webhook_id} 的订阅。")
        parked = db.execute(
            "UPDATE deliveries SET status = 'parked', lease_until = NULL, last_error = ?"
            " WHERE channel = 'webhook' AND status = 'pending' AND target = ?",
            (CANCELLED, str(webhook_id)),
        ).rowcount
        note = f"取消订阅；搁置 {parked} 条待推送事件"
        audit.record(db, actor, "update", "webhooks", webhook_id, note=note)


def on_event(db: Database, event) -> int:
    """Queue the event for every subscription that wants it and may see its problem (in the
    event's transaction); returns how many deliveries were queued."""
    subscribed = db.conn.execute(
        "SELECT w.id, w.actions, c.row_kind, c.row_value FROM webhooks w"
        " JOIN api_clients c ON c.id = w.client_id WHERE w.active = 1 AND c.active = 1"
    ).fetchall()
    if not subscribed:
        return 0
    wanted = []
    for webhook_id, actions, row_kind, row_value in subscribed:
        if actions != "*" and event.action not in actions.split(","):
            continue
        scope, params = client_problems(  # the client's row scope, as its reads have it
            row_value if row_kind == "department" else None,
            row_value if row_kind == "district" else None,
        )
        if not store.scalar(
            db, f"SELECT 1 FROM problems p WHERE p.id = ? AND {scope}", [event.problem_id, *params]
        ):
            continue
        wanted.append(webhook_id)
    now = clock.now_iso()
    rows = []
    for webhook_id in wanted:
        backlog = store.scalar(
            db,
            "SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE channel = 'webhook'"
            " AND target = ? AND status = 'pending' LIMIT ?) AS queued",
            (str(webhook_id), MAX_PENDING),
        )
        if backlog < MAX_PENDING:
            rows.append((event.id, str(webhook_id), "pending", "", now, now))
        else:
            rows.append(
                (event.id, str(webhook_id), "parked", BACKLOGGED.format(MAX_PENDING), now, now)
            )
    db.conn.executemany(
        "INSERT INTO deliveries (event_id, channel, target, status, last_error, next_at,"
        " created_at) VALUES (?, 'webhook', ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class StoppedError(Exception):
    """The subscription or its client was stopped: the delivery is parked, never sent."""


def deliver(
    db: Database,
    delivery_id: int,
    webhook_id: int,
    event_id: int,
    guard: outbound.Guard | None = None,
) -> None:
    """POST one event to its subscriber through the outbound guard; raises RuntimeError (in
    Chinese) unless it answers 2xx, StoppedError when the subscription or its client is no
    longer active."""
    hook = db.conn.execute(
        "SELECT w.url, w.secret, w.active, c.active FROM webhooks w"
        " JOIN api_clients c ON c.id = w.client_id WHERE w.id = ?",
        (webhook_id,),
    ).fetchone()
    if hook is None or not hook[3]:
        raise StoppedError(CLIENT_STOPPED)
    if not hook[2]:
        raise StoppedError(CANCELLED)
    event = store.query(db, EVENT_SQL, (event_id,))[0]
    body = json.dumps(event, ensure_ascii=False, sort_keys=True).encode()
    stamp = str(int(time.time()))  # Unix time: the subscriber checks it against its own clock
    answer = (guard or outbound.Guard.of(db)).request(
        "POST",
        hook[0],
        where=WHERE,
        body=body,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-ZHY-Event": event["action"],
            "X-ZHY-Delivery": str(delivery_id),
            "X-ZHY-Timestamp": stamp,
            "X-ZHY-Signature": signature(hook[1], stamp, body),
        },
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    )
    if not answer.ok:
        raise RuntimeError(f"{WHERE}答复 HTTP {answer.status}")
