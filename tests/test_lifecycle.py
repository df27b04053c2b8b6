"""The life of a problem: the whole loop, illegal moves, working-day deadlines on the 2026 calendar,
and a property test over random action sequences."""

from __future__ import annotations

import os
import uuid
from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey import clock, visits, workdays
from survey import db as store
from survey.errors import PermissionDeniedError, SurveyError
from survey.problems import lifecycle, listing, register
from survey.problems.register import STATUSES
from survey.reports import cubes
from tests.helpers import actor_for, payload


def new_problem(db, officer) -> int:
    body = payload(db, officer)
    body["problems"] = body["problems"][:1]
    body["problems"][0]["category"] = "B1"
    return visits.submit_visit(db, officer, str(uuid.uuid4()), body).problem_ids[0]


def handler_for(db, department: str):
    username = "handler" if department == "GXJ" else f"handler.{department.lower()}"
    return actor_for(db, username)


def test_the_whole_loop_with_a_bad_review_reopening(db):
    officer, supervisor = actor_for(db, "officer"), actor_for(db, "supervisor")
    handler = actor_for(db, "handler")
    pid = new_problem(db, officer)
    deadline = lifecycle.assign(db, supervisor, pid, "GXJ", "standard", co_departments=["JRB"])
    # 15 working days after today in Zhenjiang's time, counted here straight from the calendar.
    expected, day, counted = None, clock.today(), 0
    while counted < 15:
        day += timedelta(days=1)
        counted += chinese_calendar.is_workday(day)
    expected = day.isoformat()
    assert deadline == expected
    assert store.scalar(db, "SELECT deadline_on FROM problems WHERE id = ?", (pid,)) == expected
    lifecycle.accept(db, handler, pid)
    lifecycle.reply(db, handler, pid, "partial", "已协调银行对接，部分贷款已落实。")
    assert lifecycle.callback(db, supervisor, pid, 2, False, "企业仍不满意") == "in_progress"
    lifecycle.reply(db, handler, pid, "resolved", "第二笔授信已于本周落实到位。")
    assert lifecycle.callback(db, supervisor, pid, 5, True) == "closed"
    # Every reply and callback note stays in the history, the first reply included (it was lost).
    history = lifecycle_notes(db, pid)
    assert "部分解决：已协调银行对接，部分贷款已落实。" in history
    assert "已解决：第二笔授信已于本周落实到位。" in history
    assert "满意度 2：企业仍不满意" in history
    shown = listing.get_problem(db, supervisor, pid)["events"]
    assert "部分解决：已协调银行对接，部分贷款已落实。" in [e["note"] for e in shown]
    events = store.query(
        db,
        "SELECT action, from_status, to_status FROM problem_events WHERE problem_id = ? ORDER BY id",
        (pid,),
    )
    assert [e["action"] for e in events] == [
        "raise",
        "assign",
        "accept",
        "reply",
        "callback",
        "reopen",
        "reply",
        "callback",
        "close",
    ]
    row = store.query(
        db,
        "SELECT status, reopen_count, satisfaction_level, company_says_solved FROM problems WHERE id = ?",
        (pid,),
    )[0]
    assert row == {
        "status": "closed",
        "reopen_count": 1,
        "satisfaction_level": 5,
        "company_says_solved": 1,
    }


def test_return_escalate_and_extension(db):
    supervisor, officer = actor_for(db, "supervisor"), actor_for(db, "officer")
    pid = new_problem(db, officer)
    lifecycle.assign(db, supervisor, pid, "CZJ", "short")
    wrong = handler_for(db, "CZJ")
    lifecycle.return_problem(db, wrong, pid, "属于金融办职责")
    row = store.query(
        db, "SELECT status, return_count, lead_department_code FROM problems WHERE id = ?", (pid,)
    )[0]
    assert row == {"status": "new", "return_count": 1, "lead_department_code": None}
    lifecycle.assign(db, supervisor, pid, "JRB", "short")
    right = handler_for(db, "JRB")
    lifecycle.accept(db, right, pid)
    lifecycle.escalate(db, supervisor, pid, "请本周内答复企业")
    lifecycle.request_extension(db, right, pid, 3, "需银行总行审批")
    before = store.scalar(db, "SELECT deadline_on FROM problems WHERE id = ?", (pid,))
    lifecycle.decide_extension(db, supervisor, pid, True)
    after = store.scalar(db, "SELECT deadline_on FROM problems WHERE id = ?", (pid,))
    assert after == workdays.add_working_days(date.fromisoformat(before), 3).isoformat()
    history = lifecycle_notes(db, pid)
    assert "属于金融办职责" in history and "请本周内答复企业" in history
    assert "申请延期 3 个工作日：需银行总行审批" in history


