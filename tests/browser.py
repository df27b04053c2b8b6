"""A real Streamlit server on a free port and headless Debian Chromium, for browser tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def require_program(path: str, packages: str) -> None:
    """Skip without the program on a developer machine; fail in CI, where .ci/run installs it."""
    if Path(path).exists():
        return
    message = f"{Path(path).name} not found at {path}: apt-get install -y {packages}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require_chromium() -> None:
    require_program(CHROMIUM, "chromium fonts-noto-cjk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers_health(url: str) -> bool:
    """Streamlit's health endpoint says ok (directly, or through a proxy in front)."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.read() == b"ok"
    except OSError:
        return False


def wait_ready(proc, ready, timeout: float, log) -> None:
    """Poll `ready()` until it is true; fail with the server's `log()` when the process ends or
    `timeout` seconds pass first (the servers the tests start: Streamlit, PostgreSQL, nginx)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log())
        time.sleep(0.1)


def stop(proc, timeout: float = 10) -> None:
    """Terminate a server the tests started, killing it when it does not stop in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def streamlit_server(
    db_path,
    *,
    timeout: float = 60,
    env: dict | None = None,
    port: int | None = None,
    processes: list | None = None,
):
    """The app served on a free port, on a SQLite file or a postgresql:// URL. The process is
    appended to `processes`, for a test that kills a host."""
    port = port or free_port()
    env = {**os.environ, "SURVEY_DB": str(db_path), **(env or {})}
    folder = (
        Path(tempfile.mkdtemp()) if str(db_path).startswith("postgresql://") else db_path.parent
    )
    log = open(folder / "streamlit.log", "a")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        # the console script, as README runs it (python -m would put the project on the path for us)
        [
            str(Path(sys.executable).parent / "streamlit"),
            "run",
            "ui/server.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    if processes is not None:
        processes.append(proc)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(proc, lambda: answers_health(url), timeout, (folder / "streamlit.log").read_text)
        yield url
    finally:
        stop(proc)
        log.close()


def private_copy(template_db, path: Path):
    """A copy of the seeded template for one test: the file at `path`, or on PostgreSQL a new
    database (its URL)."""
    if str(template_db).startswith("postgresql://"):
        from tests.pgserver import copy_database

        return copy_database(str(template_db), "template_demo")
    shutil.copy(template_db, path)
    return path


@contextmanager
def demo_server(template_db, folder: Path):
    """A private copy of the seeded template database, served: yields (url, the database's path
    or, on PostgreSQL, its URL)."""
    require_chromium()
    path = private_copy(template_db, folder / "demo.db")
    try:
        with streamlit_server(path) as url:
            yield url, path
    finally:
        if str(path).startswith("postgresql://"):
            from survey import db as store
            from tests.pgserver import drop_database

            store.release(path)
            drop_database(str(path))


def double_tap(target) -> None:
    """A real double click on `target` (a Locator) once the page is idle and the target has stopped
    moving. Playwright aims at where the element is when it checks it; an element above that grows
    in between (a run still drawing, an expander opening) moves the target, and both clicks landed
    on the field above it (seen once in a full run beside four other test processes, and 1 in 15
    taps on 联审会办 beside three CPU hogs: no meeting, the word under the pointer selected; 0 in
    20 taps waiting like this)."""
    page = target.page
    wait_idle(page)
    before = None
    for _ in range(50):
        box = target.bounding_box()
        if box is not None and box == before:
            break
        before = box
        page.wait_for_timeout(150)
    target.dblclick()


def settled_after_double_tap(page, message: str) -> None:
    """After a real double click: the success message shows, the runs settle, and the message is
    still on screen. A second tap's run can cut off the run that showed it; it stays until a run
    that showed it has completed (ui/session.kept), so the second tap's run shows it again. What
    the tap made (one record, the lists) the caller checks from the page and the database."""
    page.get_by_text(message).first.wait_for(timeout=30_000)
    wait_idle(page)
    assert page.get_by_text(message).first.is_visible(), f"“{message}” gone after the runs settled"


def wait_idle(page, timeout: float = 30_000) -> None:
    """Wait until the script run the last action started has finished and no skeleton is left.
    A run begins within a moment of the action: wait up to 250 ms to see it begin (a fixed 250 ms
    pause did this, and paid the whole pause on each of the suite's ~1,000 calls even when the run
    began at once), then for it to end."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    # No run began, or one began and ended unseen: the waits below hold either way.
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_selector(
            "[data-testid=stApp][data-test-script-state=running]", timeout=250, state="attached"
        )
    page.wait_for_selector(
        "[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout
    )
    page.wait_for_function("!document.querySelector('[data-testid=stSkeleton]')", timeout=timeout)
    page.wait_for_timeout(300)


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page, url: str, username: str) -> None:
    """Sign in with the demo password through the form."""
    import seeds

    page.goto(url)
    wait_idle(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(seeds.DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_text("您好").first.wait_for(timeout=30_000)
    wait_idle(page)


def choose(page, label: str, typed: str) -> None:
    """Pick in a selectbox by typing part of an option and pressing Enter (as a keyboard user would)."""
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.press_sequentially(typed, delay=30)
    page.get_by_role("option").filter(has_text=typed).first.wait_for(timeout=30_000)
    box.press("Enter")
    wait_idle(page)


# A visit filled in the way an officer does it on a tablet (visit and field tests).
DESCRIPTION = "企业新增产线急需用电增容，报装已两个月仍未接电。"


def radio(page, question: str, answer: str) -> None:
    page.locator("[data-testid=stRadio]").filter(has_text=question).get_by_text(
        answer, exact=True
    ).click()
    wait_idle(page)


def fill_visit(page, url: str) -> None:
    page.goto(url + "/visit")
    wait_idle(page)
    page.get_by_role("button", name="＋ 新建走访").click()
    page.get_by_text("走访企业").wait_for(timeout=30_000)
    wait_idle(page)
    search = page.get_by_label("查找企业（名称两字以上或信用代码）")
    search.fill("有限")
    search.press("Enter")
    wait_idle(page)
    choose(page, "企业", "有限")
    radio(page, "产值（营收）与去年同期相比", "增长")
    radio(page, "在手订单与去年同期相比", "基本持平")
    radio(page, "用工人数与去年同期相比", "下降")
    count = page.get_by_label("今年以来接受的行政检查次数 *")
    count.fill("0")
    count.press("Tab")
    wait_idle(page)
    radio(page, "此前是否向政府部门反映过问题", "否")
    page.get_by_role("button", name="＋ 添加问题").click()
    wait_idle(page)
    choose(page, "问题类别 *", "用能")
    radio(page, "诉求性质", "求助")
    text = page.get_by_label("问题描述 *（至少 10 个字）")
    text.fill(DESCRIPTION)
    text.press("Tab")
    wait_idle(page)
    page.get_by_text("草稿已保存").wait_for(timeout=30_000)
    # Tablet fit: no sideways scrolling, numbers get a numeric keyboard.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.get_by_label("今年以来接受的行政检查次数 *").get_attribute("type") == "number"


def resume(page, url: str) -> None:
    page.goto(url + "/visit")
    wait_idle(page)
    page.get_by_role("button", name="继续").first.click()
    page.get_by_text("走访企业").wait_for(timeout=30_000)
    wait_idle(page)


def assert_restored(page) -> None:
    assert page.get_by_label("问题描述 *（至少 10 个字）").input_value() == DESCRIPTION
    group = page.locator("[data-testid=stRadio]").filter(has_text="产值（营收）与去年同期相比")
    assert group.locator("input[type=radio]").nth(0).is_checked()
    assert "有限" in page.get_by_role("combobox", name="企业", exact=True).input_value()
    assert "用能" in page.get_by_role("combobox", name="问题类别 *", exact=True).input_value()
