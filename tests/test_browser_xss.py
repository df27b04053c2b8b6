"""User text that looks like HTML or Markdown is shown as typed and never runs or renders (no script,
no image from an outside host, no styling), on the pages that display it: the problem list and
detail, the dashboard's list, the company profile and the triage inbox."""

from __future__ import annotations

import pytest

from survey import db as store
from survey import visits
from tests.browser import (
    chromium,
    private_copy,
    require_chromium,
    sign_in,
    streamlit_server,
    wait_idle,
)
from tests.helpers import actor_for, linked_company, payload

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__xss = 'script'</script>"
IMAGE = "<img src=x onerror=\"window.__xss = 'img'\">"
SVG = "<svg onload=\"window.__xss = 'svg'\"></svg>"
MARKDOWN = "![追踪](http://127.0.0.1:9/t.png)**粗体**:red[红]"


def test_html_in_user_text_never_runs(template_db, tmp_path):
    require_chromium()
    path = private_copy(template_db, tmp_path / "xss.db")
    with store.opened(path) as db:
        officer = actor_for(db, "officer")
        body = payload(db, officer, summary=f"走访纪要{IMAGE}")
        body["problems"] = [dict(body["problems"][0], description=f"用地问题{SCRIPT}{IMAGE}{SVG}")]
        receipt = visits.submit_visit(db, officer, "xss-visit", body)
        pid, company_id = receipt.problem_ids[0], body["company_id"]
        db.execute(
            "UPDATE companies SET name = name || ?, contact_name = ? WHERE id = ?",
            (f"{IMAGE}{MARKDOWN}", f"联系人{SCRIPT}{MARKDOWN}", company_id),
        )
    dialogs = []
    with streamlit_server(path) as url, chromium() as browser:
        page = browser.new_context(viewport={"width": 1366, "height": 1600}).new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        sign_in(page, url, "supervisor")
        for address, shown in (
            (
                f"/problems?id={pid}",
                ("用地问题<script>", "![追踪](http://127.0.0.1:9/t.png)**粗体**"),
            ),
            (
                f"/company?id={company_id}",
                ("联系人<script>", "![追踪](http://127.0.0.1:9/t.png)**粗体**:red[红]"),
            ),
            ("/triage", ()),
            ("/dashboard", ()),
            ("/problems", ()),
        ):
            page.goto(url + address)
            wait_idle(page)
            page.wait_for_timeout(500)
            assert page.evaluate("window.__xss") is None, address
            # The word joiner that breaks autolinks is invisible; compare what a person reads.
            text = page.locator("[data-testid=stMain]").inner_text().replace("\u2060", "")
            for literal in shown:
                assert literal in text, (address, literal)
            assert (
                page.locator("img[src=x], img[src*='127.0.0.1:9'], strong:has-text('粗体')").count()
                == 0
            )
    assert dialogs == []


LINK = "[点此核验](http://evil.example/login)"
BARE = "http://evil.example/bare www.evil.example"


def test_markdown_and_bare_links_in_company_names_stay_text(template_db, tmp_path):
    """An officer-made company named with an image, a directive and a link (and a bare URL, which
    GFM autolinks even when escaped) is shown as typed on the registry and profile pages."""
    require_chromium()
    path = private_copy(template_db, tmp_path / "md.db")
    name = f"恒顺醋业{MARKDOWN}{LINK} {BARE}"
    with store.opened(path) as db:
        officer = actor_for(db, "officer")
        company_id = linked_company(db, officer)
        db.execute("UPDATE companies SET name = ? WHERE id = ?", (name, company_id))
        body = payload(db, officer, company_id=company_id)
        body["problems"] = [dict(body["problems"][0], description=f"用地问题{LINK} {BARE}")]
        pid = visits.submit_visit(db, officer, "md-visit", body).problem_ids[0]
    outside = []
    with streamlit_server(path) as url, chromium() as browser:
        page = browser.new_context(viewport={"width": 1366, "height": 1600}).new_page()
        page.on(
            "request",
            lambda r: (
                outside.append(r.url)
                if not r.url.startswith(url) and "data:" not in r.url[:5]
                else None
            ),
        )
        sign_in(page, url, "supervisor")
        page.goto(url + "/companies")
        wait_idle(page)
        box = page.get_by_label("企业名称、简称或信用代码")
        box.fill("恒顺醋业")
        box.press("Enter")
        wait_idle(page)
        heading = page.locator("[data-testid=stHeading]").filter(has_text="恒顺醋业").first
        shown = heading.inner_text().replace("\u2060", "")
        assert LINK in shown and BARE in shown
        for address in ("/companies", f"/company?id={company_id}", f"/problems?id={pid}"):
            if address != "/companies":
                page.goto(url + address)
                wait_idle(page)
            assert page.locator("a[href*='evil.example']").count() == 0, address
            assert page.locator("img[src*='127.0.0.1:9']").count() == 0, address
            assert page.locator("strong:has-text('粗体')").count() == 0, address
    assert not [u for u in outside if "evil.example" in u or "127.0.0.1:9/" in u], outside
