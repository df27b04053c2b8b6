"""Browser: a monitor's lead becomes a problem; once the department answers, the monitor sees it."""

from __future__ import annotations

import pytest

from survey import db as store
from survey.problems import lifecycle
from tests.browser import (
    choose,
    chromium,
    private_copy,
    require_chromium,
    sign_in,
    streamlit_server,
    wait_idle,
)
from tests.helpers import actor_for

# What this browser test sees (pages, widgets, the session) does not depend on the store: it runs
# once, on SQLite. Its reads and writes run on PostgreSQL in the in-process tests, and the whole
# loop and the visit's submit and restart run in the browser on both (test_browser_loop/_visit).
pytestmark = [pytest.mark.browser, pytest.mark.store_independent]
REPLY = "已通知窗口取消重复提交复印件的要求。"


def test_monitor_lead_is_answered_and_seen(template_db, tmp_path):
    require_chromium()
    path = private_copy(template_db, tmp_path / "feedback.db")
    with streamlit_server(path) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 768, "height": 1024})
        sign_in(page, url, "monitor")
        page.goto(url + "/feedback")
        wait_idle(page)
        page.locator("[data-testid=stRadio]").filter(has_text="反馈类型").get_by_text(
            "问题线索", exact=True
        ).click()
        wait_idle(page)
        choose(page, "问题类别（必填）", "不动产")
        body = page.get_by_label("内容（至少 10 个字）")
        body.fill("不动产登记窗口要求企业重复提交营业执照复印件。")
        body.press("Tab")
        wait_idle(page)
        page.get_by_text("匿名：责任部门看不到我的姓名").click()
        wait_idle(page)
        page.locator("[data-testid=stRadio]").filter(has_text="体验或了解的渠道").get_by_text(
            "窗口现场"
        ).click()
        wait_idle(page)
        page.get_by_role("button", name="提交反馈").click()
        page.get_by_text("反馈已提交").wait_for(timeout=30_000)
        with store.opened(path) as db:
            pid = store.scalar(
                db, "SELECT id FROM problems WHERE source = 'monitor' ORDER BY id DESC LIMIT 1"
            )
            assert store.scalar(db, "SELECT anonymous FROM feedback ORDER BY id DESC LIMIT 1") == 1
            supervisor, handler = actor_for(db, "supervisor"), actor_for(db, "handler")
            lifecycle.assign(db, supervisor, pid, "GXJ", "short")
            lifecycle.accept(db, handler, pid)
            lifecycle.reply(db, handler, pid, "resolved", REPLY)
        page.reload()
        wait_idle(page)
        page.get_by_role("tab", name="我的反馈").click()
        page.get_by_text(REPLY).wait_for(timeout=30_000)
