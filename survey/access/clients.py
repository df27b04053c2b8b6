"""API clients: other government systems (the 12345 hotline platform, the service portal, the
province's platform) that call /api/v1. An admin creates one with a name, scopes and a row scope;
its token is shown once and stored as a SHA-256 hash (a random 256-bit token needs no slow hash,
unlike a password). Each client acts through a user row of its own that cannot sign in, so the
problems it raises, their events and the audit log name it like any user. Tokens can be rotated
(the old one stops at once) and revoked."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from survey import clock, repeats
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import SCOPES, require
from survey.errors import ValidationError
from survey.names import one_line

PREFIX = "zhy_"
ROW_KINDS = {"all": "全部", "department": "一个部门", "district": "一个县（市、区）"}
DEFAULT_PER_MINUTE = 120
CLIENT_STOPPED = "客户端已停用：未发送"  # why a stopped client's queued event was not sent


@dataclass(frozen=True)
class Client:
    id: int
    name: str
    user_id: int
    scopes: frozenset[str]
    row_kind: str
    row_value: str
    per_minute: int

    def actor(self) -> Actor:
        """The client as an Actor: role 'client' and a 'scope:<name>' role per scope."""
        return Actor(
            self.user_id,
            f"api:{self.name}",
            self.name,
            frozenset({"client", *(f"scope:{s}" for s in self.scopes)}),
            self.row_value if self.row_kind == "department" else None,
            district_code=self.row_value if self.row_kind == "district" else None,
        )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def _check(db: Database, name: str, scopes, row_kind: str, row_value: str, per_minute) -> None:
    if not name:
        raise ValidationError("请填写客户端名称，例如 12345热线平台。", "name")
    unknown = [s for s in scopes if s not in SCOPES]
    if not scopes or unknown:
        raise ValidationError("请至少选择一项权限。", "scopes")
    if row_kind not in ROW_KINDS:
        raise ValidationError("请选择数据范围。", "row_kind")
    table = {"department": "departments", "district": "districts"}.get(row_kind)
    if table and not store.scalar(db, f"SELECT 1 FROM {table} WHERE code = ?", (row_value,)):
        raise ValidationError(f"请选择数据范围中的{ROW_KINDS[row_kind][2:]}。", "row_value")
    if not isinstance(per_minute, int) or not 1 <= per_minute <= 6000:
        raise ValidationError("每分钟请求上限应为 1–6000 之间的整数。", "per_minute")


def create_client(
    db: Database,
    actor: Actor,
    *,
    name: str,
    scopes: list[str],
    row_kind: str = "all",
    row_value: str = "",
    per_minute: int = DEFAULT_PER_MINUTE,
    request_id: str | None = None,
) -> tuple[int, str]:
    """A new client; returns its id and its token, which is never shown again. A repeat of
    `request_id` (survey.repeats: the first run was cut off before its token was shown) makes no
    second client: that client gets a new token (audited as a repeat), as only its hash is kept."""
    require(actor, "api_clients.manage")
    name = one_line(name)
    row_value = row_value if row_kind != "all" else ""
    _check(db, name, scopes, row_kind, row_value, per_minute)
    token, now = _new_token(), clock.now_iso()
    with store.transaction(db):
        if repeat := repeats.first(db, actor, request_id, "create_client"):
            return repeat.result, _reissue(db, actor, repeat.result, "重复提交：重新生成令牌")
        if store.scalar(db, "SELECT 1 FROM api_clients WHERE name = ?", (name,)):
            raise ValidationError(f"已有名为“{name}”的客户端。", "name")
        user_id = db.execute(
            "INSERT INTO users (username, display_name, password_hash, active,"
            " must_change_password, api_client, created_at, updated_at)"
            " VALUES (?, ?, '!', 0, 0, 1, ?, ?)",
            (f"api:{name}", name, now, now),
        ).lastrowid
        client_id = db.execute(
            "INSERT INTO api_clients (name, user_id, token_hash, token_hint, scopes, row_kind,"
            " row_value, per_minute, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                user_id,
                _hash(token),
                token[:10],
                ",".join(sorted(scopes)),
                row_kind,
                row_value,
                per_minute,
                now,
            ),
        ).lastrowid
        after = {"name": name, "scopes": sorted(scopes), "rows": [row_kind, row_value]}
        audit.record(db, actor, "insert", "api_clients", client_id, after=after)
        repeats.record(db, actor, request_id, "create_client", client_id)
    return client_id, token


def rotate(db: Database, actor: Actor, client_id: int, *, request_id: str | None = None) -> str:
    """A new token for the client; the old one stops working at once. Returns the new one. A
    repeat of `request_id` (the run cut off before the token was shown) replaces that unseen
    token once more, audited as a repeat: the token shown is always the one that works."""
    require(actor, "api_clients.manage")
    with store.transaction(db):
        if repeat := repeats.first(db, actor, request_id, "rotate_client"):
            return _reissue(db, actor, repeat.result, "重复提交：更换令牌")
        token = _reissue(db, actor, client_id, "更换令牌")
        repeats.record(db, actor, request_id, "rotate_client", client_id)
    return token


def _reissue(db: Database, actor: Actor, client_id: int, note: str) -> str:
    """A new token for an active client, in the caller's transaction (never kept in clear)."""
    token = _new_token()
    changed = db.execute(
        "UPDATE api_clients SET token_hash = ?, token_hint = ?, rotated_at = ?"
        " WHERE id = ? AND active = 1",
        (_hash(token), token[:10], clock.now_iso(), client_id),
    ).rowcount
    if not changed:
        raise ValidationError("没有这个客户端，或它已停用。", "client")
    audit.record(db, actor, "update", "api_clients", client_id, note=note)
    return token


