"""The problem register owns the problem's life: one transition table, one writer of the timeline,
listeners called inside the writing transaction, and demo data built by the same rules."""

from __future__ import annotations

import re
from itertools import groupby

import pytest

from survey import db as store
from survey.errors import PermissionDeniedError
from survey.problems import columns, lifecycle, listing, register
from survey.reports import problem_list
from tests.helpers import ROOT, actor_for

SOURCES = [p for d in ("survey", "ui", "pages", "seeds", "bench") for p in (ROOT / d).rglob("*.py")]


def test_every_seeded_timeline_replays_through_the_transition_table(db):
    """The generator's events are legal moves, in order, ending in the problem's status."""
    status = dict(db.conn.execute("SELECT id, status FROM problems"))
    rows = db.conn.execute(
        "SELECT problem_id, action, from_status, to_status FROM problem_events ORDER BY problem_id, at, id"
    )
    replayed = 0
    for pid, events in groupby(rows, key=lambda r: r[0]):
        current = None
        for _pid, action, before, after in events:
            assert before == current, (pid, action)
            assert register.target_of(action, current) == after, (pid, action)
            current = after
        assert current == status.pop(pid), pid
        replayed += 1
    assert not status, "problems without a 'raise' event"
    assert replayed > 500


def test_generator_uses_the_registers_rules(db):
    """Reopening gives the register's working days; only bad reviews reopen."""
    bad = set(register.bad_review_levels(db))
    reopened = store.scalar(db, "SELECT count(*) FROM problem_events WHERE action = 'reopen'")
    assert reopened > 0
    callbacks = db.conn.execute(
        "SELECT e.note, (SELECT n.action FROM problem_events n WHERE n.problem_id = e.problem_id"
        " AND n.id > e.id ORDER BY n.id LIMIT 1) FROM problem_events e WHERE e.action = 'callback'"
    ).fetchall()
    for note, following in callbacks:
        level = int(re.search(r"满意度 (\d)", note).group(1))
        if following is not None:
            assert (following == "reopen") == (level in bad), (note, following)


def test_a_listener_sees_each_move_inside_its_transaction(db):
    supervisor = actor_for(db, "supervisor")
    pid = store.scalar(db, "SELECT id FROM problems WHERE status = 'new' LIMIT 1")
    seen = []

    def listener(conn, event):
        # Inside the transaction: the change is visible to the same connection, not yet committed.
        assert conn.conn.in_transaction
        seen.append((event.action, event.from_status, event.to_status, event.problem["status"]))

    register.listen(listener)
    try:
        lifecycle.assign(db, supervisor, pid, "GXJ", "short")
    finally:
        register.unlisten(listener)
    assert seen == [("assign", "new", "assigned", "assigned")]


def test_a_failing_listener_undoes_the_whole_move(db):
    supervisor = actor_for(db, "supervisor")
    pid = store.scalar(db, "SELECT id FROM problems WHERE status = 'new' LIMIT 1")
    counts = "SELECT (SELECT count(*) FROM problem_events), (SELECT count(*) FROM audit_log)"
    before = db.conn.execute(counts).fetchone()

    def listener(_conn, _event):
        raise RuntimeError("outbox full")

    register.listen(listener)
    try:
        with pytest.raises(RuntimeError):
            lifecycle.assign(db, supervisor, pid, "GXJ", "short")
    finally:
        register.unlisten(listener)
    assert store.scalar(db, "SELECT status FROM problems WHERE id = ?", (pid,)) == "new"
    assert db.conn.execute(counts).fetchone() == before


def test_row_rules_come_from_the_permission_table(db):
    """A handler of another department may not touch a problem; the table's row rule says so."""
    pid, lead = db.conn.execute(
        "SELECT id, lead_department_code FROM problems WHERE status = 'in_progress' LIMIT 1"
    ).fetchone()
    other = db.conn.execute(
        "SELECT username FROM users WHERE username LIKE 'handler.%' AND department_code != ?",
        (lead,),
    ).fetchone()[0]
    problem = register.load(db, pid)
    with pytest.raises(PermissionDeniedError, match="只有牵头部门"):
        register.check(actor_for(db, other), problem, "reply")
    for action in ("escalate", "link"):  # the supervisor's moves on the same problem are allowed
        assert register.check(actor_for(db, "supervisor"), problem, action) == "in_progress"


def test_one_writer_of_the_timeline_and_one_list_of_statuses():
    """Only the register inserts events or sets a problem's status; the statuses are listed once."""
    writers, listings = [], []
    status_list = re.compile(r"""["']assigned["'][^()]{0,60}?["']in_progress["']""")
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        name = str(path.relative_to(ROOT))
        if re.search(r"INSERT INTO problem_events|insert_rows\([^)]*problem_events", text):
            writers.append(name)
        if re.search(r"UPDATE problems SET[^\"]*\bstatus\s*=", text):
            writers.append(name)
        if status_list.search(text):
            listings.append(name)
    assert sorted(set(writers)) == ["survey/problems/register.py"]
    assert listings == ["survey/problems/register.py"]


