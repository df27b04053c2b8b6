"""The API at a million problems, through its ASGI app in process (token check, rate count,
FastAPI, JSON): a page of 100 problems by cursor against the same page by OFFSET, a create
against the same create through the domain function, and 100,000 events of the change feed by
cursor against the same pages read through the domain function."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.dashboard_bench import _database
from bench.visits_bench import _percentile
from survey import bootstrap
from survey import db as store
from survey.access import clients
from survey.access.actor import SYSTEM
from survey.access.permissions import SCOPES
from survey.problems import exchange, intake

PAGES = 40
CREATES = 200
FEED = 100_000


def _ms(times: list[float]) -> str:
    return f"median {statistics.median(times):.1f} ms, p95 {_percentile(times, 0.95):.1f} ms"


def bench_api(problems: int, path: str | None) -> None:
    source = _database(path, problems)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "api.db"
        shutil.copy(source, copy)
        bootstrap.init_db(copy)  # the API's migrations on an older file
        os.environ["SURVEY_DB"] = str(copy)
        from fastapi.testclient import TestClient

        from api.app import app

        with store.opened(copy) as db:
            client_id, token = clients.create_client(
                db, SYSTEM, name="bench", scopes=list(SCOPES), per_minute=6000
            )
            total = store.scalar(db, "SELECT count(*) FROM problems")
            top = store.scalar(db, "SELECT max(id) FROM problems")
            uscc = store.scalar(db, "SELECT uscc FROM companies LIMIT 1")
            user = store.scalar(db, "SELECT user_id FROM api_clients WHERE id = ?", (client_id,))
        headers = {"Authorization": f"Bearer {token}"}
        api = TestClient(app)
        print(f"API over {total:,} problems (in process, token and rate checked per call)")

        cursor_times, offset_times = [], []
        with store.opened(copy) as db:
            for i in range(PAGES):
                after = (top * i) // PAGES
                params = {"limit": 100, "cursor": str(after)} if after else {"limit": 100}
                start = time.perf_counter()
                page = api.get("/problems", params=params, headers=headers)
                cursor_times.append((time.perf_counter() - start) * 1000)
                assert page.status_code == 200 and len(page.json()["items"]) == 100
                start = time.perf_counter()  # naive: the same page by OFFSET, the query alone
                store.query(
                    db,
                    f"SELECT * FROM problems ORDER BY id LIMIT 100 OFFSET {(total * i) // PAGES}",
                )
                offset_times.append((time.perf_counter() - start) * 1000)
        print(
            f"  page of 100 by cursor, {PAGES} pages across the register: {_ms(cursor_times)}"
            " (limit 50 ms)"
        )
        print(
            f"  naive, the same pages by OFFSET (SQL only): {_ms(offset_times)};"
            f" ratio {statistics.median(offset_times) / statistics.median(cursor_times):.1f}x"
        )

        body = {
            "source": "hotline",
            "company": {"uscc": uscc},
            "category_code": "D6",
            "nature_code": "consult",
            "description": "热线来电：企业反映不动产登记材料被反复要求补正。",
        }
        http_times, direct_times = [], []
        actor = clients.Client(client_id, "bench", user, frozenset(SCOPES), "all", "", 6000).actor()
        with store.opened(copy) as db:
            for i in range(CREATES):
                ref = f"B-{i}"
                start = time.perf_counter()
                made = api.post(
                    "/problems",
                    json=body | {"external_ref": ref},
                    headers=headers | {"Idempotency-Key": ref},
                )
                http_times.append((time.perf_counter() - start) * 1000)
                assert made.status_code == 201
                submission = intake.Submission(
                    external_ref=f"D-{i}",
                    uscc=uscc,
                    **{k: v for k, v in body.items() if k != "company"},
                )
                start = time.perf_counter()
                intake.receive(db, actor, f"D-{i}", submission)
                direct_times.append((time.perf_counter() - start) * 1000)
        print(f"  create through the API, {CREATES}: {_ms(http_times)} (limit 20 ms p95)")
        print(
            f"  the same create through intake.receive: {_ms(direct_times)};"
            f" the API adds {_percentile(http_times, 0.95) - _percentile(direct_times, 0.95):.1f} ms"
            " at p95"
        )

        start, read, after = time.perf_counter(), 0, "0"
        while read < FEED:
            page = api.get("/events", params={"after": after, "limit": 500}, headers=headers).json()
            read += len(page["items"])
            after = page["cursor"]
        feed_s = time.perf_counter() - start
        start, direct, cursor = time.perf_counter(), 0, 0
        with store.opened(copy) as db:
            while direct < FEED:  # the same pages through the domain function, no HTTP
                rows, cursor = exchange.events_after(db, actor, cursor, 500)
                direct += len(rows)
        naive_s = time.perf_counter() - start
        print(
            f"  change feed, {read:,} events by cursor in pages of 500: {feed_s:.2f} s (limit 5 s)"
        )
        print(
            f"  the same pages through exchange.events_after (no HTTP, no JSON): {naive_s:.2f} s;"
            f" the API costs {feed_s / naive_s:.1f}x that"
        )
