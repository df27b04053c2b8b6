"""统计看板 in a real browser: a bookmarked address opens the same view, and a click on a heatmap cell
filters the KPIs and the problem list below to that sector and category, also once another tab is
open (only the open tab's charts are sent), which the address keeps; a chart downloads as PNG."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

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

# What this browser test sees (pages, widgets, the session) does not depend on the store: it runs
# once, on SQLite. Its reads and writes run on PostgreSQL in the in-process tests, and the whole
# loop and the visit's submit and restart run in the browser on both (test_browser_loop/_visit).
pytestmark = [pytest.mark.browser, pytest.mark.store_independent]

PERIOD = ("2025-07", "2026-06")  # the seeded year of the test database


def listed_total(page) -> int:
    text = page.get_by_text(re.compile(r"^共 [\d,]+ 条")).first.inner_text()
    return int(re.search(r"共 ([\d,]+) 条", text).group(1).replace(",", ""))


def count(path, sector_name: str, category_name: str) -> int:
    with store.opened(path) as db:
        return store.scalar(
            db,
            "SELECT count(*) FROM problems p JOIN sectors s ON s.code = p.sector_code"
            " JOIN problem_categories c ON c.code = p.category_code"
            " WHERE s.name = ? AND c.name = ? AND p.raised_on BETWEEN ? AND ?",
            (sector_name, category_name, f"{PERIOD[0]}-01", f"{PERIOD[1]}-30"),
        )


def shown_charts(page) -> int:
    """Charts drawn on the page (Vega has put its canvas or SVG in), waiting up to 30 s."""
    selector = "[data-testid=stVegaLiteChart]"
    page.wait_for_function(
        f"[...document.querySelectorAll('{selector}')].every(c => c.querySelector('canvas, svg'))",
        timeout=30_000,
    )
    return page.locator(selector).count()


def test_heatmap_click_filters_the_list(template_db, tmp_path):
    require_chromium()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    path = private_copy(template_db, tmp_path / "dash.db")
    with streamlit_server(path) as url, chromium() as browser:
        page = browser.new_context(viewport={"width": 1366, "height": 2400}).new_page()
        sign_in(page, url, "supervisor")
        page.goto(f"{url}/dashboard?from={PERIOD[0]}&to={PERIOD[1]}")
        wait_idle(page)
        assert page.get_by_label("起始月份").first.is_visible()  # the address chose 自定义 months
        before = listed_total(page)
        heatmap = page.locator("[data-testid=stVegaLiteChart]").first
        heatmap.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        box = heatmap.bounding_box()
        note = page.get_by_text(re.compile("^图表筛选"))
        for fx, fy in ((0.3, 0.2), (0.25, 0.35), (0.4, 0.3), (0.2, 0.45), (0.35, 0.5)):
            page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            # The chart's rerun may begin a second or more after the click on a loaded machine,
            # later than wait_idle looks for it: wait for the filter it sets instead.
            with contextlib.suppress(PlaywrightTimeout):
                note.first.wait_for(timeout=10_000)
            if note.count():
                break
        wait_idle(page)  # the note shows as the rerun begins: let it draw the KPIs and the list
        text = note.first.inner_text()
        sector = re.search(r"行业 ([^；]+)", text).group(1)
        category = re.search(r"问题类别 ([^；]+)", text).group(1).strip()
        after = listed_total(page)
        assert after == count(path, sector, category) < before
        shown = page.locator("[data-testid=stMetricValue]").first.inner_text()
        assert int(shown.replace(",", "")) == after  # the KPIs follow the click too

        # Another tab: only its chart is built (a tab change reruns the charts' fragment), the
        # heatmap's click still filters although the heatmap is no longer drawn, and the address
        # keeps the tab.
        page.get_by_role("tab", name="办理时效").click()
        wait_idle(page)
        assert shown_charts(page) == 1
        assert note.count() and listed_total(page) == after
        assert "tab=speed" in page.url

        page.get_by_role("button", name="清除图表筛选").click()
        wait_idle(page)
        assert listed_total(page) == before
        assert shown_charts(page) == 1 and "tab=speed" in page.url  # the rerun kept the tab

        page.reload()  # a new session opens the tab the address names
        wait_idle(page)
        assert page.get_by_role("tab", name="办理时效").get_attribute("aria-selected") == "true"
        assert shown_charts(page) == 1 and listed_total(page) == before

        with page.expect_download(timeout=30_000) as png:  # rendered on the server when clicked
            page.get_by_role("button", name="PNG", exact=True).first.click()
        assert png.value.suggested_filename.endswith(".png")
        assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
