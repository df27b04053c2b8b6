"""Webhooks in their own lane (issue 26, items 3 and 12): an urgent e-mail leaves while a
subscriber that never answers holds webhook deliveries; one stalled subscriber does not hold
another's; a client holds at most MAX_SUBSCRIPTIONS subscriptions and a subscription at most
MAX_PENDING queued deliveries; a stopped client's queued deliveries are parked, never sent."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from api import app as api_module
from survey import db as store
from survey.access import clients, users
from survey.errors import LimitError
from survey.notify import mail, outbox, webhooks, worker
from survey.notify.messages import Message, send
from survey.problems import lifecycle
from survey.problems.register import TRANSITIONS
from tests.helpers import actor_for, open_page
from tests.hookserver import Hooks, Silent
from tests.mailserver import smtp_server


def a_client(db, name: str, **kwargs):
    """A client with the webhooks scope: its Actor and its id."""
    client_id, token = clients.create_client(
        db, actor_for(db, "admin"), name=name, scopes=["webhooks"], **kwargs
    )
    return clients.authenticate(db, token).actor(), client_id


def escalate(db, n: int) -> list[int]:
    """n escalations (督办) of a problem in progress: one event each, queued for every
    subscription; returns the events' ids."""
    pid = store.scalar(
        db, "SELECT id FROM problems WHERE status = 'in_progress' ORDER BY id LIMIT 1"
    )
    for i in range(n):
        lifecycle.escalate(db, actor_for(db, "supervisor"), pid, f"第 {i + 1} 次督办")
    return [
        r[0]
        for r in db.conn.execute(
            "SELECT id FROM problem_events WHERE problem_id = ? ORDER BY id DESC LIMIT ?", (pid, n)
        )
    ][::-1]


def hook_rows(db, webhook_id: int) -> list[dict]:
    return store.query(
        db,
        "SELECT id, status, attempts, last_error, event_id FROM deliveries"
        " WHERE channel = 'webhook' AND target = ? ORDER BY id",
        (str(webhook_id),),
    )


