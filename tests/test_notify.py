"""Notifications: each move tells the people the issue names, in the move's own transaction;
reminders go once per problem, state and deadline; the messages page shows and clears them."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from survey import db as store
from survey import feedback, visits, workdays
from survey.access.actor import Actor
from survey.cli import main as cli
from survey.errors import PermissionDeniedError, ValidationError
from survey.notify import config, digest, messages, reminders, routing
from survey.problems import lifecycle, register
from tests.helpers import actor_for, open_page, payload


def inbox_of(db, username: str) -> list[dict]:
    return messages.list_messages(db, actor_for(db, username))


def a_new_problem(db) -> int:
    return store.scalar(db, "SELECT id FROM problems WHERE status = 'new' ORDER BY id LIMIT 1")


def handler_names(db, department: str) -> set[str]:
    return {
        r[0]
        for r in db.conn.execute(
            "SELECT u.username FROM users u JOIN user_roles r ON r.user_id = u.id"
            " AND r.role = 'handler' WHERE u.department_code = ?",
            (department,),
        )
    }


def test_assignment_tells_the_lead_and_the_co_departments_only(db):
    db.execute("DELETE FROM messages")  # the demo's own (its joint review decisions)
    supervisor = actor_for(db, "supervisor")
    pid = a_new_problem(db)
    deadline = lifecycle.assign(db, supervisor, pid, "GXJ", "short", co_departments=["JRB"])
    lead = inbox_of(db, "handler")
    assert [(m["kind"], m["problem_id"]) for m in lead] == [("assigned", pid)]
    facts = routing.describe(db, pid)
    assert f"问题 #{pid}" in lead[0]["body"] and facts["company"] in lead[0]["body"]
    assert facts["category"] in lead[0]["body"] and deadline in lead[0]["body"]
    assert lead[0]["link"] == f"/problems?id={pid}"
    assert (
        "交办市工业和信息化局" in lead[0]["body"] and "GXJ" not in lead[0]["body"]
    )  # a name, not a code
    co = [m for u in handler_names(db, "JRB") for m in inbox_of(db, u)]
    assert [m["kind"] for m in co] == ["co_assigned"]
    others = store.scalar(
        db,
        "SELECT count(*) FROM messages m JOIN users u ON u.id = m.user_id"
        " WHERE u.department_code NOT IN ('GXJ', 'JRB')",
    )
    assert others == 0


def test_a_rolled_back_move_sends_nothing(db):
    db.execute("DELETE FROM messages")  # the demo's own (its joint review decisions)
    supervisor = actor_for(db, "supervisor")
    pid = a_new_problem(db)
    with pytest.raises(RuntimeError), store.transaction(db):
        lifecycle.assign(db, supervisor, pid, "GXJ", "short")
        assert store.scalar(db, "SELECT count(*) FROM messages") > 0  # written, not committed
        raise RuntimeError("the caller fails after the move")
    assert store.scalar(db, "SELECT count(*) FROM messages") == 0
    assert store.scalar(db, "SELECT status FROM problems WHERE id = ?", (pid,)) == "new"


def test_the_loop_tells_each_side_in_turn(db):
    supervisor, handler, officer = (actor_for(db, u) for u in ("supervisor", "handler", "officer"))
    pid = visits.submit_visit(db, officer, "notify-loop", payload(db, officer)).problem_ids[0]
    lifecycle.assign(db, supervisor, pid, "GXJ", "short")
    lifecycle.accept(db, handler, pid)
    lifecycle.escalate(db, supervisor, pid, "请本周内答复企业")
    lifecycle.reply(db, handler, pid, "resolved", "已协调供电公司完成增容，企业确认。")
    assert [m["kind"] for m in inbox_of(db, "officer") if m["problem_id"] == pid] == ["answered"]
    assert "replied" in [m["kind"] for m in inbox_of(db, "supervisor") if m["problem_id"] == pid]
    lifecycle.callback(db, supervisor, pid, 1, False)  # a bad review reopens it
    mine = [m for m in inbox_of(db, "handler") if m["problem_id"] == pid]
    assert [m["kind"] for m in mine] == ["reopened", "escalated", "assigned"]
    assert mine[0]["urgent"] and "新时限" in mine[0]["body"]
    lifecycle.reply(db, handler, pid, "resolved", "再次上门对接，问题已彻底解决。")
    lifecycle.callback(db, supervisor, pid, 5, True)
    assert [m["kind"] for m in inbox_of(db, "officer") if m["problem_id"] == pid][0] == "closed"


def test_no_message_names_an_anonymous_monitor(db):
    monitor, supervisor, handler = (actor_for(db, u) for u in ("monitor", "supervisor", "handler"))
    lead = {
        "kind": "lead",
        "department_code": "GXJ",
        "indicator_code": "CN08",
        "company_id": None,
        "body": "多家企业反映不动产登记需要反复提交同一材料。",
        "category": "D6",
        "anonymous": True,
    }
    pid = feedback.submit_feedback(db, monitor, "notify-anon", lead)["problem_id"]
    lifecycle.assign(db, supervisor, pid, "GXJ", "short", note="请核实监督员反映的情况")
    lifecycle.accept(db, handler, pid)
    lifecycle.reply(db, handler, pid, "explained", "已与登记中心沟通，材料共享正在推进。")
    told = store.query(db, "SELECT user_id, title, body FROM messages WHERE problem_id = ?", (pid,))
    assert {m["user_id"] for m in told} >= {handler.id, monitor.id}
    assert not any(monitor.display_name in m["title"] + m["body"] for m in told)


def test_reminders_go_once_per_problem_state_and_deadline(db):
    today = date(2026, 11, 27)
    first = reminders.scan(db, today)
    assert first["warning"] + first["overdue"] > 0
    assert reminders.scan(db, today) == {"warning": 0, "overdue": 0}
    overdue = store.scalar(
        db,
        "SELECT count(DISTINCT problem_id) FROM messages WHERE kind = 'overdue'",
    )
    expected = store.scalar(
        db,
        "SELECT count(*) FROM problems WHERE status IN ('assigned', 'in_progress')"
        " AND deadline_on < ? AND lead_department_code IS NOT NULL",
        (today.isoformat(),),
    )
    assert overdue == expected
    supervisors = routing.supervisors(db)
    told = {
        r[0]
        for r in db.conn.execute("SELECT DISTINCT user_id FROM messages WHERE kind = 'overdue'")
    }
    assert supervisors <= told


def test_a_new_deadline_warns_again(db):
    handler, supervisor = actor_for(db, "handler"), actor_for(db, "supervisor")
    pid = store.scalar(
        db,
        "SELECT id FROM problems WHERE lead_department_code = 'GXJ' AND status = 'in_progress'"
        " AND deadline_on IS NOT NULL ORDER BY id LIMIT 1",
    )
    deadline = date.fromisoformat(
        store.scalar(db, "SELECT deadline_on FROM problems WHERE id = ?", (pid,))
    )
    reminders.scan(db, deadline)  # due today: a warning
    lifecycle.request_extension(db, handler, pid, 5, "需银行总行审批")
    lifecycle.decide_extension(db, supervisor, pid, True)
    new = date.fromisoformat(
        store.scalar(db, "SELECT deadline_on FROM problems WHERE id = ?", (pid,))
    )
    reminders.scan(db, new)
    warned = [
        m for m in inbox_of(db, "handler") if m["problem_id"] == pid and m["kind"] == "warning"
    ]
    assert len(warned) == 2


@pytest.mark.sqlite_only  # a SQLite file's own feature (PostgreSQL: issue 18)
def test_the_scan_reads_through_the_status_deadline_index(db):
    plan = " ".join(reminders.plan(db))
    assert "idx_problems_status_deadline" in plan, plan


def test_notify_once_from_the_command_line(demo_db, capsys):
    assert cli(["notify", "--once", "--db", str(demo_db)]) == 0
    assert "预警" in capsys.readouterr().out
    assert cli(["notify", "--once", "--db", str(demo_db)]) == 0
    assert "预警 0 条，逾期 0 条，每日待办 0 条" in capsys.readouterr().out


def test_messages_page_shows_the_unread_count_and_clears_it(demo_db):
    with store.opened(demo_db) as db:
        lifecycle.assign(db, actor_for(db, "supervisor"), a_new_problem(db), "GXJ", "short")
    at = open_page(demo_db, "handler", "pages/messages_page.py")
    assert not at.exception
    assert at.title[0].value == "消息"
    assert any("未读 1 条" in c.value for c in at.caption)
    assert "新交办问题" in at.markdown[0].value
    at.button[0].click().run()
    with store.opened(demo_db) as db:
        assert messages.unread_count(db, actor_for(db, "handler")) == 0


def test_only_the_owner_reads_or_marks_a_message(db):
    pid = a_new_problem(db)
    lifecycle.assign(db, actor_for(db, "supervisor"), pid, "GXJ", "short")
    theirs = inbox_of(db, "handler")[0]["id"]
    other = actor_for(db, "handler.jrb")
    assert messages.mark_read(db, other, [theirs]) == 0
    assert all(m["id"] != theirs for m in messages.list_messages(db, other))
    assert isinstance(other, Actor)


def test_every_route_names_a_move_of_the_register():
    assert set(routing.ROUTES) <= set(register.TRANSITIONS)


def test_the_digest_keeps_the_chinese_calendar(db):
    holiday, makeup = (
        datetime(2026, 10, 1, 9, 0),
        datetime(2026, 10, 10, 9, 0),
    )  # 国庆, 调休 Saturday
    assert not workdays.is_workday(holiday.date()) and workdays.is_workday(makeup.date())
    assert digest.send_digests(db, holiday) == 0
    assert digest.send_digests(db, datetime(2026, 10, 9, 8, 0)) == 0  # before 08:30
    sent = digest.send_digests(db, makeup)
    assert sent >= 3  # supervisors, handlers and officers all have something waiting
    assert digest.send_digests(db, makeup.replace(hour=17)) == 0  # once a day
    mine = [m for m in inbox_of(db, "handler") if m["kind"] == "digest"]
    assert len(mine) == 1 and mine[0]["title"] == "今日待办（2026-10-10）"
    assert "办理中的问题" in mine[0]["body"] and "最紧急：" in mine[0]["body"]
    shown = [line for line in mine[0]["body"].splitlines() if line.startswith("#")]
    assert 1 <= len(shown) <= digest.URGENT_ITEMS


def test_notification_settings_are_checked_and_saved_together(db):
    admin = actor_for(db, "admin")
    before = config.current(db)
    for time_text, url, field in (
        ("8:3", "https://zhy.example.gov.cn", "digest_time"),
        ("25:00", "", "digest_time"),
        ("09:00", "zhy.example.gov.cn", "base_url"),
        ("09:00", "javascript:alert(1)", "base_url"),
    ):
        with pytest.raises(ValidationError) as refused:
            config.save(db, admin, digest_time=time_text, base_url=url)
        assert refused.value.field == field
        assert config.current(db) == before  # nothing half-saved
    for start, end, field in (
        ("21:00", "", "quiet_end"),
        ("21:00", "21:00", "quiet_end"),
        ("", "8:00", "quiet_start"),
        ("21:60", "08:00", "quiet_start"),
    ):
        with pytest.raises(ValidationError) as refused:
            config.save(
                db, admin, digest_time="09:00", base_url="", quiet_start=start, quiet_end=end
            )
        assert refused.value.field == field
        assert config.current(db) == before
    config.save(
        db,
        admin,
        digest_time="9:05",
        base_url="https://zhy.example.gov.cn/",
        quiet_start="21:00",
        quiet_end="8:00",
        quiet_urgent=True,
    )
    assert config.current(db) == {
        "digest_time": "09:05",
        "base_url": "https://zhy.example.gov.cn",
        "quiet_start": "21:00",
        "quiet_end": "08:00",
        "quiet_urgent": "1",
    }
    assert messages.problem_link(db, 7) == "https://zhy.example.gov.cn/problems?id=7"
    with pytest.raises(PermissionDeniedError):
        config.save(db, actor_for(db, "supervisor"), digest_time="10:00", base_url="")
    assert digest.send_digests(db, datetime(2026, 10, 9, 9, 0)) == 0  # before 09:05 now
