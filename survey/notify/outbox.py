"""The delivery outbox: each message that leaves the app (e-mail, SMS, a robot's post) is a row written in the
transaction of the message itself, so nothing is sent for a change that rolled back and nothing
committed is lost. Workers claim due rows with a lease (under BEGIN IMMEDIATE on SQLite; with
FOR UPDATE SKIP LOCKED on PostgreSQL, so a claim waits behind no other writer and two workers on
two hosts pass over each other's rows), so two workers never send the same row at once; a worker killed mid-send leaves its lease to expire and the row is sent
again (at least once: at most one duplicate per kill). Failures retry with exponential backoff and
are parked after MAX_ATTEMPTS, for an admin to see and retry. A claim takes one lane (LANES):
webhooks, or everything else, so the worker sends them side by side with the same lease and
SKIP LOCKED guarantees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require

MAX_ATTEMPTS = 6
LEASE_SECONDS = 120
FIRST_RETRY_SECONDS = 30  # then 60, 120, 240... (doubling)
STUCK_AFTER = timedelta(hours=1)
# The worker's two lanes: other systems' webhooks apart from what people wait for (e-mail, SMS,
# robot posts), so a subscriber that never answers holds up only webhooks.
LANES = {"webhook": "d.channel = 'webhook'", "messages": "d.channel <> 'webhook'"}


@dataclass(frozen=True)
class Delivery:
    id: int
    channel: str
    target: str
    attempts: int
    title: str
    body: str
    link: str
    kind: str
    event_id: int | None = None  # a webhook delivery carries an event, not a message
    company_id: int | None = None  # a company's SMS or e-mail: its link is minted when sent


def enqueue(db: Database, rows: list[tuple[int, str, str]]) -> int:
    """(message id, channel, target) rows, due now; the caller holds the transaction."""
    now = clock.now_iso()
    db.conn.executemany(
        "INSERT INTO deliveries (message_id, channel, target, next_at, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [(m, c, t, now, now) for m, c, t in rows],
    )
    return len(rows)


def claim(db: Database, owner: str, limit: int = 50, lane: str | None = None) -> list[Delivery]:
    """Take up to `limit` due rows for `owner` until the lease runs out: of one lane of LANES
    (webhooks, or every other channel), or of all channels when `lane` is None."""
    now = clock.now()
    only = f" AND {LANES[lane]}" if lane else ""
    with store.transaction(db, row_locks=True):
        rows = store.query(
            db,
            "SELECT d.id, d.channel, d.target, d.attempts, coalesce(m.title, '') AS title,"
            " coalesce(m.body, '') AS body, coalesce(m.link, '') AS link,"
            " coalesce(m.kind, d.channel) AS kind, d.event_id, d.company_id"
            " FROM deliveries d LEFT JOIN messages m ON m.id = d.message_id"
            " WHERE d.status = 'pending' AND d.next_at <= ?"
            f" AND (d.lease_until IS NULL OR d.lease_until < ?){only}"
            " ORDER BY d.next_at, d.id LIMIT ?" + store.skip_locked(db, "d"),
            (clock.iso(now), clock.iso(now), int(limit)),
        )
        if rows:
            until = clock.iso(now + timedelta(seconds=LEASE_SECONDS))
            db.conn.executemany(
                "UPDATE deliveries SET lease_until = ?, lease_owner = ? WHERE id = ?",
                [(until, owner, r["id"]) for r in rows],
            )
    return [Delivery(**r) for r in rows]


def finish(db: Database, delivery: Delivery, owner: str, error: str | None) -> str:
    """Record one attempt: 'sent', 'pending' (retry later) or 'parked'. A row whose lease another
    worker has taken since is left alone; so is a failed one parked meanwhile (a client stopped
    while its event was being sent): it stays parked, not retried."""
    now = clock.now()
    with store.transaction(db):
        if error is None:
            db.execute(
                "UPDATE deliveries SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
                " lease_until = NULL, last_error = '' WHERE id = ? AND lease_owner = ?",
                (clock.iso(now), delivery.id, owner),
            )
            return "sent"
        attempts = delivery.attempts + 1
        status = "parked" if attempts >= MAX_ATTEMPTS else "pending"
        wait = timedelta(seconds=FIRST_RETRY_SECONDS * 2 ** (attempts - 1))
        changed = db.execute(
            "UPDATE deliveries SET status = ?, attempts = ?, next_at = ?, lease_until = NULL,"
            " last_error = ? WHERE id = ? AND lease_owner = ? AND status = 'pending'",
            (status, attempts, clock.iso(now + wait), error[:500], delivery.id, owner),
        ).rowcount
        if not changed:
            now_status = store.scalar(
                db, "SELECT status FROM deliveries WHERE id = ?", (delivery.id,)
            )
            return "parked" if now_status == "parked" else status
        return status


def park(db: Database, delivery: Delivery, owner: str, reason: str) -> str:
    """Park a delivery that must not be sent (its subscription or client was stopped) without
    counting an attempt: it is never retried unless an admin sends it again."""
    with store.transaction(db):
        db.execute(
            "UPDATE deliveries SET status = 'parked', lease_until = NULL, last_error = ?"
            " WHERE id = ? AND lease_owner = ?",
            (reason, delivery.id, owner),
        )
    return "parked"


def hold(db: Database, delivery: Delivery, owner: str, until, reason: str) -> str:
    """Put a delivery off without counting an attempt (quiet hours, a robot's full minute)."""
    with store.transaction(db):
        db.execute(
            "UPDATE deliveries SET next_at = ?, lease_until = NULL, last_error = ?"
            " WHERE id = ? AND lease_owner = ?",
            (clock.iso(until), reason, delivery.id, owner),
        )
    return "held"


def list_deliveries(db: Database, actor: Actor, status: str | None = None, limit: int = 200):
    """通知记录: what was sent or is waiting, newest first (admins)."""
    require(actor, "settings.edit")
    where, params = ("d.status = ?", [status]) if status else ("1 = 1", [])
    return store.query(
        db,
        "SELECT d.id, d.channel, coalesce(r.name, w.url, d.target) AS target,"
        " d.status, d.attempts, d.next_at, d.last_error, d.sent_at, d.created_at,"
        " coalesce(m.title, '事件 #' || d.event_id) AS title"
        " FROM deliveries d LEFT JOIN messages m ON m.id = d.message_id LEFT JOIN robots r"
        " ON d.channel IN ('wecom', 'dingtalk') AND r.id = CAST(d.target AS INTEGER)"
        " LEFT JOIN webhooks w ON d.channel = 'webhook' AND w.id = CAST(d.target AS INTEGER)"
        f" WHERE {where}"
        f" ORDER BY d.id DESC LIMIT {int(limit)}",
        params,
    )


def retry(db: Database, actor: Actor, delivery_id: int) -> None:
    """Put a parked delivery back in the queue, due now, with its attempts reset (audited)."""
    require(actor, "settings.edit")
    with store.transaction(db):
        changed = db.execute(
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_at = ?, lease_until = NULL"
            " WHERE id = ? AND status = 'parked'",
            (clock.now_iso(), delivery_id),
        ).rowcount
        if changed:
            audit.record(db, actor, "update", "deliveries", delivery_id, note="重新发送")


def stuck(db: Database) -> int:
    """Pending deliveries due for more than an hour (`survey check` reports them)."""
    since = clock.iso(clock.now() - STUCK_AFTER)
    return int(
        store.scalar(
            db, "SELECT count(*) FROM deliveries WHERE status = 'pending' AND next_at < ?", (since,)
        )
    )
