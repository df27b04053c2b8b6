"""`python -m bench dashboard-browser`: 统计看板 as a supervisor sees it, in Debian's Chromium at 1366x768.

Starts a real Streamlit server of this checkout (or `--checkout DIR`) on the database (`--db`, a SQLite
file or a postgresql:// URL, else the
dashboard bench's million-problem demo) and, with `--baseline DIR` (a checkout of older code, e.g.
`git worktree add /tmp/zhy-base <commit>`), a second one running that code on the same file, or on
`--baseline-db` (a copy of the file from before our migrations, so the older code runs without the
indexes ours adds). Each round, alternating which code goes first, a fresh
browser context signs the supervisor in and times, until the page has settled (the script run over,
no stale element or skeleton, every visible chart drawn):
the dashboard opened by signing in at its address, a reload, a click on a heatmap cell until the KPIs and
charts are redrawn, 清除图表筛选, a change of the 来源 filter box, the 部门排行 tab opened, and every
other page of the menu.
Next to each time is the server's share: the seconds its script runs (pages and fragments) took
within the step, which bench/runtimer/sitecustomize.py records in the server process the same way
for old and new code (the rest is the browser: the websocket, Vega drawing the charts).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import seeds
from bench.concurrency_bench import ARGS, CHROMIUM, _free_port
from bench.dashboard_bench import _database

ROOT = Path(__file__).resolve().parent.parent
VIEWPORT = {"width": 1366, "height": 768}
TIMEOUT_MS = 60_000

# Every change of the app's script state, with the browser's clock (installed before any page script).
# Times are the epoch's milliseconds (the document's origin + performance.now()), so that a run of a
# new document (a click that loaded the whole page again) still counts as after the click.
NOW = "performance.timeOrigin + performance.now()"
RECORD_RUNS = """
window.__runs = [];
new MutationObserver((changes) => {
  for (const c of changes) {
    window.__runs.push([performance.timeOrigin + performance.now(), c.target.getAttribute('data-test-script-state')]);
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']});
"""

# The page has settled: the script run over, no stale element or skeleton, `metrics` KPI cards shown
# and every visible chart drawn.
SETTLED = """
([metrics]) => {
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid=stSkeleton], [data-stale=true]')) return false;
  if (document.querySelectorAll('[data-testid=stMetric]').length < metrics) return false;
  for (const chart of document.querySelectorAll('[data-testid=stVegaLiteChart]')) {
    if (chart.offsetParent !== null && !chart.querySelector('canvas, svg.marks')) return false;
  }
  return true;
}
"""

# The browser saw a run begin since `since`. A quick run's start and end can reach the page in one
# batch, and the page then never shows 'running' (工作台 at a million problems, every round), so the
# server's own record of a run begun after the action counts too.
SAW_RUN = "(since) => (window.__runs || []).some(([t, s]) => t >= since && s === 'running')"


class Server:
    """`streamlit run ui/server.py` of one checkout on the database."""

    def __init__(self, checkout: Path, db_path: Path | str, label: str):
        self.checkout, self.db_path, self.label = checkout, db_path, label
        self.url = f"http://127.0.0.1:{_free_port()}"
        # the logs beside a SQLite file; for a postgresql:// URL, in the temp folder
        self.folder = (
            Path(tempfile.gettempdir())
            if str(db_path).startswith("postgresql://")
            else Path(db_path).parent
        )

    def __enter__(self) -> Server:
        self.runs = self.folder / f"runs-{self.label}.txt"
        self.runs.unlink(missing_ok=True)
        timer = str(Path(__file__).resolve().parent / "runtimer")
        path = os.pathsep.join(p for p in (timer, os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "SURVEY_DB": str(self.db_path), "ZHY_RUN_LOG": str(self.runs)}
        env["PYTHONPATH"] = path
        log_path = self.folder / f"server-{self.label}.log"
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "streamlit"), "run", "ui/server.py"]
            + ["--server.port", self.url.rsplit(":", 1)[1], "--server.address", "127.0.0.1"]
            + ["--server.headless", "true"],
            cwd=self.checkout,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.label}: server did not start, see {log_path}")

    def script_seconds(self, start: float, end: float) -> float:
        """Seconds the server ran scripts (pages and fragments) between two time.time()s."""
        if not self.runs.exists():
            return float("nan")
        total = 0.0
        for line in self.runs.read_text().splitlines():
            began, ended, _fragment = line.split()
            total += max(0.0, min(float(ended), end) - max(float(began), start))
        return total

    def ran_since(self, start: float) -> bool:
        """Whether a script run begun at or after `start` (time.time()) has ended."""
        if not self.runs.exists():
            return False
        return any(float(line.split()[0]) >= start for line in self.runs.read_text().splitlines())

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)
        self.log.close()


def _now(page) -> float:
    return page.evaluate(NOW)


def timed(
    page,
    action,
    server: Server,
    *,
    metrics: int = 0,
    navigates: bool = False,
    timeout: float = TIMEOUT_MS,
    ran: bool = True,
) -> tuple[float, float]:
    """(wall seconds, the server's script seconds) from `action()` until the page has settled."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    since = 0.0 if navigates else _now(page)
    origin = page.evaluate("performance.timeOrigin")
    began, start = time.time(), time.perf_counter()
    action()
    # A run followed the action (unless `ran` is false: a change the browser makes alone, such as
    # the older code's tabs), then the page settled.
    while ran and not (page.evaluate(SAW_RUN, since) or server.ran_since(began)):
        if time.perf_counter() - start > timeout / 1000:
            raise PlaywrightTimeout(f"no script run within {timeout / 1000:.0f} s")
        time.sleep(0.005)
    page.wait_for_function(SETTLED, arg=[metrics], polling="raf", timeout=timeout)
    wall = time.perf_counter() - start
    if not navigates and page.evaluate("performance.timeOrigin") != origin:
        print(f"  {server.label}：这一步整页重新载入了（{wall:.2f} s）", flush=True)
    time.sleep(0.05)  # the run's end is written as it returns
    return wall, server.script_seconds(began, time.time())


def _point(page, fraction: tuple[float, float]) -> tuple[float, float]:
    heatmap = page.locator("[data-testid=stVegaLiteChart]").first
    heatmap.scroll_into_view_if_needed()
    box = heatmap.bounding_box()
    return box["x"] + box["width"] * fraction[0], box["y"] + box["height"] * fraction[1]


def find_cell(browser, server: Server) -> tuple[float, float]:
    """Where on the heatmap a click selects a cell, as fractions of its box, found in a session of
    its own before the timing (both checkouts read the same database, so one place works for both;
    a click on the same cell again in a session would change nothing)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = _signed_in(browser, server)
    note = page.get_by_text("图表筛选：")
    try:
        for fraction in ((0.3, 0.2), (0.25, 0.35), (0.4, 0.3), (0.2, 0.45), (0.35, 0.5)):
            point = _point(page, fraction)
            try:
                click = lambda point=point: page.mouse.click(*point)  # noqa: E731
                timed(page, click, server, metrics=9, timeout=15_000)
            except PlaywrightTimeout:
                continue
            if note.count():
                return fraction
    finally:
        page.context.close()
    raise RuntimeError("no heatmap cell found to click")


def warm_up(browser, server: Server, cell: tuple[float, float]) -> None:
    """What find_cell did to the first process, done to another: a sign-in and a click on `cell`."""
    page = _signed_in(browser, server)
    try:
        point = _point(page, cell)
        timed(page, lambda: page.mouse.click(*point), server, metrics=9, timeout=15_000)
    finally:
        page.context.close()


def _signed_in(browser, server: Server, result: dict | None = None):
    """A new browser context signed in as the supervisor at the dashboard's address; `result`
    gets the time from the 登录 click until the dashboard has settled."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(RECORD_RUNS)
    page = context.new_page()
    page.goto(f"{server.url}/dashboard")
    page.get_by_label("用户名").fill("supervisor")
    page.get_by_label("密码").fill(seeds.DEMO_PASSWORD)
    opened = timed(page, page.get_by_role("button", name="登录").click, server, metrics=9)
    if result is not None:
        result["打开看板（登录后）"] = opened
    return page


def _step(result: dict, key: str, page, action, server: Server, **options) -> bool:
    """Time one step into result[key]; a step that does not settle within 60 s is counted as
    missing (nan), named with the page's last script states, and the round goes on."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        result[key] = timed(page, action, server, **options)
        return True
    except PlaywrightTimeout:
        state = page.evaluate("(window.__runs || []).slice(-3)")
        print(f"  {server.label}：{key} 60 s 内未完成（最后的运行状态 {state}）", flush=True)
        result[key] = (float("nan"), float("nan"))
        return False


def one_round(browser, server: Server, cell: tuple[float, float]) -> dict:
    """Every step of a supervisor's visit, timed: {step: (wall, server)}. A dashboard step that
    does not settle ends the dashboard's part of the round (the next step needs its screen);
    the other pages are timed all the same."""
    result: dict[str, tuple[float, float]] = {}
    page = _signed_in(browser, server, result)
    try:
        _dashboard_steps(page, server, cell, result)
        links = page.locator("[data-testid=stSidebarNav] a")
        entries = [
            (links.nth(i).get_attribute("href"), links.nth(i).inner_text().strip())
            for i in range(links.count())
        ]
        for href, text in entries:
            if href.rstrip("/").endswith("/dashboard"):
                continue
            name = text.split("\n")[-1].rstrip("0123456789 ")
            link = page.locator(f"[data-testid=stSidebarNav] a[href='{href}']")
            _step(result, f"页面：{name}", page, link.click, server)
    finally:
        page.context.close()
    return result


def _dashboard_steps(page, server: Server, cell: tuple[float, float], result: dict) -> None:
    if not _step(result, "重新载入", page, page.reload, server, metrics=9, navigates=True):
        return
    point = _point(page, cell)
    click = lambda: page.mouse.click(*point)  # noqa: E731 - the step's action
    if not _step(result, "点击热力图单元格", page, click, server, metrics=9):
        return
    if not page.get_by_text("图表筛选：").count():
        raise RuntimeError("the heatmap click did not filter")
    clear = page.get_by_role("button", name="清除图表筛选").click
    if not _step(result, "清除图表筛选", page, clear, server, metrics=9):
        return
    page.mouse.wheel(0, -5000)
    page.get_by_test_id("stSelectbox").filter(has_text="来源").locator(
        "[role=combobox], input"
    ).first.click()
    option = page.get_by_role("option").nth(1)
    if not _step(result, "改筛选框（来源）", page, option.click, server, metrics=9):
        return
    # Our tabs rerun the charts' fragment to build the tab opened (their container has the
    # key's class); the older code's tabs were all sent already and switch in the browser.
    reruns = page.locator(".st-key-dash_tab").count() > 0
    tab = page.get_by_role("tab", name="部门排行").click
    _step(result, "换标签页（部门排行）", page, tab, server, metrics=9, ran=reruns)


def _fmt(pairs: list[tuple[float, float]]) -> str:
    done = [p for p in pairs if p[0] == p[0]] or [(float("nan"), float("nan"))]  # not timed out
    wall = statistics.median(p[0] for p in done)
    server = statistics.median(p[1] for p in done)
    missing = f" ×{len(pairs) - len(done)}" if len(done) < len(pairs) else ""
    return f"{wall:6.2f} s（服务端 {server:5.2f} s）{missing}"


def bench_dashboard_browser(
    problems: int = 1_000_000,
    path: str | None = None,
    baseline: str | None = None,
    rounds: int = 3,
    checkout: str | None = None,
    baseline_db: str | None = None,
) -> None:
    from playwright.sync_api import sync_playwright

    # a postgresql:// URL as it is (Path would fold its "//")
    target = path if path and path.startswith("postgresql://") else _database(path, problems)
    checkouts = [("ours", Path(checkout).resolve() if checkout else ROOT)]
    if baseline:
        checkouts.insert(0, ("baseline", Path(baseline).resolve()))
    load = os.getloadavg()
    if baseline_db:
        print(f"基线用数据库副本 {baseline_db}")
    print(f"数据库 {target}；Chromium {VIEWPORT['width']}x{VIEWPORT['height']}；{rounds} 轮")
    print(f"开始时负载 {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}（{os.cpu_count()} 核）")
    # Our code first: a migration it brings is applied before the older code opens the file.
    servers = {}
    # `baseline_db`: a copy of the file before our migrations, so the older code runs without the
    # indexes ours brings (else it gains from them too and the ratio hides what they did).
    files = {"ours": target, "baseline": baseline_db or target}
    for label, checkout in reversed(checkouts):
        servers[label] = Server(checkout, files[label], label).__enter__()
    times: dict[str, dict[str, list]] = {label: {} for label, _ in checkouts}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            cell = find_cell(browser, servers[checkouts[0][0]])
            # The other code's process gets the same warm-up, untimed: a sign-in and a click on
            # that cell. The search had warmed the first process alone, and the other's first
            # round then paid its cold start (0.5-0.8 s on the server) and its first click on the
            # cell (0.43-0.67 s against 0.23-0.37): the process's history, not the code.
            for label, _ in checkouts[1:]:
                warm_up(browser, servers[label], cell)
            for n in range(rounds):
                order = checkouts if n % 2 == 0 else list(reversed(checkouts))
                for label, _ in order:
                    result = one_round(browser, servers[label], cell)
                    for step, pair in result.items():
                        times[label].setdefault(step, []).append(pair)
                    first = result["打开看板（登录后）"]
                    print(
                        f"  第 {n + 1} 轮 {label}：打开 {first[0]:.2f} s，"
                        f"点击 {result.get('点击热力图单元格', (float('nan'),))[0]:.2f} s",
                        flush=True,
                    )
            browser.close()
    finally:
        for server in servers.values():
            server.__exit__()
    load = os.getloadavg()
    print(f"结束时负载 {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print(
        "\n各步中位数（墙钟，括号内为服务端脚本运行时间）；首轮在各进程热身（登录、点击同一单元格）之后："
    )
    labels = [label for label, _ in checkouts]
    header = "".join(f"{label:>32}" for label in labels)
    print(f"{'步骤':<24}{header}{'  倍数' if baseline else ''}")
    for step in times["ours"]:
        cells = "".join(f"{_fmt(times[label].get(step, [(0, 0)])):>32}" for label in labels)
        ratio = ""
        if baseline and step in times["baseline"]:
            base, ours = (
                statistics.median([p[0] for p in times[label][step] if p[0] == p[0]] or [0.0])
                for label in ("baseline", "ours")
            )
            ratio = f"  {base / ours:.1f}x" if base and ours else ""
        print(f"{step:<24}{cells}{ratio}")
    for label in labels:
        first = times[label]["打开看板（登录后）"][0]
        print(f"{label} 首轮打开（热身后）：{first[0]:.2f} s（服务端 {first[1]:.2f} s）")
    # A page whose figures are kept under the data version (周报) reads them only in the first
    # round; that round is what the first supervisor sees after a write.
    print("\n各页首轮（进程启动后第一次打开，尚无缓存）：")
    for step in times["ours"]:
        if step.startswith("页面："):
            cells = "".join(f"{_fmt(times[label].get(step, [(0, 0)])[:1]):>32}" for label in labels)
            print(f"{step:<24}{cells}")
