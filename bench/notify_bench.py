"""Notifications: what writing the messages adds to a move (the same escalation with and without
them, in one run, with e-mail, SMS and robots all on), an urgent e-mail's wait behind webhook
deliveries to a subscriber that never answers (with the webhook lane, and through the one-lane
path), and the 预警/逾期 scan over a large database with its query plan."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import seeds
from bench.visits_bench import _percentile
from survey import bootstrap, outbound
from survey import db as store
from survey.access import users
from survey.access.auth import load_actor
from survey.notify import mail, outbox, reminders, robots, routing, sms, webhooks, worker
from survey.notify.messages import Message, send
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
        with store.opened(path) as db:  # every channel on: e-mail, SMS, a robot per group
            admin = load_actor(
                db, store.scalar(db, "SELECT id FROM users WHERE username = 'admin'")
            )
            outbound.save_allow_list(db, admin, "127.0.0.1")  # nothing is sent: loopback only
            mail.save(
                db, admin, host="127.0.0.1", port=2525, security="none", sender="n@zhy.gov.cn"
            )
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
            groups = [r[0] for r in db.conn.execute("SELECT code FROM departments")]
            for i, group in enumerate([robots.SUPERVISORS, *groups]):
                robots.save_robot(
                    db,
                    admin,
                    name=f"群 {i}",
                    platform="wecom",
                    audience=group,
                    url=f"http://127.0.0.1:9/cgi-bin/webhook/send?key=k{i}",
                )
            db.execute(
                "UPDATE users SET email = username || '@zj.gov.cn',"
                " phone = '139' || substr('0000000' || id, -8, 8)"
            )
        real = routing.on_event
        try:
            routing.on_event = lambda db, event: 0  # the same move, writing no message
            without = _escalations(path, ROUNDS)
        finally:
            routing.on_event = real
        with_messages = _escalations(path, ROUNDS)
        with store.opened(path) as db:
            written = store.scalar(db, "SELECT count(*) FROM messages WHERE kind = 'escalated'")
            queued = dict(
                db.conn.execute("SELECT channel, count(*) FROM deliveries GROUP BY channel")
            )
    print(f"督办 (escalation) of a held problem, {ROUNDS} each, one transaction per move")
    for label, times in (("without messages", without), ("with messages", with_messages)):
        print(
            f"  {label:17s} median {statistics.median(times):.2f} ms,"
            f" p95 {_percentile(times, 0.95):.2f} ms"
        )
    added = _percentile(with_messages, 0.95) - _percentile(without, 0.95)
    print(
        f"  the messages add {added:.2f} ms at p95 (limit 2 ms); {written} messages written,"
        f" queued per channel {queued}"
    )


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


MAILS = 10_000


def bench_mail() -> None:
    from tests.mailserver import smtp_server  # the loopback SMTP server the tests use

    with tempfile.TemporaryDirectory() as tmp, smtp_server() as (inbox, port):
        path = Path(tmp) / "mail.db"
        seeds.generate(path, companies=200, problems=500, seed=9)
        with store.opened(path) as db:
            admin = load_actor(
                db, store.scalar(db, "SELECT id FROM users WHERE username = 'admin'")
            )
            handler = load_actor(
                db, store.scalar(db, "SELECT id FROM users WHERE username = 'handler'")
            )
            outbound.save_allow_list(db, admin, "127.0.0.1")  # the loopback SMTP server
            mail.save(
                db, admin, host="127.0.0.1", port=port, security="none", sender="n@zhy.gov.cn"
            )
            users.set_own_contact(db, handler, "handler@gxj.zj.gov.cn", "")
            with store.transaction(db):
                for i in range(MAILS):
                    send(db, {handler.id}, Message("bench", f"测试 {i}", f"第 {i} 条消息"))
            start = time.perf_counter()
            counts = worker.deliver(db, limit=MAILS)
            ours = time.perf_counter() - start
            settings, guard = mail.load(db), outbound.Guard.of(db)
            naive_n = 300
            start = time.perf_counter()
            for i in range(naive_n):  # a connection per e-mail
                mail.send(settings, "handler@gxj.zj.gov.cn", f"对照 {i}", "正文", "", guard)
            naive = (time.perf_counter() - start) / naive_n * MAILS
        received = len(inbox.received)
    print(f"{MAILS:,} queued e-mails to a loopback SMTP server (aiosmtpd)")
    print(f"  ours: {ours:.1f} s ({counts}), one connection per run (limit 60 s)")
    print(f"  naive (a connection per e-mail, {naive_n} timed): {naive:.1f} s for {MAILS:,}")
    print(f"  ratio naive/ours: {naive / ours:.1f}x; server received {received:,}")


STALLED = 200  # webhook deliveries to an address that never answers, queued before the e-mail
OLD_AHEAD = 3  # the baseline: as many stalled deliveries ahead as the report
OLD_TIMEOUT = 10  # the webhook timeout before the lane (seconds, one for connect and read)


def _subscribe_stalled(db, admin, url: str) -> None:
    """One client holding its ten subscriptions (the cap), all to `url`."""
    from survey.access import clients
    from survey.problems.register import TRANSITIONS

    _, token = clients.create_client(db, admin, name="停摆的系统", scopes=["webhooks"])
    client = clients.authenticate(db, token).actor()
    for _ in range(webhooks.MAX_SUBSCRIPTIONS):
        webhooks.subscribe(db, client, url, ["*"], TRANSITIONS)


def _escalate(db, events: int) -> None:
    """`events` escalations: a delivery each per subscription; the moves' own e-mails dropped."""
    supervisor = load_actor(
        db, store.scalar(db, "SELECT id FROM users WHERE username = 'supervisor'")
    )
    held = store.scalar(db, "SELECT id FROM problems WHERE status = 'in_progress' LIMIT 1")
    for i in range(events):
        lifecycle.escalate(db, supervisor, held, f"第 {i + 1} 次督办")
    db.execute("DELETE FROM deliveries WHERE channel != 'webhook'")


