"""Monitor feedback: leads become problems, exactly-once submission, anonymity enforced in survey/,
ratings per dimension, quarterly duties."""

from __future__ import annotations

import uuid

import pytest

from survey import clock, feedback
from survey import db as store
from survey.errors import PermissionDeniedError
from survey.problems import lifecycle, listing
from tests.helpers import actor_for


def lead(**extra) -> dict:
    body = {
        "kind": "lead",
        "department_code": "ZRZY",
        "indicator_code": "CN08",
        "company_id": None,
        "body": "多家企业反映不动产登记需要反复提交同一材料。",
        "category": "D6",
        "anonymous": True,
    }
    body.update(extra)
    return body


def test_a_lead_becomes_a_problem_once(db):
    monitor = actor_for(db, "monitor")
    sid = str(uuid.uuid4())
    first = feedback.submit_feedback(db, monitor, sid, lead())
    again = feedback.submit_feedback(db, monitor, sid, lead())
    assert again == first | {"already_submitted": True}
    problem = store.query(
        db,
        "SELECT source, status, category_code, feedback_id FROM problems WHERE id = ?",
        (first["problem_id"],),
    )[0]
    assert problem == {
        "source": "monitor",
        "status": "new",
        "category_code": "D6",
        "feedback_id": first["feedback_id"],
    }
    assert store.scalar(db, "SELECT count(*) FROM feedback WHERE submission_id = ?", (sid,)) == 1


def test_monitor_sees_the_departments_answer(db):
    monitor, supervisor = actor_for(db, "monitor"), actor_for(db, "supervisor")
    result = feedback.submit_feedback(db, monitor, str(uuid.uuid4()), lead())
    pid = result["problem_id"]
    lifecycle.assign(db, supervisor, pid, "GXJ", "short")
    handler = actor_for(db, "handler")
    lifecycle.accept(db, handler, pid)
    lifecycle.reply(db, handler, pid, "resolved", "已推行不动产登记一次性告知清单。")
    mine = {r["id"]: r for r in feedback.list_feedback(db, monitor)}
    assert mine[result["feedback_id"]]["problem_status"] == "replied"
    assert mine[result["feedback_id"]]["reply_text"] == "已推行不动产登记一次性告知清单。"


def test_anonymity_holds_in_the_departments_view(db):
    monitor, supervisor = actor_for(db, "monitor"), actor_for(db, "supervisor")
    anonymous = feedback.submit_feedback(db, monitor, str(uuid.uuid4()), lead(anonymous=True))[
        "problem_id"
    ]
    named = feedback.submit_feedback(db, monitor, str(uuid.uuid4()), lead(anonymous=False))[
        "problem_id"
    ]
    for pid in (anonymous, named):
        lifecycle.assign(db, supervisor, pid, "GXJ", "short")
    handler = actor_for(db, "handler")
    hidden = listing.get_problem(db, handler, anonymous)
    assert hidden["reporter"] == feedback.ANONYMOUS
    assert monitor.display_name not in str(hidden)  # not in the events either
    assert listing.get_problem(db, handler, named)["reporter"] == monitor.display_name
    assert listing.get_problem(db, supervisor, anonymous)["reporter"] == monitor.display_name


def test_invalid_feedback_names_each_field(db):
    monitor = actor_for(db, "monitor")
    with pytest.raises(feedback.FeedbackInvalidError) as info:
        feedback.submit_feedback(
            db,
            monitor,
            str(uuid.uuid4()),
            {"kind": "rating", "body": "太短", "ratings": {"efficiency": 9}},
        )
    errors = info.value.errors
    assert errors["department_code"] == "部门评价须选择被评价的部门。"
    assert errors["body"].startswith("内容至少 10 个字")
    assert errors["ratings.efficiency"] == "请为“效率”打 1–5 分。"
    assert "ratings.attitude" in errors
    with pytest.raises(feedback.FeedbackInvalidError, match="处需要修改"):
        feedback.submit_feedback(db, monitor, str(uuid.uuid4()), lead(category=None))
    with pytest.raises(PermissionDeniedError):
        feedback.submit_feedback(db, actor_for(db, "officer"), str(uuid.uuid4()), lead())


def test_ratings_and_duties(db):
    monitor, supervisor = actor_for(db, "monitor"), actor_for(db, "supervisor")
    scores = {"efficiency": 5, "attitude": 4, "policy": 3, "transparency": 4, "once": 2}
    feedback.submit_feedback(
        db,
        monitor,
        str(uuid.uuid4()),
        {
            "kind": "rating",
            "department_code": "XZSP",
            "body": "窗口办理效率较高，但一次性告知仍需改进。",
            "ratings": scores,
        },
    )
    series = [
        r
        for r in feedback.rating_series(db, supervisor, "XZSP")
        if r["month"] == clock.today().isoformat()[:7]
    ]
    by_dimension = {r["dimension"]: r for r in series}
    assert (
        by_dimension["once"]["ratings"] >= 1
        and by_dimension["once"]["dimension_name"] == "一次性告知"
    )
    progress = feedback.duty_progress(db, supervisor)
    row = next(m for m in progress["monitors"] if m["username"] == "monitor")
    assert progress["target"] == 1 and row["total"] >= 1
    feedback.set_quarter_target(db, actor_for(db, "admin"), 3)
    assert feedback.duty_progress(db, supervisor)["target"] == 3
    with pytest.raises(PermissionDeniedError):
        feedback.duty_progress(db, actor_for(db, "handler"))


def test_quarters():
    from datetime import date

    assert feedback.quarter_of(date(2026, 11, 26)) == ("2026Q4", "2026-10-01", "2027-01-01")
    assert feedback.quarter_of(date(2026, 2, 1)) == ("2026Q1", "2026-01-01", "2026-04-01")
