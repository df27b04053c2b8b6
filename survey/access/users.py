"""User administration: create, edit roles and department, deactivate, reset passwords, unlock."""

from __future__ import annotations

import re

from sqlite_utils import Database

from survey import clock, repeats
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.auth import (
    check_password_strength,
    hash_password,
    revoke_user_sessions,
)
from survey.access.permissions import require
from survey.access.settings import set_setting
from survey.errors import NotFoundError, ValidationError
from survey.labels import ROLE_LABELS
from survey.names import one_line
from survey.notify.mail import valid_address


def _check_roles(roles, department_code) -> list[str]:
    roles = sorted(set(roles or []))
    if not roles or any(r not in ROLE_LABELS for r in roles):
        raise ValidationError("请至少选择一个有效角色。", "roles")
    if ("handler" in roles or "officer" in roles) and not department_code:
        raise ValidationError("责任部门和走访人员用户必须指定所属部门。", "department_code")
    return roles


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
    request_id: str | None = None,
) -> int:
    """Create a user with roles; returns the new id (a repeat of `request_id`: the first one's)."""
    require(actor, "users.manage")
    username, display_name = username.strip(), one_line(display_name)
    if not re.fullmatch(r"[A-Za-z0-9_.-]{3,32}", username):
        raise ValidationError("用户名须为 3–32 位字母、数字、下划线、点或连字符。", "username")
    if not display_name:
        raise ValidationError("请填写姓名。", "display_name")
    roles = _check_roles(roles, department_code)
    check_password_strength(password)
    password_hash = hash_password(password)
    now = clock.now_iso()
    with store.transaction(db):
        if repeat := repeats.first(db, actor, request_id, "create_user"):
            return repeat.result
        if store.scalar(db, "SELECT 1 FROM users WHERE username = ?", (username,)):
            raise ValidationError(f"用户名“{username}”已存在。", "username")
        cursor = db.execute(
            "INSERT INTO users (username, display_name, password_hash, department_code, phone,"
            " must_change_password, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                username,
                display_name,
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
            [(user_id, r) for r in roles],
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
                "roles": roles,
                "department_code": department_code,
            },
        )
        return repeats.record(db, actor, request_id, "create_user", user_id)


def get_user(db: Database, actor: Actor, user_id: int) -> dict:
    if user_id != actor.id:
        require(actor, "users.manage")
    rows = store.query(
        db,
        "SELECT id, username, display_name, department_code, phone, active, must_change_password,"
        " failed_attempts, locked_until, last_sign_in_at, created_at FROM users WHERE id = ?",
        (user_id,),
    )
    if not rows:
        raise NotFoundError(f"没有编号为 {user_id} 的用户。")
    user = rows[0]
    user["roles"] = [
        r
        for (r,) in db.conn.execute(
            "SELECT role FROM user_roles WHERE user_id = ? ORDER BY role", (user_id,)
        )
    ]
    return user


def list_users(db: Database, actor: Actor) -> list[dict]:
    require(actor, "users.manage")
    return store.query(
        db,
        "SELECT u.id, u.username, u.display_name, u.department_code, u.active,"
        " u.must_change_password, u.locked_until, u.last_sign_in_at,"
        " group_concat(r.role, ',') AS roles FROM users u"
        " LEFT JOIN user_roles r ON r.user_id = u.id WHERE u.api_client = 0"
        " GROUP BY u.id ORDER BY u.username",
    )


def update_user(
    db: Database,
    actor: Actor,
    user_id: int,
    *,
    display_name: str,
    roles: list[str],
    department_code: str | None,
    phone: str = "",
) -> None:
    """Change name, roles, department and phone; audited with before and after."""
    require(actor, "users.manage")
    display_name = one_line(display_name)
    if not display_name:
        raise ValidationError("请填写姓名。", "display_name")
    roles = _check_roles(roles, department_code)
    with store.transaction(db):
        before = get_user(db, actor, user_id)
        if user_id == actor.id and "admin" not in roles:
            raise ValidationError("不能取消自己的管理员角色。", "roles")
        db.execute(
            "UPDATE users SET display_name = ?, department_code = ?, phone = ?, updated_at = ?"
            " WHERE id = ?",
            (display_name, department_code, phone, clock.now_iso(), user_id),
        )
        db.execute("DELETE FROM user_roles WHERE user_id = ?", (user_id,))
        db.conn.executemany(
            "INSERT INTO user_roles (user_id, role) VALUES (?, ?)", [(user_id, r) for r in roles]
        )
        fields = ("display_name", "department_code", "phone", "roles")
        after = {
            "display_name": display_name,
            "department_code": department_code,
            "phone": phone,
            "roles": roles,
        }
        audit.record(
            db,
            actor,
            "update",
            "users",
            user_id,
            before={k: before[k] for k in fields},
            after=after,
        )


