"""`python -m bench postgres`: PostgreSQL beside SQLite, in one run (issue 18's three numbers).

1. migrate-store of the million-problem demo database: time and peak memory (a child process),
   and its COPY rate against the naive way (executemany INSERT of the same rows).
2. The supervisor dashboard at a million problems on both stores: every statement of one render
   (traced on SQLite, the same statements run on each store), and the page's server-side render.
3. 8 writers x 200 visits, every tenth sent twice, on each store: errors, duplicates, p95.

PostgreSQL: --pg URL (an empty database), else a throwaway durable server started here from
Debian's binaries (every commit flushed, as in production).

`python -m bench postgres --copy --problems 10000000`: no SQLite at all. The demo is seeded straight
into PostgreSQL by COPY (`python -m seeds --db URL`: time, rows a second, peak memory, the database's
size), then every statement of one dashboard rerun with Streamlit's caches emptied (as after a write)
is traced, re-run three times and the slowest EXPLAINed, and the page's render timed, cold and cached,
with each chart tab open in turn. `python -m bench postgres --db postgresql://…` does the same on a
database seeded before (no seeding).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import seeds
from bench import dashboard_bench, visits_bench
from survey import bulk
from survey import db as store
from survey.access.auth import load_actor

ROOT = Path(__file__).resolve().parent.parent
NAIVE_ROWS = 20_000


def _server(stack: ExitStack, url: str | None) -> str:
    if url:
        return url
    from tests.pgserver import postgres_server

    server = stack.enter_context(
        postgres_server(durable=True, settings={"shared_buffers": "1GB", "work_mem": "32MB"})
    )
    print(f"PostgreSQL 临时服务器（每次提交落盘）：{server}", flush=True)
    return server


def _database(server: str, name: str) -> str:
    from tests.pgserver import fresh_database

    return fresh_database(server, name)


def migrate_child(source: str, target: str) -> None:
    """In a fresh process, so that the peak memory is the copy's own."""
    from survey.storecopy import migrate_store

    started = time.perf_counter()
    result = migrate_store(source, target)
    seconds = time.perf_counter() - started
    rows = sum(result["tables"].values())
    print(
        f"  migrate-store：{len(result['tables'])} 张表 {rows:,} 行，{seconds:.1f} s"
        f"（{rows / seconds:,.0f} 行/秒），进程内存峰值 {dashboard_bench._peak_rss_mb():.0f} MB",
        flush=True,
    )
    print(f"  ROWS {rows} SECONDS {seconds:.3f}")


def naive_copy_rate(source: str, server: str) -> float:
    """Rows a second of the naive way: the first NAIVE_ROWS problems by executemany INSERT."""
    from survey import schema

    target = _database(server, "bench_naive")
    with store.opened(source) as lite, store.opened(target) as pg:
        schema.migrate(pg)
        pg.native("ALTER TABLE problems DISABLE TRIGGER ALL")  # no parents copied: FKs off
        columns = [r[1] for r in lite.conn.execute("PRAGMA table_info(problems)").fetchall()]
        rows = lite.conn.execute(
            f"SELECT {', '.join(columns)} FROM problems ORDER BY id LIMIT {NAIVE_ROWS}"
        ).fetchall()
        marks = ", ".join("?" for _ in columns)
        started = time.perf_counter()
        with store.transaction(pg):
            pg.conn.executemany(
                f"INSERT INTO problems ({', '.join(columns)}) VALUES ({marks})", rows
            )
        seconds = time.perf_counter() - started
    store.release(target)
    return NAIVE_ROWS / seconds


