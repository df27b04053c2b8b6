"""The one outbound door (survey/outbound.py) for robots, the SMS gateway, webhooks and SMTP:
internal addresses in every written form are refused before any socket opens, unless an admin
lists them; the checked address is the one connected to (no second lookup); redirects are not
followed; test buttons say what happened without quoting an unknown answer; a changed host clears
the stored secret; an answer that is not HTTP fails one delivery, never the run. Every server here
listens on loopback; nothing else is ever connected to."""

from __future__ import annotations

import contextlib
import socket

import pytest

from survey import db as store
from survey import outbound
from survey.access import users
from survey.errors import ValidationError
from survey.notify import mail, messages, robots, routing, sms, worker
from tests.browser import free_port
from tests.helpers import actor_for, open_page
from tests.mailserver import smtp_server
from tests.robotserver import garbage_server, robot_server

# Every way of writing an address the rule refuses: loopback in its numeric disguises, the cloud
# metadata address, private, unique-local, link-local, multicast, CGNAT, 6to4 of loopback...
INTERNAL = [
    "http://127.0.0.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://localhost/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[ff02::1]/",
    "http://[2002:7f00:1::]/",
    "https://192.168.1.1:8443/x?key=1",
]
NOT_HTTP = ["ftp://192.0.2.1/x", "file:///etc/passwd", "gopher://127.0.0.1:25/", "//127.0.0.1/"]


@pytest.fixture
def server():
    with robot_server() as robots_server:
        yield robots_server


