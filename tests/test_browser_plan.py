"""The action plan in a real browser: a department reports a month's progress on a tablet, and
the supervisor accepts it on a laptop, sees the overview's charts and the bulletin, then imports
next year's list in its published shape (title row, merged cells), mapping names in the step."""

from __future__ import annotations

import pytest

from survey import db as store
from tests.browser import (
    chromium,
    private_copy,
    require_chromium,
    sign_in,
    streamlit_server,
    wait_idle,
)
from tests.fixtures import plan_files

# What this browser test sees (pages, widgets, the session) does not depend on the store: it runs
# once, on SQLite. Its reads and writes run on PostgreSQL in the in-process tests, and the whole
# loop and the visit's submit and restart run in the browser on both (test_browser_loop/_visit).
pytestmark = [pytest.mark.browser, pytest.mark.store_independent]


def test_a_department_reports_and_the_supervisor_accepts(template_db, tmp_path):
    require_chromium()
    path = private_copy(template_db, tmp_path / "plan.db")
    with store.opened(path) as db:
        before = store.scalar(db, "SELECT count(*) FROM task_reports WHERE status = 'submitted'")
    with streamlit_server(path) as url, chromium() as browser:
        handler = browser.new_context(viewport={"width": 768, "height": 1024}).new_page()
        sign_in(handler, url, "handler")
        handler.goto(url + "/plan")
        wait_idle(handler)
        handler.get_by_role("tab", name="报送进展").click()
        wait_idle(handler)
        handler.get_by_label("本月完成情况").fill("组织 120 家企业参与电力市场化交易。")
        handler.get_by_role("button", name="报送").click()
        handler.get_by_text("已报送，等待审核。").wait_for(timeout=30_000)
        handler.screenshot(path=str(tmp_path / "plan-report-768.png"), full_page=True)

        supervisor = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        sign_in(supervisor, url, "supervisor")
        supervisor.goto(url + "/plan?state=lagging")
        wait_idle(supervisor)
        supervisor.locator("[data-testid=stVegaLiteChart]").first.wait_for(timeout=30_000)
        supervisor.get_by_role("tab", name="审核").click()
        wait_idle(supervisor)
        waiting = supervisor.get_by_role("button", name="通过")
        assert waiting.count() == before + 1
        waiting.last.click()
        supervisor.get_by_text("已通过。").wait_for(timeout=30_000)
        supervisor.get_by_role("tab", name="通报").click()
        supervisor.get_by_role("button", name="下载月度通报（Excel）").wait_for(timeout=30_000)

        published = tmp_path / f"{plan_files.title(2027)}.xlsx"
        published.write_bytes(plan_files.published_plan(2027))
        supervisor.get_by_role("tab", name="导入").click()
        year = supervisor.get_by_label("年度").last
        year.fill("2027")
        year.press("Enter")
        wait_idle(supervisor)
        supervisor.locator("input[type=file]").set_input_files(str(published))
        supervisor.get_by_text("第 2 步：对应责任部门").wait_for(timeout=30_000)
        wait_idle(supervisor)
        for name, typed in (("市地方金融管理局", "市委金融办"), ("镇江新区管委会", "不在列表中")):
            box = (
                supervisor.locator("[data-testid=stSelectbox]")
                .filter(has_text=f"“{name}”")
                .get_by_role("combobox")
            )
            box.click()
            box.fill(typed)
            supervisor.get_by_role("option", name=typed).first.click()
            wait_idle(supervisor)
        supervisor.get_by_text("先导入其余 6 项任务").click()  # after 第 8 行 is named
        wait_idle(supervisor)
        supervisor.get_by_role("button", name="导入 6 项任务").click()
        supervisor.get_by_text("已导入 2027 年度任务清单：新增 6 项").wait_for(timeout=30_000)
        supervisor.screenshot(path=str(tmp_path / "plan-import-1366.png"))
    with store.opened(path) as db:
        left = store.scalar(db, "SELECT count(*) FROM task_reports WHERE status = 'submitted'")
        imported = store.query(
            db,
            "SELECT t.number, t.lead_department_code AS lead FROM plan_tasks t"
            " JOIN plans p ON p.id = t.plan_id WHERE p.year = 2027 ORDER BY t.id",
        )
        learnt = dict(db.conn.execute("SELECT alias, department_code FROM department_aliases"))
    assert left == before
    assert [(t["number"], t["lead"]) for t in imported] == [
        ("1", "XZSP"),
        ("2", "ZJJ"),
        ("3", "FGW"),
        ("4", "FGW"),
        ("5", "JRB"),
        ("7", "SFJ"),
    ]
    assert learnt["市地方金融管理局"] == "JRB" and "镇江新区管委会" not in learnt
