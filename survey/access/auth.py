"""Users, roles, password hashing (argon2) and database-backed sign-in sessions.

A session token is random; only its SHA-256 is stored, so a copy of the database cannot sign anyone in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.access.settings import get_setting
from survey.errors import AuthError, ValidationError

_hasher = PasswordHasher()

MAX_FAILED_ATTEMPTS = 5  # per typed name and client address
ADDRESS_LIMIT = 20  # per client address, whatever the name
ACCOUNT_LIMIT = 50  # per name from all addresses: only many clients together reach it
LOCK_MINUTES = 15
DEFAULT_SESSION_HOURS = 12
MIN_PASSWORD_LENGTH = 8
HANDOFF_SECONDS = 120


def _require_user_admin(actor: Actor) -> None:
    require(actor, "users.manage")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    """At least 8 characters with letters and digits; raises ValidationError naming the rule."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"密码至少 {MIN_PASSWORD_LENGTH} 位。", "password")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise ValidationError("密码须同时包含字母和数字。", "password")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_actor(db: Database, user_id: int) -> Actor | None:
    """The active user as an Actor, or None (unknown or deactivated)."""
    row = db.conn.execute(
        "SELECT id, username, display_name, department_code, must_change_password, active"
        " FROM users WHERE id = ?",
        (user_id,),
    ).fetchone()
    if not row or not row[5]:
        return None
    roles = frozenset(
        r for (r,) in db.conn.execute("SELECT role FROM user_roles WHERE user_id = ?", (user_id,))
    )
    return Actor(row[0], row[1], row[2], roles, row[3], bool(row[4]))


def session_hours(db: Database) -> float:
    return float(get_setting(db, "session_hours") or DEFAULT_SESSION_HOURS)


@dataclass(frozen=True)
class SignIn:
    """A new session. The handoff code lets the browser fetch its HttpOnly cookie once."""

    actor: Actor
    session_id: int
    handoff_code: str


def _open_session(db: Database, actor: Actor, user_agent: str, method: str) -> SignIn:
    now = clock.now()
    code = secrets.token_urlsafe(24)
    cursor = db.execute(
        "INSERT INTO sessions (user_id, token_hash, created_at, expires_at, last_seen_at,"
        " user_agent, handoff_hash, handoff_expires_at, method) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            actor.id,
            # Nobody holds this token; the cookie exchange replaces it with the one it hands out.
            _token_hash(secrets.token_urlsafe(32)),
            clock.iso(now),
            clock.iso(now + timedelta(hours=session_hours(db))),
            clock.iso(now),
            user_agent[:300],
            _token_hash(code),
            clock.iso(now + timedelta(seconds=HANDOFF_SECONDS)),
            method,
        ),
    )
    db.execute("UPDATE users SET last_sign_in_at = ? WHERE id = ?", (clock.iso(now), actor.id))
    audit.record(db, actor, "signin", "sessions", cursor.lastrowid, note=method)
    return SignIn(actor, cursor.lastrowid, code)


class ThrottledError(AuthError):
    """Too many failed sign-ins from this address (for this name, or for any)."""


THROTTLED_MESSAGE = f"登录失败次数过多，请 {LOCK_MINUTES} 分钟后再试；如需立即登录，请联系管理员。"
WRONG_MESSAGE = "用户名或密码不正确。"
# Checked against when the name is unknown or inactive, so every refusal costs one argon2 verify.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def _recent_failures(
    db: Database, since: str, *, username: str | None = None, address: str | None = None
) -> int:
    where, params = ["at > ?"], [since]
    if username is not None:
        where.append("username = ?")
        params.append(username)
    if address is not None:
        where.append("address = ?")
        params.append(address)
    return store.scalar(
        db, f"SELECT count(*) FROM signin_failures WHERE {' AND '.join(where)}", params
    )


def is_throttled(db: Database, username: str, address: str) -> bool:
    """Refused without a password check: this address failed MAX_FAILED_ATTEMPTS times for this
    name, or ADDRESS_LIMIT times for any name, or the name failed ACCOUNT_LIMIT times from many
    addresses, within LOCK_MINUTES. Decided by what was typed, never by whether the user exists."""
    since = clock.iso(clock.now() - timedelta(minutes=LOCK_MINUTES))
    return (
        _recent_failures(db, since, username=username, address=address) >= MAX_FAILED_ATTEMPTS
        or _recent_failures(db, since, address=address) >= ADDRESS_LIMIT
        or _recent_failures(db, since, username=username) >= ACCOUNT_LIMIT
    )


