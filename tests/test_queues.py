"""The supervisors' queues list a first page and find the rest (issue 29: at a million problems 交办
read 5,000 waiting problems whole, 督办回访 12,000, 联审会办 46,000): the page says how many in all,
lists the oldest first, and a search by number or company name reaches one beyond the page."""

from __future__ import annotations

from datetime import date

from survey import db as store
from survey.problems import lifecycle, listing, meetings
from tests.helpers import actor_for, new_problems, open_page, triage_picker


def _by_date(db, ids: list[int]) -> list[int]:
    marks = ", ".join("?" for _ in ids)
    return [
        r[0]
        for r in db.conn.execute(
            f"SELECT id FROM problems WHERE id IN ({marks}) ORDER BY raised_on, id", ids
        )
    ]


def test_a_queue_lists_its_oldest_and_a_search_finds_one_beyond(db):
    supervisor = actor_for(db, "supervisor")
    new_problems(db, 4)
    total = store.scalar(db, "SELECT count(*) FROM problems WHERE status = 'new'")
    every = [r["id"] for r in listing.list_waiting(db, supervisor, "new", limit=total + 1)]
    assert len(every) == total and every == _by_date(db, every)  # the whole queue, oldest first
    assert listing.count_waiting(db, supervisor, "new") == total
    first = listing.list_waiting(db, supervisor, "new", limit=2)
    assert [r["id"] for r in first] == every[:2]
    beyond = every[-1]  # not on the first page
    for search in (str(beyond), f"#{beyond}"):
        found = listing.list_waiting(db, supervisor, "new", limit=2, search=search)
        assert beyond in [r["id"] for r in found], search
    company = store.scalar(
        db,
        "SELECT c.name FROM problems p JOIN companies c ON c.id = p.company_id WHERE p.id = ?",
        (beyond,),
    )
    if company:  # a part of its company's name finds it too, and counts what it finds
        part = company[1:4]
        named = listing.list_waiting(db, supervisor, "new", limit=total + 1, search=part)
        assert beyond in [r["id"] for r in named]
        assert all(part in (r["company"] or "") for r in named)
        assert listing.count_waiting(db, supervisor, "new", search=part) == len(named)
    assert listing.list_waiting(db, supervisor, "new", search="没有这家企业XYZ") == []
    assert listing.count_waiting(db, supervisor, "new", search="没有这家企业XYZ") == 0


def test_the_triage_page_says_how_many_and_finds_one_beyond_its_page(demo_db, monkeypatch):
    from ui import problem_views

    monkeypatch.setattr(problem_views, "PAGE", 2)  # the page size, small enough for the demo
    with store.opened(demo_db) as db:
        new_problems(db, 3)
        total = store.scalar(db, "SELECT count(*) FROM problems WHERE status = 'new'")
        beyond = store.scalar(
            db, "SELECT id FROM problems WHERE status = 'new' ORDER BY raised_on DESC, id DESC"
        )
    at = open_page(demo_db, "supervisor", "pages/triage_page.py")
    caption = next(c.value for c in at.caption if c.value.startswith("待交办"))
    assert caption.startswith(f"待交办 {total} 条") and "列出最早的 2 条" in caption
    assert len(at.dataframe[0].value) == 2
    assert not any(o.startswith(f"#{beyond} ") for o in triage_picker(at).options)
    at.text_input(key="triage_search").input(str(beyond)).run()
    assert not at.exception, at.exception
    assert triage_picker(at).value == [beyond]
    assert any(c.value.startswith(f"待交办 {total} 条，查找到 1 条") for c in at.caption)


