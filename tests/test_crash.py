"""Crash safety: a process submitting visits is killed with SIGKILL at a random moment, 100 times.
Afterwards the file passes integrity_check, every visit is whole (all its problems, answers, events,
participants and its audit row) or absent, nothing is orphaned, the dashboards' summary tables still
equal a recount, and the draft of every visit that did not make it is still there to resume."""

from __future__ import annotations

import os
import random
import signal
import time
import uuid

import pytest

from survey import db as store
from survey import drafts, visits
from survey.access import auth
from survey.reports import cubes
from tests.helpers import actor_for, visit_with_problems

ON_POSTGRES = os.environ.get("SURVEY_TEST_STORE") == "postgresql"
# 100 kills on SQLite, whose own file format is what a kill can tear; 40 on PostgreSQL, where each
# round costs 0.4 s (a fork, a connection, the wider window) and a kill can only abort a transaction.
KILLS = 40 if ON_POSTGRES else 100
# How long a writer goes on after its first committed visit before the kill: a submit takes a few
# ms on SQLite, a few times that on PostgreSQL (round trips), so the window is wider there.
WINDOW_S = 0.2 if ON_POSTGRES else 0.05


def _writer(path, ready_fd: int, round_no: int) -> None:
    """The child: draft, then submit, over and over, until it is killed."""
    with store.opened(path) as db:
        officer = auth.load_actor(
            db, store.scalar(db, "SELECT id FROM users WHERE username = 'officer'")
        )
        body = visit_with_problems(db, officer)
        os.write(ready_fd, b"r")
        while True:
            sid = f"crash-{round_no}-{uuid.uuid4().hex[:8]}"
            drafts.save_draft(db, officer, "visit", sid, body)
            visits.submit_visit(db, officer, sid, body)
            os.write(ready_fd, b"v")  # committed: the parent may kill from now on


@pytest.mark.slow
def test_sigkill_during_visit_submissions_leaves_whole_visits_or_none(demo_db):
    rng = random.Random(2026)
    for round_no in range(KILLS):
        read_fd, write_fd = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - the child never returns
            os.close(read_fd)
            try:
                _writer(demo_db, write_fd, round_no)
            finally:
                os._exit(0)
        os.close(write_fd)
        assert os.read(read_fd, 1) == b"r"
        # Wait for one committed visit, however busy the machine is, then kill at a random moment
        # of the writer's next rounds: every round both does work and is cut somewhere.
        assert os.read(read_fd, 1) == b"v"
        time.sleep(rng.uniform(0.001, WINDOW_S))
        os.kill(child, signal.SIGKILL)
        _, status = os.waitpid(child, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        os.close(read_fd)

    with store.opened(demo_db) as db:
        assert store.integrity_problems(db) == []  # integrity_check and foreign_key_check
        officer = actor_for(db, "officer")
        expected_answers = None
        visits_made = store.query(
            db, "SELECT id, submission_id FROM visits WHERE submission_id LIKE 'crash-%'"
        )
        # each round waited for its first committed visit before the kill: a count, not a speed
        assert len(visits_made) >= KILLS
        for visit in visits_made:
            vid, sid = visit["id"], visit["submission_id"]
            problems = store.query(
                db, "SELECT id, submission_id FROM problems WHERE visit_id = ?", (vid,)
            )
            assert sorted(p["submission_id"] for p in problems) == [
                f"{sid}-p{i}" for i in range(1, 6)
            ]
            for p in problems:
                assert (
                    store.scalar(
                        db, "SELECT count(*) FROM problem_events WHERE problem_id = ?", (p["id"],)
                    )
                    >= 1
                )
            answers = store.scalar(db, "SELECT count(*) FROM answers WHERE visit_id = ?", (vid,))
            expected_answers = expected_answers or answers
            assert answers == expected_answers > 0
            assert (
                store.scalar(
                    db, "SELECT count(*) FROM visit_participants WHERE visit_id = ?", (vid,)
                )
                == 1
            )
            assert (
                store.scalar(
                    db,
                    "SELECT count(*) FROM audit_log WHERE table_name = 'visits' AND row_id = ?",
                    (str(vid),),
                )
                == 1
            )
            assert store.scalar(
                db, "SELECT submitted_at FROM drafts WHERE submission_id = ?", (sid,)
            )
        # No orphans: problems of the loop without their visit, answers without a visit.
        assert (
            store.scalar(
                db,
                "SELECT count(*) FROM problems WHERE submission_id LIKE 'crash-%'"
                " AND visit_id NOT IN (SELECT id FROM visits)",
            )
            == 0
        )
        assert (
            store.scalar(
                db,
                "SELECT count(*) FROM answers WHERE visit_id IS NOT NULL AND visit_id NOT IN (SELECT id FROM visits)",
            )
            == 0
        )
        # Every draft of a visit that was not saved is still open, ready to resume.
        unfinished = store.query(
            db,
            "SELECT submission_id, submitted_at FROM drafts WHERE submission_id LIKE 'crash-%'"
            " AND submission_id NOT IN (SELECT submission_id FROM visits)",
        )
        assert unfinished and all(d["submitted_at"] is None for d in unfinished)
        resumable = {d["submission_id"] for d in drafts.open_drafts(db, officer, "visit")}
        assert {d["submission_id"] for d in unfinished} <= resumable
        assert cubes.mismatches(db) == []
        print(
            f"{KILLS} kills: {len(visits_made)} whole visits, {len(unfinished)} unfinished drafts kept"
        )