def _record_failure(
    db: Database, username: str, address: str, user_id: int | None, reason: str
) -> None:
    now = clock.now()
    db.execute(
        "INSERT INTO signin_failures (at, username, address) VALUES (?, ?, ?)",
        (clock.iso(now), username, address),
    )
    db.execute("DELETE FROM signin_failures WHERE at < ?", (clock.iso(now - timedelta(days=1)),))
    audit.record(
        db,
        None,
        "signin",
        "users",
        user_id or "",
        after={"username": username, "address": address, "reason": reason},
        note="登录失败",
    )
    if (
        user_id
        and _recent_failures(
            db, clock.iso(now - timedelta(minutes=LOCK_MINUTES)), username=username
        )
        >= ACCOUNT_LIMIT
    ):  # shown to admins, who may lift it (users.unlock_user)
        db.execute(
            "UPDATE users SET locked_until = ? WHERE id = ?",
            (clock.iso(now + timedelta(minutes=LOCK_MINUTES)), user_id),
        )


def sign_in(
    db: Database, username: str, password: str, user_agent: str = "", address: str = ""
) -> SignIn:
    """Check the password and open a session. Every refusal is recorded (name, time, address)
    and answered alike, in the same time, whether or not the name exists."""
    username = (username or "").strip()[:64]
    address = (address or "unknown")[:64]
    with store.transaction(db):
        if is_throttled(db, username, address):
            _record_failure(db, username, address, None, "throttled")
            throttled, result = True, None
        else:
            throttled = False
            row = db.conn.execute(
                "SELECT id, password_hash, active FROM users WHERE username = ?", (username,)
            ).fetchone()
            known = bool(row and row[2])
            try:
                _hasher.verify(row[1] if known else _DUMMY_HASH, password or "")
                if not known:
                    raise VerifyMismatchError
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                reason = "wrong_password" if known else "unknown_user"
                _record_failure(db, username, address, row[0] if known else None, reason)
                result = None
            else:
                db.execute(
                    "DELETE FROM signin_failures WHERE username = ? AND address = ?",
                    (username, address),
                )
                db.execute(
                    "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ?",
                    (row[0],),
                )
                result = _open_session(db, load_actor(db, row[0]), user_agent, "password")
    # Raised after the transaction commits, so the failure is kept. The throttle depends on what
    # was typed and where from, not on the account, so its own message reveals nothing.
    if throttled:
        raise ThrottledError(THROTTLED_MESSAGE)
    if result is None:
        raise AuthError(WRONG_MESSAGE)
    return result


def sign_in_trusted(db: Database, username: str, user_agent: str = "") -> SignIn | None:
    """Single sign-on through a trusted proxy header: the proxy authenticated `username`."""
    user_id = store.scalar(
        db, "SELECT id FROM users WHERE username = ? AND active = 1", ((username or "").strip(),)
    )
    if not user_id:
        return None
    with store.transaction(db):
        return _open_session(db, load_actor(db, user_id), user_agent, "proxy")


def redeem_handoff(db: Database, code: str) -> tuple[str, int] | None:
    """Exchange a one-time handoff code for the session's cookie token and its max-age in seconds.

    The code works once, for HANDOFF_SECONDS; the token it returns replaces any earlier one.
    """
    if not code or len(code) > 100:
        return None
    now = clock.now_iso()
    token = secrets.token_urlsafe(32)
    with store.transaction(db):
        row = db.conn.execute(
            "SELECT id, expires_at FROM sessions WHERE handoff_hash = ? AND handoff_expires_at > ?"
            " AND revoked_at IS NULL AND expires_at > ?",
            (_token_hash(code), now, now),
        ).fetchone()
        if not row:
            return None
        db.execute(
            "UPDATE sessions SET token_hash = ?, handoff_hash = NULL, handoff_expires_at = NULL"
            " WHERE id = ?",
            (_token_hash(token), row[0]),
        )
    max_age = int((datetime.fromisoformat(row[1]) - clock.now()).total_seconds())
    return token, max(0, max_age)