def test_meeting_candidates_are_the_first_by_deadline_and_carry_their_reasons(db):
    supervisor = actor_for(db, "supervisor")
    late = date(2030, 1, 1)  # everything held is overdue then
    held = store.scalar(
        db, "SELECT count(*) FROM problems WHERE status IN ('assigned', 'in_progress')"
    )
    every = meetings.candidates(db, supervisor, late, limit=held + 1)
    dated = [c["deadline_on"] for c in every if c["deadline_on"]]
    assert dated == sorted(dated) and len(dated) >= 2
    assert all(c["deadline_on"] for c in every[: len(dated)])  # those with none come last
    assert all(c["reasons"] for c in every)
    first = meetings.candidates(db, supervisor, late, limit=2)
    assert [c["id"] for c in first] == [c["id"] for c in every[:2]]
    # Before its deadline and with no other reason, a held problem is no candidate; escalated it is.
    early = date(2000, 1, 1)
    quiet = store.scalar(
        db,
        "SELECT id FROM problems WHERE status IN ('assigned', 'in_progress')"
        " AND escalated_at IS NULL AND reopen_count = 0 AND deadline_on IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM problem_links l WHERE l.problem_id = problems.id)"
        " ORDER BY id",
    )
    assert quiet not in [c["id"] for c in meetings.candidates(db, supervisor, early, limit=held)]
    lifecycle.escalate(db, supervisor, quiet, "请本周内答复企业")
    found = {c["id"]: c["reasons"] for c in meetings.candidates(db, supervisor, early, limit=held)}
    assert found[quiet] == ["escalated"]


def _kept_by_department(db, category: str) -> list[tuple[str, int]]:
    rows = db.conn.execute(
        "SELECT lead_department_code, count(*) FROM problems WHERE category_code = ?"
        " AND lead_department_code IS NOT NULL AND return_count = 0 GROUP BY 1",
        (category,),
    ).fetchall()
    return sorted(((d, n) for d, n in rows), key=lambda r: (-r[1], r[0]))[:3]


def test_triage_suggests_the_departments_a_category_went_to_from_the_summary_table(db):
    supervisor = actor_for(db, "supervisor")
    [pid] = new_problems(db, 1)
    category = store.scalar(db, "SELECT category_code FROM problems WHERE id = ?", (pid,))
    before = lifecycle.suggest_departments(db, category)
    assert before == _kept_by_department(db, category)
    lifecycle.assign(db, supervisor, pid, "GXJ", "standard")
    after = lifecycle.suggest_departments(db, category)
    assert after == _kept_by_department(db, category)  # the assignment counted at once


def _scored(at) -> int:
    line = next(c.value for c in at.caption if "项评分" in c.value)
    return int(line.split("共 ")[1].split(" 项评分")[0])


def test_the_department_ratings_are_kept_until_a_new_rating(demo_db):
    import uuid

    from survey import feedback

    at = open_page(demo_db, "supervisor", "pages/feedback_review_page.py")
    at.session_state["feedback_tab"] = "部门评价"  # built only when open
    at.run()
    before = _scored(at)
    at.run()  # read again from what was kept: the same
    assert _scored(at) == before
    with store.opened(demo_db) as db:
        scores = dict.fromkeys(
            r[0] for r in db.conn.execute("SELECT code FROM rating_dimensions WHERE active = 1")
        )
        feedback.submit_feedback(
            db,
            actor_for(db, "monitor"),
            str(uuid.uuid4()),
            {
                "kind": "rating",
                "department_code": "XZSP",
                "body": "窗口办理效率较高，但一次性告知仍需改进。",
                "ratings": {code: 4 for code in scores},
            },
        )
        expected = store.scalar(db, "SELECT count(*) FROM feedback_ratings")
    at.run()  # the next run shows it: feedback does not move the data version, its newest id does
    assert not at.exception, at.exception
    assert _scored(at) == before + len(scores) == expected


def test_the_overdue_queue_lists_the_oldest_held_past_their_deadline(db):
    """逾期督办 reads the held problems in date order (from their own index at a million problems,
    m027) and keeps those past the deadline: the same problems, count and order as a plain query."""
    from survey import clock
    from survey.problems.register import HELD_SQL

    supervisor = actor_for(db, "supervisor")
    today = clock.today().isoformat()
    expected = [
        r[0]
        for r in db.conn.execute(
            f"SELECT id FROM problems WHERE status IN {HELD_SQL} AND deadline_on < ?"
            " ORDER BY raised_on, id",
            (today,),
        )
    ]
    assert expected, "the demo holds overdue problems"
    listed = listing.list_waiting(db, supervisor, "overdue", limit=len(expected) + 1)
    assert [r["id"] for r in listed] == expected
    assert listing.count_waiting(db, supervisor, "overdue") == len(expected)
    first = listing.list_waiting(db, supervisor, "overdue", limit=3)
    assert [r["id"] for r in first] == expected[:3]
