"""Submitting a visit with 5 problems: server-side time per submit against a naive baseline, and
8 threads x 200 concurrent submissions (with resends) counting errors and duplicates."""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import seeds
from survey import clock, questionnaires
from survey import db as store
from survey.access.actor import SYSTEM
from survey.access.auth import load_actor
from survey.visits import submit_visit


def _payload(db, officer) -> dict:
    qid, _ = questionnaires.current(db, SYSTEM, "visit")
    company = store.scalar(
        db, "SELECT id FROM companies WHERE department_code = ? LIMIT 1", (officer.department_code,)
    )
    return {
        "company_id": company,
        "visit_date": clock.today().isoformat(),
        "mode": "实地",
        "participants": [],
        "questionnaire_id": qid,
        "answers": {
            "output_trend": "up",
            "orders_trend": "flat",
            "employment_trend": "down",
            "inspection_count": 2,
            "inspection_depts": ["SCJG"],
            "had_earlier": "yes",
            "earlier_satisfaction": "4",
            "projects": [{"project_name": "二期", "project_investment": 5000.0}],
        },
        "problems": [
            {
                "category": c,
                "nature": "help",
                "description": f"第{i}个问题：企业反映的情况需要协调解决。",
                "deadline_class": "standard",
            }
            for i, c in enumerate(["A1", "A2", "B1", "C1", "E2"], start=1)
        ],
    }


def _naive_submit(db, officer, sid: str, payload: dict) -> None:
    """The first version one might write: each row its own autocommitted insert, no idempotency."""
    now = clock.now_iso()
    company = db["companies"].get(payload["company_id"])
    visit_id = (
        db["visits"]
        .insert(
            {
                "submission_id": sid,
                "company_id": company["id"],
                "visit_date": payload["visit_date"],
                "mode": payload["mode"],
                "officer_id": officer.id,
                "department_code": company["department_code"],
                "questionnaire_id": payload["questionnaire_id"],
                "summary": "",
                "sector_code": company["sector_code"],
                "district_code": company["district_code"],
                "created_at": now,
                "updated_at": now,
            }
        )
        .last_pk
    )
    db["visit_participants"].insert({"visit_id": visit_id, "user_id": officer.id})
    for name, value in payload["answers"].items():
        db["answers"].insert(
            {
                "questionnaire_id": payload["questionnaire_id"],
                "visit_id": visit_id,
                "question": name,
                "repeat_path": "",
                "value": str(value),
            }
        )
    for i, p in enumerate(payload["problems"], start=1):
        pid = (
            db["problems"]
            .insert(
                {
                    "submission_id": f"{sid}-p{i}",
                    "source": "visit",
                    "visit_id": visit_id,
                    "company_id": company["id"],
                    "sector_code": company["sector_code"],
                    "district_code": company["district_code"],
                    "category_code": p["category"],
                    "nature_code": p["nature"],
                    "description": p["description"],
                    "status": "new",
                    "raised_on": payload["visit_date"],
                    "raised_month": payload["visit_date"][:7],
                    "created_by": officer.id,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            .last_pk
        )
        db["problem_events"].insert(
            {
                "problem_id": pid,
                "actor_id": officer.id,
                "at": now,
                "action": "raise",
                "to_status": "new",
            }
        )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def bench_visits(_companies: int = 0) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        seeds.generate(path, companies=500, problems=500, seed=5)
        with store.opened(path) as db:
            officer = load_actor(
                db, store.scalar(db, "SELECT id FROM users WHERE username = 'officer'")
            )
            payload = _payload(db, officer)
        ours, naive = [], []
        for _ in range(200):
            with store.opened(path) as db:
                start = time.perf_counter()
                submit_visit(db, officer, str(uuid.uuid4()), payload)
                ours.append((time.perf_counter() - start) * 1000)
        for _ in range(200):
            with store.opened(path) as db:
                start = time.perf_counter()
                _naive_submit(db, officer, str(uuid.uuid4()), payload)
                naive.append((time.perf_counter() - start) * 1000)

        load = concurrent_submits(path, officer, payload)
    print(
        "submit a visit with 5 problems, questionnaire answers and a repeat (server side, 200 each)"
    )
    print(
        f"  ours:  median {statistics.median(ours):.2f} ms, p95 {_percentile(ours, 0.95):.2f} ms "
        "(one BEGIN IMMEDIATE transaction, idempotent on the submission id)"
    )
    print(
        f"  naive: median {statistics.median(naive):.2f} ms, p95 {_percentile(naive, 0.95):.2f} ms "
        "(each row its own autocommitted insert, no idempotency)"
    )
    print(f"  ratio naive/ours (median): {statistics.median(naive) / statistics.median(ours):.1f}x")
    print_load(load)


def concurrent_submits(target, officer, payload, threads: int = 8, per_thread: int = 200) -> dict:
    """`threads` officers submitting `per_thread` visits each at once, every tenth sent twice (as
    after a reconnect), on a SQLite file or a PostgreSQL URL: errors, duplicates, latencies."""
    errors: list[str] = []
    sids = [[str(uuid.uuid4()) for _ in range(per_thread)] for _ in range(threads)]
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(mine: list[str]) -> None:
        for i, sid in enumerate(mine):
            for _ in range(2 if i % 10 == 0 else 1):
                try:
                    with store.opened(target) as db:
                        start = time.perf_counter()
                        submit_visit(db, officer, sid, payload)
                        elapsed = (time.perf_counter() - start) * 1000
                    with lock:
                        latencies.append(elapsed)
                except Exception as exc:  # noqa: BLE001 - counted and printed
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(s,)) for s in sids]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    unique = [s for group in sids for s in group]
    with store.opened(target) as db:
        marks = ", ".join("?" for _ in unique)
        visits_written = store.scalar(
            db, f"SELECT count(*) FROM visits WHERE submission_id IN ({marks})", unique
        )
        problems_written = store.scalar(
            db,
            "SELECT count(*) FROM problems p JOIN visits v ON v.id = p.visit_id"
            f" WHERE v.submission_id IN ({marks})",
            unique,
        )
        integrity = store.integrity_problems(db)
    return {
        "threads": threads,
        "per_thread": per_thread,
        "wall": wall,
        "errors": errors,
        "latencies": latencies,
        "unique": len(unique),
        "visits": visits_written,
        "problems": problems_written,
        "expected_problems": len(payload["problems"]) * len(unique),
        "integrity": integrity,
    }


def print_load(load: dict) -> None:
    latencies, errors = load["latencies"], load["errors"]
    sent = len(latencies) + len(errors)
    print(
        f"concurrent: {load['threads']} threads x {load['per_thread']} visits, every tenth sent"
        f" twice: {sent} submits in {load['wall']:.1f} s"
    )
    print(
        f"  errors: {len(errors)}; visits written {load['visits']} for {load['unique']} submission"
        f" ids (duplicates: {load['visits'] - load['unique']}); problems {load['problems']}"
        f" (expected {load['expected_problems']})"
    )
    if latencies:
        print(
            f"  submit latency under load: median {statistics.median(latencies):.1f} ms,"
            f" p95 {_percentile(latencies, 0.95):.1f} ms"
        )
    print(
        f"  integrity_check/foreign_key_check: {'ok' if not load['integrity'] else load['integrity'][:3]}"
    )
    for line in errors[:5]:
        print(f"  error: {line}")
