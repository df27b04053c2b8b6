"""Accounts: argon2 hashes, sessions with hashed cookie tokens, lockout, sign-out, password change."""

from __future__ import annotations

import hashlib

import pytest

import seeds
from survey import db as store
from survey.access import auth, users
from survey.access.actor import SYSTEM
from survey.errors import AuthError, PermissionDeniedError, ValidationError
from tests.helpers import actor_for


def test_sign_in_then_cookie_exchange_stores_only_hashes(db):
    signed = auth.sign_in(db, "officer", seeds.DEMO_PASSWORD, "pytest")
    assert signed.actor.username == "officer" and signed.actor.has_role("officer")
    assert auth.actor_for_session(db, signed.session_id) == signed.actor
    token, max_age = auth.redeem_handoff(db, signed.handoff_code)
    assert 11 * 3600 < max_age <= 12 * 3600
    row = store.query(db, "SELECT * FROM sessions WHERE id = ?", (signed.session_id,))[0]
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(row) and signed.handoff_code not in str(row)
    assert row["handoff_hash"] is None and row["user_agent"] == "pytest"
    assert auth.session_for_token(db, token) == (signed.actor, signed.session_id)
    # The code works once only.
    assert auth.redeem_handoff(db, signed.handoff_code) is None
    hashes = {r["password_hash"] for r in store.query(db, "SELECT password_hash FROM users")}
    assert all(h.startswith("$argon2id$") for h in hashes)


def test_expired_handoff_code_is_refused(db):
    signed = auth.sign_in(db, "officer", seeds.DEMO_PASSWORD)
    db.execute("UPDATE sessions SET handoff_expires_at = '2000-01-01 00:00:00'")
    assert auth.redeem_handoff(db, signed.handoff_code) is None
    assert auth.redeem_handoff(db, "") is None and auth.redeem_handoff(db, "x" * 500) is None


def test_five_failures_throttle_that_name_from_that_address_only(db):
    for _ in range(auth.MAX_FAILED_ATTEMPTS):
        with pytest.raises(AuthError, match="不正确"):
            auth.sign_in(db, "monitor", "wrong-password1", address="10.0.0.9")
    with pytest.raises(auth.ThrottledError, match="稍后|分钟后再试"):
        auth.sign_in(db, "monitor", seeds.DEMO_PASSWORD, address="10.0.0.9")
    # Another client is not locked out by the first one's failures.
    auth.sign_in(db, "monitor", seeds.DEMO_PASSWORD, address="10.0.0.7")
    admin = actor_for(db, "admin")
    users.unlock_user(db, admin, actor_for(db, "monitor").id)
    auth.sign_in(db, "monitor", seeds.DEMO_PASSWORD, address="10.0.0.9")


def test_expired_and_revoked_sessions_are_refused(db):
    signed = auth.sign_in(db, "handler", seeds.DEMO_PASSWORD)
    token, _ = auth.redeem_handoff(db, signed.handoff_code)
    db.execute("UPDATE sessions SET expires_at = ?", ("2000-01-01 00:00:00",))
    assert auth.actor_for_session(db, signed.session_id) is None
    assert auth.session_for_token(db, token) is None
    signed = auth.sign_in(db, "handler", seeds.DEMO_PASSWORD)
    auth.sign_out(db, signed.session_id)
    assert auth.actor_for_session(db, signed.session_id) is None
    assert auth.session_for_token(db, "made-up") is None


def test_session_length_is_admin_set(db):
    admin = actor_for(db, "admin")
    users.set_session_hours(db, admin, 2)
    signed = auth.sign_in(db, "officer", seeds.DEMO_PASSWORD)
    _, max_age = auth.redeem_handoff(db, signed.handoff_code)
    assert 3500 < max_age <= 7200
    with pytest.raises(ValidationError, match="1 到 720"):
        users.set_session_hours(db, admin, 0)
    with pytest.raises(PermissionDeniedError):
        users.set_session_hours(db, actor_for(db, "supervisor"), 5)


