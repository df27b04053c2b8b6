"""Group robots (WeCom, DingTalk) and SMS through an HTTP gateway, against a local server that keeps
the services' contracts (tests/robotserver.py): markdown shapes, DingTalk's signature and timestamp
window, their error codes, rate limits and 5xx; the 20-a-minute limit kept by batching; quiet
hours; users who want urgent messages only; settings refused with the field named."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest

from survey import clock, outbound
from survey import db as store
from survey.access import users
from survey.errors import PermissionDeniedError, ValidationError
from survey.notify import config, mail, messages, outbox, robots, routing, sms, worker
from survey.outbound import connect_failed
from survey.problems import lifecycle
from tests.browser import free_port
from tests.helpers import actor_for, new_problems, open_page
from tests.robotserver import robot_server

SECRET = "SEC0123456789abcdef0123456789abcdef"


@pytest.fixture
def server():
    with robot_server() as robots_server:
        yield robots_server


def add_robot(db, server, platform: str, audience: str, key: str, secret: str = "") -> int:
    if platform == "wecom":
        server.wecom_keys.add(key)
    else:
        server.dingtalk[key] = secret
    return robots.save_robot(
        db,
        actor_for(db, "admin"),
        name=f"{audience} 群",
        platform=platform,
        audience=audience,
        url=server.url(platform, key),
        secret=secret,
    )


def tell_gxj(db, n: int) -> None:
    """n messages to the GXJ handlers and their group (as n assignments would send)."""
    handlers = routing.handlers_of(db, ["GXJ"])
    with store.transaction(db):
        for i in range(n):
            body = f"问题 #{i} · 测试企业{i} · 用地 · 办理时限 2026-12-31"
            messages.send(
                db, handlers, messages.Message("assigned", "新交办问题", body, audience=("GXJ",))
            )


def deliveries(db) -> list[dict]:
    return store.query(db, "SELECT * FROM deliveries ORDER BY id")


def test_department_and_supervisor_robots_post_markdown(db, server):
    add_robot(db, server, "wecom", "GXJ", "gxj-key")
    add_robot(db, server, "dingtalk", robots.SUPERVISORS, "sup-token", SECRET)
    add_robot(db, server, "wecom", "JRB", "jrb-key")
    config.save(db, actor_for(db, "admin"), digest_time="08:30", base_url="https://zhy.zj.gov.cn")
    supervisor, handler = actor_for(db, "supervisor"), actor_for(db, "handler")
    [pid] = new_problems(db)
    lifecycle.assign(db, supervisor, pid, "GXJ", "short")
    lifecycle.accept(db, handler, pid)
    lifecycle.return_problem(db, handler, pid, "不属于本部门职责")
    assert worker.deliver(db) == {"sent": 2, "pending": 0, "parked": 0, "held": 0}
    wecom, dingtalk = server.posts
    assert wecom["robot"] == "gxj-key" and "### 【镇合意】新交办问题" in wecom["text"]
    assert f"问题 #{pid}" in wecom["text"]
    assert f"[查看详情](https://zhy.zj.gov.cn/problems?id={pid})" in wecom["text"]
    assert dingtalk["robot"] == "sup-token" and dingtalk["title"] == "【镇合意】问题被退回"
    assert "不属于本部门职责" in dingtalk["text"]  # signed, inside the timestamp window
    admin = actor_for(db, "admin")
    shown = {r["target"] for r in outbox.list_deliveries(db, admin)}
    assert shown == {"GXJ 群", "supervisors 群"}  # robots by name, not by id
    assert worker.deliver(db)["sent"] == 0  # each once


def test_a_wrong_signature_or_a_stale_timestamp_is_refused(db, server):
    robot_id = add_robot(db, server, "dingtalk", robots.SUPERVISORS, "tok", SECRET)
    robot = robots.load(db, robot_id)
    stale = int((time.time() - 2 * 3600) * 1000)  # the signature uses the epoch, not local time
    request_url = robots.post_url(robot, stale)
    with pytest.raises(robots.RobotError, match="310000"):
        unsigned = robots.Robot(**{**robot.__dict__, "url": request_url, "secret": ""})
        robots.post(unsigned, "t", "x", outbound.Guard.of(db))
    server.dingtalk["tok"] = "SECother"  # the robot's secret was changed in DingTalk
    with pytest.raises(ValidationError, match="sign not match"):
        robots.send_test(db, actor_for(db, "admin"), robot_id)
    server.dingtalk["tok"] = SECRET
    assert robots.send_test(db, actor_for(db, "admin"), robot_id) == "已发送。"
    assert server.posts[-1]["title"] == "【镇合意】测试消息"


def test_twenty_posts_a_minute_then_batches_then_waits(db, server):
    add_robot(db, server, "wecom", "GXJ", "gxj-key")
    tell_gxj(db, 45)
    counts = worker.deliver(db)
    assert counts == {"sent": 45, "pending": 0, "parked": 0, "held": 0}
    assert len(server.posts) <= robots.PER_MINUTE  # 45 messages, batched into 15 posts
    batched = [p for p in server.posts if "条通知" in p["text"]]
    assert batched and all(len(p["text"].encode()) <= robots.MAX_BYTES for p in server.posts)
    carried = sum(p["text"].count("**新交办问题**") for p in batched)
    assert carried + len(server.posts) - len(batched) == 45  # every message in some post
    tell_gxj(db, 10)
    assert worker.deliver(db)["sent"] == 10  # the minute's last 5 posts carry the 10
    assert len(server.posts) == robots.PER_MINUTE
    tell_gxj(db, 3)
    assert worker.deliver(db) == {"sent": 0, "pending": 0, "parked": 0, "held": 3}
    waiting = [d for d in deliveries(db) if d["status"] == "pending"]
    assert len(waiting) == 3 and all(d["attempts"] == 0 for d in waiting)
    assert all("每分钟最多 20 条" in d["last_error"] for d in waiting)
    assert all(d["next_at"] > clock.now_iso() for d in waiting)  # when the minute frees up
    assert len(server.posts) == robots.PER_MINUTE  # the service never saw a 21st


def test_the_services_rate_limit_answer_holds_without_an_attempt(db, server):
    add_robot(db, server, "wecom", "GXJ", "gxj-key")
    server.per_minute = 2  # the service counts posts from elsewhere too
    supervisor = actor_for(db, "supervisor")
    for pid in new_problems(db, 3):
        lifecycle.assign(db, supervisor, pid, "GXJ", "short")
    assert worker.deliver(db) == {"sent": 2, "pending": 0, "parked": 0, "held": 1}
    [held] = [d for d in deliveries(db) if d["status"] == "pending"]
    assert held["attempts"] == 0 and "45009" in held["last_error"]


def test_5xx_retries_with_backoff_then_parks(db, server):
    add_robot(db, server, "dingtalk", "GXJ", "gxj-token")
    [pid] = new_problems(db)
    lifecycle.assign(db, actor_for(db, "supervisor"), pid, "GXJ", "short")
    server.failing = outbox.MAX_ATTEMPTS
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        counts = worker.deliver(db)
        [row] = deliveries(db)
        assert row["attempts"] == attempt and "502" in row["last_error"]
        wait = (datetime.fromisoformat(row["next_at"]) - clock.now()).total_seconds()
        assert wait >= outbox.FIRST_RETRY_SECONDS * 2 ** (attempt - 1) - 5
        db.execute("UPDATE deliveries SET next_at = ?", (clock.now_iso(),))
        db.execute("DELETE FROM robot_posts")  # a minute passes too
    assert counts["parked"] == 1 and row["status"] == "parked"
    outbox.retry(db, actor_for(db, "admin"), row["id"])
    assert worker.deliver(db)["sent"] == 1 and len(server.posts) == 1


def configure_sms(db, server, **changes) -> None:
    values = {
        "enabled": True,
        "url": f"http://127.0.0.1:{server.port}/sms",
        "method": "POST",
        "format": "json",
        "headers": "Authorization: Bearer ${secret}",
        "template": '{"phone": "${mobile}", "content": "${text}", "sign": "镇合意"}',
        "secret": "gw-token",
        "success": '"code": 0',
    }
    sms.save(db, actor_for(db, "admin"), **(values | changes))


def test_sms_goes_through_the_gateway_with_no_personal_data(db, server):
    configure_sms(db, server)
    handler = actor_for(db, "handler")
    users.set_own_contact(db, handler, "", "13912345678")
    [pid] = new_problems(db)
    lifecycle.assign(db, actor_for(db, "supervisor"), pid, "GXJ", "short")
    lifecycle.escalate(db, actor_for(db, "supervisor"), pid, "请张三科长本周内回复")
    assert worker.deliver(db)["sent"] == 2
    first, second = server.sms
    assert first["headers"]["Authorization"] == "Bearer gw-token"
    sent = json.loads(first["body"])
    assert sent["phone"] == "13912345678" and sent["sign"] == "镇合意"
    assert sent["content"].startswith("【镇合意】新交办问题：问题 #")
    company = store.scalar(
        db,
        "SELECT c.name FROM problems p JOIN companies c ON c.id = p.company_id WHERE p.id = ?",
        (pid,),
    )
    assert company in sent["content"]
    escalated = json.loads(second["body"])["content"]
    assert escalated.startswith("【镇合意】督办") and "张三" not in escalated  # no note, no names
    assert "交办" not in sent["content"].split("：", 1)[1]  # the assignment note stays in the app


def test_sms_failures_and_the_gateways_reply(db, server):
    configure_sms(
        db,
        server,
        method="GET",
        format="form",
        template="to=${mobile}&msg=${text}",
        code_field="code",
        message_field="msg",
    )
    admin = actor_for(db, "admin")
    with pytest.raises(ValidationError) as refused:
        sms.send_test(db, admin)
    assert refused.value.field == "phone"
    users.set_own_contact(db, admin, "", "13800001111")
    assert sms.send_test(db, admin) == "已发送。"
    assert server.sms[-1]["method"] == "GET" and "to=13800001111" in server.sms[-1]["query"]
    assert "msg=【镇合意】测试短信" in server.sms[-1]["query"]
    server.sms_reply = '{"code": 17, "msg": "余额不足"}'
    with pytest.raises(ValidationError, match="17 余额不足"):
        sms.send_test(db, admin)  # 200, but no success flag: the gateway's code and message
    server.failing = 1
    with pytest.raises(ValidationError, match="503"):
        sms.send_test(db, admin)


def test_users_who_want_urgent_messages_only(db, server):
    configure_sms(db, server)
    handler = actor_for(db, "handler")
    users.set_own_contact(db, handler, "", "13912345678", urgent_only=True)
    assert users.own_contact(db, handler)["urgent_only"] == 1
    [pid] = new_problems(db)
    lifecycle.assign(db, actor_for(db, "supervisor"), pid, "GXJ", "short")
    assert [d["channel"] for d in deliveries(db)] == []  # the app has it; no SMS for this
    lifecycle.escalate(db, actor_for(db, "supervisor"), pid, "请尽快办理")
    assert [d["channel"] for d in deliveries(db)] == ["sms"]  # 督办 is urgent


@pytest.mark.parametrize(
    ("now", "kind", "urgent", "until"),
    [
        ("2026-11-27 22:30", "assigned", False, "2026-11-28 08:00"),
        ("2026-11-28 07:59", "assigned", False, "2026-11-28 08:00"),
        ("2026-11-28 08:00", "assigned", False, None),
        ("2026-11-27 20:59", "assigned", False, None),
        ("2026-11-27 22:30", "overdue", False, "2026-11-28 08:00"),
        ("2026-11-27 22:30", "overdue", True, None),
        ("2026-11-27 22:30", "escalated", True, None),
        ("2026-11-27 22:30", "reopened", True, "2026-11-28 08:00"),
    ],
)
def test_quiet_hours_across_midnight(now, kind, urgent, until):
    settings = {
        "quiet_start": "21:00",
        "quiet_end": "08:00",
        "quiet_urgent": "1" if urgent else "0",
    }
    held = config.quiet_until(settings, datetime.fromisoformat(now), kind)
    assert held == (datetime.fromisoformat(until) if until else None)
    daytime = settings | {"quiet_start": "12:00", "quiet_end": "13:30", "quiet_urgent": "0"}
    assert config.quiet_until(daytime, datetime(2026, 11, 27, 12, 15), kind) == datetime(
        2026, 11, 27, 13, 30
    )


def test_quiet_hours_hold_robots_and_sms_but_not_mail(db, server, monkeypatch):
    add_robot(db, server, "wecom", "GXJ", "gxj-key")
    configure_sms(db, server)
    users.set_own_contact(db, actor_for(db, "handler"), "", "13912345678")
    admin = actor_for(db, "admin")
    config.save(db, admin, digest_time="08:30", base_url="", quiet_start="21:00", quiet_end="08:00")
    [pid] = new_problems(db)
    lifecycle.assign(db, actor_for(db, "supervisor"), pid, "GXJ", "short")
    night = (clock.now() + timedelta(days=1)).replace(hour=22, minute=30)
    monkeypatch.setattr(clock, "now", lambda: night)
    assert worker.deliver(db) == {"sent": 0, "pending": 0, "parked": 0, "held": 2}
    assert all(d["next_at"].endswith("08:00:00") for d in deliveries(db))
    assert all("免打扰" in d["last_error"] for d in deliveries(db))
    lifecycle.escalate(db, actor_for(db, "supervisor"), pid, "请尽快办理")
    assert worker.deliver(db)["held"] == 2  # 督办 waits too, unless the admin lets it through
    config.save(
        db,
        admin,
        digest_time="08:30",
        base_url="",
        quiet_start="21:00",
        quiet_end="08:00",
        quiet_urgent=True,
    )
    db.execute("UPDATE deliveries SET next_at = ?", (clock.iso(night),))
    assert worker.deliver(db) == {"sent": 2, "pending": 0, "parked": 0, "held": 2}
    assert [p for p in server.posts if "督办" in p["text"]] and len(server.sms) == 1
    monkeypatch.setattr(clock, "now", lambda: night.replace(hour=8) + timedelta(days=1))
    assert worker.deliver(db)["sent"] == 2  # the morning brings the rest


def test_robot_settings_are_checked_and_secrets_never_shown(db, server):
    admin = actor_for(db, "admin")
    good = {"name": "工信局群", "platform": "wecom", "audience": "GXJ"}
    for changes, field in (
        ({"url": "qyapi.weixin.qq.com/cgi-bin/webhook/send?key=1"}, "url"),
        ({"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"}, "url"),  # no key
        ({"platform": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?key=1"}, "url"),
        ({"name": " ", "url": server.url("wecom", "k")}, "name"),
        ({"audience": "NOPE", "url": server.url("wecom", "k")}, "audience"),
        ({"platform": "feishu", "url": server.url("wecom", "k")}, "platform"),
        ({"platform": "dingtalk", "url": server.url("dingtalk", "k"), "secret": "SEC 1"}, "secret"),
    ):
        with pytest.raises(ValidationError) as refused:
            robots.save_robot(db, admin, **(good | changes))
        assert refused.value.field == field
    assert robots.list_robots(db, admin) == []  # nothing half-saved
    key = "a1b2c3d4-e5f6-4711-9999-0123456789ab"
    robot_id = robots.save_robot(db, admin, **good, url=server.url("wecom", key))
    with pytest.raises(ValidationError) as refused:
        robots.save_robot(db, admin, **good, url=server.url("wecom", key))
    assert refused.value.field == "url"  # the same group twice
    [shown] = robots.list_robots(db, admin)
    assert key not in shown["url"] and shown["url"].endswith("key=••••89ab")
    robots.save_robot(db, admin, robot_id=robot_id, **(good | {"name": "工信局工作群"}), url=None)
    assert robots.load(db, robot_id).url.endswith(key)  # an empty address keeps the saved one
    audited = repr(
        store.query(db, "SELECT before, after FROM audit_log WHERE table_name = 'robots'")
    )
    assert key not in audited and "工信局工作群" in audited
    with pytest.raises(PermissionDeniedError):
        robots.list_robots(db, actor_for(db, "supervisor"))


def test_sms_settings_name_the_field_and_save_nothing_when_wrong(db, server):
    admin = actor_for(db, "admin")
    url = f"http://127.0.0.1:{server.port}/sms"
    good = {
        "enabled": True,
        "url": url,
        "method": "POST",
        "format": "json",
        "headers": "",
        "template": '{"m": "${mobile}", "t": "${text}"}',
        "secret": None,
        "success": "",
    }
    for changes, field, words in (
        ({"template": '{"m": "${mobile}", "t": "${content}"}'}, "sms_template", "${content} 未知"),
        ({"template": '{"m": "${mobile}", "t": ${text}}'}, "sms_template", "不是有效的 JSON"),
        ({"template": '{"m": "${mobile}"}'}, "sms_template", "${text}"),
        ({"template": '{"m": "${mobile}", "t": "${text}", "p": "$5"}'}, "sms_template", "$$"),
        ({"url": "sms.example.gov.cn/send"}, "sms_url", "http://"),
        ({"headers": "Authorization Bearer ${secret}"}, "sms_headers", "第 1 行"),
        ({"headers": "X-Key: ${token}"}, "sms_headers", "${token} 未知"),
        ({"method": "GET"}, "sms_format", "表单"),
    ):
        with pytest.raises(ValidationError) as refused:
            sms.save(db, admin, **(good | changes))
        assert refused.value.field == field and words in str(refused.value)
        assert sms.load(db).url == ""  # nothing half-saved
    assert sms.load(db).enabled is False  # off by default
    sms.save(db, admin, **(good | {"secret": "tok-123"}))
    sms.save(db, admin, **good)  # secret None keeps it
    assert sms.load(db).secret == "tok-123"
    audited = repr(store.query(db, "SELECT after FROM audit_log WHERE row_id = 'sms_secret'"))
    assert "tok-123" not in audited


def test_the_settings_page_adds_a_robot_tests_it_and_refuses_a_bad_template(demo_db, server):
    server.wecom_keys.add("page-key-12345678")
    at = open_page(demo_db, "admin", "pages/notify_settings_page.py")
    assert at.title[0].value == "通知设置"
    field = {t.label: t for t in at.text_input}
    field["名称"].input("工信局工作群")
    field["Webhook 地址"].input("https://qyapi.weixin.qq.com/cgi-bin/webhook/send")
    at.button(key="FormSubmitter:robot_0_None-保存机器人").click().run()
    assert "Webhook 地址格式不正确" in at.error[0].value
    field = {t.label: t for t in at.text_input}
    field["Webhook 地址"].input(server.url("wecom", "page-key-12345678"))
    at.button(key="FormSubmitter:robot_0_None-保存机器人").click().run()
    assert at.success[0].value == "已保存。"  # at once: no reload (issue 28, item 4)
    assert all(
        not t.value
        for t in at.text_input
        if t.label in ("名称", "加签密钥（钉钉，SEC 开头，可留空）")
    )
    assert at.button(key="FormSubmitter:robot_1_None-保存机器人")  # a fresh, empty form
    shown = at.dataframe[0].value
    assert list(shown["Webhook"]) == [
        f"http://127.0.0.1:{server.port}/cgi-bin/webhook/send?key=••••5678"
    ]
    at.selectbox(key="robot_choice").select_index(1).run()
    at.button(key="test_robot").click().run()
    assert at.success[0].value == "已发送。"
    assert server.posts and "测试消息" in server.posts[0]["text"]
    areas = {t.label: t for t in at.text_area}
    areas["请求体模板"].input('{"to": "${phone}", "text": "${text}"}')
    field = {t.label: t for t in at.text_input}
    field["网关地址"].input(f"http://127.0.0.1:{server.port}/sms")
    at.button(key="FormSubmitter:sms_settings_0-保存短信设置").click().run()
    assert "phone" in at.error[0].value and "未知" in at.error[0].value  # (markdown-escaped)
    with store.opened(demo_db) as db:
        assert sms.load(db).url == ""  # nothing saved


def test_an_unreachable_server_is_named_in_chinese(db, server):
    admin = actor_for(db, "admin")
    users.set_own_contact(db, admin, "admin@zj.gov.cn", "13800001111")
    closed = free_port()  # nothing listens there
    mail.save(db, admin, host="127.0.0.1", port=closed, security="none", sender="n@zhy.gov.cn")
    with pytest.raises(ValidationError) as refused:
        mail.send_test(db, admin)
    assert connect_failed(f"SMTP 服务器 127.0.0.1:{closed}") in str(refused.value)
    server.wecom_keys.add("k")
    robot_id = robots.save_robot(
        db,
        admin,
        name="群",
        platform="wecom",
        audience="GXJ",
        url=f"http://127.0.0.1:{closed}/cgi-bin/webhook/send?key=k",
    )
    with pytest.raises(ValidationError, match=connect_failed("机器人地址")):
        robots.send_test(db, admin, robot_id)
    configure_sms(db, server, url=f"http://127.0.0.1:{closed}/sms")
    with pytest.raises(ValidationError, match=connect_failed("短信网关")):
        sms.send_test(db, admin)
