"""User text that leaves the app or names a thing (issue 26, item 4): a company name or a handler's
reason posted to a WeCom or DingTalk group stays text (no heading, link, image, mention, HTML or
bare URL of its own; our title and link are the only markup); names are one line wherever they
enter (the company form, an import, the API, users, tasks, meetings, rounds); an SMS keeps its
category and deadline whatever the company is called."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from stdnum.cn import uscc as stdnum_uscc

from api import app as api_module
from survey import db as store
from survey.access import clients, users
from survey.cases import selection
from survey.companies import registry, transfer
from survey.notify import config, robots, sms, worker
from survey.plans import importing
from survey.problems import lifecycle, meetings
from tests.helpers import actor_for
from tests.robotserver import robot_server

ATTACK = "X\n# 通知\n[登录](http://evil.example/login)\n![](http://evil.example/a.png)\n<@all>"
REASON = (
    "不属于本部门\n## 紧急\n> 引用\n**粗体** _斜体_ `代码` ~~删除~~\n"
    '<font color="warning">红字</font> <a href="http://evil.example">点我</a>\n'
    "@13800000000 <@zhangsan> www.evil.example evil.example/login a@evil.example\n"
    "---\n1. 列表\n- 列表\n+ 列表\n| 表 | 格 |"
)
BASE = "https://zhy.zj.gov.cn"
OUR_LINK = re.compile(r"\[查看详情\]\(https://zhy\.zj\.gov\.cn/problems\?id=\d+\)")


def only_our_markup(text: str, batched: bool = False) -> str:
    """Check a posted markdown text: our title is the one heading, our link the one link, and
    nothing else is markup; returns what is left once our markup is taken out."""
    first, *rest = text.split("\n")
    assert first.startswith("### 【镇合意】"), text
    left = OUR_LINK.sub("", "\n".join(rest))
    if batched:
        left = re.sub(r"(?m)^\*\*[^*\n]+\*\*$", "", left)  # our title of each message
    left = re.sub(r"(?m)^> ", "", left)  # our quote of each body line
    assert not re.search(r"(?m)^\s*#", left), left  # headings
    assert not re.search(r"(?m)^\s*(?:[-=+*_]{1,}|\d+[.)])(?:\s|$)", left), left  # lists, rules
    assert not re.search(r"(?m)^\s*>", left), left  # quotes of its own
    for mark in ("[", "]", "<", ">", "@", "*", "_", "`", "~", "|", "\\"):
        assert mark not in left, (mark, left)
    for url in ("http:", "https:", "www.", "evil.example"):
        assert url not in left, (url, left)  # bare URLs and domains, which clients autolink
    return left


@pytest.fixture
def server():
    with robot_server() as receiver:
        yield receiver


def add_robot(db, server, platform: str, audience: str, key: str) -> None:
    if platform == "wecom":
        server.wecom_keys.add(key)
    else:
        server.dingtalk[key] = ""
    robots.save_robot(
        db,
        actor_for(db, "admin"),
        name=f"{key} 群",
        platform=platform,
        audience=audience,
        url=server.url(platform, key),
    )


def new_problem(db) -> tuple[int, int]:
    row = store.query(
        db, "SELECT id, company_id FROM problems WHERE status = 'new' ORDER BY id LIMIT 1"
    )[0]
    return row["id"], row["company_id"]


def test_a_company_name_and_a_reason_reach_the_group_as_text(db, server):
    for platform in ("wecom", "dingtalk"):
        add_robot(db, server, platform, "GXJ", f"gxj-{platform}")
        add_robot(db, server, platform, robots.SUPERVISORS, f"sup-{platform}")
    config.save(db, actor_for(db, "admin"), digest_time="08:30", base_url=BASE)
    pid, company_id = new_problem(db)
    # A name stored before names were one line (or written by another tool) still reaches robots.
    db.execute("UPDATE companies SET name = ? WHERE id = ?", (ATTACK, company_id))
    supervisor, handler = actor_for(db, "supervisor"), actor_for(db, "handler")
    lifecycle.assign(db, supervisor, pid, "GXJ", "short")
    lifecycle.accept(db, handler, pid)
    lifecycle.return_problem(db, handler, pid, REASON)
    assert worker.deliver(db)["sent"] == 4
    assert len(server.posts) == 4
    for post in server.posts:
        left = only_our_markup(post["text"])
        assert post["title"] in ("", "【镇合意】新交办问题", "【镇合意】问题被退回")
        assert len(OUR_LINK.findall(post["text"])) == 1
        for word in ("X", "通知", "登录", "evil", "all"):  # shown, as text
            assert word in left, (word, left)
    returned = [p for p in server.posts if "退回" in p["text"]]
    assert returned and all("不属于本部门" in p["text"] and "红字" in p["text"] for p in returned)


def test_several_messages_in_one_post_stay_text(db):
    body = f"问题 #7 · {ATTACK} · 用地 · 办理时限 2026-12-31\n{REASON}"
    items = [("新交办问题", body, f"{BASE}/problems?id=7")] * 3
    title, text = robots.markdown(items)
    assert title == "【镇合意】3 条通知"
    assert len(OUR_LINK.findall(text)) == 3
    only_our_markup(text, batched=True)
    # our own link is not broken by a base address holding markdown characters
    _, text = robots.markdown(
        [("新交办问题", "问题 #7", "https://a.example/x)(y [z]/problems?id=7")]
    )
    assert re.search(r"\[查看详情\]\([^()\s\[\]]+\)$", text), text


def test_an_sms_keeps_category_and_deadline_whatever_the_company_is_called(db, server):
    admin = actor_for(db, "admin")
    sms.save(
        db,
        admin,
        enabled=True,
        url=f"http://127.0.0.1:{server.port}/sms",
        method="POST",
        format="json",
        headers="",
        template='{"phone": "${mobile}", "content": "${text}"}',
        secret="gw",
        success="",
    )
    handler = actor_for(db, "handler")
    users.set_own_contact(db, handler, "", "13912345678")
    pid, company_id = new_problem(db)
    db.execute(
        "UPDATE companies SET name = ? WHERE id = ?", ("镇江天盛\r\n电气有限公司", company_id)
    )
    lifecycle.assign(db, actor_for(db, "supervisor"), pid, "GXJ", "short")
    assert worker.deliver(db)["sent"] == 1
    content = json.loads(server.sms[0]["body"])["content"]
    category, deadline = db.conn.execute(
        "SELECT pc.name, p.deadline_on FROM problems p"
        " JOIN problem_categories pc ON pc.code = p.category_code WHERE p.id = ?",
        (pid,),
    ).fetchone()
    assert "镇江天盛 电气有限公司" in content
    assert category in content and deadline in content, content
    assert not re.search(r"[\x00-\x1f]", content)


def a_code(i: int) -> str:
    base = f"91321100MB{i:07d}"
    return base + stdnum_uscc.calc_check_digit(base)


def test_a_company_name_is_one_line_from_the_form_an_import_and_the_api(db, demo_db):
    admin = actor_for(db, "admin")
    district = store.scalar(db, "SELECT code FROM districts LIMIT 1")
    sector = store.scalar(db, "SELECT code FROM sectors LIMIT 1")
    values = {"uscc": a_code(1), "district_code": district, "sector_code": sector}
    folded = "X # 通知 [登录](http://evil.example/login) ![](http://evil.example/a.png) <@all>"
    company_id = registry.create_company(db, admin, values | {"name": ATTACK})
    assert registry.get_company(db, admin, company_id)["name"] == folded
    registry.update_company(
        db,
        admin,
        company_id,
        values | {"name": "恒顺\t醋业\u2028有限公司\x0b", "contact_name": "王\n五"},
    )
    stored = registry.get_company(db, admin, company_id)
    assert (stored["name"], stored["contact_name"]) == ("恒顺 醋业 有限公司", "王 五")
    district_name, sector_name = db.conn.execute(
        "SELECT (SELECT name FROM districts WHERE code = ?), (SELECT name FROM sectors WHERE code = ?)",
        (district, sector),
    ).fetchone()
    headers = ["企业名称", "统一社会信用代码", "所属区县", "所属行业", "地址"]
    rows = [["镇江\r\n大全电气\n\n有限公司", a_code(2), district_name, sector_name, "京口区\n1号"]]
    transfer.import_companies(db, admin, headers, rows)
    imported = store.query(db, "SELECT name, address FROM companies WHERE uscc = ?", (a_code(2),))
    assert imported == [{"name": "镇江 大全电气 有限公司", "address": "京口区 1号"}]
    _, token = clients.create_client(
        db, admin, name="市场\n监管", scopes=["companies.manage", "problems.create"]
    )
    assert store.scalar(db, "SELECT name FROM api_clients ORDER BY id DESC LIMIT 1") == "市场 监管"
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(
        api_module.app, base_url="http://testserver/api/v1", root_path="/api/v1"
    ) as api:
        item = {"uscc": a_code(3), "name": "接口\n# 企业", "district_code": district}
        done = api.post(
            "/companies", json={"companies": [item | {"sector_code": sector}]}, headers=auth
        )
        assert done.status_code == 200, done.json()
        created = api.post(
            "/problems",
            json={
                "external_ref": "line-1",
                "source": "hotline",
                "company": {
                    "uscc": a_code(4),
                    "name": "热线\n<@all>企业",
                    "district_code": district,
                    "sector_code": sector,
                },
                "category_code": "D6",
                "nature_code": "consult",
                "description": "企业来电反映问题。",
            },
            headers=auth | {"Idempotency-Key": "line-1"},
        )
    names = dict(
        db.conn.execute(
            "SELECT uscc, name FROM companies WHERE uscc IN (?, ?)", (a_code(3), a_code(4))
        ).fetchall()
    )
    assert created.status_code == 201, created.json()
    assert names == {a_code(3): "接口 # 企业", a_code(4): "热线 <@all>企业"}


def test_other_names_are_one_line(db):
    admin, supervisor = actor_for(db, "admin"), actor_for(db, "supervisor")
    user_id = users.create_user(
        db,
        admin,
        username="oneline",
        display_name="张\n三",
        password="abcd1234x",
        roles=["monitor"],
    )
    assert store.scalar(db, "SELECT display_name FROM users WHERE id = ?", (user_id,)) == "张 三"
    meeting_id = meetings.create_meeting(db, supervisor, "2026-06-20", "联审会\n# 标题")
    assert (
        store.scalar(db, "SELECT title FROM meetings WHERE id = ?", (meeting_id,))
        == "联审会 # 标题"
    )
    case_id = store.scalar(db, "SELECT id FROM cases ORDER BY id LIMIT 1")
    round_id = selection.create_round(
        db,
        supervisor,
        year=2026,
        title="评选\r\n第二轮",
        criteria=[("创新\n性", 1)],
        panel=[supervisor.id],
        case_ids=[case_id],
    )
    assert (
        store.scalar(db, "SELECT title FROM case_rounds WHERE id = ?", (round_id,)) == "评选 第二轮"
    )
    assert (
        store.scalar(db, "SELECT name FROM case_criteria WHERE round_id = ?", (round_id,))
        == "创新 性"
    )
    lead = store.scalar(db, "SELECT name FROM departments WHERE code = 'GXJ'")
    headers = ["序号", "重点任务", "目标要求", "牵头单位", "配合单位", "完成时限"]
    rows = [["1\n", "优化\n营商环境", "目标\n第二行", lead, "", "2031-06-30"]]
    importing.import_plan(db, supervisor, 2031, headers, rows, {})
    task = store.query(
        db,
        "SELECT t.number, t.content, t.target FROM plan_tasks t JOIN plans p ON p.id = t.plan_id"
        " WHERE p.year = 2031",
    )
    assert task == [{"number": "1", "content": "优化 营商环境", "target": "目标\n第二行"}]