def set_user_active(db: Database, actor: Actor, user_id: int, active: bool) -> None:
    """Deactivate (sign-in refused, sessions ended; records keep the name) or reactivate."""
    require(actor, "users.manage")
    if user_id == actor.id and not active:
        raise ValidationError("不能停用自己的账号。", "active")
    with store.transaction(db):
        before = get_user(db, actor, user_id)
        db.execute(
            "UPDATE users SET active = ?, updated_at = ? WHERE id = ?",
            (int(active), clock.now_iso(), user_id),
        )
        if not active:
            revoke_user_sessions(db, user_id)
        audit.record(
            db,
            actor,
            "update",
            "users",
            user_id,
            before={"active": before["active"]},
            after={"active": int(active)},
        )


def reset_password(db: Database, actor: Actor, user_id: int, new_password: str) -> None:
    """Set a temporary password the user must change at next sign-in; ends their sessions."""
    require(actor, "users.manage")
    check_password_strength(new_password)
    with store.transaction(db):
        get_user(db, actor, user_id)
        db.execute(
            "UPDATE users SET password_hash = ?, must_change_password = 1, failed_attempts = 0,"
            " locked_until = NULL, updated_at = ? WHERE id = ?",
            (hash_password(new_password), clock.now_iso(), user_id),
        )
        revoke_user_sessions(db, user_id)
        audit.record(db, actor, "update", "users", user_id, note="管理员重置密码")


def unlock_user(db: Database, actor: Actor, user_id: int) -> None:
    require(actor, "users.manage")
    with store.transaction(db):
        before = get_user(db, actor, user_id)
        db.execute(
            "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ?", (user_id,)
        )
        db.execute("DELETE FROM signin_failures WHERE username = ?", (before["username"],))
        audit.record(
            db,
            actor,
            "update",
            "users",
            user_id,
            before={"locked_until": before["locked_until"]},
            after={"locked_until": None},
        )


def set_session_hours(db: Database, actor: Actor, hours: float) -> None:
    """How long a sign-in lasts (1 to 720 hours); applies to new sessions."""
    require(actor, "settings.edit")
    if not 1 <= float(hours) <= 720:
        raise ValidationError("会话有效期须在 1 到 720 小时之间。", "session_hours")
    set_setting(db, actor, "session_hours", str(float(hours)))


def own_contact(db: Database, actor: Actor) -> dict:
    require(actor, "account.edit")
    row = store.query(db, "SELECT email, phone, urgent_only FROM users WHERE id = ?", (actor.id,))
    return row[0] if row else {"email": "", "phone": "", "urgent_only": 0}


def set_own_contact(
    db: Database, actor: Actor, email: str, phone: str, *, urgent_only: bool = False
) -> None:
    """Where the app may reach the user outside it (e-mail; SMS to a mobile number), and whether
    only urgent messages (督办, 逾期, 重办) should go there; the app keeps every message."""
    require(actor, "account.edit")
    email, phone = (email or "").strip(), (phone or "").strip()
    if email and not valid_address(email):
        raise ValidationError("电子邮箱格式不正确，例如 name@example.gov.cn。", "email")
    if phone and not re.fullmatch(r"1\d{10}|0\d{2,3}-?\d{7,8}", phone):
        raise ValidationError("手机号应为 11 位数字（或带区号的固定电话）。", "phone")
    with store.transaction(db):
        before = own_contact(db, actor)
        db.execute(
            "UPDATE users SET email = ?, phone = ?, urgent_only = ?, updated_at = ? WHERE id = ?",
            (email, phone, int(bool(urgent_only)), clock.now_iso(), actor.id),
        )
        audit.record(
            db,
            actor,
            "update",
            "users",
            actor.id,
            before=before,
            after={"email": email, "phone": phone, "urgent_only": int(bool(urgent_only))},
        )
