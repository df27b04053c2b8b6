"""`python -m survey backup` while another process keeps submitting visits: each copy is consistent
(integrity_check, every visit whole, summary tables equal a recount), the timer recipe's --keep leaves the
newest N, and `restore` brings a copy back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from survey import db as store
from survey import maintenance, visits
from survey.access import auth
from tests.helpers import ROOT, visit_with_problems, wait_until, whole_load_visits


def _writer(path) -> None:
    with store.opened(path) as db:
        officer = auth.load_actor(
            db, store.scalar(db, "SELECT id FROM users WHERE username = 'officer'")
        )
        body = visit_with_problems(db, officer)
        while True:
            visits.submit_visit(db, officer, f"load-{uuid.uuid4().hex[:12]}", body)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "survey", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def load_visits(path) -> int:
    with store.opened(path) as db:
        return store.scalar(db, "SELECT count(*) FROM visits WHERE submission_id LIKE 'load-%'")


def assert_consistent(path) -> int:
    with store.opened(path) as db:
        assert store.integrity_problems(db) == []
        return whole_load_visits(db)


@pytest.mark.slow
@pytest.mark.sqlite_only  # PostgreSQL's pg_dump under load: tests/test_postgres.py
def test_backup_under_write_load_then_restore(demo_db, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    child = os.fork()
    if child == 0:  # pragma: no cover - the writer runs until killed
        try:
            _writer(demo_db)
        finally:
            os._exit(0)
    copies = []
    try:
        wait_until(lambda: load_visits(demo_db) > 0, "the writer's first visit")
        for _ in range(5):
            before = load_visits(demo_db)
            started = time.perf_counter()
            result = cli("backup", str(folder), "--keep", "3", "--db", str(demo_db))
            print(
                f"backup under load {time.perf_counter() - started:.1f} s, visits {before} -> {load_visits(demo_db)}"
            )
            assert result.returncode == 0, result.stderr
            copies.append(assert_consistent(result.stdout.split("已备份到 ")[1].split("（")[0]))
            # the writer was not stopped by the backup: it commits again (waited for, not timed)
            wait_until(lambda b=before: load_visits(demo_db) > b, "the writer to go on")
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    assert copies == sorted(copies) and copies[0] > 0
    kept = maintenance.backups_in(folder)
    assert len(kept) == 3  # --keep 3: the newest three

    newest = kept[-1]
    result = cli("restore", str(newest), "--yes", "--db", str(demo_db))
    assert result.returncode == 0, result.stderr
    assert assert_consistent(demo_db) == copies[-1]
