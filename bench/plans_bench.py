"""The action plan at ten years (5,000 tasks, 60,000 monthly reports): the year's overview and its
bulletin, through survey/, and the 任务清单 page rendered server-side (AppTest), against a naive
baseline that computes each task's latest accepted percent in Python from every report."""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import seeds
from survey import clock
from survey import db as store
from survey.access.actor import SYSTEM
from survey.plans import overview, tasks

YEARS = range(2016, 2026)  # the demo holds its own plan for this year
PER_YEAR = 500


def _fill(path: Path) -> None:
    rng = random.Random(16)
    now = clock.now_iso()
    with store.opened(path) as db, store.transaction(db):
        codes = [r[0] for r in db.conn.execute("SELECT code FROM departments")]
        handler = store.scalar(db, "SELECT id FROM users WHERE username = 'handler'")
        for year in YEARS:
            plan = db.execute(
                "INSERT INTO plans (year, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (year, f"{year} 年度任务清单", now, now),
            ).lastrowid
            for n in range(1, PER_YEAR + 1):
                task = db.execute(
                    "INSERT INTO plan_tasks (plan_id, number, content, target, lead_department_code,"
                    " due_on, created_at, updated_at) VALUES (?, ?, ?, '', ?, ?, ?, ?)",
                    (plan, str(n), f"任务 {n}", rng.choice(codes), f"{year}-12-31", now, now),
                ).lastrowid
                db.conn.executemany(
                    "INSERT INTO task_reports (task_id, month, done_text, percent, status,"
                    " submitted_by, submitted_at) VALUES (?, ?, '进展', ?, 'accepted', ?, ?)",
                    [
                        (task, f"{year}-{m:02d}", min(100, m * 9), handler, now)
                        for m in range(1, 13)
                    ],
                )


def _naive(path: Path, year: int) -> int:
    """Every task and every report into Python, the latest accepted percent found by hand."""
    with store.opened(path) as db:
        rows = store.query(
            db,
            "SELECT t.id, t.due_on, p.year FROM plan_tasks t JOIN plans p ON p.id = t.plan_id"
            " WHERE p.year = ?",
            (year,),
        )
        latest: dict[int, tuple[str, int]] = {}
        for task_id, month, percent, status in db.conn.execute(
            "SELECT task_id, month, percent, status FROM task_reports"
        ):
            if status == "accepted" and month > latest.get(task_id, ("", 0))[0]:
                latest[task_id] = (month, percent)
        today = date(year, 9, 1)
        states = [
            tasks.state_of(r | {"percent": latest.get(r["id"], ("", 0))[1]}, today, 15)
            for r in rows
        ]
    return len(states)


def bench_plans() -> None:
    from tests.helpers import signed_in  # AppTest signed in, as the page tests do

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plans.db"
        seeds.generate(path, companies=200, problems=500, seed=4)
        _fill(path)
        os.environ["SURVEY_DB"] = str(path)
        with store.opened(path) as db:
            counts = db.conn.execute(
                "SELECT (SELECT count(*) FROM plan_tasks), (SELECT count(*) FROM task_reports)"
            ).fetchone()
        print(f"Action plan over {len(YEARS)} years: {counts[0]:,} tasks, {counts[1]:,} reports")
        ours, naive = [], []
        for _ in range(5):
            start = time.perf_counter()
            with store.opened(path) as db:
                data = overview.frame(db, SYSTEM, 2025, date(2025, 9, 1))
                overview.by(data, "lead_name")
                overview.by(data, "indicator_name")
                overview.bulletin(db, SYSTEM, 2025, "2025-08", date(2025, 9, 1))
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            _naive(path, 2025)
            naive.append(time.perf_counter() - start)
        print(
            f"  a year's overview and bulletin (survey/): median {statistics.median(ours) * 1000:.0f} ms"
        )
        print(
            f"  naive (every report into Python for the states alone): median"
            f" {statistics.median(naive) * 1000:.0f} ms; ratio"
            f" {statistics.median(naive) / statistics.median(ours):.1f}x"
        )
        at = signed_in(path, "supervisor")
        at.switch_page("pages/plan_page.py")
        at.query_params["year"] = "2025"
        at.run()
        assert sum(int(m.value) for m in at.metric) == PER_YEAR
        renders = []
        for _ in range(5):
            start = time.perf_counter()
            at.run()
            renders.append(time.perf_counter() - start)
        assert not at.exception, at.exception
        print(
            f"  任务清单 page, server side (AppTest rerun, {PER_YEAR} tasks shown): median"
            f" {statistics.median(renders) * 1000:.0f} ms (limit 500 ms)"
        )


CASES = 10_000


def bench_cases() -> None:
    """Case search over 10,000 published cases (words, category, sector), against a naive search
    that reads every case into Python and filters there."""
    from survey.cases import library

    rng = random.Random(17)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cases.db"
        seeds.generate(path, companies=200, problems=2000, seed=4)
        now = clock.now_iso()
        words = ["用地", "审批", "融资", "用电", "人才", "检查", "登记", "纳税", "物流", "环评"]
        with store.opened(path) as db, store.transaction(db):
            closed = [
                r[0] for r in db.conn.execute("SELECT id FROM problems WHERE status = 'closed'")
            ]
            facts = {
                r[0]: r[1:]
                for r in db.conn.execute(
                    "SELECT id, category_code, sector_code, company_id FROM problems"
                )
            }
            rows = []
            for i in range(CASES):
                pid = rng.choice(closed)
                a, b = rng.sample(words, 2)
                rows.append(
                    (
                        pid,
                        f"案例 {i}：{a}难题",
                        f"企业反映{a}和{b}方面的困难。" * 5,
                        f"多部门协同解决{b}问题。" * 5,
                        "企业满意。" * 5,
                        *facts[pid],
                        rng.random() < 0.3,
                        "published",
                        1,
                        now,
                        now,
                        now,
                    )
                )
            db.conn.executemany(
                "INSERT INTO cases (problem_id, title, background, approach, results, category_code,"
                " sector_code, company_id, mask_company, status, nominated_by, created_at, updated_at,"
                " published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            monitor = store.scalar(db, "SELECT id FROM users WHERE username = 'monitor'")
        from survey.access.auth import load_actor

        with store.opened(path) as db:
            reader = load_actor(db, monitor)  # masking checks run for every row
            queries = [("用地", None), ("融资 人才", None), ("", "D"), ("审批", "B")]
            ours, naive = [], []
            for _ in range(5):
                for text, category in queries:
                    start = time.perf_counter()
                    library.search(db, reader, text, category=category)
                    ours.append((time.perf_counter() - start) * 1000)
                    start = time.perf_counter()
                    everything = store.query(db, "SELECT * FROM cases")
                    hits = [
                        c
                        for c in everything
                        if all(
                            w in c["title"] + c["background"] + c["approach"] + c["results"]
                            for w in text.split()
                        )
                        and (category is None or (c["category_code"] or "").startswith(category))
                    ]
                    sorted(hits, key=lambda c: c["published_at"] or "", reverse=True)[:50]
                    naive.append((time.perf_counter() - start) * 1000)
        print(
            f"Case search over {CASES:,} published cases, {len(queries)} queries x 5, a monitor reading"
        )
        print(
            f"  ours (SQL, 50 shown, masking checked): median {statistics.median(ours):.1f} ms,"
            f" max {max(ours):.1f} ms (limit 100 ms)"
        )
        print(
            f"  naive (every case into Python): median {statistics.median(naive):.1f} ms; ratio"
            f" {statistics.median(naive) / statistics.median(ours):.1f}x"
        )
