"""User text that looks like HTML is shown as text and never runs, on every page that displays it:
the problem list and detail, the dashboard's list, the company profile and the triage inbox."""

from __future__ import annotations

import shutil

import pytest

from survey import db as store
from survey import visits
from tests.browser import chromium, require_chromium, sign_in, streamlit_server, wait_idle
from tests.conftest import actor_for
from tests.test_visits import payload

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__xss = 'script'</script>"
IMAGE = "<img src=x onerror=\"window.__xss = 'img'\">"
SVG = "<svg onload=\"window.__xss = 'svg'\"></svg>"


def test_html_in_user_text_never_runs(template_db, tmp_path):
    require_chromium()
    path = tmp_path / "xss.db"
    shutil.copy(template_db, path)
    with store.opened(path) as db:
        officer = actor_for(db, "officer")
        body = payload(db, officer, summary=f"走访纪要{IMAGE}")
        body["problems"] = [dict(body["problems"][0], description=f"用地问题{SCRIPT}{IMAGE}{SVG}")]
        receipt = visits.submit_visit(db, officer, "xss-visit", body)
        pid, company_id = receipt.problem_ids[0], body["company_id"]
        db.execute("UPDATE companies SET address = ? WHERE id = ?", (f"地址{IMAGE}", company_id))
    dialogs = []
    with streamlit_server(path) as url, chromium() as browser:
        page = browser.new_context(viewport={"width": 1366, "height": 1600}).new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        sign_in(page, url, "supervisor")
        for address, shown in (
            (f"/problems?id={pid}", "用地问题<script>"),
            (f"/company?id={company_id}", "地址<img"),
            ("/triage", None),
            ("/dashboard", None),
            ("/problems", None),
        ):
            page.goto(url + address)
            wait_idle(page)
            page.wait_for_timeout(500)
            assert page.evaluate("window.__xss") is None, address
            if shown:
                assert shown in page.locator("[data-testid=stMain]").inner_text(), address
        assert page.locator("[data-testid=stMain] img[src=x]").count() == 0
    assert dialogs == []
