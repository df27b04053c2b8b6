"""The case library: nominating closed problems and adopted suggestions, a selection round whose
scores stay private until it closes, publishing with the company masked for readers without
access to it, and searching by category, sector and words."""

from __future__ import annotations

import pytest

from survey import cases
from survey import db as store
from survey.errors import NotFoundError, PermissionDeniedError, ValidationError
from tests.helpers import actor_for

WRITE_UP = {
    "title": "“拿地即开工”破解项目落地慢",
    "background": "{company}新建厂房，施工许可办理耗时较长。",
    "approach": "自然资源、住建、审批部门并联审批，提前介入方案审查。",
    "results": "项目从拿地到开工缩短至 1 个工作日。",
    "figures": "节约时间 90 天",
}


def closed_problem(db, department: str = "GXJ") -> dict:
    return store.query(
        db,
        "SELECT p.id, c.name AS company FROM problems p JOIN companies c ON c.id = p.company_id"
        " WHERE p.status = 'closed' AND p.lead_department_code = ? ORDER BY p.id LIMIT 1",
        (department,),
    )[0]


def write_up(company: str, **changes) -> dict:
    return {k: v.format(company=company) for k, v in WRITE_UP.items()} | changes


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("镇江大全电气设备有限公司", "镇江某某设备有限公司"),
        ("江苏恒顺醋业股份有限公司", "江苏某某醋业股份有限公司"),
        ("句容宝华新材料科技有限公司", "句容某某科技有限公司"),
        ("华泰集团", "某地某某集团"),
    ],
)
def test_masking_keeps_place_and_trade(name, masked):
    assert cases.mask_name(name) == masked


def test_nominating_closed_problems_only_and_only_ones_own(db):
    handler = actor_for(db, "handler")
    mine = closed_problem(db, "GXJ")
    case_id = cases.nominate_problem(db, handler, mine["id"], write_up(mine["company"]))
    assert cases.get_case(db, handler, case_id)["title"] == WRITE_UP["title"]  # its nominator
    theirs = store.scalar(
        db, "SELECT id FROM problems WHERE status = 'closed' AND lead_department_code != 'GXJ'"
    )
    with pytest.raises(PermissionDeniedError):
        cases.nominate_problem(db, handler, theirs, write_up("x"))
    open_one = store.scalar(db, "SELECT id FROM problems WHERE status != 'closed'")
    with pytest.raises(ValidationError) as refused:
        cases.nominate_problem(db, actor_for(db, "supervisor"), open_one, write_up("x"))
    assert refused.value.field == "problem_id"
    with pytest.raises(ValidationError) as refused:
        cases.nominate_problem(db, handler, mine["id"], write_up("x", approach=" "))
    assert refused.value.field == "approach"
    with pytest.raises(NotFoundError):  # not published: other readers do not see it
        cases.get_case(db, actor_for(db, "officer"), case_id)
    suggestion = store.scalar(db, "SELECT id FROM feedback WHERE kind = 'suggestion' LIMIT 1")
    with pytest.raises(PermissionDeniedError):
        cases.nominate_suggestion(db, handler, suggestion, write_up("x"))
    assert cases.nominate_suggestion(db, actor_for(db, "supervisor"), suggestion, write_up("x"))


def test_scores_stay_private_until_the_round_closes(db):
    supervisor, handler = actor_for(db, "supervisor"), actor_for(db, "handler")
    judge_a, judge_b = actor_for(db, "admin"), actor_for(db, "handler.jrb")
    problem = closed_problem(db)
    first = cases.nominate_problem(db, supervisor, problem["id"], write_up(problem["company"]))
    second = cases.nominate_problem(
        db, supervisor, problem["id"], write_up("某企业", title="第二个")
    )
    round_id = cases.create_round(
        db,
        supervisor,
        year=2026,
        title="2026 年度经典案例评选",
        criteria=[("创新性", 2), ("成效", 1)],
        panel=[judge_a.id, judge_b.id],
        case_ids=[first, second],
    )
    innovation, effect = [r[0] for r in db.conn.execute("SELECT id FROM case_criteria ORDER BY id")]
    cases.score(db, judge_a, round_id, first, innovation, 90)
    cases.score(db, judge_a, round_id, first, effect, 60)
    cases.score(db, judge_b, round_id, first, innovation, 70)
    cases.score(db, judge_b, round_id, second, innovation, 95)
    with pytest.raises(PermissionDeniedError):
        cases.score(db, handler, round_id, first, innovation, 50)  # not on the panel
    assert cases.my_scores(db, judge_b, round_id) == {
        (first, innovation): 70,
        (second, innovation): 95,
    }
    with pytest.raises(PermissionDeniedError):
        cases.ranking(db, supervisor, round_id)  # not before it closes
    cases.close_round(db, supervisor, round_id)
    with pytest.raises(ValidationError):
        cases.score(db, judge_a, round_id, first, innovation, 10)
    ranked = cases.ranking(db, judge_a, round_id)
    # second: 95*2/2 = 95; first: (90*2 + 60*1 + 70*2) / (2 + 1 + 2) = 76
    assert [(r["id"], r["score"]) for r in ranked] == [(second, 95.0), (first, 76.0)]
    with pytest.raises(PermissionDeniedError):
        cases.ranking(db, handler, round_id)


def test_a_published_case_masks_the_company_for_readers_without_access(db):
    supervisor = actor_for(db, "supervisor")
    problem = closed_problem(db)
    case_id = cases.nominate_problem(
        db, supervisor, problem["id"], write_up(problem["company"]), mask_company=True
    )
    cases.set_status(db, supervisor, case_id, "published")
    masked = cases.mask_name(problem["company"])
    monitor = actor_for(db, "monitor")
    seen = cases.get_case(db, monitor, case_id)
    assert seen["company"] == masked and problem["company"] not in repr(seen)
    assert masked in seen["background"]
    assert cases.get_case(db, supervisor, case_id)["company"] == problem["company"]
    found = cases.search(db, monitor, "拿地 开工")
    assert [c["id"] for c in found] == [case_id] and problem["company"] not in repr(found)
    assert cases.search(db, monitor, "无关的词") == []
    category = store.scalar(db, "SELECT category_code FROM cases WHERE id = ?", (case_id,))
    assert [c["id"] for c in cases.search(db, monitor, category=category)] == [case_id]
    assert cases.search(db, monitor, "100%_") == []  # LIKE wildcards are words here
