"""Joint review meetings and the case library in a real browser, at tablet and laptop sizes: the
supervisor records a meeting's decision on a tablet and prints the agenda; a monitor on a laptop
finds a published case and reads it with the company masked; a round started and closed, and a
robot added, each with a double tap, show their result at once and are made once (issue 28)."""

from __future__ import annotations

import pytest

from survey import db as store
from survey import outbound
from survey.cases import masking
from tests.browser import (
    chromium,
    double_tap,
    private_copy,
    require_chromium,
    settled_after_double_tap,
    sign_in,
    streamlit_server,
    wait_idle,
)
from tests.helpers import actor_for

ROBOT_URL = "http://127.0.0.1:9/cgi-bin/webhook/send?key=abcd1234efgh5678"  # saved, never called

# What this browser test sees (pages, widgets, the session) does not depend on the store: it runs
# once, on SQLite. Its reads and writes run on PostgreSQL in the in-process tests, and the whole
# loop and the visit's submit and restart run in the browser on both (test_browser_loop/_visit).
pytestmark = [pytest.mark.browser, pytest.mark.store_independent]


def test_minutes_on_a_tablet_and_a_masked_case_on_a_laptop(template_db, tmp_path):
    require_chromium()
    path = private_copy(template_db, tmp_path / "review.db")
    with store.opened(path) as db:
        open_item = store.query(
            db,
            "SELECT i.id, i.problem_id FROM meeting_items i WHERE i.status = 'open'"
            " AND i.meeting_id = (SELECT max(id) FROM meetings) ORDER BY i.id LIMIT 1",
        )[0]
        masked = store.query(
            db,
            "SELECT k.id, k.title, c.name FROM cases k JOIN companies c ON c.id = k.company_id"
            " WHERE k.mask_company = 1 AND k.status = 'published' LIMIT 1",
        )[0]
        outbound.save_allow_list(db, actor_for(db, "admin"), "127.0.0.1")  # the robot below
        judge = store.scalar(db, "SELECT display_name FROM users WHERE username = 'supervisor'")
        entry = store.scalar(db, "SELECT title FROM cases WHERE status != 'published' LIMIT 1")
    with streamlit_server(path) as url, chromium() as browser:
        tablet = browser.new_context(viewport={"width": 768, "height": 1024}).new_page()
        sign_in(tablet, url, "supervisor")
        tablet.goto(url + "/meetings")
        wait_idle(tablet)
        form = (
            tablet.locator("[data-testid=stForm]").filter(has=tablet.get_by_label("会议决定")).first
        )
        form.get_by_label("会议决定").fill("由牵头部门会同自然资源局两周内现场办公解决")
        form.get_by_label("主持人").fill("分管副市长")
        form.locator("[data-testid=stMultiSelect]").click()
        tablet.get_by_role("option").first.click()
        tablet.keyboard.press("Escape")
        form.get_by_role("button", name="记录决定").click()
        tablet.get_by_text("已记录，决定已写入问题的办理过程").wait_for(timeout=30_000)
        tablet.get_by_text("打印视图").click()
        tablet.get_by_text("会议决定：由牵头部门会同自然资源局").first.wait_for(timeout=30_000)
        tablet.screenshot(path=str(tmp_path / "meetings-print-768.png"), full_page=True)

        laptop = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        sign_in(laptop, url, "monitor")
        laptop.goto(url + "/cases")
        wait_idle(laptop)
        laptop.get_by_label("搜索").fill(masked["title"][:6])
        laptop.keyboard.press("Enter")
        wait_idle(laptop)
        laptop.get_by_role("link", name=masked["title"]).first.click()
        laptop.get_by_role("heading", name=masked["title"]).wait_for(timeout=30_000)
        body = laptop.locator("[data-testid=stMain]").inner_text()
        assert masked["name"] not in body and masking.mask_name(masked["name"]) in body
        # and each part at the other size too
        tablet.goto(url + f"/cases?id={masked['id']}")
        tablet.get_by_role("heading", name=masked["title"]).wait_for(timeout=30_000)
        admin = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        sign_in(admin, url, "supervisor")
        # a supervisor's whole menu, 管理 included, fits 1366x768 without a scroll
        last = admin.locator("[data-testid=stSidebarNavLink]").last.bounding_box()
        assert last["y"] + last["height"] <= 768
        admin.goto(url + "/meetings")
        admin.get_by_text("可列入议题的问题").wait_for(timeout=30_000)
        # issue 28 item 4: one tap shows the result without a reload, a second makes nothing more
        admin.goto(url + "/cases")
        wait_idle(admin)
        admin.get_by_role("tab", name="评选").click()
        wait_idle(admin)
        admin.get_by_role("textbox", name="名称（可留空）").fill("浏览器试评")
        pick(admin, "评审组成员", judge)
        pick(admin, "参评案例", entry[:4])
        double_tap(admin.get_by_role("button", name="发起", exact=True))
        settled_after_double_tap(admin, "已发起评选，见下方列表。")
        assert admin.get_by_role("tab", selected=True).inner_text() == "评选"
        assert admin.get_by_role("textbox", name="名称（可留空）").input_value() == ""
        admin.get_by_text("浏览器试评（进行中）").wait_for(timeout=30_000)
        double_tap(admin.get_by_role("button", name="结束评选并公布排名").first)
        settled_after_double_tap(admin, "评选已结束，排名如下。")
        assert admin.get_by_text("浏览器试评（已结束）").count() == 1
        assert admin.get_by_role("button", name="保存评分").count() == 0
        assert admin.get_by_role("button", name="发布").count() >= 1
        settings = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        sign_in(settings, url, "admin")
        settings.goto(url + "/notify-settings")
        wait_idle(settings)
        settings.get_by_role("tab", name="群机器人").click()
        wait_idle(settings)
        # a field's help icon is named in Chinese (Streamlit says "Help for Webhook 地址")
        settings.get_by_role("button", name="说明：Webhook 地址").wait_for(timeout=30_000)
        field = settings.get_by_role("textbox", name="名称", exact=True)
        field.fill("工信局工作群")
        settings.get_by_role("textbox", name="Webhook 地址", exact=True).fill(ROBOT_URL)
        secret = settings.get_by_role("textbox", name="加签密钥（钉钉，SEC 开头，可留空）")
        secret.fill("SECabc")
        double_tap(settings.get_by_role("button", name="保存机器人"))
        settled_after_double_tap(settings, "已保存。")
        wait_idle(settings)
        assert settings.get_by_role("tab", selected=True).inner_text() == "群机器人"
        assert field.input_value() == "" and secret.input_value() == ""
        assert settings.locator("[data-testid=stAlertContentError]").count() == 0
    with store.opened(path) as db:
        event = store.scalar(
            db,
            "SELECT note FROM problem_events WHERE problem_id = ? ORDER BY id DESC LIMIT 1",
            (open_item["problem_id"],),
        )
    assert "两周内现场办公" in event
    with store.opened(path) as db:
        assert store.scalar(db, "SELECT count(*) FROM case_rounds WHERE title = '浏览器试评'") == 1
        assert store.scalar(db, "SELECT count(*) FROM robots WHERE name = '工信局工作群'") == 1


def pick(page, label: str, typed: str) -> None:
    """Add one option to a multiselect by typing part of it (and close its list)."""
    box = page.get_by_role("combobox", name=label)
    box.click()
    box.press_sequentially(typed, delay=30)
    page.get_by_role("option").filter(has_text=typed).first.wait_for(timeout=30_000)
    box.press("Enter")
    page.keyboard.press("Escape")