@pytest.fixture
def no_connect(monkeypatch):
    """Every TCP connection attempted in the test, refused here before it leaves."""
    attempts: list = []

    def refuse(sock, address):
        attempts.append(address)
        raise ConnectionRefusedError("blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def allow(db, text: str) -> None:
    outbound.save_allow_list(db, actor_for(db, "admin"), text)


def refusals(db) -> list[dict]:
    return store.query(
        db,
        "SELECT actor_name, row_id, after FROM audit_log WHERE table_name = 'outbound' ORDER BY id",
    )


def test_every_internal_address_form_is_refused_before_a_socket_opens(db, no_connect):
    allow(db, "")
    guard = outbound.Guard.of(db, actor_for(db, "admin"))
    for url in INTERNAL:
        with pytest.raises(outbound.RefusedError, match="已拒绝（地址不允许）") as refused:
            guard.request("POST", url, where="测试地址", connect_timeout=1, read_timeout=1)
        assert refused.value.kind, url
    for url in NOT_HTTP:
        with pytest.raises(outbound.RefusedError, match="http:// 或 https://"):
            guard.request("GET", url, where="测试地址", connect_timeout=1, read_timeout=1)
    for port in (25, 587):  # SMTP goes through the same rule
        with pytest.raises(outbound.RefusedError):
            guard.resolve("127.0.0.1", port, "SMTP 服务器")
    assert no_connect == []
    assert len(refusals(db)) == len(INTERNAL) + 2  # each refusal audited, with what it resolved to
    assert {r["actor_name"] for r in refusals(db)} == {"admin"}
    assert '"address": "127.0.0.1"' in refusals(db)[1]["after"]  # 2130706433 resolved once


def test_admins_and_api_clients_cannot_save_an_internal_address(db, demo_db, no_connect):
    from fastapi.testclient import TestClient

    from api import app as api_module
    from survey.access import clients

    allow(db, "")
    admin = actor_for(db, "admin")
    for url in ("http://2130706433/cgi-bin/webhook/send?key=k", "http://[::1]:80/send?key=k"):
        with pytest.raises(ValidationError, match="已拒绝（地址不允许）") as refused:
            robots.save_robot(
                db, admin, name="群", platform="wecom", audience="GXJ", url=url, secret=None
            )
        assert refused.value.field == "url"
    assert robots.list_robots(db, admin) == []
    with pytest.raises(ValidationError, match="已拒绝（地址不允许）") as refused:
        sms.save(
            db,
            admin,
            enabled=True,
            url="http://169.254.169.254/sms",
            method="POST",
            format="json",
            headers="",
            template='{"m": "${mobile}", "t": "${text}"}',
            secret=None,
            success="",
        )
    assert refused.value.field == "sms_url" and sms.load(db).url == ""
    _, token = clients.create_client(db, admin, name="省平台", scopes=["webhooks"])
    with TestClient(
        api_module.app, base_url="http://testserver/api/v1", root_path="/api/v1"
    ) as api:
        for url in ("http://0x7f000001:8080/hook", "http://localhost/hook", "ftp://x.example/"):
            made = api.post(
                "/webhooks", json={"url": url}, headers={"Authorization": f"Bearer {token}"}
            )
            assert made.status_code == 422 and made.json()["field"] == "url", url
            assert "127.0.0.1" not in made.text  # a client learns nothing of what it resolved to
    assert store.scalar(db, "SELECT count(*) FROM webhooks") == 0
    assert no_connect == []
    assert [r["actor_name"] for r in refusals(db)][-2:] == ["api:省平台", "api:省平台"]


def test_a_loopback_service_works_only_once_listed(db, server):
    admin = actor_for(db, "admin")
    server.wecom_keys.add("k-1")
    robot_id = robots.save_robot(
        db, admin, name="群", platform="wecom", audience="GXJ", url=server.url("wecom", "k-1")
    )  # allowed by the fixture's list
    allow(db, "10.20.0.0/16  # 短信平台")
    with pytest.raises(ValidationError, match="已拒绝（地址不允许）.*本机回环地址"):
        robots.send_test(db, admin, robot_id)
    assert server.hits == []  # refused before any connection
    with pytest.raises(ValidationError) as refused:
        allow(db, "10.20.0.0/16\n127.0.0.1/8")  # host bits set: not a network
    assert refused.value.field == outbound.ALLOW_SETTING and "第 2 行" in str(refused.value)
    with pytest.raises(ValidationError, match="范围过大"):
        allow(db, "0.0.0.0/0")
    assert outbound.allow_list_text(db) == "10.20.0.0/16  # 短信平台"  # nothing half-saved
    allow(db, "127.0.0.0/8")
    assert robots.send_test(db, admin, robot_id) == "已发送。"
    assert len(server.posts) == 1
    changes = store.query(
        db,
        "SELECT actor_name, before, after FROM audit_log WHERE row_id = ? ORDER BY id",
        (outbound.ALLOW_SETTING,),
    )
    assert [c["actor_name"] for c in changes][-2:] == ["admin", "admin"]
    assert "127.0.0.0/8" in changes[-1]["after"]


def test_the_settings_page_keeps_the_allow_list(demo_db):
    at = open_page(demo_db, "admin", "pages/notify_settings_page.py")
    area = at.text_area(key="outbound_allow")
    area.input("127.0.0.1\n10.20.1.5 # 短信平台\nnot-an-address")
    at.button(key="FormSubmitter:outbound_allow_form_0-保存白名单").click().run()
    assert "第 3 行" in at.error[0].value
    at.text_area(key="outbound_allow").input("127.0.0.1\n10.20.1.5 # 短信平台")
    at.button(key="FormSubmitter:outbound_allow_form_0-保存白名单").click().run()
    assert at.success[0].value == "已保存。"
    with store.opened(demo_db) as db:
        assert outbound.allow_list_text(db) == "127.0.0.1\n10.20.1.5 # 短信平台"


def test_a_redirect_is_not_followed(db, server):
    admin = actor_for(db, "admin")
    server.wecom_keys.add("k-2")
    with robot_server() as elsewhere:
        server.redirect = elsewhere.url("wecom", "k-2")
        robot_id = robots.save_robot(
            db, admin, name="群", platform="wecom", audience="GXJ", url=server.url("wecom", "k-2")
        )
        with pytest.raises(ValidationError, match="HTTP 302 重定向"):
            robots.send_test(db, admin, robot_id)
        assert len(server.hits) == 1 and elsewhere.hits == []


def test_the_checked_address_is_the_one_connected_to(db, server, monkeypatch):
    """DNS rebinding: a name that resolves to an allowed address when checked and to another one
    a moment later. The connection goes to the checked address; the name is looked up once."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host != "robots.rebind.test":
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "127.0.0.9"  # nothing listens there
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    allow(db, "127.0.0.1")
    server.wecom_keys.add("k-3")
    url = f"http://robots.rebind.test:{server.port}/cgi-bin/webhook/send?key=k-3"
    robot = robots.Robot(1, "群", "wecom", "GXJ", url, "", 1)
    robots.post(robot, "t", "x", outbound.Guard.of(db))
    assert lookups == ["robots.rebind.test"]
    assert server.hits[-1]["host"] == f"robots.rebind.test:{server.port}"  # the name, as written
    assert len(server.posts) == 1


def test_test_buttons_say_what_happened_and_never_show_an_unknown_answer(db, server):
    admin = actor_for(db, "admin")
    users.set_own_contact(db, admin, "admin@zj.gov.cn", "13800001111")
    robot_id = robots.save_robot(
        db, admin, name="群", platform="wecom", audience="GXJ", url=server.url("wecom", "nokey")
    )
    with pytest.raises(ValidationError) as refused:
        robots.send_test(db, admin, robot_id)
    assert "93000" in str(refused.value) and "invalid webhook url" in str(refused.value)
    server.raw = (200, "<html>内部管理后台 root:x:0:0</html>")
    with pytest.raises(ValidationError) as refused:
        robots.send_test(db, admin, robot_id)
    assert "无法识别" in str(refused.value) and "内部管理后台" not in str(refused.value)
    server.raw = (500, '{"detail": "Traceback: 内部错误"}')
    with pytest.raises(ValidationError) as refused:
        robots.send_test(db, admin, robot_id)
    assert "HTTP 500" in str(refused.value) and "内部错误" not in str(refused.value)
    server.raw = None
    settings = {
        "enabled": True,
        "url": f"http://127.0.0.1:{server.port}/sms",
        "method": "POST",
        "format": "json",
        "headers": "",
        "template": '{"to": "${mobile}", "text": "${text}"}',
        "secret": None,
        "success": '"code": 0',
    }
    sms.save(db, admin, **settings)
    assert sms.send_test(db, admin) == "已发送。"
    server.sms_reply = '{"code": 17, "msg": "余额不足", "debug": "内部账号 zhy01"}'
    with pytest.raises(ValidationError) as refused:
        sms.send_test(db, admin)  # the gateway's fields are not configured: no body
    assert "没有成功标志" in str(refused.value) and "内部账号" not in str(refused.value)
    sms.save(db, admin, **settings, code_field="code", message_field="msg")
    with pytest.raises(ValidationError) as refused:
        sms.send_test(db, admin)
    assert "17" in str(refused.value) and "余额不足" in str(refused.value)
    assert "内部账号" not in str(refused.value)
    server.raw = (200, "secret page")
    with pytest.raises(ValidationError) as refused:
        sms.send_test(db, admin)
    assert "secret page" not in str(refused.value)


def test_refused_timed_out_and_closed_ports_read_the_same(db):
    guard = outbound.Guard.of(db)
    texts = set()
    closed = free_port()
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never answers
    with silent, garbage_server(b"") as hangs_up, garbage_server() as babbles:
        for port in (closed, silent.getsockname()[1], hangs_up, babbles):
            with pytest.raises(outbound.OutboundError) as failed:
                guard.request(
                    "POST",
                    f"http://127.0.0.1:{port}/send",
                    where="机器人地址",
                    body=b"{}",
                    connect_timeout=1,
                    read_timeout=0.5,
                )
            texts.add(str(failed.value))
    assert texts == {outbound.connect_failed("机器人地址")}


# -- item 7: a changed host clears the stored secret -----------------------------------------


def test_a_changed_smtp_host_clears_the_password(db):
    admin = actor_for(db, "admin")
    users.set_own_contact(db, admin, "admin@zj.gov.cn", "")
    allow(db, "127.0.0.1\n127.0.0.2")
    with smtp_server("127.0.0.1") as (first, port), smtp_server("127.0.0.2", port) as (second, _):
        server = {"port": port, "security": "none", "username": "zhy", "sender": "n@zj.gov.cn"}
        assert mail.save(db, admin, host="127.0.0.1", **server, password="s3cret") is None
        mail.send_test(db, admin)
        assert first.logins == [("zhy", "s3cret")]
        note = mail.save(db, admin, host="127.0.0.2", **server)  # the password left empty
        with contextlib.suppress(ValidationError):
            mail.send_test(db, admin)
        assert second.logins == [] and second.received == []  # the old password never went there
        assert note and "重新填写登录密码" in note
        assert mail.load(db).password == ""
        with pytest.raises(ValidationError) as refused:
            mail.send_test(db, admin)
        assert refused.value.field == "smtp_password"
        mail.save(db, admin, host="127.0.0.2", **server, password="n3w")
        mail.send_test(db, admin)
        assert second.logins == [("zhy", "n3w")]
        for change in ({"port": port + 1}, {"username": "zhy2"}):  # the port or the account too
            mail.save(db, admin, host="127.0.0.2", **server, password="n3w")
            assert mail.save(db, admin, **({"host": "127.0.0.2"} | server | change))
            assert mail.load(db).password == ""
        mail.save(db, admin, host="127.0.0.2", **server, password="n3w")
        assert (
            mail.save(db, admin, host="127.0.0.2", **(server | {"sender": "b@zj.gov.cn"})) is None
        )
        assert mail.load(db).password == "n3w"  # the same server keeps it
    audited = repr(store.query(db, "SELECT after FROM audit_log WHERE row_id = 'smtp_password'"))
    assert "s3cret" not in audited and "n3w" not in audited


def test_a_changed_sms_gateway_clears_the_secret(db, server):
    admin = actor_for(db, "admin")
    users.set_own_contact(db, admin, "", "13800001111")
    values = {
        "enabled": True,
        "url": f"http://127.0.0.1:{server.port}/sms",
        "method": "POST",
        "format": "json",
        "headers": "Authorization: Bearer ${secret}",
        "template": '{"to": "${mobile}", "text": "${text}"}',
        "success": "",
    }
    assert sms.save(db, admin, **values, secret="gw-token") is None
    sms.send_test(db, admin)
    assert server.sms[-1]["headers"]["Authorization"] == "Bearer gw-token"
    assert (
        sms.save(
            db, admin, **(values | {"template": '{"m": "${mobile}", "t": "${text}"}'}), secret=None
        )
        is None
    )  # the same gateway keeps it
    assert sms.load(db).secret == "gw-token"
    with robot_server() as other:
        moved = values | {"url": f"http://127.0.0.1:{other.port}/sms"}
        note = sms.save(db, admin, **moved, secret=None)
        with contextlib.suppress(ValidationError):
            sms.send_test(db, admin)
        assert other.sms == []  # the old secret never went to the new gateway
        assert note and "重新填写密钥" in note and sms.load(db).secret == ""
        with pytest.raises(ValidationError) as refused:
            sms.send_test(db, admin)
        assert refused.value.field == "sms_secret"
        sms.save(db, admin, **moved, secret="other-token")
        sms.send_test(db, admin)
        assert other.sms[-1]["headers"]["Authorization"] == "Bearer other-token"


def test_the_mail_form_asks_for_the_password_again(demo_db):
    at = open_page(demo_db, "admin", "pages/notify_settings_page.py")
    field = {t.label: t for t in at.text_input}
    field["SMTP 服务器"].input("127.0.0.1")
    field["登录用户名（可留空）"].input("zhy")
    field["登录密码"].input("s3cret")
    field["发件地址"].input("n@zj.gov.cn")
    at.button(key="FormSubmitter:smtp_settings_0-保存邮件设置").click().run()
    assert at.success[0].value == "已保存。"
    at = open_page(demo_db, "admin", "pages/notify_settings_page.py")  # another day
    {t.label: t for t in at.text_input}["SMTP 服务器"].input("127.0.0.2")
    at.button(key="FormSubmitter:smtp_settings_0-保存邮件设置").click().run()
    assert "重新填写登录密码" in at.warning[0].value
    password = {t.label: t for t in at.text_input}["登录密码"]
    assert password.placeholder == mail.ASK_AGAIN


# -- item 8: an answer that is not HTTP fails one delivery, never the run ---------------------


@pytest.mark.parametrize("answer", [b"SSH-2.0-OpenSSH_9.6\r\n", b""])
def test_a_robot_answering_garbage_fails_only_its_delivery(db, demo_db, server, answer):
    """BadStatusLine (a banner) and RemoteDisconnected (hung up): the worker records a failed
    attempt of that robot's deliveries, sends the others and releases its batch; the test button
    says so in Chinese."""
    admin = actor_for(db, "admin")
    server.wecom_keys.add("good")
    with garbage_server(answer) as port:
        bad = robots.save_robot(
            db,
            admin,
            name="坏群",
            platform="wecom",
            audience="GXJ",
            url=f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key=bad",
        )
        robots.save_robot(
            db,
            admin,
            name="督查群",
            platform="wecom",
            audience=robots.SUPERVISORS,
            url=server.url("wecom", "good"),
        )
        handlers = routing.handlers_of(db, ["GXJ"])
        with store.transaction(db):
            for audience in (("GXJ",), (robots.SUPERVISORS,), ("GXJ",)):
                message = messages.Message("assigned", "新交办问题", "问题", audience=audience)
                messages.send(db, handlers, message)
        assert worker.deliver(db) == {"sent": 1, "pending": 2, "parked": 0, "held": 0}
        rows = store.query(db, "SELECT target, attempts, lease_until, last_error FROM deliveries")
        failed = [r for r in rows if r["target"] == str(bad)]
        assert len(failed) == 2 and all(r["attempts"] == 1 for r in failed)
        assert all(r["last_error"] == outbound.connect_failed("机器人地址") for r in failed)
        assert all(r["lease_until"] is None for r in rows)  # the whole batch released
        assert len(server.posts) == 1  # the other robot's post went
        with pytest.raises(ValidationError) as refused:
            robots.send_test(db, admin, bad)  # the test button's call
        assert str(refused.value) == f"发送失败：{outbound.connect_failed('机器人地址')}"
        at = open_page(demo_db, "admin", "pages/notify_settings_page.py")
        at.selectbox(key="robot_choice").select(bad).run()
        at.button(key="test_robot").click().run()
        assert not at.exception
        assert outbound.connect_failed("机器人地址") in at.error[0].value.replace("\\", "")
