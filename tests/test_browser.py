"""Browser tests: a real `streamlit run`, headless Chromium, the demo database."""

from __future__ import annotations

import pytest

import seeds
from tests.browser import chromium, require_chromium, streamlit_server, wait_idle

pytestmark = pytest.mark.browser

SIZES = {"tablet": (768, 1024), "laptop": (1366, 768)}


@pytest.fixture(scope="module")
def server(template_db, tmp_path_factory):
    require_chromium()
    import shutil

    path = tmp_path_factory.mktemp("browser") / "demo.db"
    shutil.copy(template_db, path)
    with streamlit_server(path) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as b:
        yield b


def errors_on(page) -> list[str]:
    return page.locator(
        "[data-testid=stException], [data-testid=stAlertContentError]"
    ).all_inner_texts()


@pytest.mark.parametrize("size", SIZES)
def test_home_page_speaks_chinese_without_errors(server, browser, size, tmp_path):
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    console_errors = []
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    page.goto(server)
    wait_idle(page)
    assert "镇合意·惠企走访" in page.inner_text("body")
    page.get_by_label("用户名").fill("supervisor")
    page.get_by_label("密码").fill(seeds.DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_text("王督查，您好").wait_for(timeout=30_000)
    wait_idle(page)
    body = page.inner_text("body")
    assert "待交办" in body and "演示数据" in body
    assert errors_on(page) == []
    assert console_errors == []
    # No horizontal scrolling at tablet or laptop width.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(tmp_path / f"home-{size}.png"), full_page=True)
    page.close()


def test_wrong_password_is_refused_in_the_browser(server, browser):
    page = browser.new_page(viewport={"width": 768, "height": 1024})
    page.goto(server)
    wait_idle(page)
    page.get_by_label("用户名").fill("officer")
    page.get_by_label("密码").fill("not-the-password1")
    page.get_by_role("button", name="登录").click()
    page.get_by_text("用户名或密码不正确。").wait_for(timeout=30_000)
    assert "您好" not in page.inner_text("body")
    page.close()
