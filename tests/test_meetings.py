"""Joint review meetings: the hard problems as candidates, the minutes entering each problem's
timeline with its new deadline through the register, follow-up and carry-over of open items."""

from __future__ import annotations

from datetime import date

import pytest

from survey import db as store
from survey.errors import PermissionDeniedError, ValidationError
from survey.notify import messages
from survey.problems import lifecycle, meetings
from tests.helpers import actor_for, open_page


def held(db, n: int = 2, department: str = "%") -> list[int]:
    return [
        r[0]
        for r in db.conn.execute(
            "SELECT id FROM problems WHERE status IN ('assigned', 'in_progress')"
            " AND lead_department_code LIKE ? ORDER BY id LIMIT ?",
            (department, n),
        )
    ]


def test_the_hard_problems_are_the_candidates(db):
    supervisor = actor_for(db, "supervisor")
    first, second = held(db)
    lifecycle.escalate(db, supervisor, first, "请本周内答复企业")
    found = {c["id"]: c["reasons"] for c in meetings.candidates(db, supervisor, date(2030, 1, 1))}
    assert "escalated" in found[first] and "overdue" in found[first]  # everything is late in 2030
    assert second in found
    with pytest.raises(PermissionDeniedError):
        meetings.candidates(db, actor_for(db, "handler"))


def test_a_decision_enters_the_timeline_and_sets_the_deadline(db):
    supervisor = actor_for(db, "supervisor")
    [pid] = held(db, 1, "GXJ")
    meeting = meetings.create_meeting(db, supervisor, "2026-06-20", "第二季度联审会")
    item = meetings.add_item(db, supervisor, meeting, pid, ["overdue"])
    assert meetings.add_item(db, supervisor, meeting, pid, ["overdue"]) == item  # once
    values = {
        "decision": "由工信局牵头，自然资源局配合，两周内完成用地预审",
        "departments": ["GXJ", "ZRZY"],
        "deadline_on": "2026-07-10",
        "chair": "王副市长",
    }
    for changes, field in (
        ({"decision": "好"}, "decision"),
        ({"departments": []}, "departments"),
        ({"deadline_on": "7月10日"}, "deadline_on"),
        ({"chair": " "}, "chair"),
        ({"departments": ["NOPE"]}, "departments"),
    ):
        with pytest.raises(ValidationError) as refused:
            meetings.record_decision(db, supervisor, item, **(values | changes))
        assert refused.value.field == field
    meetings.record_decision(db, supervisor, item, **values)
    with pytest.raises(ValidationError, match="已记录"):  # a second tap: one event, not two
        meetings.record_decision(
            db, supervisor, item, **(values | {"departments": ["ZRZY", "GXJ"]})
        )
    problem = store.query(db, "SELECT deadline_on FROM problems WHERE id = ?", (pid,))[0]
    assert problem["deadline_on"] == "2026-07-10"
    event = store.query(
        db,
        "SELECT action, note FROM problem_events WHERE problem_id = ? ORDER BY id DESC LIMIT 1",
        (pid,),
    )[0]
    assert event["action"] == "joint_review" and "两周内完成用地预审" in event["note"]
    assert (
        store.scalar(
            db,
            "SELECT count(*) FROM problem_events WHERE problem_id = ? AND action = 'joint_review'",
            (pid,),
        )
        == 1
    )
    assert "市自然资源和规划局" in event["note"] and "王副市长" in event["note"]
    told = messages.list_messages(db, actor_for(db, "handler"))
    assert any(m["kind"] == "joint_review" and m["problem_id"] == pid for m in told)
    [shown] = [
        i
        for i in meetings.agenda(db, supervisor, meeting, today=date(2026, 7, 11))
        if i["id"] == item
    ]
    assert shown["state"] == "overdue" and shown["responsible"]
    assert [h["action"] for h in shown["history"]][-1] == "joint_review"


