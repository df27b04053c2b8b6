"""`python -m bench concurrency`: one real Streamlit server, several real browser sessions at once.

Officers fill and submit visits through the visit page (a tablet viewport) while supervisors keep
opening the dashboard and the weekly report, for --seconds. Reports submit latency (click to "走访已提交")
and page-load latency percentiles, every error shown to a user, and checks the database afterwards:
every confirmed visit is stored exactly once with its problem, nothing else was stored. Then it measures
the server's memory with 1 and with 20 idle signed-in sessions (the sizing figures in the README).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import seeds
from survey import db as store

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
OFFICERS = ("officer", "officer.fgw", "officer.kjj")  # departments with linked companies
SUPERVISORS = ("supervisor", "admin")
ERROR_SELECTOR = "[data-testid=stException], [data-testid=stAlertContentError]"


try:
    from playwright.async_api import Error as PlaywrightError
except ImportError:  # pragma: no cover - playwright is a test dependency
    PlaywrightError = Exception


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Server:
    def __init__(self, db_path: Path):
        self.db_path = db_path
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        env = {**os.environ, "SURVEY_DB": str(self.db_path)}
        self.log = open(self.db_path.parent / "server.log", "w")  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "streamlit"),
                "run",
                "ui/server.py",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)
        self.log.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def idle(page) -> None:
    await page.wait_for_timeout(250)
    await page.wait_for_selector(
        "[data-testid=stApp][data-test-script-state=notRunning]", timeout=60_000
    )
    await page.wait_for_function(
        "!document.querySelector('[data-testid=stSkeleton]')", timeout=60_000
    )
    await page.wait_for_timeout(200)


async def sign_in(page, url: str, username: str) -> None:
    await page.goto(url)
    await idle(page)
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(seeds.DEMO_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.get_by_text("您好").first.wait_for(timeout=60_000)
    await idle(page)


async def choose(page, label: str, typed: str) -> None:
    box = page.get_by_role("combobox", name=label, exact=True)
    await box.click()
    await box.press_sequentially(typed, delay=20)
    await page.get_by_role("option").filter(has_text=typed).first.wait_for(timeout=20_000)
    await box.press("Enter")
    await idle(page)


async def radio(page, question: str, answer: str) -> None:
    await (
        page.locator("[data-testid=stRadio]")
        .filter(has_text=question)
        .get_by_text(answer, exact=True)
        .click()
    )
    await idle(page)


async def errors_on(page, stats: dict, where: str) -> None:
    shown = await page.locator(ERROR_SELECTOR).all_inner_texts()
    for text in shown:
        stats["errors"].append(f"{where}: {text[:120]}")


async def officer_loop(browser, url: str, username: str, until: float, stats: dict) -> None:
    page = await (await browser.new_context(viewport={"width": 768, "height": 1024})).new_page()
    await sign_in(page, url, username)
    n = 0
    while time.monotonic() < until:
        n += 1
        try:
            await submit_one(page, url, username, n, stats)
        except PlaywrightError as exc:
            stats["timeouts"].append(f"{username} 第 {n} 次：{str(exc).splitlines()[0][:120]}")


async def submit_one(page, url: str, username: str, n: int, stats: dict) -> None:
    """Fill the visit form as a field officer would, submit, and wait for the receipt."""
    await page.goto(url + "/visit")
    await idle(page)
    await page.get_by_role("button", name="＋ 新建走访").click()
    await page.get_by_text("走访企业").wait_for(timeout=60_000)
    await idle(page)
    search = page.get_by_label("查找企业（名称两字以上或信用代码）")
    await search.fill("有限")
    await search.press("Enter")
    await idle(page)
    await choose(page, "企业", "有限")
    await radio(page, "产值（营收）与去年同期相比", "增长")
    await radio(page, "在手订单与去年同期相比", "基本持平")
    await radio(page, "用工人数与去年同期相比", "下降")
    count = page.get_by_label("今年以来接受的行政检查次数 *")
    await count.fill("1")
    await count.press("Tab")
    await idle(page)
    await radio(page, "此前是否向政府部门反映过问题", "否")
    await page.get_by_role("button", name="＋ 添加问题").click()
    await idle(page)
    await choose(page, "问题类别 *", "用能")
    await radio(page, "诉求性质", "求助")
    text = page.get_by_label("问题描述 *（至少 10 个字）")
    await text.fill(f"并发测试 {username} 第 {n} 次：用电增容报装两个月仍未接电。")
    await text.press("Tab")
    await idle(page)
    await errors_on(page, stats, f"{username} form")
    started = time.monotonic()
    await page.get_by_role("button", name="提交走访").click()
    receipt = page.get_by_text(re.compile(r"走访已提交，编号 #\d+"))
    await receipt.wait_for(timeout=60_000)
    stats["submit"].append(time.monotonic() - started)
    visit_id = int(re.search(r"#(\d+)", await receipt.first.inner_text()).group(1))
    stats["confirmed"].append((username, visit_id))
    await errors_on(page, stats, f"{username} submit")


async def supervisor_loop(browser, url: str, username: str, until: float, stats: dict) -> None:
    page = await (await browser.new_context(viewport={"width": 1366, "height": 900})).new_page()
    await sign_in(page, url, username)
    addresses = ("/dashboard", "/weekly", "/dashboard?from=2026-01&to=2026-06&sector=EQ-POWER")
    n = 0
    while time.monotonic() < until:
        address = addresses[n % len(addresses)]
        n += 1
        started = time.monotonic()
        await page.goto(url + address)
        await idle(page)
        stats["page"].append(time.monotonic() - started)
        await errors_on(page, stats, f"{username} {address}")


async def load_phase(url: str, seconds: float) -> dict:
    from playwright.async_api import async_playwright

    stats = {"submit": [], "page": [], "confirmed": [], "errors": [], "timeouts": []}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        until = time.monotonic() + seconds
        await asyncio.gather(
            *(officer_loop(browser, url, u, until, stats) for u in OFFICERS),
            *(supervisor_loop(browser, url, u, until, stats) for u in SUPERVISORS),
        )
        await browser.close()
    return stats


async def memory_phase(server: Server, sessions: int) -> list[tuple[int, float]]:
    from playwright.async_api import async_playwright

    points = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pages = []
        for i in range(1, sessions + 1):
            page = await (await browser.new_context()).new_page()
            await sign_in(page, server.url, "supervisor")
            await page.goto(server.url + "/dashboard")
            await idle(page)
            pages.append(page)
            if i in (1, 5, 10, sessions):
                await asyncio.sleep(1)
                points.append((i, server.rss_mb()))
        await browser.close()
    return points


def bench_concurrency(seconds: float = 180, sessions: int = 20) -> None:
    folder = Path(tempfile.mkdtemp(prefix="zhy-concurrency-"))
    path = folder / "survey.db"
    seeds.generate(path)
    with store.opened(path) as db:
        last_before = store.scalar(db, "SELECT max(id) FROM visits")
    print(
        f"演示库 {path}；{len(OFFICERS)} 位走访人员提交走访，{len(SUPERVISORS)} 位督办人员刷新看板，{seconds:.0f} 秒"
    )
    with Server(path) as server:
        stats = asyncio.run(load_phase(server.url, seconds))
        rss_after_load = server.rss_mb()
    with store.opened(path) as db:
        new_visits = store.query(
            db,
            "SELECT v.id, u.username, (SELECT count(*) FROM problems p WHERE p.visit_id = v.id) AS problems"
            " FROM visits v JOIN users u ON u.id = v.officer_id WHERE v.id > ?",
            (last_before,),
        )
    stored = {(r["username"], r["id"]) for r in new_visits}
    confirmed = set(stats["confirmed"])
    lost = confirmed - stored
    extra = stored - confirmed
    whole = all(r["problems"] == 1 for r in new_visits)
    print(
        f"提交走访 {len(stats['confirmed'])} 次：延迟中位数 {statistics.median(stats['submit']):.2f} s，"
        f"p95 {percentile(stats['submit'], 0.95):.2f} s，最长 {max(stats['submit']):.2f} s"
    )
    print(
        f"打开看板/周报 {len(stats['page'])} 次：中位数 {statistics.median(stats['page']):.2f} s，"
        f"p95 {percentile(stats['page'], 0.95):.2f} s"
    )
    print(
        f"用户看到的错误：{len(stats['errors'])}"
        + "".join(f"\n  {e}" for e in stats["errors"][:10])
    )
    print(
        f"数据库：新增走访 {len(stored)}，已确认 {len(confirmed)}，丢失 {len(lost)}，多出 {len(extra)}，"
        f"每条走访带 1 个问题：{'是' if whole else '否'}；负载后服务进程内存 {rss_after_load:.0f} MB"
    )

    fresh = folder / "idle.db"
    shutil.copy(path, fresh)
    with Server(fresh) as server:
        base = server.rss_mb()
        points = asyncio.run(memory_phase(server, sessions))
    print(
        f"空闲服务进程 {base:.0f} MB；" + "，".join(f"{n} 个会话 {mb:.0f} MB" for n, mb in points)
    )
    (n1, m1), (n2, m2) = points[0], points[-1]
    print(f"每个已登录并打开看板的会话约 {(m2 - m1) / (n2 - n1):.1f} MB")
    shutil.rmtree(folder, ignore_errors=True)
