"""`python -m bench dashboard`: the supervisor dashboard on a large database.

Prints, in one run: every SQL statement one dashboard render issues (each re-run and timed), the page's
server-side render time in AppTest, the bytes of chart data sent to the browser, the same KPIs and
heatmap computed the naive way (load the problems into pandas) with the ratio, and a 100,000-problem
.xlsx export with its peak memory.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from survey import clock
from survey import db as store
from survey.access.auth import load_actor
from survey.problems import register
from survey.reports import common, cubes, exports, overview, periods

QUERY_LIMIT_MS = 150
RENDER_LIMIT_S = 1.5
CHART_LIMIT_BYTES = 500_000
EXPORT_ROWS = 100_000


def _database(path: str | None, problems: int) -> Path:
    if path:
        return Path(path)
    target = Path(tempfile.gettempdir()) / f"zhy-bench-dashboard-{problems}.db"
    if not target.exists():
        import seeds

        print(f"生成演示数据库 {target}（{problems:,} 个问题，首次需要几分钟）…", flush=True)
        seeds.generate(target, problems=problems, seed=2025)
    return target


def _supervisor(db):
    user_id = store.scalar(db, "SELECT id FROM users WHERE username = 'supervisor'")
    return load_actor(db, user_id)


def _view(db) -> periods.Filters:
    end = store.scalar(db, "SELECT max(raised_month) FROM problems")
    return periods.Filters(periods.month_add(end, -11), end)


def _median_ms(run, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def time_queries(db, actor, view) -> list[tuple[float, str]]:
    """Trace the statements of one render (the page's data, plus common problems), then time each."""
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        data = overview.dashboard_data(db, actor, view)
        common.common_categories(db, actor, view, counts=data["cells"])
    finally:
        db.conn.set_trace_callback(None)
    timed = []
    for sql in dict.fromkeys(s for s in statements if s.lstrip().upper().startswith("SELECT")):
        timed.append((_median_ms(lambda sql=sql: db.conn.execute(sql).fetchall()), sql))
    return sorted(timed, reverse=True)


def render_page(path: Path) -> tuple[float, float, int]:
    """(first render s, median rerun s, chart bytes) of the dashboard page in AppTest."""
    os.environ["SURVEY_DB"] = str(path)
    from streamlit.testing.v1 import AppTest

    import seeds
    from survey.access import auth

    with store.opened(path) as db:
        signed = auth.sign_in(db, "supervisor", seeds.DEMO_PASSWORD)
    app = AppTest.from_file(
        str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120
    )
    app.session_state["auth_session_id"] = signed.session_id
    app.run()
    start = time.perf_counter()
    app.switch_page("pages/dashboard_page.py").run()
    first = time.perf_counter() - start
    reruns = []
    for _ in range(3):
        start = time.perf_counter()
        app.run()
        reruns.append(time.perf_counter() - start)
    if app.exception:
        raise RuntimeError(app.exception)
    charts = [e for e in _elements(app._tree) if getattr(e, "type", "") == "vega_lite_chart"]
    size = sum(
        len(c.proto.spec) + sum(len(d.data.data) for d in c.proto.datasets) + len(c.proto.data.data)
        for c in charts
    )
    return first, statistics.median(reruns), size


def _elements(node, found=None):
    found = [] if found is None else found
    for child in getattr(node, "children", {}).values():
        found.append(child)
        _elements(child, found)
    return found


def naive(db, view) -> dict:
    """The baseline: every problem of the period into pandas, then the same figures there."""
    frame = pd.read_sql_query(
        "SELECT * FROM problems WHERE raised_month BETWEEN ? AND ?",
        db.conn,
        params=[view.start, view.end],
    )
    replied = frame["replied_at"].notna()
    due = replied & frame["deadline_on"].notna()
    on_time = due & (frame["replied_at"].str[:10] <= frame["deadline_on"])
    bad_levels = register.bad_review_levels(db)
    called = frame["satisfaction_level"].notna()
    overdue = (
        frame["status"].isin(register.WITH_DEPARTMENT)
        & (frame["deadline_on"] < clock.today().isoformat())
    ).sum()
    heat = frame.groupby(["sector_code", "category_code"], dropna=False).size()
    return {
        "raised": len(frame),
        "closed_rate": (frame["status"] == "closed").mean(),
        "on_time_rate": on_time.sum() / (due.sum() + overdue),
        "satisfaction_rate": 1 - frame["satisfaction_level"].isin(bad_levels).sum() / called.sum(),
        "median_days": float(frame.loc[replied, "reply_working_days"].clip(upper=31).median()),
        "overdue": int(overdue),
        "heat_cells": len(heat),
    }


def export_view(db, view) -> periods.Filters:
    """About EXPORT_ROWS problems: the most recent months holding that many, then as few sectors of
    them as reach it."""
    start = view.end
    while start > view.start:
        n = store.scalar(
            db, "SELECT sum(n) FROM cube_sector WHERE month BETWEEN ? AND ?", (start, view.end)
        )
        if (n or 0) >= EXPORT_ROWS:
            break
        start = periods.month_add(start, -1)
    chosen, total = [], 0
    for sector, n in db.conn.execute(
        "SELECT sector, sum(n) FROM cube_sector WHERE month BETWEEN ? AND ? GROUP BY sector"
        " ORDER BY sector",
        (start, view.end),
    ):
        chosen.append(sector)
        total += n
        if total >= EXPORT_ROWS:
            break
    return view.narrowed(start=start, sectors=tuple(chosen))


def _peak_rss_mb() -> float:
    """This process's own high-water mark (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def export_child(path: str, start: str, end: str, sectors: str) -> None:
    """Run in a fresh process so its peak memory is the export's own."""
    with store.opened(path) as db:
        actor = _supervisor(db)
        view = periods.Filters(start, end, sectors=tuple(sectors.split(",")))
        handle, name = tempfile.mkstemp(suffix=".xlsx")
        os.close(handle)
        begin = time.perf_counter()
        result = exports.write_dashboard(db, actor, view, name)
        seconds = time.perf_counter() - begin
        size = Path(name).stat().st_size
        Path(name).unlink()
    peak = _peak_rss_mb()
    print(
        f"导出 {start} 至 {end}（{len(view.sectors)} 个行业）：{result['problems']:,} 个问题，"
        f"{seconds:.1f} s，文件 {size / 1e6:.1f} MB，进程内存峰值 {peak:.0f} MB"
    )


def bench_dashboard(problems: int = 1_000_000, path: str | None = None) -> None:
    target = _database(path, problems)
    with store.opened(target) as db:
        actor = _supervisor(db)
        view = _view(db)
        total = store.scalar(db, "SELECT count(*) FROM problems")
        print(f"数据库 {target}：{total:,} 个问题；看板期间 {view.start} 至 {view.end}")
        if total <= 100_000:  # a fresh recount of a million rows would dominate the run
            print("汇总表与问题表一致" if not cubes.mismatches(db) else "汇总表与问题表不一致！")

        timed = time_queries(db, actor, view)
        print(f"\n一次看板渲染的 SQL：{len(timed)} 条，逐条重跑取中位数")
        for ms, sql in timed[:8]:
            print(f"  {ms:7.1f} ms  {' '.join(sql.split())[:110]}")
        slowest = timed[0][0]
        print(
            f"最慢一条 {slowest:.1f} ms（上限 {QUERY_LIMIT_MS} ms）：{'通过' if slowest <= QUERY_LIMIT_MS else '超出'}"
        )

        start = time.perf_counter()
        data = overview.dashboard_data(db, actor, view)
        ours = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        baseline = naive(db, view)
        naive_ms = (time.perf_counter() - start) * 1000
        values = {k.key: k.value for k in data["kpis"]}
        print(
            f"\n看板全部数据：汇总表 {ours:.0f} ms；朴素做法（整期问题读入 pandas）{naive_ms:.0f} ms；"
            f"快 {naive_ms / ours:.1f} 倍"
        )
        for key in (
            "raised",
            "closed_rate",
            "on_time_rate",
            "satisfaction_rate",
            "median_days",
            "overdue",
        ):
            same = abs((values[key] or 0) - (baseline[key] or 0)) < 1e-9
            print(
                f"  {key:18s} 看板 {values[key]!s:>22}  朴素 {baseline[key]!s:>22}  {'一致' if same else '不一致'}"
            )
        print(
            f"  heatmap cells      看板 {len(data['cells']):>22}  朴素 {baseline['heat_cells']:>22}"
        )

    first, rerun, chart_bytes = render_page(target)
    print(
        f"\n页面服务端渲染（AppTest）：首次 {first:.2f} s，重跑中位数 {rerun:.2f} s（上限 {RENDER_LIMIT_S} s）"
    )
    print(f"图表数据共 {chart_bytes / 1000:.0f} KB（上限 {CHART_LIMIT_BYTES // 1000} KB）")

    with store.opened(target) as db:
        chosen = export_view(db, _view(db))
    code = "import sys; from bench.dashboard_bench import export_child; export_child(*sys.argv[1:])"
    root = Path(__file__).resolve().parent.parent
    args = [str(target), chosen.start, chosen.end, ",".join(chosen.sectors)]
    subprocess.run([sys.executable, "-c", code, *args], check=True, cwd=root)