def _live_session(db: Database, where: str, value) -> tuple[Actor, int] | None:
    now = clock.now()
    row = db.conn.execute(
        f"SELECT id, user_id, last_seen_at FROM sessions WHERE {where} = ?"
        " AND revoked_at IS NULL AND expires_at > ?",
        (value, clock.iso(now)),
    ).fetchone()
    if not row:
        return None
    actor = load_actor(db, row[1])
    if actor is None:
        return None
    # last_seen is bookkeeping, not a change of data: at most one write a minute, no audit row.
    if (now - datetime.fromisoformat(row[2])).total_seconds() > 60:
        db.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", (clock.iso(now), row[0]))
    return actor, row[0]


def actor_for_session(db: Database, session_id: int | None) -> Actor | None:
    """The signed-in user of a live session (not revoked, not expired), else None."""
    if not session_id:
        return None
    found = _live_session(db, "id", int(session_id))
    return found[0] if found else None


def session_for_token(db: Database, token: str | None) -> tuple[Actor, int] | None:
    """(actor, session id) for a cookie token of a live session, else None."""
    if not token or len(token) > 100:
        return None
    return _live_session(db, "token_hash", _token_hash(token))


def sign_out(db: Database, session_id: int | None) -> None:
    if not session_id:
        return
    with store.transaction(db):
        row = db.conn.execute(
            "SELECT user_id FROM sessions WHERE id = ? AND revoked_at IS NULL", (session_id,)
        ).fetchone()
        if row:
            db.execute(
                "UPDATE sessions SET revoked_at = ? WHERE id = ?", (clock.now_iso(), session_id)
            )
            audit.record(db, load_actor(db, row[0]), "signout", "sessions", session_id)


def list_sessions(
    db: Database, actor: Actor, *, user_id: int | None = None, live_only: bool = True
) -> list[dict]:
    """Sessions of one user (one's own unless admin), newest first."""
    user_id = actor.id if user_id is None else user_id
    if user_id != actor.id:
        _require_user_admin(actor)
    live = " AND s.revoked_at IS NULL AND s.expires_at > ?" if live_only else ""
    params = (user_id, clock.now_iso()) if live_only else (user_id,)
    return store.query(
        db,
        "SELECT s.id, s.user_id, u.username, s.created_at, s.last_seen_at, s.expires_at,"
        " s.user_agent, s.revoked_at, s.method FROM sessions s JOIN users u ON u.id = s.user_id"
        f" WHERE s.user_id = ?{live} ORDER BY s.id DESC",
        params,
    )


def revoke_session(db: Database, actor: Actor, session_id: int) -> None:
    """End a session: one's own, or anybody's for an admin."""
    owner = store.scalar(db, "SELECT user_id FROM sessions WHERE id = ?", (session_id,))
    if owner is None:
        raise ValidationError(f"没有编号为 {session_id} 的会话。", "session")
    if owner != actor.id:
        _require_user_admin(actor)
    with store.transaction(db):
        db.execute(
            "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            (clock.now_iso(), session_id),
        )
        audit.record(db, actor, "update", "sessions", session_id, note="撤销会话")


def revoke_user_sessions(db: Database, user_id: int) -> int:
    """Inside a caller's transaction: end every live session of a user."""
    return db.execute(
        "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        (clock.now_iso(), user_id),
    ).rowcount


def change_password(db: Database, actor: Actor, old_password: str, new_password: str) -> None:
    """Change one's own password; revokes every session of the user."""
    require(actor, "account.edit")
    if actor.id is None:
        raise AuthError("系统账号没有密码。")
    check_password_strength(new_password)
    if old_password == new_password:
        raise ValidationError("新密码不能与原密码相同。", "new_password")
    with store.transaction(db):
        current = store.scalar(db, "SELECT password_hash FROM users WHERE id = ?", (actor.id,))
        try:
            _hasher.verify(current, old_password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise ValidationError("原密码不正确。", "old_password") from None
        db.execute(
            "UPDATE users SET password_hash = ?, must_change_password = 0, updated_at = ?"
            " WHERE id = ?",
            (hash_password(new_password), clock.now_iso(), actor.id),
        )
        revoke_user_sessions(db, actor.id)
        audit.record(db, actor, "update", "users", actor.id, note="修改密码")
