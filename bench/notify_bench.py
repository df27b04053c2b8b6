"""Notifications: what writing the messages adds to a move (the same escalation with and without
them, in one run), and the 预警/逾期 scan over a large database with its query plan."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import seeds
from bench.visits_bench import _percentile
from survey import bootstrap
from survey import db as store
from survey.access.auth import load_actor
from survey.notify import reminders, routing
from survey.problems import lifecycle

ROUNDS = 400


def _escalations(path: Path, rounds: int) -> list[float]:
    with store.opened(path) as db:
        supervisor = load_actor(
            db, store.scalar(db, "SELECT id FROM users WHERE username = 'supervisor'")
        )
        held = [
            r[0]
            for r in db.conn.execute(
                "SELECT id FROM problems WHERE status = 'in_progress' ORDER BY id LIMIT 50"
            )
        ]
        times = []
        for i in range(rounds):
            start = time.perf_counter()
            lifecycle.escalate(db, supervisor, held[i % len(held)], "请本周内答复企业")
            times.append((time.perf_counter() - start) * 1000)
        return times


def bench_moves() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        seeds.generate(path, companies=500, problems=5000, seed=5)
        real = routing.on_event
        try:
            routing.on_event = lambda db, event: 0  # the same move, writing no message
            without = _escalations(path, ROUNDS)
        finally:
            routing.on_event = real
        with_messages = _escalations(path, ROUNDS)
        with store.opened(path) as db:
            written = store.scalar(db, "SELECT count(*) FROM messages WHERE kind = 'escalated'")
    print(f"督办 (escalation) of a held problem, {ROUNDS} each, one transaction per move")
    for label, times in (("without messages", without), ("with messages", with_messages)):
        print(
            f"  {label:17s} median {statistics.median(times):.2f} ms,"
            f" p95 {_percentile(times, 0.95):.2f} ms"
        )
    added = _percentile(with_messages, 0.95) - _percentile(without, 0.95)
    print(f"  the messages add {added:.2f} ms at p95 (limit 2 ms); {written} messages written")


def bench_scan(path: str | None) -> None:
    source = Path(path) if path else Path(tempfile.gettempdir()) / "zhy-bench-dashboard-1000000.db"
    if not source.exists():
        print(f"{source} 不存在：先运行 python -m bench dashboard 生成它，或用 --db 指定。")
        return
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "scan.db"
        shutil.copy(source, copy)
        bootstrap.init_db(copy)  # applies the messages migration to an older file
        with store.opened(copy) as db:
            problems = store.scalar(db, "SELECT count(*) FROM problems")
            plan = reminders.plan(db)
            start = time.perf_counter()
            first = reminders.scan(db)
            first_s = time.perf_counter() - start
            start = time.perf_counter()
            again = reminders.scan(db)
            again_s = time.perf_counter() - start
    print(f"预警/逾期 scan over {problems:,} problems")
    print(f"  plan: {' | '.join(plan)}")
    print(f"  first run {first_s:.2f} s, sent {first}")
    print(f"  next run {again_s:.2f} s, sent {again} (limit 1 s)")
