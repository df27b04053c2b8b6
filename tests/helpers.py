"""Helpers shared by test modules (no test module imports another): the project's paths and the seed
of the small demo database, users by name, a valid visit payload, and pages opened in AppTest."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

from streamlit.testing.v1 import AppTest

import seeds
from survey import clock, questionnaires
from survey import db as store
from survey.access import auth
from survey.access.actor import SYSTEM, Actor

ROOT = Path(__file__).resolve().parent.parent
SEED_TODAY = date(2026, 6, 15)
SMALL = {"seed": 7, "companies": 120, "problems": 600, "today": SEED_TODAY}
PROBLEMS_PER_VISIT = 5


def actor_for(db, username: str) -> Actor:
    user_id = store.scalar(db, "SELECT id FROM users WHERE username = ?", (username,))
    return auth.load_actor(db, user_id)


def linked_company(db, officer) -> int:
    return store.scalar(
        db,
        "SELECT id FROM companies WHERE department_code = ? ORDER BY id LIMIT 1",
        (officer.department_code,),
    )


def payload(db, officer, **extra) -> dict:
    """A valid visit by `officer` to a company linked to their department, with two problems."""
    qid, _ = questionnaires.current(db, SYSTEM, "visit")
    base = {
        "company_id": linked_company(db, officer),
        "visit_date": clock.today().isoformat(),
        "mode": "实地",
        "participants": [],
        "questionnaire_id": qid,
        "answers": {
            "output_trend": "up",
            "orders_trend": "flat",
            "employment_trend": "down",
            "inspection_count": 0,
            "had_earlier": "no",
        },
        "problems": [
            {
                "category": "A1",
                "nature": "help",
                "description": "新增厂房用地指标迟迟未落实，影响扩产。",
                "deadline_class": "standard",
            },
            {
                "category": "E1",
                "nature": "consult",
                "description": "希望了解今年智改数转奖补的申报条件。",
                "solved_on_spot": True,
                "spot_solution": "现场讲解政策并发放申报指南。",
            },
        ],
    }
    base.update(extra)
    return base


def visit_with_problems(db, officer) -> dict:
    """A visit payload with PROBLEMS_PER_VISIT problems (crash and load tests)."""
    body = payload(db, officer)
    first = body["problems"][0]
    body["problems"] = [
        dict(first, description=f"第 {i} 个问题：{first['description']}")
        for i in range(PROBLEMS_PER_VISIT)
    ]
    return body


def app() -> AppTest:
    return AppTest.from_file("../app.py", default_timeout=30)


def signed_in(db_path, username: str) -> AppTest:
    """The app in AppTest with `username` signed in (a session row, as the sign-in form makes)."""
    with store.opened(db_path) as db:
        signed = auth.sign_in(db, username, seeds.DEMO_PASSWORD)
    at = app()
    at.session_state["auth_session_id"] = signed.session_id
    at.run()
    assert not at.exception, at.exception
    return at


def open_page(demo_db, username: str, path: str):
    at = signed_in(demo_db, username)
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def new_problems(db, n: int = 1) -> list[int]:
    """`n` problems waiting for triage (待交办), oldest first: the demo's, topped up by an officer's
    visit when the seed holds fewer (how many the demo leaves untriaged is the generator's chance)."""
    from survey import visits

    while True:
        found = [
            r[0]
            for r in db.conn.execute(
                "SELECT id FROM problems WHERE status = 'new' ORDER BY id LIMIT ?", (n,)
            )
        ]
        if len(found) >= n:
            return found
        officer = actor_for(db, "officer")
        sid = f"top-up-{len(found)}-{n}-{clock.now_iso()}"
        visits.submit_visit(db, officer, sid, visit_with_problems(db, officer))


def wait_until(condition, what: str, timeout: float = 120.0, every: float = 0.05):
    """Poll `condition()` until it returns something true and return that. Tests wait for the
    progress they need instead of sleeping a fixed time and asserting on what got done: a fixed
    window measures the machine's speed, and a busy machine fails it."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(every)


def whole_load_visits(db) -> int:
    """The visits a load test wrote (submission ids 'load-…'), after checking that each has all its
    problems and that the dashboards' summary tables equal a recount: a consistent snapshot."""
    from survey.reports import cubes

    torn = store.scalar(
        db,
        "SELECT count(*) FROM visits v WHERE v.submission_id LIKE 'load-%'"
        " AND (SELECT count(*) FROM problems p WHERE p.visit_id = v.id) != ?",
        (PROBLEMS_PER_VISIT,),
    )
    assert torn == 0
    assert cubes.mismatches(db) == []
    return store.scalar(db, "SELECT count(*) FROM visits WHERE submission_id LIKE 'load-%'")


def rewrite_sheet(data: bytes, change) -> bytes:
    """The same workbook with sheet1's XML passed through `change`."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = change(content)
            target.writestr(info, content)
    return out.getvalue()


def cut_off_first_done(monkeypatch) -> list:
    """A double tap's race in AppTest: the first session.done() stops the run after its write
    committed, as a new tap interrupts it (the success never recorded); later ones run as usual.
    Returns the names done() was called with."""
    import streamlit as st

    from ui import session

    real_done, calls = session.done, []

    def cut_off(name, success, *notes):
        calls.append(name)
        if len(calls) == 1:
            st.stop()
        real_done(name, success, *notes)

    monkeypatch.setattr(session, "done", cut_off)
    return calls


def triage_picker(at: AppTest):
    """交办's problem picker, whose key is new after each 交办 and each search (pages/triage_page)."""
    return next(m for m in at.multiselect if (m.key or "").startswith("triage_pick_"))
