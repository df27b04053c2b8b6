"""The closed loop in a real browser with the demo users: the supervisor assigns, the department
sees the message and its badge, accepts and replies, the supervisor calls the company back, a bad review reopens the problem."""

from __future__ import annotations

import pytest

from survey import db as store
from tests.browser import (
    choose,
    chromium,
    private_copy,
    require_chromium,
    sign_in,
    streamlit_server,
    wait_idle,
)

pytestmark = pytest.mark.browser


def status(path, pid: int) -> str:
    with store.opened(path) as db:
        return store.scalar(db, "SELECT status FROM problems WHERE id = ?", (pid,))


def test_assign_reply_callback_bad_review_reopens(template_db, tmp_path):
    require_chromium()
    path = private_copy(template_db, tmp_path / "loop.db")
    with store.opened(path) as db:
        pid = store.scalar(
            db, "SELECT id FROM problems WHERE status = 'new' ORDER BY raised_on, id LIMIT 1"
        )
    with streamlit_server(path) as url, chromium() as browser:
        supervisor = browser.new_context(viewport={"width": 1024, "height": 768}).new_page()
        sign_in(supervisor, url, "supervisor")
        supervisor.goto(url + "/triage")
        wait_idle(supervisor)
        choose(supervisor, "牵头部门", "工业和信息化")
        supervisor.get_by_role("button", name="交办 1 条").click()
        supervisor.get_by_text(f"已交办：#{pid}").wait_for(timeout=30_000)
        assert status(path, pid) == "assigned"

        handler = browser.new_context(viewport={"width": 768, "height": 1024}).new_page()
        sign_in(handler, url, "handler")
        # The assignment reached the department: an unread badge, a message linking to it.
        handler.get_by_text("消息 1", exact=True).first.wait_for(timeout=30_000)
        handler.goto(url + "/messages")
        wait_idle(handler)
        handler.get_by_text("新交办问题").first.wait_for(timeout=30_000)
        handler.get_by_role("link", name=f"打开问题 #{pid}").click()
        handler.get_by_text(f"问题 #{pid} · 已交办").wait_for(timeout=30_000)
        handler.goto(url + "/inbox")
        wait_idle(handler)
        choose(handler, "选择问题", f"#{pid}")
        handler.get_by_role("button", name="签收").click()
        wait_idle(handler)
        assert status(path, pid) == "in_progress"
        handler.locator("[data-testid=stRadio]").get_by_text("已解决", exact=True).click()
        handler.get_by_label("答复内容（至少 10 个字）").fill(
            "已上门协调，企业反映的问题已经解决。"
        )
        handler.get_by_role("button", name="提交答复").click()
        handler.get_by_text("已答复，等待营商办回访。").wait_for(timeout=30_000)
        assert status(path, pid) == "replied"

        supervisor.goto(url + "/followup")
        wait_idle(supervisor)
        choose(supervisor, "选择问题", f"#{pid}")
        supervisor.locator("[data-testid=stRadio]").get_by_text("2 不满意", exact=True).click()
        supervisor.get_by_role("button", name="保存回访").click()
        supervisor.get_by_text("回访已记录").wait_for(timeout=30_000)
        assert status(path, pid) == "in_progress"  # 差评: reopened as 重办 with a new deadline
    with store.opened(path) as db:
        actions = [
            r[0]
            for r in db.conn.execute(
                "SELECT action FROM problem_events WHERE problem_id = ? ORDER BY id", (pid,)
            )
        ]
    assert actions[-5:] == ["assign", "accept", "reply", "callback", "reopen"]