def lifecycle_notes(db, pid: int) -> list[str]:
    return [
        n
        for (n,) in db.conn.execute(
            "SELECT note FROM problem_events WHERE problem_id = ? ORDER BY id", (pid,)
        )
    ]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            lambda db, s, h, pid: lifecycle.reply(db, h, pid, "resolved", "答复内容写得足够长了"),
            "只有牵头部门",
        ),
        (lambda db, s, h, pid: lifecycle.callback(db, s, pid, 5, True), "当前为“待交办”，不能回访"),
        (lambda db, s, h, pid: lifecycle.escalate(db, s, pid, "快点"), "当前为“待交办”，不能督办"),
        (lambda db, s, h, pid: lifecycle.assign(db, h, pid, "GXJ", "short"), "营商办"),
    ],
)
def test_illegal_moves_raise_specific_chinese_errors(db, action, message):
    pid = new_problem(db, actor_for(db, "officer"))
    with pytest.raises(SurveyError, match=message):
        action(db, actor_for(db, "supervisor"), actor_for(db, "handler"), pid)


def test_closed_problem_cannot_be_assigned(db):
    supervisor = actor_for(db, "supervisor")
    pid = store.scalar(db, "SELECT id FROM problems WHERE status = 'closed' LIMIT 1")
    with pytest.raises(register.IllegalTransitionError, match="已办结"):
        lifecycle.assign(db, supervisor, pid, "GXJ", "short")


def test_working_days_across_national_day_2026(db):
    start = date(2026, 9, 29)  # Tuesday
    deadline = date.fromisoformat(register.deadline_for(db, "short", start))
    assert deadline > date(2026, 10, 7)
    assert (
        sum(
            workdays.is_workday(date.fromordinal(d))
            for d in range(start.toordinal() + 1, deadline.toordinal() + 1)
        )
        == 5
    )
    assert register.deadline_for(db, "ongoing", start) is None
    assert workdays.is_workday(date(2026, 2, 14))


def test_deadline_state_warns_two_working_days_before():
    today = date(2026, 11, 23)  # Monday
    base = {"status": "in_progress"}
    assert register.deadline_state(base | {"deadline_on": "2026-11-20"}, today) == "overdue"
    assert register.deadline_state(base | {"deadline_on": "2026-11-25"}, today) == "warning"
    assert register.deadline_state(base | {"deadline_on": "2026-12-10"}, today) == "ok"
    assert register.deadline_state({"status": "closed", "deadline_on": "2026-11-20"}, today) == ""


ALLOWED = {
    ("new", "assigned"),
    ("assigned", "in_progress"),
    ("in_progress", "replied"),
    ("replied", "called_back"),
    ("called_back", "closed"),
    ("called_back", "in_progress"),
    ("assigned", "new"),
    ("in_progress", "new"),
    (None, "new"),
}
DEPARTMENTS = ["GXJ", "JRB", "CZJ"]
STEP = st.one_of(
    st.tuples(
        st.just("assign"),
        st.sampled_from(DEPARTMENTS),
        st.sampled_from(["short", "standard", "ongoing"]),
    ),
    st.tuples(st.just("accept"), st.sampled_from(DEPARTMENTS), st.none()),
    st.tuples(
        st.just("reply"),
        st.sampled_from(DEPARTMENTS),
        st.sampled_from(["resolved", "partial", "bogus"]),
    ),
    st.tuples(st.just("return"), st.sampled_from(DEPARTMENTS), st.none()),
    st.tuples(st.just("escalate"), st.none(), st.none()),
    st.tuples(st.just("extend"), st.sampled_from(DEPARTMENTS), st.integers(0, 5)),
    st.tuples(st.just("decide"), st.booleans(), st.none()),
    st.tuples(st.just("callback"), st.integers(1, 5), st.booleans()),
)


def apply(db, supervisor, step, pid):
    name, a, b = step
    handler = handler_for(db, a) if isinstance(a, str) else None
    if name == "assign":
        lifecycle.assign(db, supervisor, pid, a, b)
    elif name == "accept":
        lifecycle.accept(db, handler, pid)
    elif name == "reply":
        lifecycle.reply(db, handler, pid, b, "答复内容：已经协调有关方面处理。")
    elif name == "return":
        lifecycle.return_problem(db, handler, pid, "不属于本部门职责")
    elif name == "escalate":
        lifecycle.escalate(db, supervisor, pid, "请加快办理")
    elif name == "extend":
        lifecycle.request_extension(db, handler, pid, b, "需要更多时间协调")
    elif name == "decide":
        lifecycle.decide_extension(db, supervisor, pid, a)
    elif name == "callback":
        lifecycle.callback(db, supervisor, pid, a, b)


# The rules live in Python and run the same on both stores; SQLite walks 2,000 sequences, PostgreSQL
# 300 (enough for every move against its SQL: a PostgreSQL sequence costs ten times a SQLite one).
SEQUENCES = 300 if os.environ.get("SURVEY_TEST_STORE") == "postgresql" else 2000