def test_open_decisions_carry_over_to_the_next_meeting(db):
    supervisor = actor_for(db, "supervisor")
    first, second = held(db)
    june = meetings.create_meeting(db, supervisor, "2026-06-20")
    one = meetings.add_item(db, supervisor, june, first, ["overdue"])
    meetings.add_item(db, supervisor, june, second, ["escalated"])
    meetings.mark_done(db, supervisor, one)
    with pytest.raises(ValidationError):
        meetings.mark_done(db, supervisor, one)
    july = meetings.create_meeting(db, supervisor, "2026-07-20")
    carried = {i["problem_id"]: i for i in meetings.agenda(db, supervisor, july)}
    assert second in carried and first not in carried  # done items stay behind
    assert carried[second]["reason_labels"] == "上次会议未办结"
    august = meetings.create_meeting(db, supervisor, "2026-08-20")
    again = [i["problem_id"] for i in meetings.agenda(db, supervisor, august)]
    assert sorted(again) == sorted(carried) and len(again) == len(set(again))  # each once
    with pytest.raises(ValidationError):
        meetings.create_meeting(db, supervisor, "下周")
    with pytest.raises(PermissionDeniedError):
        meetings.create_meeting(db, actor_for(db, "handler"), "2026-09-01")


def test_the_meetings_page_records_minutes_and_prints(demo_db):
    with store.opened(demo_db) as db:
        pid = store.scalar(
            db,
            "SELECT id FROM problems p WHERE status IN ('assigned', 'in_progress') AND NOT EXISTS"
            " (SELECT 1 FROM meeting_items i WHERE i.problem_id = p.id AND i.status = 'open')",
        )  # not on an open agenda yet
        supervisor = actor_for(db, "supervisor")
        lifecycle.escalate(db, supervisor, pid, "请本周内答复企业")
    at = open_page(demo_db, "supervisor", "pages/meetings_page.py")
    at.button(key="FormSubmitter:new_meeting_0-新建会议").click().run()
    assert not at.exception
    assert at.success[0].value == "已新建会议。"  # issue 28 item 4: shown, and selected at once
    with store.opened(demo_db) as db:
        newest = store.query(db, "SELECT id, held_on, title FROM meetings ORDER BY id DESC")[0]
        with pytest.raises(ValidationError, match="不能重复新建"):  # a second tap
            meetings.create_meeting(db, supervisor, newest["held_on"], newest["title"])
    assert at.selectbox(key="meeting_choice_new_meeting_1").value == newest["id"]
    assert at.button(key="FormSubmitter:new_meeting_1-新建会议")  # a fresh form
    assert any(
        f"#{pid} " in option for option in at.multiselect(key="candidates").options
    )  # a candidate
    at.multiselect(key="candidates").set_value([pid]).run()
    [add] = [b for b in at.button if b.label == "列入本次会议"]
    add.click().run()
    assert at.success[0].value == "已列入 1 个问题。"
    assert any(link.label.startswith(f"打开问题 #{pid}") for link in at.get("page_link"))
    with store.opened(demo_db) as db:
        item = store.scalar(
            db,
            "SELECT id FROM meeting_items WHERE problem_id = ?"
            " AND meeting_id = (SELECT max(id) FROM meetings)",
            (pid,),
        )
    assert item
    at.text_area(key=f"dec_{item}").input("由工信局牵头，两周内完成")
    at.multiselect(key=f"resp_{item}").set_value(["GXJ"])
    at.text_input(key=f"chair_{item}").input("王副市长")
    at.button(key=f"FormSubmitter:minutes_{item}_agenda_1-记录决定").click().run()
    assert at.success[0].value.startswith("已记录")
    assert any("决定：由工信局牵头" in m.value for m in at.markdown)  # without a reload
    at.toggle[0].set_value(True).run()
    assert any("会议决定：由工信局牵头" in m.value for m in at.markdown)
    assert at.table  # each problem's history, for printing
