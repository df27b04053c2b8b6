"""The case library: nominating closed problems and adopted suggestions, a selection round whose
scores stay private until it closes, publishing with the company masked for readers without
access to it, and searching by category, sector and words."""

from __future__ import annotations

import pytest

from survey import db as store
from survey.cases import library, masking, selection
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
    assert masking.mask_name(name) == masked


def test_nominating_closed_problems_only_and_only_ones_own(db):
    handler = actor_for(db, "handler")
    mine = closed_problem(db, "GXJ")
    case_id = library.nominate_problem(db, handler, mine["id"], write_up(mine["company"]))
    assert library.get_case(db, handler, case_id)["title"] == WRITE_UP["title"]  # its nominator
    theirs = store.scalar(
        db, "SELECT id FROM problems WHERE status = 'closed' AND lead_department_code != 'GXJ'"
    )
    with pytest.raises(PermissionDeniedError):
        library.nominate_problem(db, handler, theirs, write_up("x"))
    open_one = store.scalar(db, "SELECT id FROM problems WHERE status != 'closed'")
    with pytest.raises(ValidationError) as refused:
        library.nominate_problem(db, actor_for(db, "supervisor"), open_one, write_up("x"))
    assert refused.value.field == "problem_id"
    with pytest.raises(ValidationError) as refused:
        library.nominate_problem(db, handler, mine["id"], write_up("x", approach=" "))
    assert refused.value.field == "approach"
    with pytest.raises(NotFoundError):  # not published: other readers do not see it
        library.get_case(db, actor_for(db, "officer"), case_id)
    suggestion = store.scalar(db, "SELECT id FROM feedback WHERE kind = 'suggestion' LIMIT 1")
    with pytest.raises(PermissionDeniedError):
        library.nominate_suggestion(db, handler, suggestion, write_up("x"))
    assert library.nominate_suggestion(db, actor_for(db, "supervisor"), suggestion, write_up("x"))