def _urgent_wait(db, path: Path, inbox, handler, run) -> tuple[float, float]:
    """Queue an urgent e-mail, start `run(connection)` in a thread; the seconds until the e-mail
    reached the SMTP server, and until the run ended."""
    with store.transaction(db):
        send(db, {handler.id}, Message("escalated", "督办", "请立即处理", urgent=True))
    before = len(inbox.received)
    start = time.perf_counter()

    def work() -> None:
        with store.opened(path) as conn:
            run(conn)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    while len(inbox.received) == before:
        time.sleep(0.005)
    waited = time.perf_counter() - start
    thread.join()
    return waited, time.perf_counter() - start


def bench_lane() -> None:
    """An urgent e-mail queued behind STALLED webhook deliveries to an address that never
    answers: its wait with the webhook lane, and through the one-lane path (every delivery in
    claim order, each waiting out the old 10 s timeout) with OLD_AHEAD of them ahead."""
    from tests.hookserver import Silent
    from tests.mailserver import smtp_server

    silent = Silent()
    try:
        with tempfile.TemporaryDirectory() as tmp, smtp_server() as (inbox, port):
            path = Path(tmp) / "lane.db"
            seeds.generate(path, companies=200, problems=500, seed=11)
            with store.opened(path) as db:
                admin = load_actor(
                    db, store.scalar(db, "SELECT id FROM users WHERE username = 'admin'")
                )
                handler = load_actor(
                    db, store.scalar(db, "SELECT id FROM users WHERE username = 'handler'")
                )
                outbound.save_allow_list(db, admin, "127.0.0.1")  # the loopback receivers
                mail.save(
                    db, admin, host="127.0.0.1", port=port, security="none", sender="n@zhy.gov.cn"
                )
                users.set_own_contact(db, handler, "handler@gxj.zj.gov.cn", "")
                _subscribe_stalled(db, admin, silent.url)
                _escalate(db, STALLED // webhooks.MAX_SUBSCRIPTIONS)
                queued = store.scalar(db, "SELECT count(*) FROM deliveries")
                totals: dict = {}
                ours, run_s = _urgent_wait(
                    db, path, inbox, handler, lambda conn: totals.update(worker.deliver(conn))
                )
                tried = silent.accepted
                # The one-lane path: the same worker's channels, claimed together in order.
                db.execute("DELETE FROM deliveries")
                _escalate(db, 1)
                db.execute(
                    "DELETE FROM deliveries WHERE id NOT IN"
                    f" (SELECT id FROM deliveries ORDER BY id LIMIT {OLD_AHEAD})"
                )
                timeouts = webhooks.CONNECT_TIMEOUT_SECONDS, webhooks.READ_TIMEOUT_SECONDS
                webhooks.CONNECT_TIMEOUT_SECONDS = webhooks.READ_TIMEOUT_SECONDS = OLD_TIMEOUT
                try:
                    old, _ = _urgent_wait(db, path, inbox, handler, _one_lane)
                finally:
                    webhooks.CONNECT_TIMEOUT_SECONDS, webhooks.READ_TIMEOUT_SECONDS = timeouts
    finally:
        silent.release()
    per = old / OLD_AHEAD
    print(
        f"an urgent e-mail queued behind {queued} webhook deliveries to an address that never"
        " answers (loopback, accepts and stays silent)"
    )
    print(
        f"  webhook lane: the e-mail reached the SMTP server after {ours * 1000:.0f} ms"
        f" (limit 2 s); the run ended after {run_s:.1f} s, {tried} connections tried"
        f" (one per subscription), {totals}"
    )
    print(
        f"  one lane, old {OLD_TIMEOUT} s timeout, {OLD_AHEAD} deliveries ahead: {old:.1f} s"
        f" ({per:.1f} s each; behind {queued} it would wait about {per * queued:,.0f} s)"
    )
    print(
        f"  ratio: {old / ours:,.0f}x with {OLD_AHEAD} ahead,"
        f" about {per * queued / ours:,.0f}x with {queued} ahead"
    )


def _one_lane(db) -> None:
    """The worker before the lane: one claim of every channel, sent in order in one thread."""
    run = worker.Run(db, worker.owner())
    with run.connection:
        while batch := outbox.claim(db, run.me, 100):
            run.send(batch)