def revoke(db: Database, actor: Actor, client_id: int) -> None:
    """Stop a client: its token stops at once, its subscriptions end, and the event deliveries
    queued for them are parked (never sent, never retried; an admin sees them in 通知记录)."""
    require(actor, "api_clients.manage")
    with store.transaction(db):
        changed = db.execute(
            "UPDATE api_clients SET active = 0, revoked_at = ? WHERE id = ? AND active = 1",
            (clock.now_iso(), client_id),
        ).rowcount
        if not changed:
            raise ValidationError("没有这个客户端，或它已停用。", "client")
        parked = db.execute(
            "UPDATE deliveries SET status = 'parked', lease_until = NULL, last_error = ?"
            " WHERE channel = 'webhook' AND status = 'pending' AND target IN"
            " (SELECT CAST(id AS TEXT) FROM webhooks WHERE client_id = ?)",
            (CLIENT_STOPPED, client_id),
        ).rowcount
        ended = db.execute(
            "UPDATE webhooks SET active = 0 WHERE client_id = ? AND active = 1", (client_id,)
        ).rowcount
        note = f"停用；取消 {ended} 个事件推送订阅，搁置 {parked} 条待推送事件"
        audit.record(db, actor, "update", "api_clients", client_id, note=note)


def list_clients(db: Database, actor: Actor) -> list[dict]:
    require(actor, "api_clients.manage")
    return store.query(
        db,
        "SELECT id, name, token_hint, scopes, row_kind, row_value, per_minute, active, created_at,"
        " rotated_at, revoked_at, last_used_at FROM api_clients ORDER BY id",
    )


def client_id_of(db: Database, actor: Actor) -> int:
    """The API client acting as `actor`, or ValidationError when the actor is a person."""
    found = store.scalar(db, "SELECT id FROM api_clients WHERE user_id = ?", (actor.id,))
    if found is None:
        raise ValidationError("只有接口客户端可以这样做（报送问题、订阅事件推送）。", "client")
    return int(found)


def authenticate(db: Database, token: str | None) -> Client | None:
    """The active client holding this token, or None."""
    if not token or not token.startswith(PREFIX):
        return None
    row = db.conn.execute(
        "SELECT id, name, user_id, scopes, row_kind, row_value, per_minute FROM api_clients"
        " WHERE token_hash = ? AND active = 1",
        (_hash(token),),
    ).fetchone()
    if row is None:
        return None
    return Client(row[0], row[1], row[2], frozenset(row[3].split(",")), *row[4:])


def count_call(db: Database, client: Client, moment: datetime | None = None) -> int:
    """Count one call in the client's current minute; returns 0, or the seconds to wait when
    the client is over its limit (the caller answers 429 with Retry-After)."""
    moment = moment or clock.now()
    minute = moment.strftime("%Y-%m-%d %H:%M")
    with store.transaction(db):
        calls = db.execute(
            "INSERT INTO api_calls (client_id, minute, calls) VALUES (?, ?, 1)"
            " ON CONFLICT(client_id, minute) DO UPDATE SET calls = calls + 1 RETURNING calls",
            (client.id, minute),
        ).fetchone()[0]
        if calls == 1:  # once a minute: when it was last used, and old counts dropped
            db.execute(
                "UPDATE api_clients SET last_used_at = ? WHERE id = ?",
                (clock.iso(moment), client.id),
            )
            db.execute(
                "DELETE FROM api_calls WHERE client_id = ? AND minute < ?", (client.id, minute)
            )
    return 0 if calls <= client.per_minute else 60 - moment.second
