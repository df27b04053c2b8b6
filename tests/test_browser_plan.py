"""The action plan in a real browser: a department reports a month's progress on a tablet, and
the supervisor accepts it on a laptop and sees the overview's charts and the bulletin."""

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

pytestmark = pytest.mark.browser


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
    with store.opened(path) as db:
        left = store.scalar(db, "SELECT count(*) FROM task_reports WHERE status = 'submitted'")
    assert left == before
