"""Users, roles, password hashing (argon2) and database-backed sign-in sessions.

A session token is random; only its SHA-256 is stored, so a copy of the database cannot sign anyone in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlite_utils import Database

from survey import audit, clock
from survey import db as store
from survey.errors import AuthError, PermissionDeniedError, ValidationError
from survey.labels import ROLE_LABELS
from survey.settings import get_setting

_hasher = PasswordHasher()

MAX_FAILED_ATTEMPTS = 5
LOCK_MINUTES = 15
DEFAULT_SESSION_HOURS = 12
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Actor:
    """Who is acting: every domain read and write takes one."""

    id: int | None
    username: str
    display_name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    department_code: str | None = None
    must_change_password: bool = False

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def role_labels(self) -> str:
        return "、".join(ROLE_LABELS[r] for r in ROLE_LABELS if r in self.roles)


# Command-line tools, seeds and migrations act as this actor; it holds every role.
SYSTEM = Actor(None, "system", "系统", frozenset(ROLE_LABELS))


def require_role(actor: Actor, *roles: str) -> None:
    if not actor.has_role(*roles):
        needed = "或".join(ROLE_LABELS[r] for r in roles)
        raise PermissionDeniedError(f"此操作需要“{needed}”角色。")


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


def create_user(
    db: Database,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    password: str,
    roles: list[str] | tuple[str, ...],
    department_code: str | None = None,
    must_change_password: bool = True,
    phone: str = "",
) -> int:
    """Create a user with roles; returns the new id."""
    require_role(actor, "admin")
    username = username.strip()
    if not re.fullmatch(r"[A-Za-z0-9_.-]{3,32}", username):
        raise ValidationError("用户名须为 3–32 位字母、数字、下划线、点或连字符。", "username")
    if not display_name.strip():
        raise ValidationError("请填写姓名。", "display_name")
    unknown = [r for r in roles if r not in ROLE_LABELS]
    if unknown or not roles:
        raise ValidationError("请至少选择一个有效角色。", "roles")
    if "handler" in roles and not department_code:
        raise ValidationError("责任部门用户必须指定所属部门。", "department_code")
    check_password_strength(password)
    password_hash = hash_password(password)
    now = clock.now_iso()
    with store.transaction(db):
        if store.scalar(db, "SELECT 1 FROM users WHERE username = ?", (username,)):
            raise ValidationError(f"用户名“{username}”已存在。", "username")
        cursor = db.execute(
            "INSERT INTO users (username, display_name, password_hash, department_code, phone,"
            " must_change_password, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                username,
                display_name.strip(),
                password_hash,
                department_code,
                phone,
                int(must_change_password),
                now,
                now,
            ),
        )
        user_id = cursor.lastrowid
        db.conn.executemany(
            "INSERT INTO user_roles (user_id, role) VALUES (?, ?)",
            [(user_id, r) for r in sorted(set(roles))],
        )
        audit.record(
            db,
            actor,
            "insert",
            "users",
            user_id,
            after={
                "username": username,
                "display_name": display_name,
                "roles": sorted(set(roles)),
                "department_code": department_code,
            },
        )
    return user_id


def load_actor(db: Database, user_id: int) -> Actor | None:
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


def sign_in(db: Database, username: str, password: str, user_agent: str = "") -> tuple[Actor, str]:
    """Check the password and open a session; returns the actor and the session token.

    Five failed attempts lock the account for 15 minutes.
    """
    now = clock.now()
    with store.transaction(db):
        row = db.conn.execute(
            "SELECT id, password_hash, active, failed_attempts, locked_until FROM users"
            " WHERE username = ?",
            (username.strip(),),
        ).fetchone()
        if not row or not row[2]:
            raise AuthError("用户名或密码不正确。")
        user_id, password_hash, _active, failed, locked_until = row
        if locked_until and datetime.fromisoformat(locked_until) > now:
            raise AuthError(f"连续输错密码次数过多，账号已锁定至 {locked_until[11:16]}。")
        try:
            _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            failed += 1
            lock = None
            if failed >= MAX_FAILED_ATTEMPTS:
                lock = clock.iso(now + timedelta(minutes=LOCK_MINUTES))
                failed = 0
            db.execute(
                "UPDATE users SET failed_attempts = ?, locked_until = ? WHERE id = ?",
                (failed, lock, user_id),
            )
            error = AuthError("用户名或密码不正确。")
        else:
            error = None
            db.execute(
                "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ?",
                (user_id,),
            )
            token = secrets.token_urlsafe(32)
            expires = now + timedelta(hours=session_hours(db))
            db.execute(
                "INSERT INTO sessions (user_id, token_hash, created_at, expires_at, last_seen_at,"
                " user_agent) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    _token_hash(token),
                    clock.iso(now),
                    clock.iso(expires),
                    clock.iso(now),
                    user_agent[:300],
                ),
            )
            actor = load_actor(db, user_id)
            audit.record(db, actor, "signin", "sessions", user_id)
    # Raised after the transaction commits, so the failed-attempt count is kept.
    if error:
        raise error
    return actor, token


def actor_for_token(db: Database, token: str | None) -> Actor | None:
    """The signed-in user for a session token, or None when unknown, revoked or expired."""
    if not token:
        return None
    now = clock.now_iso()
    row = db.conn.execute(
        "SELECT id, user_id FROM sessions WHERE token_hash = ? AND revoked_at IS NULL"
        " AND expires_at > ?",
        (_token_hash(token), now),
    ).fetchone()
    if not row:
        return None
    db.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", (now, row[0]))
    return load_actor(db, row[1])


def sign_out(db: Database, token: str | None) -> None:
    if not token:
        return
    with store.transaction(db):
        row = db.conn.execute(
            "SELECT id, user_id FROM sessions WHERE token_hash = ? AND revoked_at IS NULL",
            (_token_hash(token),),
        ).fetchone()
        if row:
            db.execute("UPDATE sessions SET revoked_at = ? WHERE id = ?", (clock.now_iso(), row[0]))
            actor = load_actor(db, row[1])
            if actor:
                audit.record(db, actor, "signout", "sessions", row[0])


def change_password(db: Database, actor: Actor, old_password: str, new_password: str) -> None:
    """Change one's own password; revokes every session of the user."""
    if actor.id is None:
        raise AuthError("系统账号没有密码。")
    check_password_strength(new_password)
    if old_password == new_password:
        raise ValidationError("新密码不能与原密码相同。", "new_password")
    with store.transaction(db):
        current = store.scalar(db, "SELECT password_hash FROM users WHERE id = ?", (actor.id,))
        try:
            _hasher.verify(current, old_password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise ValidationError("原密码不正确。", "old_password") from None
        now = clock.now_iso()
        db.execute(
            "UPDATE users SET password_hash = ?, must_change_password = 0, updated_at = ?"
            " WHERE id = ?",
            (hash_password(new_password), now, actor.id),
        )
        db.execute(
            "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
            (now, actor.id),
        )
        audit.record(db, actor, "update", "users", actor.id, note="修改密码")