def bench_migrate(source: Path, server: str) -> str:
    target = _database(server, "bench_million")
    print(
        f"\n1. migrate-store {source}（{source.stat().st_size / 1e9:.2f} GB）→ PostgreSQL",
        flush=True,
    )
    code = (
        "import sys; from bench.postgres_bench import migrate_child; migrate_child(*sys.argv[1:])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(source), target],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    lines = done.stdout.splitlines()
    print("\n".join(line for line in lines if not line.startswith("  ROWS")))
    marker = next(line for line in lines if line.startswith("  ROWS")).split()
    ours = int(marker[1]) / float(marker[3])
    naive = naive_copy_rate(str(source), server)
    print(
        f"  朴素做法（逐行 INSERT，executemany，{NAIVE_ROWS:,} 个问题）：{naive:,.0f} 行/秒；"
        f"migrate-store 整体快 {ours / naive:.1f} 倍（含汇总表重建与核对）"
    )
    return target


def _timed(db, sql: str) -> float:
    return dashboard_bench._median_ms(lambda: db.execute(sql).fetchall())


def bench_dashboard(source: Path, target: str) -> None:
    print("\n2. 看板（一百万个问题）：同一次渲染的 SQL 在两个库上各跑三次取中位数", flush=True)
    with store.opened(source) as lite, store.opened(target) as pg:
        actor = dashboard_bench._supervisor(lite)
        view = dashboard_bench._view(lite)
        traced = dashboard_bench.time_queries(lite, actor, view)
        rows = []
        for lite_ms, sql in traced:
            _timed(pg, sql)  # the first run translates and plans
            rows.append((_timed(pg, sql), lite_ms, sql))
    rows.sort(reverse=True)
    for pg_ms, lite_ms, sql in rows[:10]:
        print(f"  PG {pg_ms:7.1f} ms  SQLite {lite_ms:7.1f} ms  {' '.join(sql.split())[:90]}")
    slowest = rows[0][0]
    total_pg, total_lite = sum(r[0] for r in rows), sum(r[1] for r in rows)
    print(
        f"  {len(rows)} 条；PostgreSQL 最慢一条 {slowest:.1f} ms（上限 {dashboard_bench.QUERY_LIMIT_MS} ms）："
        f"{'通过' if slowest <= dashboard_bench.QUERY_LIMIT_MS else '超出'}；"
        f"合计 PG {total_pg:.0f} ms / SQLite {total_lite:.0f} ms = {total_pg / total_lite:.2f}"
    )
    pg_first, pg_rerun, _ = dashboard_bench.render_page(target)
    lite_first, lite_rerun, _ = dashboard_bench.render_page(source)
    limit = dashboard_bench.RENDER_LIMIT_S
    print(
        f"  页面服务端渲染（AppTest，重跑中位数）：PG {pg_rerun:.2f} s（首次 {pg_first:.2f} s），"
        f"SQLite {lite_rerun:.2f} s（首次 {lite_first:.2f} s）；比值 {pg_rerun / lite_rerun:.2f}；"
        f"上限 {limit} s：{'通过' if pg_rerun <= limit else '超出'}"
    )


def bench_writers(server: str) -> None:
    print("\n3. 8 个写入者 × 200 次走访，每十次重发一次，两个库各一遍", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, target in (
            ("SQLite", Path(tmp) / "writers.db"),
            ("PostgreSQL", _database(server, "bench_writers")),
        ):
            seeds.generate(target, companies=500, problems=500, seed=5)
            with store.opened(target) as db:
                officer = load_actor(
                    db, store.scalar(db, "SELECT id FROM users WHERE username = 'officer'")
                )
                payload = visits_bench._payload(db, officer)
            load = visits_bench.concurrent_submits(target, officer, payload)
            print(f" {name}:")
            visits_bench.print_load(load)
            store.release(target)


# ---- `python -m bench postgres --copy`: seeded straight into PostgreSQL (10 million problems) ----


def seed_by_copy(url: str, problems: int) -> None:
    """`python -m seeds --db URL --problems N` in a child process (COPY; its own peak memory)."""
    print(f"\n1. 演示数据直接写入 PostgreSQL（COPY，{problems:,} 个问题）", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "seeds", "--db", url, "--problems", str(problems)],
        cwd=ROOT,
        check=True,
        capture_output=True,  # its progress line and summary: the figures are printed below
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with store.opened(url) as db:
        rows = sum(bulk.table_counts(db).values())
        size = store.scalar(db, "SELECT pg_database_size(current_database())")
    print(
        f"  共 {rows:,} 行，{seconds:.0f} s（{rows / seconds:,.0f} 行/秒），进程内存峰值 {peak:.0f} MB；"
        f"库大小 {size / 1e9:.2f} GB（pg_database_size，不含 WAL）",
        flush=True,
    )


@contextmanager
def traced() -> Iterator[list[tuple[str, tuple]]]:
    """Every statement this process sends through the store to PostgreSQL, as written (SQLite's
    dialect) with its parameters: AppTest runs the page in this process."""
    connection_class = store.postgres_connection_class()
    seen: list[tuple[str, tuple]] = []
    real = connection_class.execute

    def execute(self, sql, params=()):
        seen.append((sql, params))
        return real(self, sql, params)

    connection_class.execute = execute
    try:
        yield seen
    finally:
        connection_class.execute = real


def _dashboard_app(url: str):
    """AppTest on the dashboard page, a supervisor signed in, after a first render."""
    os.environ["SURVEY_DB"] = url
    from streamlit.testing.v1 import AppTest

    from survey.access import auth

    with store.opened(url) as db:
        signed = auth.sign_in(db, "supervisor", seeds.DEMO_PASSWORD)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.session_state["auth_session_id"] = signed.session_id
    app.run()
    app.switch_page("pages/dashboard_page.py").run()
    return app


def _cold_run(app) -> float:
    """One rerun with Streamlit's caches emptied, as after a write (a new data version): every
    statement of the page runs. Seconds."""
    import streamlit as st

    st.cache_data.clear()
    started = time.perf_counter()
    app.run()
    if app.exception:
        raise RuntimeError(app.exception)
    return time.perf_counter() - started


def page_statements(
    url: str, tab: str | None = None
) -> tuple[list[tuple[str, tuple]], list[float], list[float]]:
    """The statements of one rerun of the dashboard page (navigation and badges included) with
    the caches empty, the chart tab `tab` open (the first when None), and the cold and cached
    rerun times (s)."""
    from ui import dashboard

    app = _dashboard_app(url)
    if tab:
        app.session_state[dashboard.TAB_KEY] = tab
        app.run()
    with traced() as seen:
        _cold_run(app)
    cold = [_cold_run(app) for _ in range(3)]
    warm = []
    for _ in range(3):
        started = time.perf_counter()
        app.run()
        warm.append(time.perf_counter() - started)
    return seen, cold, warm


def _explain(db, sql: str, params) -> list[str]:
    plan = db.native(
        "EXPLAIN (ANALYZE, BUFFERS) " + store.in_dialect(db, sql), store.storable_params(params)
    ).fetchall()
    return [r[0] for r in plan]


def bench_statements(url: str, explain: bool = True) -> None:
    """Every statement of a cold rerun with each chart tab open (a tab builds its own charts only
    when open, so each tab's statements are the page's and its own), each re-run three times; and
    each tab's render, cold and cached."""
    from ui import dashboard

    print(
        "\n2. 看板页一次重跑（督办员，逐个打开每个图表标签页）的全部 SQL，在 PostgreSQL 上逐条重跑三次取中位数",
        flush=True,
    )
    reads: dict[str, tuple[str, object, str]] = {}
    renders = {}
    total = 0
    for tab in dashboard.TABS.values():
        seen, cold, warm = page_statements(url, tab)
        total += len(seen)
        renders[tab] = (statistics.median(cold), statistics.median(warm))
        for sql, params in seen:
            if sql.lstrip().upper().startswith(("SELECT", "WITH")):
                reads.setdefault(repr((sql, params)), (sql, params, tab))
    rows = []
    with store.opened(url) as db:
        for sql, params, tab in reads.values():
            rows.append(
                (
                    dashboard_bench._median_ms(
                        lambda sql=sql, params=params: db.execute(sql, params).fetchall()
                    ),
                    sql,
                    params,
                    tab,
                )
            )
        rows.sort(key=lambda r: r[0], reverse=True)
        for ms, sql, _, tab in rows[:12]:
            print(f"  {ms:7.1f} ms  [{tab}] {' '.join(sql.split())[:100]}")
        limit = dashboard_bench.QUERY_LIMIT_MS
        slowest = rows[0][0]
        print(
            f"  共 {total} 条（读 {len(rows)} 条不同的）；最慢一条 {slowest:.1f} ms（上限 {limit} ms）："
            f"{'通过' if slowest <= limit else '超出'}；读合计 {sum(r[0] for r in rows):.0f} ms",
            flush=True,
        )
        for ms, sql, params, _ in rows:
            if explain and ms > limit:
                print(f"\n  EXPLAIN ANALYZE（{ms:.0f} ms）：{' '.join(sql.split())[:200]}")
                print("\n".join("    " + line for line in _explain(db, sql, params)))
    limit = dashboard_bench.RENDER_LIMIT_S
    print(f"\n3. 页面服务端渲染（AppTest，三次中位数；上限 {limit} s）")
    for tab, (cold, warm) in renders.items():
        print(
            f"  {tab}：缓存清空（如一次写入之后）{cold:.2f} s："
            f"{'通过' if cold <= limit else '超出'}；缓存命中的重跑 {warm:.2f} s",
            flush=True,
        )


def bench_postgres_copy(problems: int = 10_000_000, pg: str | None = None) -> None:
    """Seed N problems straight into PostgreSQL by COPY (no SQLite file, no migrate-store), then
    time every statement of a dashboard rerun there and the page's render."""
    print(f"负载（uptime）：{os.getloadavg()}", flush=True)
    started = time.perf_counter()
    with ExitStack() as stack:
        server = _server(stack, pg)
        target = _database(server, f"bench_copy_{problems}")
        seed_by_copy(target, problems)
        bench_statements(target)
        store.release(target)
    print(f"\n全部用时 {time.perf_counter() - started:.0f} s；负载（uptime）：{os.getloadavg()}")


def bench_postgres(
    problems: int = 1_000_000, path: str | None = None, pg: str | None = None
) -> None:
    source = dashboard_bench._database(path, problems)
    with ExitStack() as stack:
        server = _server(stack, pg)
        started = time.perf_counter()
        target = bench_migrate(source, server)
        bench_dashboard(source, target)
        store.release(target)
        bench_writers(server)
        print(f"\n全部用时 {time.perf_counter() - started:.0f} s")
