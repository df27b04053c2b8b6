"""The company's own view (企业端, issue 30):

- issuing the links for 10,000 problems' events (登记/答复/办结): what the register's hook adds to a
  move (queueing the company's SMS and e-mail, no token) and minting the links when the worker
  sends them (one transaction per claimed batch of 100); against the naive way, each link minted
  at the move row by row (settings and the company read per event); and a real 答复 move with the
  hook and without it;
- the page's server-side render for a company with 500 problems (AppTest, the company's session),
  and its data (`view.my_problems`, one query) against a naive per-problem read (the problem, its
  category, its department, its last answer and its rating, one query each).
"""

from __future__ import annotations

import hashlib
import secrets
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import seeds
from bench.visits_bench import _percentile
from survey import clock, outbound
from survey import db as store
from survey.access.actor import SYSTEM
from survey.access.auth import load_actor
from survey.access.settings import set_setting
from survey.companyview import links, view
from survey.notify import mail, sms
from survey.notify.outbox import Delivery
from survey.problems import lifecycle, register

EVENTS = 10_000
COMPANY_PROBLEMS = 500


def _admin(db):
    return load_actor(db, store.scalar(db, "SELECT id FROM users WHERE username = 'admin'"))


def _channels(db) -> None:
    """SMS and e-mail on (loopback addresses: nothing is sent), links absolute, every company
    reachable by phone and half of them by e-mail."""
    admin = _admin(db)
    outbound.save_allow_list(db, admin, "127.0.0.1")
    mail.save(db, admin, host="127.0.0.1", port=2525, security="none", sender="n@zhy.gov.cn")
    sms.save(
        db,
        admin,
        enabled=True,
        url="http://127.0.0.1:9/sms",
        method="POST",
        format="json",
        headers="",
        template='{"to": "${mobile}", "text": "${text}"}',
        secret=None,
        success="",
    )
    set_setting(db, SYSTEM, "public_base_url", "https://zhy.example.gov.cn")
    with store.transaction(db):
        db.execute(
            "UPDATE companies SET contact_phone = '139' || substr('0000000' || id, -8, 8),"
            " contact_email = CASE WHEN id % 2 = 0 THEN 'c' || id || '@example.com' ELSE '' END"
        )


def _events(db, n: int) -> list[register.Event]:
    """`n` events of the moves a company hears of, as the register hands them to its hook."""
    rows = store.query(
        db,
        "SELECT e.id AS event_id, e.action, e.at, e.note, e.from_status, e.to_status, p.*"
        " FROM problem_events e JOIN problems p ON p.id = e.problem_id"
        " WHERE e.action IN ('raise', 'reply', 'close', 'solve_on_spot')"
        " AND p.source <> 'monitor' AND p.company_id IS NOT NULL ORDER BY e.id LIMIT ?",
        (n,),
    )
    keys = ("event_id", "action", "at", "note", "from_status", "to_status")
    return [
        register.Event(
            r["event_id"],
            r["id"],
            r["action"],
            r["from_status"],
            r["to_status"],
            SYSTEM,
            r["at"],
            r["note"],
            {k: v for k, v in r.items() if k not in keys},
        )
        for r in rows
    ]


def _naive_issue(db, event) -> None:
    """The link minted at the move, row by row (every setting and the company row read per
    event, each row written in a savepoint of its own): the same links, but each token is made
    where the move happens (and would wait in the outbox beside its SMS)."""
    on = dict(db.conn.execute("SELECT key, value FROM settings").fetchall())
    row = db.conn.execute(
        "SELECT contact_phone, contact_email FROM companies WHERE id = ?",
        (event.problem["company_id"],),
    ).fetchone()
    for channel, target in (("sms", row[0]), ("email", row[1])):
        if not target or (channel == "sms" and on.get("sms_enabled") != "1"):
            continue
        token = secrets.token_urlsafe(links.TOKEN_BYTES)
        now = clock.now()
        with store.transaction(db):
            db.execute(
                "INSERT INTO company_links (company_id, token_hash, via, problem_id, issued_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    event.problem["company_id"],
                    hashlib.sha256(token.encode()).hexdigest(),
                    channel,
                    event.problem_id,
                    clock.iso(now),
                    clock.iso(now + timedelta(days=90)),
                ),
            )
        with store.transaction(db):
            db.execute(
                "INSERT INTO deliveries (message_id, event_id, company_id, channel, target,"
                " next_at, created_at) VALUES (NULL, ?, ?, ?, ?, ?, ?)",
                (
                    event.id,
                    event.problem["company_id"],
                    channel,
                    target,
                    clock.iso(now),
                    clock.iso(now),
                ),
            )


