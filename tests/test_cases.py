"""The case library: nominating closed problems and adopted suggestions, a selection round whose
scores stay private until it closes, publishing with the company masked for readers without
access to it, and searching by category, sector and words."""

from __future__ import annotations

import pytest

from survey import cases
from survey import db as store
from survey.errors import NotFoundError, PermissionDeniedError, ValidationError
from tests.helpers import actor_for, open_page

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
    innovation, effect = [
        r[0]
        for r in db.conn.execute(
            "SELECT id FROM case_criteria WHERE round_id = ? ORDER BY id", (round_id,)
        )
    ]
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
    assert case_id in [c["id"] for c in found] and problem["company"] not in repr(found)
    assert all("拿地" in c["title"] + c["background"] + c["approach"] for c in found)
    assert cases.search(db, monitor, "无关的词") == []
    assert case_id not in [c["id"] for c in cases.search(db, monitor, problem["company"])]
    assert case_id in [c["id"] for c in cases.search(db, supervisor, problem["company"])]
    category = store.scalar(db, "SELECT category_code FROM cases WHERE id = ?", (case_id,))
    by_category = cases.search(db, monitor, category=category)
    assert case_id in [c["id"] for c in by_category]
    assert {c["category_code"] for c in by_category} == {category}
    assert cases.search(db, monitor, "100%_") == []  # LIKE wildcards are words here


def test_the_library_page_searches_opens_and_masks(demo_db):
    with store.opened(demo_db) as db:
        masked = store.query(
            db,
            "SELECT k.id, c.name FROM cases k JOIN companies c ON c.id = k.company_id"
            " WHERE k.mask_company = 1 AND k.status = 'published' LIMIT 1",
        )
    at = open_page(demo_db, "monitor", "pages/cases_page.py")
    assert [t.label for t in at.tabs] == ["案例库"]  # a monitor reads; no nominating
    at.text_input[0].input("开工").run()
    found = at.get("page_link")
    assert found and all("开工" in link.label for link in found)
    assert masked  # the demo publishes masked cases
    case_id, name = masked[0]["id"], masked[0]["name"]
    at.query_params["id"] = str(case_id)
    at.run()
    page = " ".join(str(e.value) for e in at.caption) + " ".join(t.value for t in at.text)
    assert name not in page and cases.mask_name(name) in page


def test_a_panel_member_scores_on_the_page(demo_db):
    with store.opened(demo_db) as db:
        supervisor = actor_for(db, "supervisor")
        problem = closed_problem(db)
        case_id = cases.nominate_problem(
            db, supervisor, problem["id"], write_up(problem["company"])
        )
        judge = actor_for(db, "handler")
        round_id = cases.create_round(
            db,
            supervisor,
            year=2026,
            title="试评",
            criteria=[("成效", 1)],
            panel=[judge.id],
            case_ids=[case_id],
        )
        criterion = store.scalar(db, "SELECT id FROM case_criteria WHERE round_id = ?", (round_id,))
    at = open_page(demo_db, "handler", "pages/cases_page.py")
    assert [t.label for t in at.tabs] == ["案例库", "推荐", "评选"]
    at.number_input(key=f"s_{round_id}_{case_id}_{criterion}").set_value(88)
    at.button(key=f"FormSubmitter:score_{round_id}_{case_id}-保存评分").click().run()
    assert at.success[0].value == "已保存。"
    with store.opened(demo_db) as db:
        assert cases.my_scores(db, actor_for(db, "handler"), round_id) == {(case_id, criterion): 88}
