"""Accounts: argon2 hashes, sessions stored hashed, lockout, sign-out and password change."""

from __future__ import annotations

import hashlib

import pytest

import seeds
from survey import auth, clock
from survey import db as store
from survey.auth import SYSTEM
from survey.errors import AuthError, PermissionDeniedError, ValidationError
from tests.conftest import actor_for


def test_sign_in_opens_a_session_stored_hashed(db):
    actor, token = auth.sign_in(db, "officer", seeds.DEMO_PASSWORD, "pytest")
    assert actor.username == "officer" and actor.has_role("officer")
    row = store.query(db, "SELECT * FROM sessions ORDER BY id DESC LIMIT 1")[0]
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(row)
    assert auth.actor_for_token(db, token) == actor
    hashes = {r["password_hash"] for r in store.query(db, "SELECT password_hash FROM users")}
    assert all(h.startswith("$argon2id$") for h in hashes)


def test_five_failures_lock_the_account(db):
    for _ in range(auth.MAX_FAILED_ATTEMPTS):
        with pytest.raises(AuthError, match="不正确"):
            auth.sign_in(db, "monitor", "wrong-password1")
    with pytest.raises(AuthError, match="锁定"):
        auth.sign_in(db, "monitor", seeds.DEMO_PASSWORD)


def test_expired_and_revoked_sessions_are_refused(db):
    _, token = auth.sign_in(db, "handler", seeds.DEMO_PASSWORD)
    db.execute("UPDATE sessions SET expires_at = ?", ("2000-01-01 00:00:00",))
    assert auth.actor_for_token(db, token) is None
    _, token = auth.sign_in(db, "handler", seeds.DEMO_PASSWORD)
    auth.sign_out(db, token)
    assert auth.actor_for_token(db, token) is None
    assert auth.actor_for_token(db, "made-up") is None


def test_password_change_revokes_every_session(db):
    actor, t1 = auth.sign_in(db, "supervisor", seeds.DEMO_PASSWORD)
    _, t2 = auth.sign_in(db, "supervisor", seeds.DEMO_PASSWORD)
    with pytest.raises(ValidationError, match="原密码"):
        auth.change_password(db, actor, "nope12345", "Better2026x")
    auth.change_password(db, actor, seeds.DEMO_PASSWORD, "Better2026x")
    assert auth.actor_for_token(db, t1) is None and auth.actor_for_token(db, t2) is None
    auth.sign_in(db, "supervisor", "Better2026x")


@pytest.mark.parametrize(
    ("password", "message"),
    [("short1", "至少"), ("onlyletters", "字母和数字"), ("12345678", "字母和数字")],
)
def test_password_strength(password, message):
    with pytest.raises(ValidationError, match=message):
        auth.check_password_strength(password)


def test_create_user_rules(db):
    with pytest.raises(PermissionDeniedError):
        auth.create_user(
            db, actor_for(db, "supervisor"), username="x12", display_name="x",
            password="Abcdefg12", roles=["officer"],
        )  # fmt: skip
    with pytest.raises(ValidationError, match="所属部门"):
        auth.create_user(
            db, SYSTEM, username="h12", display_name="h", password="Abcdefg12", roles=["handler"]
        )
    with pytest.raises(ValidationError, match="已存在"):
        auth.create_user(
            db,
            SYSTEM,
            username="officer",
            display_name="o",
            password="Abcdefg12",
            roles=["officer"],
        )
    uid = auth.create_user(
        db, SYSTEM, username="new.user", display_name="新用户", password="Abcdefg12",
        roles=["officer", "monitor"], department_code="SWJ",
    )  # fmt: skip
    actor = auth.load_actor(db, uid)
    assert actor.roles == {"officer", "monitor"} and actor.must_change_password
    audit = store.query(
        db, "SELECT * FROM audit_log WHERE table_name='users' AND row_id=?", (str(uid),)
    )
    assert audit and "Abcdefg12" not in str(audit)
    assert clock.now_iso()[:4] == audit[0]["at"][:4]