def test_problem_tables_read_one_column_registry(db):
    """Pages and the export take headers and labels from survey.problems.columns."""
    supervisor = actor_for(db, "supervisor")
    rows = listing.list_waiting(db, supervisor, "overdue") or listing.list_problems(db, supervisor)
    shown = columns.frame(rows, ["id", "company", "status", "reminder"])
    assert list(shown.columns) == ["编号", "企业", "状态", "提醒"]
    assert set(shown["状态"]) <= set(register.STATUS_LABELS.values())
    assert set(shown["提醒"]) <= {"逾期", "预警", ""}
    assert problem_list.LIST_COLUMNS["category"] == columns.PROBLEM_COLUMNS["category"].header
    by_hand = [
        path.relative_to(ROOT)
        for d in ("pages", "ui")
        for path in (ROOT / d).glob("*.py")
        if re.search(
            r"\[\"status\"\]\.map\((PROBLEM_)?STATUS_LABELS", path.read_text(encoding="utf-8")
        )
    ]
    assert by_hand == []


def test_reminders_of_problems_without_a_deadline_are_blank():
    """长期推进 has no deadline: a table mixing it with dated problems still reads (the bug: NaN)."""
    rows = [
        {"status": "in_progress", "deadline_on": None},
        {"status": "in_progress", "deadline_on": "2000-01-03"},
        {"status": "closed", "deadline_on": "2000-01-03"},
    ]
    assert list(columns.frame(rows, ["reminder"])["提醒"]) == ["", "逾期", ""]


def test_the_change_feed_gives_each_event_once_while_several_writers_write(demo_db):
    """The feed's cursor is the event id. That is sound only if ids become visible in order:
    several writers (threads, each with its own connection, as two app hosts would be) submit
    visits while a reader follows the feed in small pages; it sees every event exactly once."""
    import threading

    from survey import visits
    from survey.problems import exchange
    from tests.helpers import payload

    with store.opened(demo_db) as db:
        officer = actor_for(db, "officer")
        reader = actor_for(db, "supervisor")
        start = store.scalar(db, "SELECT max(id) FROM problem_events")
        body = payload(db, officer)
    stop = threading.Event()
    seen: list[int] = []

    def write(n: int):
        with store.opened(demo_db) as conn:
            for i in range(8):
                visits.submit_visit(conn, officer, f"feed-{n}-{i}", body)

    def follow():
        cursor = start
        with store.opened(demo_db) as conn:
            while True:
                last_round = stop.is_set()
                rows, cursor = exchange.events_after(conn, reader, cursor, limit=3)
                seen.extend(r["id"] for r in rows)
                if last_round and not rows:
                    return

    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    follower = threading.Thread(target=follow)
    follower.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join(60)
    stop.set()
    follower.join(60)
    with store.opened(demo_db) as db:
        written = [
            r[0]
            for r in db.execute(
                "SELECT id FROM problem_events WHERE id > ? ORDER BY id", (start,)
            ).fetchall()
        ]
    assert len(written) >= 4 * 8 * 2
    assert seen == written


def test_every_move_sets_updated_at_to_the_time_of_its_event(db):
    """A move that changes neither the status nor a column (a note, a link) still moves
    updated_at: it is the time of the problem's last event, as a mirror keyed on it expects."""
    from survey import visits

    officer = actor_for(db, "officer")
    pid, other = (
        r[0]
        for r in db.conn.execute(
            "SELECT id FROM problems WHERE created_by = ? AND status != 'closed' ORDER BY id LIMIT 2",
            (officer.id,),
        )
    )
    db.execute(
        "UPDATE problems SET updated_at = '2020-01-01 00:00:00' WHERE id IN (?, ?)", (pid, other)
    )
    last = "SELECT max(at) FROM problem_events WHERE problem_id = ?"
    visits.annotate_problem(db, officer, pid, "企业补充了材料")
    row = store.query(db, "SELECT updated_at FROM problems WHERE id = ?", (pid,))[0]
    assert row["updated_at"] == store.scalar(db, last, (pid,))
    lifecycle.link_problems(db, actor_for(db, "supervisor"), pid, other, "same_issue")
    for p in (pid, other):
        updated = store.scalar(db, "SELECT updated_at FROM problems WHERE id = ?", (p,))
        assert updated == store.scalar(db, last, (p,)), p
    assert register.updated_at_behind(db) == []
