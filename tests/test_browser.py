"""Browser tests: a real `streamlit run`, headless Chromium, the demo database."""

from __future__ import annotations

import pytest

import seeds
from tests.browser import (
    chromium,
    demo_server,
    free_port,
    private_copy,
    sign_in,
    streamlit_server,
    wait_idle,
)

# What this browser test sees (pages, widgets, the session) does not depend on the store: it runs
# once, on SQLite. Its reads and writes run on PostgreSQL in the in-process tests, and the whole
# loop and the visit's submit and restart run in the browser on both (test_browser_loop/_visit).
pytestmark = [pytest.mark.browser, pytest.mark.store_independent]

SIZES = {"tablet": (768, 1024), "laptop": (1366, 768)}


@pytest.fixture(scope="module")
def server(template_db, tmp_path_factory):
    with demo_server(template_db, tmp_path_factory.mktemp("browser")) as (url, _path):
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


def test_sign_in_survives_reload_until_sign_out(server, browser):
    context = browser.new_context(viewport={"width": 768, "height": 1024})
    page = context.new_page()
    sign_in(page, server, "officer")
    for _ in range(50):
        cookies = {c["name"]: c for c in context.cookies()}
        if "zhy_session" in cookies:
            break
        page.wait_for_timeout(100)
    cookie = cookies["zhy_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("zhy_session") == -1  # invisible to scripts
    assert "demo2025" not in str(context.storage_state())
    page.reload()
    wait_idle(page)
    page.get_by_text("李走访，您好").wait_for(timeout=30_000)
    # A new tab of the same browser (a tablet back from sleep gets a new session too).
    other = context.new_page()
    other.goto(server + "/account")
    wait_idle(other)
    other.get_by_role("button", name="退出登录").click()
    other.get_by_label("用户名").wait_for(timeout=30_000)
    page.reload()
    wait_idle(page)
    page.get_by_label("用户名").wait_for(timeout=30_000)
    assert "您好" not in page.inner_text("body")
    context.close()


def test_company_import_in_the_browser(server, browser, tmp_path):
    from stdnum.cn import uscc as stdnum_uscc

    from survey.companies import registry

    body = "91321102MA1QQQQ50"
    good = body + stdnum_uscc.calc_check_digit(body)
    header = ",".join(registry.HEADERS[:5])
    bad_file = tmp_path / "bad.csv"
    bad_file.write_text(
        f"{header}\n镇江浏览器测试有限公司,{good},京口区,,其他\n坏数据公司,12345,火星区,,其他\n",
        encoding="utf-8",
    )
    good_file = tmp_path / "good.csv"
    good_file.write_text(
        f"{header}\n镇江浏览器测试有限公司,{good},京口区,,其他\n", encoding="utf-8"
    )

    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    sign_in(page, server, "admin")
    page.get_by_role("link", name="企业名录").first.click()
    wait_idle(page)
    page.get_by_role("tab", name="导入").click()
    page.locator("input[type=file]").set_input_files(str(bad_file))
    page.get_by_text("共 2 行").wait_for(timeout=30_000)
    wait_idle(page)
    page.get_by_role("button", name="开始导入").click()
    page.get_by_text("导入未执行：1 行有问题").wait_for(timeout=30_000)
    page.get_by_text("下载问题清单.xlsx").wait_for(timeout=30_000)
    assert "共 2 处" in page.inner_text("body")  # the bad code and the unknown district of row 3
    page.locator("input[type=file]").set_input_files(str(good_file))
    # The upload is asynchronous: wait until the page has read the new file (1 row, not 2) before
    # pressing the button, or a loaded machine imports the previous file again.
    page.get_by_text("共 1 行").wait_for(timeout=30_000)
    wait_idle(page)
    page.get_by_role("button", name="开始导入").click()
    page.get_by_text("导入完成：新增 1 家").wait_for(timeout=30_000)
    context.close()


def test_trusted_proxy_header_signs_in(template_db, tmp_path, browser):
    """Single sign-on: a proxy that authenticated the user passes the name in a header. nginx sets
    it, as README's deployment does, here from the proxy's own session cookie: a header the
    browser is told to add (Playwright's extra_http_headers) is not sent with the websocket's
    handshake by Chromium 150, and the app reads the header there."""
    from tests.proxy import nginx, require_nginx

    require_nginx()
    path = private_copy(template_db, tmp_path / "sso.db")
    b = browser  # one Playwright per thread: reuse the module's browser
    port = free_port()
    env = {"SURVEY_TRUSTED_USER_HEADER": "X-Remote-User"}
    with (
        streamlit_server(path, env=env, port=port),
        nginx([port], {"X-Remote-User": "$cookie_sso_user"}) as url,
    ):
        for user, signed_in in (("handler", True), ("nobody", False)):
            context = b.new_context()
            context.add_cookies([{"name": "sso_user", "value": user, "url": url}])
            page = context.new_page()
            page.goto(url)
            if signed_in:
                page.get_by_text("张办理，您好").wait_for(timeout=30_000)
            else:
                wait_idle(page)
                page.get_by_label("用户名").wait_for(timeout=30_000)
            context.close()


def test_fill_and_submit_a_form_on_a_tablet(server, browser):
    """768x1024: the visit questionnaire with a question hidden by relevant and a repeat."""
    context = browser.new_context(viewport={"width": 768, "height": 1024})
    page = context.new_page()
    sign_in(page, server, "supervisor")
    page.goto(server + "/forms")
    wait_idle(page)
    page.locator("[data-testid=stSelectbox]").filter(has_text="查看版本").click()
    page.get_by_role("option", name="visit · 2025.1 · 惠企“镇”行走访问卷").click()
    wait_idle(page)

    def radio(question: str, answer: str) -> None:
        page.locator("[data-testid=stRadio]").filter(has_text=question).get_by_text(
            answer, exact=True
        ).click()
        wait_idle(page)

    radio("产值（营收）与去年同期相比", "增长")
    radio("在手订单与去年同期相比", "基本持平")
    radio("用工人数与去年同期相比", "下降")
    count = page.get_by_label("今年以来接受的行政检查次数 *")
    count.fill("2")
    count.press("Tab")
    wait_idle(page)
    # Each answer's rerun may begin after wait_idle has looked (a loaded CI machine: finalH4 saw
    # the hidden question still drawn), so wait for the screen the answer makes, then check it.
    shown = page.get_by_text("检查来自哪些部门")
    shown.wait_for(state="visible", timeout=30_000)
    assert shown.count() == 1  # shown because there were inspections
    satisfaction = page.get_by_text("对此前问题办理情况的满意度")
    radio("此前是否向政府部门反映过问题", "是")
    satisfaction.wait_for(state="visible", timeout=30_000)
    assert satisfaction.count() == 1
    radio("此前是否向政府部门反映过问题", "否")
    satisfaction.wait_for(state="detached", timeout=30_000)
    assert satisfaction.count() == 0  # hidden by relevant
    page.get_by_role("button", name="＋ 添加在建或拟建项目").click()
    wait_idle(page)
    name = page.get_by_label("项目名称 *")
    name.fill("二期扩产")
    name.press("Tab")
    wait_idle(page)
    page.get_by_role("button", name="提交试填").click()
    page.get_by_text("试填通过").wait_for(timeout=30_000)
    submitted = page.locator("[data-testid=stJson]")
    submitted.wait_for(timeout=30_000)
    page.wait_for_function(
        "document.querySelector('[data-testid=stJson]').innerText.includes('二期扩产')",
        timeout=30_000,
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    context.close()