def test_password_change_revokes_every_session(db):
    s1 = auth.sign_in(db, "supervisor", seeds.DEMO_PASSWORD)
    s2 = auth.sign_in(db, "supervisor", seeds.DEMO_PASSWORD)
    with pytest.raises(ValidationError, match="原密码"):
        auth.change_password(db, s1.actor, "nope12345", "Better2026x")
    auth.change_password(db, s1.actor, seeds.DEMO_PASSWORD, "Better2026x")
    assert auth.actor_for_session(db, s1.session_id) is None
    assert auth.actor_for_session(db, s2.session_id) is None
    auth.sign_in(db, "supervisor", "Better2026x")


def test_sessions_are_listed_and_revoked(db):
    s1 = auth.sign_in(db, "officer", seeds.DEMO_PASSWORD, "tablet")
    auth.sign_in(db, "officer", seeds.DEMO_PASSWORD, "laptop")
    officer = s1.actor
    mine = auth.list_sessions(db, officer)
    assert [s["user_agent"] for s in mine] == ["laptop", "tablet"]
    with pytest.raises(PermissionDeniedError):
        auth.list_sessions(db, officer, user_id=actor_for(db, "admin").id)
    with pytest.raises(PermissionDeniedError):
        auth.revoke_session(db, actor_for(db, "handler"), s1.session_id)
    auth.revoke_session(db, actor_for(db, "admin"), s1.session_id)
    assert [s["user_agent"] for s in auth.list_sessions(db, officer)] == ["laptop"]


def test_trusted_header_sign_in_maps_to_a_user(db):
    signed = auth.sign_in_trusted(db, "handler", "proxy")
    assert signed.actor.username == "handler"
    assert (
        store.scalar(db, "SELECT method FROM sessions WHERE id = ?", (signed.session_id,))
        == "proxy"
    )
    assert auth.sign_in_trusted(db, "nobody") is None


@pytest.mark.parametrize(
    ("password", "message"),
    [("short1", "至少"), ("onlyletters", "字母和数字"), ("12345678", "字母和数字")],
)
def test_password_strength(password, message):
    with pytest.raises(ValidationError, match=message):
        auth.check_password_strength(password)


def test_user_administration(db):
    admin = actor_for(db, "admin")
    with pytest.raises(PermissionDeniedError):
        users.create_user(
            db,
            actor_for(db, "supervisor"),
            username="x12",
            display_name="x",
            password="Abcdefg12",
            roles=["officer"],
            department_code="GXJ",
        )
    with pytest.raises(ValidationError, match="所属部门"):
        users.create_user(
            db, SYSTEM, username="h12", display_name="h", password="Abcdefg12", roles=["handler"]
        )
    with pytest.raises(ValidationError, match="已存在"):
        users.create_user(
            db,
            SYSTEM,
            username="officer",
            display_name="o",
            password="Abcdefg12",
            roles=["monitor"],
        )
    uid = users.create_user(
        db,
        admin,
        username="new.user",
        display_name="新用户",
        password="Abcdefg12",
        roles=["officer", "monitor"],
        department_code="SWJ",
    )
    actor = auth.load_actor(db, uid)
    assert actor.roles == {"officer", "monitor"} and actor.must_change_password
    users.update_user(
        db, admin, uid, display_name="新用户甲", roles=["handler"], department_code="CZJ"
    )
    assert auth.load_actor(db, uid).roles == {"handler"}
    session = auth.sign_in(db, "new.user", "Abcdefg12")
    users.reset_password(db, admin, uid, "Temp2026pw")
    assert auth.actor_for_session(db, session.session_id) is None
    assert auth.sign_in(db, "new.user", "Temp2026pw").actor.must_change_password
    users.set_user_active(db, admin, uid, False)
    with pytest.raises(AuthError):
        auth.sign_in(db, "new.user", "Temp2026pw")
    with pytest.raises(ValidationError, match="自己"):
        users.set_user_active(db, admin, admin.id, False)
    audit = store.query(
        db,
        "SELECT action, before, after, note FROM audit_log WHERE table_name='users' AND row_id=?",
        (str(uid),),
    )
    assert [a["action"] for a in audit] == ["insert", "update", "update", "update"]
    assert "新用户甲" in audit[1]["after"] and "新用户" in audit[1]["before"]
    assert all("Abcdefg12" not in str(a) and "Temp2026pw" not in str(a) for a in audit)