def test_scores_stay_private_until_the_round_closes(db):
    supervisor, handler = actor_for(db, "supervisor"), actor_for(db, "handler")
    judge_a, judge_b = actor_for(db, "admin"), actor_for(db, "handler.jrb")
    problem = closed_problem(db)
    first = library.nominate_problem(db, supervisor, problem["id"], write_up(problem["company"]))
    second = library.nominate_problem(
        db, supervisor, problem["id"], write_up("某企业", title="第二个")
    )
    round_id = selection.create_round(
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
    selection.score(db, judge_a, round_id, first, innovation, 90)
    selection.score(db, judge_a, round_id, first, effect, 60)
    selection.score(db, judge_b, round_id, first, innovation, 70)
    selection.score(db, judge_b, round_id, second, innovation, 95)
    with pytest.raises(PermissionDeniedError):
        selection.score(db, handler, round_id, first, innovation, 50)  # not on the panel
    assert selection.my_scores(db, judge_b, round_id) == {
        (first, innovation): 70,
        (second, innovation): 95,
    }
    with pytest.raises(PermissionDeniedError):
        selection.ranking(db, supervisor, round_id)  # not before it closes
    selection.close_round(db, supervisor, round_id)
    with pytest.raises(ValidationError):
        selection.score(db, judge_a, round_id, first, innovation, 10)
    ranked = selection.ranking(db, judge_a, round_id)
    # second: 95*2/2 = 95; first: (90*2 + 60*1 + 70*2) / (2 + 1 + 2) = 76
    assert [(r["id"], r["score"]) for r in ranked] == [(second, 95.0), (first, 76.0)]
    with pytest.raises(PermissionDeniedError):
        selection.ranking(db, handler, round_id)


def test_a_published_case_masks_the_company_for_readers_without_access(db):
    supervisor = actor_for(db, "supervisor")
    problem = closed_problem(db)
    case_id = library.nominate_problem(
        db, supervisor, problem["id"], write_up(problem["company"]), mask_company=True
    )
    library.set_status(db, supervisor, case_id, "published")
    masked = masking.mask_name(problem["company"])
    monitor = actor_for(db, "monitor")
    seen = library.get_case(db, monitor, case_id)
    assert seen["company"] == masked and problem["company"] not in repr(seen)
    assert masked in seen["background"]
    assert library.get_case(db, supervisor, case_id)["company"] == problem["company"]
    found = library.search(db, monitor, "拿地 开工")
    assert case_id in [c["id"] for c in found] and problem["company"] not in repr(found)
    assert all("拿地" in c["title"] + c["background"] + c["approach"] for c in found)
    assert library.search(db, monitor, "无关的词") == []
    assert case_id not in [c["id"] for c in library.search(db, monitor, problem["company"])]
    assert case_id in [c["id"] for c in library.search(db, supervisor, problem["company"])]
    category = store.scalar(db, "SELECT category_code FROM cases WHERE id = ?", (case_id,))
    by_category = library.search(db, monitor, category=category)
    assert case_id in [c["id"] for c in by_category]
    assert {c["category_code"] for c in by_category} == {category}
    assert library.search(db, monitor, "100%_") == []  # LIKE wildcards are words here


TIANSHENG = "江苏天盛智能电气有限公司"


def masked_case(db, name: str, **texts) -> tuple[int, int]:
    """A published, masked case about a closed problem whose company is called `name`; returns
    (case id, company id)."""
    supervisor = actor_for(db, "supervisor")
    problem = closed_problem(db)
    company_id = store.scalar(db, "SELECT company_id FROM problems WHERE id = ?", (problem["id"],))
    db.execute("UPDATE companies SET name = ? WHERE id = ?", (name, company_id))
    fields = write_up(name) | texts
    case_id = library.nominate_problem(db, supervisor, problem["id"], fields, mask_company=True)
    library.set_status(db, supervisor, case_id, "published")
    return case_id, company_id


@pytest.mark.parametrize(
    "declared",
    [
        "（以下简称“天盛智能”）",
        '（以下简称"天盛智能"）',
        "（以下简称「天盛智能」）",
        "（以下简称『天盛智能』）",
        "(以下简称‘天盛智能’)",
        "（简称：天盛智能）",
        "（以下称“天盛智能”）",
        "，简称天盛智能，",
    ],
)
def test_a_declared_short_name_is_masked_and_not_found(db, declared):
    case_id, _ = masked_case(
        db,
        TIANSHENG,
        background=f"{TIANSHENG}{declared}新建厂房，施工许可办理耗时较长。",
        approach="天盛智能与自然资源、住建部门对接，提前介入方案审查。",
        results="天盛智能项目从拿地到开工缩短至 1 个工作日。",
    )
    monitor = actor_for(db, "monitor")
    seen = library.get_case(db, monitor, case_id)
    assert "天盛" not in repr(seen), seen
    assert "某某" in seen["approach"] and "自然资源" in seen["approach"]
    assert case_id not in [c["id"] for c in library.search(db, monitor, "天盛智能")]
    assert case_id in [c["id"] for c in library.search(db, monitor, "自然资源")]
    supervisor = actor_for(db, "supervisor")
    assert case_id in [c["id"] for c in library.search(db, supervisor, "天盛智能")]
    assert "天盛智能与" in library.get_case(db, supervisor, case_id)["approach"]


@pytest.mark.parametrize(
    ("name", "said"),
    [
        (TIANSHENG, "天盛智能电气"),  # without the place and the legal form
        (TIANSHENG, "江苏天盛智能电气"),  # without the legal form
        ("江苏省镇江市天盛智能电气股份有限公司", "天盛智能电气"),
        ("镇江市京口区天盛智能电气有限责任公司", "天盛智能电气有限责任公司"),  # without the place
        ("丹阳天盛智能电气集团有限公司", "天盛智能电气"),
        ("句容市天盛智能电气有限公司", "天盛智能电气公司"),
        ("天盛智能电气（江苏）有限公司", "天盛智能电气"),
    ],
)
def test_the_name_without_its_place_and_legal_form_is_masked(db, name, said):
    case_id, _ = masked_case(db, name, approach=f"{said}与自然资源部门对接，提前介入方案审查。")
    monitor = actor_for(db, "monitor")
    seen = library.get_case(db, monitor, case_id)
    assert "天盛" not in repr(seen), seen
    assert case_id not in [c["id"] for c in library.search(db, monitor, said)]


def test_other_short_names_and_an_editors_aliases(db):
    case_id, company_id = masked_case(
        db,
        TIANSHENG,
        background=f"{TIANSHENG}向镇江市发展和改革委员会（以下简称“市发改委”）反映用地问题。",
        approach="天盛电气与市发改委对接，TS公司提前介入方案审查。",
    )
    monitor, supervisor = actor_for(db, "monitor"), actor_for(db, "supervisor")
    seen = library.get_case(db, monitor, case_id)
    assert "市发改委" in seen["approach"]  # a short name declared for someone else stays
    assert "天盛电气" in seen["approach"]  # what only an editor knows the company is called
    assert case_id in [c["id"] for c in library.search(db, monitor, "天盛电气")]
    with pytest.raises(PermissionDeniedError):
        masking.save_aliases(db, monitor, case_id, ["天盛电气"])
    with pytest.raises(ValidationError) as refused:
        masking.save_aliases(db, supervisor, case_id, ["天"])
    assert refused.value.field == "aliases"
    masking.save_aliases(db, supervisor, case_id, ["天盛电气", " TS公司\n", "天盛电气"])
    assert masking.aliases(db, supervisor, case_id) == ["TS公司", "天盛电气"]
    seen = library.get_case(db, monitor, case_id)
    assert "天盛" not in repr(seen) and "TS公司" not in repr(seen), seen
    assert case_id not in [c["id"] for c in library.search(db, monitor, "天盛电气")]
    assert case_id not in [c["id"] for c in library.search(db, monitor, "TS公司")]
    audited = store.scalar(
        db, "SELECT count(*) FROM audit_log WHERE table_name = 'company_aliases'"
    )
    assert audited == 1
    other = library.nominate_problem(  # the aliases are the company's: every case about it
        db,
        supervisor,
        store.scalar(db, "SELECT problem_id FROM cases WHERE id = ?", (case_id,)),
        write_up(TIANSHENG, approach="TS公司再次扩产。"),
        mask_company=True,
    )
    library.set_status(db, supervisor, other, "published")
    assert "TS公司" not in library.get_case(db, monitor, other)["approach"]
    assert company_id


def test_panel_members_without_access_see_masked_titles(db):
    supervisor, judge = actor_for(db, "supervisor"), actor_for(db, "monitor")
    case_id, _ = masked_case(
        db,
        TIANSHENG,
        title="天盛智能“拿地即开工”",
        background=f"{TIANSHENG}（以下简称“天盛智能”）新建厂房。",
    )
    round_id = selection.create_round(
        db,
        supervisor,
        year=2026,
        title="试评",
        criteria=[("成效", 1)],
        panel=[judge.id],
        case_ids=[case_id],
    )
    detail = selection.round_detail(db, judge, round_id)
    assert "天盛" not in repr(detail["cases"]), detail["cases"]
    assert "某某" in detail["cases"][0]["title"]
    assert "天盛智能" in selection.round_detail(db, supervisor, round_id)["cases"][0]["title"]
    selection.close_round(db, supervisor, round_id)
    ranked = selection.ranking(db, judge, round_id)
    assert [r["id"] for r in ranked] == [case_id] and "天盛" not in repr(ranked), ranked
    assert "天盛智能" in selection.ranking(db, supervisor, round_id)[0]["title"]


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
    assert name not in page and masking.mask_name(name) in page


def test_a_panel_member_scores_on_the_page(demo_db):
    with store.opened(demo_db) as db:
        supervisor = actor_for(db, "supervisor")
        problem = closed_problem(db)
        case_id = library.nominate_problem(
            db, supervisor, problem["id"], write_up(problem["company"])
        )
        judge = actor_for(db, "handler")
        round_id = selection.create_round(
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
    assert not at.number_input  # only the open tab is built (案例库)
    at.session_state["cases_tab"] = "评选"
    at.run()
    at.number_input(key=f"s_{round_id}_{case_id}_{criterion}").set_value(88)
    at.button(key=f"FormSubmitter:score_{round_id}_{case_id}-保存评分").click().run()
    assert at.success[0].value == "已保存。"
    with store.opened(demo_db) as db:
        assert selection.my_scores(db, actor_for(db, "handler"), round_id) == {
            (case_id, criterion): 88
        }


def test_a_round_started_and_closed_on_the_page_shows_at_once(demo_db):
    """Issue 28 item 4: after 发起 the round is listed and the form is empty (no reload); the same
    round sent again is refused; after 结束评选 the scoring forms go and the ranking with 入选/发布
    shows; 入选 shows the new status at once."""
    with store.opened(demo_db) as db:
        supervisor = actor_for(db, "supervisor")
        problem = closed_problem(db)
        case_id = library.nominate_problem(
            db, supervisor, problem["id"], write_up(problem["company"])
        )
    at = open_page(demo_db, "supervisor", "pages/cases_page.py")
    at.session_state["cases_tab"] = "评选"  # only the open tab is built
    at.run()
    form = "new_round_0"
    title = next(t for t in at.text_input if t.label == "名称（可留空）")
    title.input("页面试评")
    panel, cases = (m for m in at.multiselect if m.label in ("评审组成员", "参评案例"))
    panel.select(supervisor.id)
    cases.select(case_id)
    at.button(key=f"FormSubmitter:{form}-发起").click().run()
    assert not at.exception and not at.error
    assert at.success[0].value == "已发起评选，见下方列表。"
    assert any(e.label.startswith("页面试评") for e in at.expander)  # listed without a reload
    title = next(t for t in at.text_input if t.label == "名称（可留空）")
    assert title.value == "" and all(not m.value for m in at.multiselect)  # the form is empty
    with store.opened(demo_db) as db:
        round_id = store.scalar(db, "SELECT id FROM case_rounds WHERE title = '页面试评'")
        with pytest.raises(ValidationError, match="已在进行中"):  # a second tap refused
            selection.create_round(
                db,
                supervisor,
                year=2026,
                title="页面试评",
                criteria=[("成效", 1)],
                panel=[supervisor.id],
                case_ids=[case_id],
            )
    assert at.button(key=f"FormSubmitter:score_{round_id}_{case_id}-保存评分")
    at.button(key=f"close_{round_id}").click().run()
    assert at.success[0].value == "评选已结束，排名如下。"
    assert not [
        b for b in at.button if b.key and b.key.startswith(f"FormSubmitter:score_{round_id}")
    ]
    assert at.button(key=f"sel_{round_id}_{case_id}") and at.button(key=f"pub_{round_id}_{case_id}")
    at.button(key=f"sel_{round_id}_{case_id}").click().run()
    assert at.success[0].value == "已入选。"
    assert not [b for b in at.button if b.key == f"sel_{round_id}_{case_id}"]
    assert any("已入选" in m.value for m in at.markdown)


def test_a_department_finds_its_problem_to_nominate_by_number_or_words(demo_db):
    """Issue 28 item 5: 推荐 searches the closed problems the department may nominate (no bare
    number); after 推荐 the form is empty and the same write-up again is refused (item 4)."""
    with store.opened(demo_db) as db:
        mine = closed_problem(db, "GXJ")
        other = closed_problem(db, "JRB")
        handler = actor_for(db, "handler")
        words = store.scalar(db, "SELECT description FROM problems WHERE id = ?", (mine["id"],))
        assert [p["id"] for p in library.nominable(db, handler, str(mine["id"]))] == [mine["id"]]
        assert library.nominable(db, handler, f"#{other['id']}") == []  # not its own
        assert mine["id"] in [p["id"] for p in library.nominable(db, handler, words[:15])]
    at = open_page(demo_db, "handler", "pages/cases_page.py")
    at.session_state["cases_tab"] = "推荐"
    at.run()
    at.text_input(key="nominate_find").input(str(mine["id"])).run()
    at.selectbox(key="nominate_problem").select(mine["id"]).run()
    for key, value in write_up(mine["company"]).items():
        (at.text_area if key != "figures" else at.text_input)(key=f"nominate_0_{key}").input(value)
    at.button(key="FormSubmitter:nominate_0-推荐").click().run()
    assert not at.error and at.success[0].value == f"已推荐问题 #{mine['id']}，等待评选。"
    assert at.text_area(key="nominate_1_title").value == ""
    with store.opened(demo_db) as db:
        with pytest.raises(ValidationError, match="已以"):
            library.nominate_problem(db, handler, mine["id"], write_up(mine["company"]))
        assert (
            store.scalar(db, "SELECT count(*) FROM cases WHERE problem_id = ?", (mine["id"],)) == 1
        )


def test_an_editor_adds_the_companys_other_names_on_the_case_page(demo_db):
    with store.opened(demo_db) as db:
        case_id, _ = masked_case(db, TIANSHENG, approach="TS公司与自然资源部门对接。")
    at = open_page(demo_db, "supervisor", "pages/cases_page.py")
    at.query_params["id"] = str(case_id)
    at.run()
    at.text_area(key=f"alias_{case_id}").input("TS公司\n天")
    at.button(key=f"FormSubmitter:aliases_{case_id}-保存").click().run()
    assert "2–50 个字" in at.error[0].value
    at.text_area(key=f"alias_{case_id}").input("TS公司\n天盛电气")
    at.button(key=f"FormSubmitter:aliases_{case_id}-保存").click().run()
    assert at.success[0].value == "已保存。"
    with store.opened(demo_db) as db:
        assert masking.aliases(db, actor_for(db, "supervisor"), case_id) == ["TS公司", "天盛电气"]
        seen = library.get_case(db, actor_for(db, "monitor"), case_id)
    assert "TS公司" not in seen["approach"]
    monitor = open_page(demo_db, "monitor", "pages/cases_page.py")
    monitor.query_params["id"] = str(case_id)
    monitor.run()
    assert not monitor.text_area  # only editors see the list