def _replies(db, pids: list[int]) -> list[float]:
    handler_of = {}
    times = []
    for pid in pids:
        department = store.scalar(
            db, "SELECT lead_department_code FROM problems WHERE id = ?", (pid,)
        )
        if department not in handler_of:
            handler_of[department] = load_actor(
                db,
                store.scalar(
                    db,
                    "SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id"
                    " AND r.role = 'handler' WHERE u.department_code = ? AND u.active = 1",
                    (department,),
                ),
            )
        began = time.perf_counter()
        lifecycle.reply(db, handler_of[department], pid, "resolved", "已协调解决，请企业确认。")
        times.append((time.perf_counter() - began) * 1000)
    return times


def bench_move(path: Path) -> None:
    """The same 答复 move with the company's hook and with it switched off, alternating."""
    with store.opened(path) as db:
        pids = [
            r[0]
            for r in db.conn.execute(
                "SELECT p.id FROM problems p JOIN users u ON u.department_code ="
                " p.lead_department_code WHERE p.status = 'in_progress' AND p.source <> 'monitor'"
                " AND p.company_id IS NOT NULL GROUP BY p.id ORDER BY p.id LIMIT 400"
            )
        ]
        hooked, bare = _replies(db, pids[0::2]), []
        real = register.company_links.on_event
        register.company_links.on_event = lambda db, event: 0
        try:
            bare = _replies(db, pids[1::2])
        finally:
            register.company_links.on_event = real
    print(
        f"  a 答复 move with the company's SMS and e-mail queued ({len(hooked)} moves): p50"
        f" {statistics.median(hooked):.2f} ms, p95 {_percentile(hooked, 0.95):.2f} ms; the same"
        f" move without the hook ({len(bare)}): p50 {statistics.median(bare):.2f} ms, p95"
        f" {_percentile(bare, 0.95):.2f} ms"
    )


def bench_links(events: int = EVENTS) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        seeds.generate(path, companies=2000, problems=int(events * 0.7), seed=30)
        with store.opened(path) as db:
            _channels(db)
            found = _events(db, events)
            print(
                f"company links for {len(found):,} events (登记/答复/办结 of companies' problems)"
            )
            queue = []
            for event in found:  # inside each move's transaction (its commit is the move's)
                with store.transaction(db):
                    began = time.perf_counter()
                    links.on_event(db, event)
                    queue.append((time.perf_counter() - began) * 1000)
            queued_s = sum(queue) / 1000
            rows = store.query(
                db,
                "SELECT id, channel, target, attempts, event_id, company_id FROM deliveries"
                " WHERE company_id IS NOT NULL ORDER BY id",
            )
            deliveries = [
                Delivery(
                    r["id"],
                    r["channel"],
                    r["target"],
                    0,
                    "",
                    "",
                    "",
                    r["channel"],
                    r["event_id"],
                    r["company_id"],
                )
                for r in rows
            ]
            mint = []
            start = time.perf_counter()
            for at in range(0, len(deliveries), 100):  # the worker's batches (claims of 100)
                began = time.perf_counter()
                links.compose_all(db, deliveries[at : at + 100])
                mint.append((time.perf_counter() - began) * 1000)
            minted_s = time.perf_counter() - start
            assert store.scalar(db, "SELECT count(*) FROM company_links") == len(deliveries)
            with store.transaction(db):
                db.execute("DELETE FROM deliveries WHERE company_id IS NOT NULL")
                db.execute("DELETE FROM company_links")
            naive = []
            for event in found:  # inside each move's transaction, as ours
                with store.transaction(db):
                    began = time.perf_counter()
                    _naive_issue(db, event)
                    naive.append((time.perf_counter() - began) * 1000)
            naive_s = sum(naive) / 1000
        bench_move(path)
        print(
            f"  queued in the moves (no token): {len(deliveries):,} deliveries, {queued_s:.2f} s in all,"
            f" per move p50 {statistics.median(queue):.3f} ms, p95 {_percentile(queue, 0.95):.3f} ms"
        )
        print(
            f"  minted when sent (worker, batches of 100): {len(deliveries):,} links in"
            f" {minted_s:.2f} s, per batch p50 {statistics.median(mint):.1f} ms"
        )
        ours = queued_s + minted_s
        print(
            f"  ours, queue + mint: {ours:.2f} s; naive (each link minted at the move, row by row,"
            f" settings and company read per event): {naive_s:.2f} s; ratio {naive_s / ours:.1f}x"
        )