@pytest.mark.slow
def test_random_action_sequences_keep_the_invariants(demo_db):
    with store.opened(demo_db) as db:
        officer, supervisor = actor_for(db, "officer"), actor_for(db, "supervisor")
        counted = {"sequences": 0, "applied": 0, "refused": 0}

        @settings(
            max_examples=SEQUENCES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        )
        @given(steps=st.lists(STEP, min_size=1, max_size=12))
        def run(steps):
            pid = new_problem(db, officer)
            counted["sequences"] += 1
            for step in steps:
                before = store.query(db, "SELECT * FROM problems WHERE id = ?", (pid,))[0]
                events_before = store.scalar(
                    db, "SELECT count(*) FROM problem_events WHERE problem_id = ?", (pid,)
                )
                try:
                    apply(db, supervisor, step, pid)
                    counted["applied"] += 1
                except (SurveyError, PermissionDeniedError):
                    counted["refused"] += 1
                    after = store.query(db, "SELECT * FROM problems WHERE id = ?", (pid,))[0]
                    assert after == before, step  # a refused move changes nothing
                    assert (
                        store.scalar(
                            db, "SELECT count(*) FROM problem_events WHERE problem_id = ?", (pid,)
                        )
                        == events_before
                    )
                check_invariants(db, pid)

        run()
        # The dashboard summary tables, kept by triggers, still equal a fresh count after every move.
        assert cubes.mismatches(db) == []
    assert counted["sequences"] >= SEQUENCES
    assert counted["applied"] > SEQUENCES // 2 and counted["refused"] > SEQUENCES // 2


def check_invariants(db, pid: int) -> None:
    problem = store.query(db, "SELECT * FROM problems WHERE id = ?", (pid,))[0]
    events = store.query(
        db,
        "SELECT action, from_status, to_status FROM problem_events WHERE problem_id = ? ORDER BY id",
        (pid,),
    )
    assert problem["status"] in STATUSES
    assert events[-1]["to_status"] == problem["status"]  # events consistent with the status
    previous = None
    for event in events:
        assert (
            event["from_status"] == previous
        )  # no state skipped: each event starts where the last ended
        if event["from_status"] != event["to_status"]:
            assert (event["from_status"], event["to_status"]) in ALLOWED, event
        if event["action"] == "assign":
            assert problem["status"] != "assigned" or problem["lead_department_code"]
        previous = event["to_status"]
    if problem["status"] in ("assigned", "in_progress", "replied", "called_back"):
        assert problem["lead_department_code"]
        assert (
            problem["deadline_on"] or problem["deadline_class"] == "ongoing"
        )  # a deadline after every assignment
    if problem["status"] == "new":
        assert problem["lead_department_code"] is None


def test_linked_problems_are_found_and_assigned_together(db):
    officer, supervisor = actor_for(db, "officer"), actor_for(db, "supervisor")
    a, b, c = (new_problem(db, officer) for _ in range(3))
    lifecycle.link_problems(db, supervisor, a, b, "raised_again")
    lifecycle.link_problems(db, supervisor, b, c, "same_issue")
    assert lifecycle.linked_ids(db, a) == [b, c]
    with pytest.raises(SurveyError, match="自身"):
        lifecycle.link_problems(db, supervisor, a, a, "same_issue")
    other_company = store.scalar(
        db,
        "SELECT id FROM problems WHERE company_id != (SELECT company_id FROM problems WHERE id = ?) LIMIT 1",
        (a,),
    )
    with pytest.raises(SurveyError, match="同一企业"):
        lifecycle.link_problems(db, supervisor, a, other_company, "raised_again")
    events = store.query(
        db, "SELECT note FROM problem_events WHERE problem_id = ? AND action = 'link'", (b,)
    )
    assert len(events) == 2


def test_page_counts_follow_the_queues(db):
    from survey.problems import inbox

    supervisor, handler = actor_for(db, "supervisor"), actor_for(db, "handler")
    before = inbox.page_counts(db, supervisor)["triage"]
    pid = new_problem(db, actor_for(db, "officer"))
    assert inbox.page_counts(db, supervisor)["triage"] == before + 1
    waiting = inbox.page_counts(db, handler)["inbox"]
    lifecycle.assign(db, supervisor, pid, "GXJ", "short")
    assert inbox.page_counts(db, handler)["inbox"] == waiting + 1


def test_the_followup_count_is_the_followup_queue(db):
    """督办回访's count (replied, overdue, or an extension asked), now three disjoint index counts
    (issue 29), equals the one condition it stands for, and an extension asked on a problem
    within its deadline adds one."""
    from survey.problems import inbox

    supervisor = actor_for(db, "supervisor")
    today = clock.today().isoformat()

    def queue() -> int:
        return store.scalar(
            db,
            "SELECT count(*) FROM problems WHERE status = 'replied' OR (status IN"
            " ('assigned', 'in_progress') AND (deadline_on < ? OR extension_requested_days"
            " IS NOT NULL))",
            (today,),
        )

    before = inbox.page_counts(db, supervisor)["followup"]
    assert before == queue() > 0
    pid = new_problem(db, actor_for(db, "officer"))
    lifecycle.assign(db, supervisor, pid, "JRB", "short")
    lifecycle.request_extension(db, handler_for(db, "JRB"), pid, 3, "需银行总行审批")
    assert inbox.page_counts(db, supervisor)["followup"] == queue() == before + 1
