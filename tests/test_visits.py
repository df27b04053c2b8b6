"""Visits: exactly-once submission, validation that names each field, drafts, edits, the profile."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest

from survey import clock, drafts, questionnaires, visits
from survey import db as store
from survey.companies import profiles
from survey.errors import PermissionDeniedError
from tests.helpers import actor_for, linked_company, payload


def test_submit_writes_everything_once(db):
    officer = actor_for(db, "officer")
    sid = str(uuid.uuid4())
    drafts.save_draft(db, officer, "visit", sid, {"step": 1})
    receipt = visits.submit_visit(db, officer, sid, payload(db, officer))
    again = visits.submit_visit(db, officer, sid, payload(db, officer))
    assert again.visit_id == receipt.visit_id and again.already_submitted
    assert again.problem_ids == receipt.problem_ids and len(receipt.problem_ids) == 2
    assert receipt.closed_on_spot == [receipt.problem_ids[1]]
    assert store.scalar(db, "SELECT count(*) FROM visits WHERE submission_id = ?", (sid,)) == 1
    statuses = [
        r["status"]
        for r in store.query(
            db, "SELECT status FROM problems WHERE visit_id = ? ORDER BY id", (receipt.visit_id,)
        )
    ]
    assert statuses == ["new", "closed"]
    form, answers = questionnaires.load_answers(db, visit_id=receipt.visit_id)
    assert form.form_id == "visit" and answers["output_trend"] == "up"
    assert drafts.open_drafts(db, officer, "visit") == []
    visit = visits.get_visit(db, officer, receipt.visit_id)
    assert visit["participants"] == [officer.display_name]


def test_concurrent_resends_give_one_visit(demo_db):
    with store.opened(demo_db) as db:
        officer = actor_for(db, "officer")
        body = payload(db, officer)
    sid = str(uuid.uuid4())
    results, errors = [], []

    def send():
        try:
            with store.opened(demo_db) as db:
                results.append(visits.submit_visit(db, officer, sid, body).visit_id)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(results)) == 1
    with store.opened(demo_db) as db:
        assert store.scalar(db, "SELECT count(*) FROM visits WHERE submission_id = ?", (sid,)) == 1
        assert (
            store.scalar(
                db, "SELECT count(*) FROM problems WHERE submission_id LIKE ?", (sid + "-%",)
            )
            == 2
        )


def test_invalid_visit_names_each_field_and_writes_nothing(db):
    officer = actor_for(db, "officer")
    before = store.scalar(db, "SELECT count(*) FROM visits")
    bad = payload(
        db,
        officer,
        visit_date=(clock.today() + timedelta(days=1)).isoformat(),
        mode="飞行",
        problems=[
            {"category": "A", "nature": "help", "description": "太短"},
            {
                "category": "E1",
                "nature": "x",
                "description": "这是一个足够长的问题描述文字",
                "solved_on_spot": True,
            },
        ],
        answers={"inspection_count": -1},
    )
    with pytest.raises(visits.VisitInvalidError) as info:
        visits.submit_visit(db, officer, str(uuid.uuid4()), bad)
    errors = info.value.errors
    assert errors["visit_date"] == "走访日期不能晚于今天。"
    assert errors["mode"] == "请选择走访方式。"
    assert errors["problems[0].category"] == "请选择问题的小类。"
    assert errors["problems[0].description"].startswith("问题描述至少 10 个字")
    assert errors["problems[1].nature"] == "请选择诉求性质。"
    assert "problems[1].spot_solution" in errors
    assert errors["answers.output_trend"] == "此题必答。"
    assert errors["answers.inspection_count"] == "请填写 0–365 之间的次数"
    assert store.scalar(db, "SELECT count(*) FROM visits") == before


def test_company_outside_the_officers_scope_is_refused(db):
    officer = actor_for(db, "officer")
    foreign = store.scalar(
        db,
        "SELECT id FROM companies WHERE department_code != ? AND id NOT IN (SELECT company_id FROM visits"
        " WHERE officer_id = ?) LIMIT 1",
        (officer.department_code, officer.id),
    )
    with pytest.raises(visits.VisitInvalidError) as info:
        visits.submit_visit(
            db, officer, str(uuid.uuid4()), payload(db, officer, company_id=foreign)
        )
    assert "company" in info.value.errors
    with pytest.raises(PermissionDeniedError):
        visits.submit_visit(
            db, actor_for(db, "supervisor"), str(uuid.uuid4()), payload(db, officer)
        )


def test_raised_again_marks_the_earlier_problem(db):
    officer = actor_for(db, "officer")
    first = visits.submit_visit(db, officer, str(uuid.uuid4()), payload(db, officer))
    open_ids = [
        p["id"] for p in visits.open_problems_of_company(db, officer, linked_company(db, officer))
    ]
    assert (
        first.problem_ids[0] in open_ids and first.problem_ids[1] not in open_ids
    )  # closed on the spot
    second = visits.submit_visit(
        db,
        officer,
        str(uuid.uuid4()),
        payload(db, officer, problems=[], raised_again=[first.problem_ids[0]]),
    )
    assert second.problem_ids == []
    assert (
        store.scalar(
            db, "SELECT raised_again_count FROM problems WHERE id = ?", (first.problem_ids[0],)
        )
        == 1
    )
    events = store.query(
        db,
        "SELECT action FROM problem_events WHERE problem_id = ? ORDER BY id",
        (first.problem_ids[0],),
    )
    assert [e["action"] for e in events] == ["raise", "raised_again"]


def test_edit_within_seven_days_is_audited_and_later_refused(db):
    officer = actor_for(db, "officer")
    receipt = visits.submit_visit(db, officer, str(uuid.uuid4()), payload(db, officer))
    visits.edit_visit(db, officer, receipt.visit_id, {"mode": "座谈", "summary": "与总经理座谈"})
    row = store.query(
        db,
        "SELECT before, after FROM audit_log WHERE table_name='visits' AND action='update'"
        " AND row_id = ?",
        (str(receipt.visit_id),),
    )[0]
    assert "实地" in row["before"] and "座谈" in row["after"]
    db.execute(
        "UPDATE visits SET created_at = '2020-01-01 00:00:00' WHERE id = ?", (receipt.visit_id,)
    )
    with pytest.raises(PermissionDeniedError, match="7 天后"):
        visits.edit_visit(db, officer, receipt.visit_id, {"mode": "电话"})


def test_assigned_problem_cannot_be_withdrawn_only_annotated(db):
    officer = actor_for(db, "officer")
    receipt = visits.submit_visit(db, officer, str(uuid.uuid4()), payload(db, officer))
    new_id = receipt.problem_ids[0]
    db.execute("UPDATE problems SET status = 'assigned' WHERE id = ?", (new_id,))
    with pytest.raises(PermissionDeniedError, match="只能添加备注"):
        visits.withdraw_problem(db, officer, new_id, "重复登记")
    visits.annotate_problem(db, officer, new_id, "企业补充：已提交用地申请")
    db.execute("UPDATE problems SET status = 'new' WHERE id = ?", (new_id,))
    visits.withdraw_problem(db, officer, new_id, "重复登记")
    assert store.scalar(db, "SELECT count(*) FROM problems WHERE id = ?", (new_id,)) == 0


def test_drafts_are_kept_per_user_and_discarded_explicitly(db):
    officer = actor_for(db, "officer")
    sid = str(uuid.uuid4())
    drafts.save_draft(
        db, officer, "visit", sid, {"company_id": 3, "problems": [{"description": "写了一半"}]}
    )
    drafts.save_draft(
        db, officer, "visit", sid, {"company_id": 3, "problems": [{"description": "写了一大半"}]}
    )
    mine = drafts.open_drafts(db, officer, "visit")
    assert [d["submission_id"] for d in mine] == [sid]
    assert mine[0]["payload"]["problems"][0]["description"] == "写了一大半"
    with pytest.raises(Exception, match="其他用户"):
        drafts.save_draft(db, actor_for(db, "lead"), "visit", sid, {})
    drafts.discard_draft(db, officer, sid)
    assert drafts.open_drafts(db, officer, "visit") == []
    assert (
        store.scalar(db, "SELECT count(*) FROM drafts WHERE submission_id = ?", (sid,)) == 1
    )  # kept, marked


def test_company_profile(db):
    officer = actor_for(db, "officer")
    company_id = linked_company(db, officer)
    visits.submit_visit(db, officer, str(uuid.uuid4()), payload(db, officer))
    profile = profiles.company_profile(db, officer, company_id)
    assert profile["company"]["department"] == "市工业和信息化局"
    assert profile["visits"] and profile["problems"]
    supervisor_view = profiles.company_profile(db, actor_for(db, "supervisor"), company_id)
    assert len(supervisor_view["problems"]) >= len(profile["problems"])