def _company_with_problems(db, n: int) -> int:
    """A company with `n` problems from the 12345 hotline: a third waiting, a third being handled,
    a third answered."""
    company = store.query(db, "SELECT * FROM companies ORDER BY id LIMIT 1")[0]
    supervisor = load_actor(
        db, store.scalar(db, "SELECT id FROM users WHERE username = 'supervisor'")
    )
    handler = load_actor(db, store.scalar(db, "SELECT id FROM users WHERE username = 'handler'"))
    officer = load_actor(db, store.scalar(db, "SELECT id FROM users WHERE username = 'officer'"))
    category = store.scalar(db, "SELECT code FROM problem_categories WHERE parent IS NOT NULL")
    for i in range(n):
        pid = register.raise_problem(
            db,
            officer,
            register.NewProblem(
                source="hotline",
                submission_id=f"bench-company-{i}",
                category_code=category,
                nature_code="help",
                description=f"第 {i} 个问题：厂区供电不稳定，影响生产，请协调解决。",
                raised_on=clock.today().isoformat(),
                company=company,
            ),
        )
        if i % 3:
            lifecycle.assign(db, supervisor, pid, handler.department_code, "short")
            lifecycle.accept(db, handler, pid)
        if i % 3 == 2:
            lifecycle.reply(
                db, handler, pid, "resolved", "已协调供电公司完成线路改造，请企业确认。"
            )
    return company["id"]


def _naive_problems(db, company_id: int) -> list[dict]:
    """One query per problem for each thing the page shows."""
    ids = [
        r[0]
        for r in db.conn.execute(
            "SELECT id FROM problems WHERE company_id = ? AND source <> 'monitor'", (company_id,)
        )
    ]
    shown = []
    for pid in ids:
        problem = store.query(db, "SELECT * FROM problems WHERE id = ?", (pid,))[0]
        problem["category"] = store.scalar(
            db, "SELECT name FROM problem_categories WHERE code = ?", (problem["category_code"],)
        )
        problem["department"] = store.scalar(
            db, "SELECT name FROM departments WHERE code = ?", (problem["lead_department_code"],)
        )
        reply = store.scalar(
            db,
            "SELECT max(id) FROM problem_events WHERE problem_id = ? AND action = 'reply'",
            (pid,),
        )
        problem["rating"] = store.scalar(
            db, "SELECT level FROM company_ratings WHERE reply_event_id = ?", (reply,)
        )
        shown.append(problem)
    return shown


def bench_page(problems: int = COMPANY_PROBLEMS) -> None:
    from streamlit.testing.v1 import AppTest

    from ui import session

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        seeds.generate(path, companies=500, problems=5000, seed=31)
        with store.opened(path) as db:
            company = _company_with_problems(db, problems)
            with store.transaction(db):
                actor = links.company_actor(links.service_user(db), company)
            found = view.my_problems(db, actor)
            shown, forms = len(found), sum(1 for p in found if p["may_rate"])
            ours, naive = [], []
            for _ in range(20):
                began = time.perf_counter()
                view.my_problems(db, actor)
                ours.append((time.perf_counter() - began) * 1000)
                began = time.perf_counter()
                _naive_problems(db, company)
                naive.append((time.perf_counter() - began) * 1000)
        print(f"company page for a company with {shown} problems")
        print(
            f"  its data (view.my_problems): median {statistics.median(ours):.1f} ms;"
            f" naive per-problem reads: median {statistics.median(naive):.1f} ms;"
            f" ratio {statistics.median(naive) / statistics.median(ours):.1f}x"
        )
        real = session.current_actor
        session.current_actor = lambda: actor  # the company's session, as its cookie gives it
        try:
            import os

            os.environ["SURVEY_DB"] = str(path)
            at = AppTest.from_file(
                str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120
            )
            began = time.perf_counter()
            at.run()
            first = time.perf_counter() - began
            assert not at.exception, at.exception
            reruns = []
            for _ in range(5):
                began = time.perf_counter()
                at.run()
                reruns.append(time.perf_counter() - began)
            drawn = len([h for h in at.subheader if h.value.startswith("问题 #")])
            at.session_state["company_view_limit"] = 10_000  # naive: every problem at once
            at.run()
            everything = []
            for _ in range(3):
                began = time.perf_counter()
                at.run()
                everything.append(time.perf_counter() - began)
            assert len([h for h in at.subheader if h.value.startswith("问题 #")]) == shown
        finally:
            session.current_actor = real
        ours_s, naive_s = statistics.median(reruns), statistics.median(everything)
        print(
            f"  the page, server side (AppTest, {drawn} of {shown} problems drawn, answers to rate"
            f" first): first render {first:.2f} s, rerun median {ours_s:.2f} s; naive (all {shown},"
            f" {forms} rating forms, drawn at once): rerun median {naive_s:.2f} s;"
            f" ratio {naive_s / ours_s:.1f}x"
        )


def bench_company_view() -> None:
    bench_links()
    bench_page()
