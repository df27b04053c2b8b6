"""问卷管理 in a real browser: an XLSForm uploaded with the CSV its select_one_from_file reads, tried
in the preview on a tablet (the company list filtered by district), and a refused form's rows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from survey import db as store
from tests.browser import chromium, demo_server, sign_in, wait_idle
from tests.xlsform_corpus import FORMS, media, xlsx

# What this browser test sees (pages, widgets, the session) does not depend on the store: it runs
# once, on SQLite. Its reads and writes run on PostgreSQL in the in-process tests, and the whole
# loop and the visit's submit and restart run in the browser on both (test_browser_loop/_visit).
pytestmark = [pytest.mark.browser, pytest.mark.store_independent]


def shots(tmp_path: Path) -> Path:
    """Where screenshots go: SHOTS_DIR to keep and look at them, else the test's folder."""
    return Path(os.environ.get("SHOTS_DIR") or tmp_path)


def test_a_form_with_its_csv_is_uploaded_tried_and_a_bad_one_is_explained(template_db, tmp_path):
    form = FORMS / "enterprise_problems_zh.md"
    (tmp_path / "qiye_suqiu.xlsx").write_bytes(xlsx(form))
    many = "".join(
        f"g{i:03d},镇江{i:03d}号测试企业有限公司,{('jk', 'rz', 'dt')[i % 3]}\n" for i in range(300)
    )
    (tmp_path / "companies.csv").write_bytes(media(form)["companies.csv"] + many.encode())
    # A form we refuse: the corpus's pulldata follow-up (accepted since issue 27) with its
    # calculation cut short, a mistake typed in Excel that only the upload can catch.
    broken = (FORMS / "pulldata_followup.md").read_text(encoding="utf-8")
    broken = broken.replace(
        "pulldata('households', 'head_name', 'hh_id', ${hh_id})", "concat(${hh_id},"
    )
    (tmp_path / "followup.md").write_text(broken, encoding="utf-8")
    (tmp_path / "followup.xlsx").write_bytes(xlsx(tmp_path / "followup.md"))
    with demo_server(template_db, tmp_path) as (url, path), chromium() as browser:
        page = browser.new_context(viewport={"width": 768, "height": 1024}).new_page()
        sign_in(page, url, "supervisor")
        page.goto(url + "/forms")
        wait_idle(page)
        page.locator("input[type=file]").first.set_input_files(
            [str(tmp_path / "qiye_suqiu.xlsx"), str(tmp_path / "companies.csv")]
        )
        wait_idle(page)
        page.get_by_role("button", name="检查并保存为新版本").click()
        page.get_by_text("下载选项文件 companies.csv").wait_for(timeout=30_000)
        with store.opened(path) as db:
            qid = store.scalar(db, "SELECT id FROM questionnaires WHERE form_id = 'qiye_suqiu'")
            kept = store.scalar(
                db, "SELECT name FROM questionnaire_files WHERE questionnaire_id = ?", (qid,)
            )
        assert kept == "companies.csv"

        page.get_by_text("京口区", exact=True).click()
        wait_idle(page)
        box = page.get_by_role(
            "combobox", name="企业"
        )  # 102 companies of this district: a box to type into
        box.click()
        box.fill("京口丁")
        options = page.get_by_role("option")
        options.first.wait_for(timeout=30_000)
        assert options.all_inner_texts() == ["京口丁电子科技有限公司"]
        options.first.click()
        wait_idle(page)
        page.get_by_text("用地", exact=True).click()
        wait_idle(page)
        page.get_by_text("不动产证办理", exact=True).click()
        page.get_by_label("问题描述").fill("厂房不动产证办理已超过三个月仍未办结，影响抵押贷款。")
        page.get_by_text("否", exact=True).click()
        wait_idle(page)
        page.get_by_role("button", name="提交试填").click()
        page.get_by_text("试填通过").wait_for(timeout=30_000)
        page.screenshot(path=str(shots(tmp_path) / "form-file-choices-768.png"), full_page=True)

        laptop = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        sign_in(laptop, url, "supervisor")
        laptop.goto(url + "/forms")
        wait_idle(laptop)
        laptop.locator("input[type=file]").first.set_input_files(str(tmp_path / "followup.xlsx"))
        wait_idle(laptop)
        laptop.get_by_role("button", name="检查并保存为新版本").click()
        laptop.get_by_text("问卷有 1 处问题，未保存").wait_for(timeout=30_000)
        said = laptop.get_by_text("表达式不完整")
        said.scroll_into_view_if_needed()
        assert "survey 表第 3 行“calculation”列" in said.inner_text()
        laptop.screenshot(path=str(shots(tmp_path) / "form-refused-1366.png"))
