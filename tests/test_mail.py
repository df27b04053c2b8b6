"""E-mail through the delivery outbox, against a real SMTP server on loopback (aiosmtpd): queued in
the move's transaction, delivered by the worker, retried with backoff, parked, retried by an admin,
never claimed by two workers at once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from survey import clock
from survey import db as store
from survey.access import users
from survey.errors import PermissionDeniedError, ValidationError
from survey.notify import mail, outbox, worker
from survey.problems import lifecycle
from tests.helpers import actor_for, new_problems
from tests.mailserver import smtp_server


@pytest.fixture
def smtp():
    with smtp_server() as server:
        yield server


def configure(db, port: int) -> None:
    admin = actor_for(db, "admin")
    mail.save(
        db, admin, host="127.0.0.1", port=port, security="none", sender="镇合意 <notice@zhy.gov.cn>"
    )
    users.set_own_contact(db, actor_for(db, "handler"), "handler@gxj.zj.gov.cn", "13800000000")


def a_new_problem(db) -> int:
    return store.scalar(db, "SELECT id FROM problems WHERE status = 'new' ORDER BY id LIMIT 1")


def test_an_assignment_reaches_the_handlers_mailbox(db, smtp):
    inbox, port = smtp
    configure(db, port)
    pid = a_new_problem(db)
    lifecycle.assign(db, actor_for(db, "supervisor"), pid, "GXJ", "short")
    assert store.scalar(db, "SELECT count(*) FROM deliveries WHERE status = 'pending'") == 1
    assert worker.deliver(db) == {"sent": 1, "pending": 0, "parked": 0, "held": 0}
    [received] = inbox.received
    assert received["To"] == "handler@gxj.zj.gov.cn"
    assert received["Subject"] == "【镇合意】新交办问题"
    text = received.get_content()
    assert f"问题 #{pid}" in text and f"/problems?id={pid}" in text and "办理时限" in text
    assert worker.deliver(db) == {"sent": 0, "pending": 0, "parked": 0, "held": 0}  # sent once


def test_a_rolled_back_move_queues_no_mail(db, smtp):
    _, port = smtp
    configure(db, port)
    with pytest.raises(RuntimeError), store.transaction(db):
        lifecycle.assign(db, actor_for(db, "supervisor"), a_new_problem(db), "GXJ", "short")
        raise RuntimeError("rolled back")
    assert store.scalar(db, "SELECT count(*) FROM deliveries") == 0


def test_failures_back_off_then_park_then_an_admin_retries(db, smtp):
    inbox, port = smtp
    configure(db, port)
    lifecycle.assign(db, actor_for(db, "supervisor"), a_new_problem(db), "GXJ", "short")
    inbox.failing = outbox.MAX_ATTEMPTS
    waits = []
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        counts = worker.deliver(db)
        row = store.query(db, "SELECT status, attempts, next_at, last_error FROM deliveries")[0]
        assert row["attempts"] == attempt and "451" in row["last_error"]
        waits.append(row["next_at"])
        due_in = (datetime.fromisoformat(row["next_at"]) - clock.now()).total_seconds()
        expected = outbox.FIRST_RETRY_SECONDS * 2 ** (attempt - 1)
        assert expected - 5 <= due_in <= expected + 1  # the backoff doubles
        if attempt < outbox.MAX_ATTEMPTS:
            assert counts["pending"] == 1 and row["status"] == "pending"
            assert worker.deliver(db) == {
                "sent": 0,
                "pending": 0,
                "parked": 0,
                "held": 0,
            }  # not due yet
            db.execute("UPDATE deliveries SET next_at = ?", (clock.now_iso(),))  # time passes
        else:
            assert counts["parked"] == 1 and row["status"] == "parked"
    assert len(waits) == outbox.MAX_ATTEMPTS
    admin = actor_for(db, "admin")
    [parked] = outbox.list_deliveries(db, admin, "parked")
    with pytest.raises(PermissionDeniedError):
        outbox.retry(db, actor_for(db, "supervisor"), parked["id"])
    outbox.retry(db, admin, parked["id"])
    assert worker.deliver(db) == {"sent": 1, "pending": 0, "parked": 0, "held": 0}
    assert len(inbox.received) == 1


def test_two_workers_never_claim_the_same_delivery(db, smtp):
    _, port = smtp
    configure(db, port)
    supervisor = actor_for(db, "supervisor")
    for pid in new_problems(db, 3):
        lifecycle.assign(db, supervisor, pid, "GXJ", "short")
    first = outbox.claim(db, "worker-a")
    second = outbox.claim(db, "worker-b")
    assert len(first) == 3 and second == []
    # A worker killed mid-send: its lease runs out and another takes the rows (at least once).
    expired = clock.iso(clock.now() - timedelta(seconds=1))
    db.execute("UPDATE deliveries SET lease_until = ?", (expired,))
    assert len(outbox.claim(db, "worker-b")) == 3
    assert outbox.finish(db, first[0], "worker-a", None) == "sent"  # a stale lease changes nothing
    assert store.scalar(db, "SELECT count(*) FROM deliveries WHERE status = 'sent'") == 0


def test_stuck_deliveries_are_reported(db, smtp):
    _, port = smtp
    configure(db, port)
    lifecycle.assign(db, actor_for(db, "supervisor"), a_new_problem(db), "GXJ", "short")
    assert outbox.stuck(db) == 0
    db.execute("UPDATE deliveries SET next_at = ?", (clock.iso(clock.now() - timedelta(hours=2)),))
    assert outbox.stuck(db) == 1


def test_smtp_settings_are_checked_and_the_password_kept(db):
    admin = actor_for(db, "admin")
    for kwargs, field in (
        ({"port": "abc"}, "smtp_port"),
        ({"port": 70000}, "smtp_port"),
        ({"host": "smtp example"}, "smtp_host"),
        ({"security": "tls1"}, "smtp_security"),
        ({"sender": "not an address"}, "smtp_sender"),
    ):
        values = {"host": "smtp.zj.gov.cn", "port": 465, "security": "ssl", "sender": "a@zj.gov.cn"}
        with pytest.raises(ValidationError) as refused:
            mail.save(db, admin, **(values | kwargs))
        assert refused.value.field == field
        assert mail.load(db).host == ""  # nothing half-saved
    server = {"host": "smtp.zj.gov.cn", "port": 465, "security": "ssl", "username": "zhy"}
    mail.save(db, admin, **server, password="s3cret", sender="a@zj.gov.cn")
    mail.save(db, admin, **server, sender="b@zj.gov.cn")  # no password given: the saved one stays
    saved = mail.load(db)
    assert saved.password == "s3cret" and saved.sender == "b@zj.gov.cn"
    audited = store.query(db, "SELECT before, after FROM audit_log WHERE row_id = 'smtp_password'")
    assert audited and "s3cret" not in repr(audited)  # the audit says it changed, not to what
    with pytest.raises(PermissionDeniedError):
        mail.save(db, actor_for(db, "supervisor"), host="", port=25, security="none", sender="")


def test_own_contact_is_checked(db):
    handler = actor_for(db, "handler")
    with pytest.raises(ValidationError) as refused:
        users.set_own_contact(db, handler, "handler@", "")
    assert refused.value.field == "email"
    with pytest.raises(ValidationError) as refused:
        users.set_own_contact(db, handler, "", "12345")
    assert refused.value.field == "phone"
    users.set_own_contact(db, handler, "h@zj.gov.cn", "0511-85012345")
    assert users.own_contact(db, handler) == {
        "email": "h@zj.gov.cn",
        "phone": "0511-85012345",
        "urgent_only": 0,
    }