def wait_until(condition, what: str, limit: float = 120) -> None:
    """Wait for a state (not a speed): `limit` only keeps a broken run from hanging."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.05)


def test_an_urgent_email_leaves_while_a_silent_subscriber_holds_its_deliveries(
    db, demo_db, monkeypatch
):
    # Only the test's release ends an attempt on the silent address, however slow the machine.
    monkeypatch.setattr(webhooks, "READ_TIMEOUT_SECONDS", 600, raising=False)
    silent, live = Silent(), Hooks().start()
    runner = None
    try:
        with smtp_server() as (inbox, port):
            admin, handler = actor_for(db, "admin"), actor_for(db, "handler")
            mail.save(
                db, admin, host="127.0.0.1", port=port, security="none", sender="n@zhy.gov.cn"
            )
            users.set_own_contact(db, handler, "handler@gxj.zj.gov.cn", "")
            stalled, _ = a_client(db, "停摆的系统")
            quiet = [webhooks.subscribe(db, stalled, silent.url, ["*"], TRANSITIONS)[0]]
            quiet += [webhooks.subscribe(db, stalled, silent.url, ["*"], TRANSITIONS)[0]]
            healthy, _ = a_client(db, "省平台")
            hook_id, live.secret = webhooks.subscribe(db, healthy, live.url, ["*"], TRANSITIONS)
            escalate(db, 4)  # 8 deliveries to the silent address, 4 to the live one
            db.execute("DELETE FROM deliveries WHERE channel != 'webhook'")  # the moves' own
            with store.transaction(db):  # queued after every webhook delivery
                send(db, {handler.id}, Message("escalated", "督办", "请立即处理", urgent=True))
            [email] = store.query(db, "SELECT id FROM deliveries WHERE channel = 'email'")

            totals: dict = {}

            def run() -> None:
                with store.opened(demo_db) as conn:
                    totals.update(worker.deliver(conn))

            runner = threading.Thread(target=run, daemon=True)
            runner.start()

            def silent_attempts() -> int:
                return sum(r["attempts"] for w in quiet for r in hook_rows(db, w))

            wait_until(
                lambda: (
                    (inbox.received and len(live.received) == 4 and silent.accepted)
                    or silent_attempts()
                    or not runner.is_alive()
                ),
                "the e-mail, the live subscriber's events and a connection to the silent one",
            )
            # The e-mail and the healthy subscriber's events went while every delivery to the
            # silent address was still in flight: none of its attempts had finished.
            assert [int(m["X-ZHY-Delivery"]) for m in inbox.received] == [email["id"]]
            assert len(live.received) == 4 and live.refused_signatures == 0
            assert silent.accepted >= 1 and silent_attempts() == 0
            assert all(r["status"] == "pending" for w in quiet for r in hook_rows(db, w))
            silent.release()  # the stalled subscriber's connections end
            runner.join(timeout=120)
            assert not runner.is_alive()
        assert totals["sent"] == 5
        assert store.scalar(db, "SELECT status FROM deliveries WHERE id = ?", (email["id"],)) == (
            "sent"
        )
        failed = [r for w in quiet for r in hook_rows(db, w)]
        assert len(failed) == 8
        assert all(r["status"] == "pending" and r["attempts"] == 1 for r in failed)  # retried later
        # One attempt per subscription: after it failed, the rest were not tried in this run.
        skipped = [r for r in failed if r["last_error"].startswith("本轮该订阅已失败一次")]
        assert len(skipped) == 6 and silent.accepted <= 2
        assert {r["status"] for r in hook_rows(db, hook_id)} == {"sent"}
    finally:
        silent.release()
        live.stop()
        if runner is not None:
            runner.join(timeout=120)


def test_a_client_holds_at_most_ten_subscriptions(demo_db):
    with store.opened(demo_db) as db:
        _, token = clients.create_client(
            db, actor_for(db, "admin"), name="订阅很多的系统", scopes=["webhooks"]
        )
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(
        api_module.app, base_url="http://testserver/api/v1", root_path="/api/v1"
    ) as api:
        made = [
            api.post("/webhooks", json={"url": f"http://127.0.0.1:9/h{i}"}, headers=headers)
            for i in range(10)
        ]
        assert [m.status_code for m in made] == [201] * 10
        refused = api.post("/webhooks", json={"url": "http://127.0.0.1:9/h10"}, headers=headers)
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["detail"] == (
            "本客户端已有 10 个事件推送订阅，已达上限；请先取消不再使用的订阅"
            "（DELETE /webhooks/{id}），再新建。"
        )
        assert len(api.get("/webhooks", headers=headers).json()) == 10
        documented = api.get("/openapi.json").json()["paths"]["/webhooks"]["post"]["responses"]
        assert "409" in documented and "10" in documented["409"]["description"]
        assert api.delete(f"/webhooks/{made[0].json()['id']}", headers=headers).status_code == 204
        again = api.post("/webhooks", json={"url": "http://127.0.0.1:9/h11"}, headers=headers)
        assert again.status_code == 201
    with store.opened(demo_db) as db:
        actor = clients.authenticate(db, token).actor()
        with pytest.raises(LimitError):
            webhooks.subscribe(db, actor, "http://127.0.0.1:9/h12", ["*"], TRANSITIONS)
        assert store.scalar(db, "SELECT count(*) FROM webhooks WHERE active = 1") == 10


def test_a_backlogged_subscription_parks_new_events_with_a_record(db, monkeypatch):
    monkeypatch.setattr(webhooks, "MAX_PENDING", 3)
    hooks = Hooks().start()
    try:
        client, _ = a_client(db, "积压的系统")
        slow, hooks.secret = webhooks.subscribe(db, client, hooks.url, ["*"], TRANSITIONS)
        first = escalate(db, 5)
        rows = hook_rows(db, slow)
        assert [r["event_id"] for r in rows] == first
        assert [r["status"] for r in rows] == ["pending"] * 3 + ["parked"] * 2
        for row in rows[3:]:  # parked at once, never attempted, and saying why
            assert row["attempts"] == 0
            assert row["last_error"] == (
                "订阅方已有 3 条待送达，超过上限：本事件未排队，管理员可在通知记录中重新发送"
            )
        other_client, _ = a_client(db, "另一个系统")
        other, _ = webhooks.subscribe(db, other_client, "http://127.0.0.1:9/o", ["*"], TRANSITIONS)
        escalate(db, 1)
        assert [r["status"] for r in hook_rows(db, other)] == ["pending"]  # its own count
        assert hook_rows(db, slow)[-1]["status"] == "parked"
        db.execute("DELETE FROM deliveries WHERE target = ?", (str(other),))
        assert worker.deliver(db)["sent"] == 3  # the backlog drains...
        escalate(db, 1)
        assert hook_rows(db, slow)[-1]["status"] == "pending"  # ...and new events queue again
        assert len(hooks.received) == 3
        assert {r["event"] for r in hooks.received} == set(first[:3])
    finally:
        hooks.stop()


def test_a_stopped_clients_queued_deliveries_are_parked_not_sent(db):
    hooks = Hooks().start()
    try:
        admin = actor_for(db, "admin")
        client, client_id = a_client(db, "将停用的系统")
        hook_id, hooks.secret = webhooks.subscribe(db, client, hooks.url, ["*"], TRANSITIONS)
        escalate(db, 3)
        in_flight = outbox.claim(db, "another-worker", limit=1)  # one being sent right now
        assert [d.channel for d in in_flight] == ["webhook"]
        clients.revoke(db, admin, client_id)
        worker.deliver(db)
        assert hooks.received == []
        # The worker sending the one in flight fails; the stopped client's delivery stays parked.
        assert outbox.finish(db, in_flight[0], "another-worker", "订阅地址超时") == "parked"
        db.execute("UPDATE deliveries SET next_at = created_at, lease_until = NULL")
        worker.deliver(db)  # a later run, when the retries would have been due
        assert hooks.received == []
        rows = hook_rows(db, hook_id)
        assert len(rows) == 3 and {r["status"] for r in rows} == {"parked"}
        assert {r["last_error"] for r in rows[1:]} == {"客户端已停用：未发送"}
        assert all(r["attempts"] == 0 for r in rows[1:])
        assert webhooks.all_subscriptions(db, admin)[0]["active"] == 0
        outbox.retry(db, admin, rows[1]["id"])  # an admin's retry does not send it either
        worker.deliver(db)
        assert hooks.received == []
        assert hook_rows(db, hook_id)[1]["status"] == "parked"
        escalate(db, 1)  # nothing new is queued for it
        assert len(hook_rows(db, hook_id)) == 3
    finally:
        hooks.stop()


def test_a_cancelled_subscriptions_queued_deliveries_are_parked_not_sent(db):
    hooks = Hooks().start()
    try:
        client, _ = a_client(db, "取消订阅的系统")
        hook_id, hooks.secret = webhooks.subscribe(db, client, hooks.url, ["*"], TRANSITIONS)
        escalate(db, 2)
        webhooks.unsubscribe(db, client, hook_id)
        worker.deliver(db)
        assert hooks.received == []
        rows = hook_rows(db, hook_id)
        assert [(r["status"], r["attempts"]) for r in rows] == [("parked", 0)] * 2
        assert {r["last_error"] for r in rows} == {"订阅已取消：未发送"}
    finally:
        hooks.stop()


def test_the_admin_page_stops_a_client_and_says_its_queue_is_parked(demo_db):
    with store.opened(demo_db) as db:
        client, client_id = a_client(db, "页面停用的系统")
        hook_id, _ = webhooks.subscribe(db, client, "http://127.0.0.1:9/h", ["*"], TRANSITIONS)
        escalate(db, 2)
    at = open_page(demo_db, "admin", "pages/api_clients_page.py")
    at.selectbox[-1].select(client_id).run()
    next(b for b in at.button if b.label == "停用").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [
        "已停用：令牌不再有效，事件推送订阅已取消，待推送的事件已搁置、不再发送。"
    ]
    with store.opened(demo_db) as db:
        assert {r["status"] for r in hook_rows(db, hook_id)} == {"parked"}
