"""AppTest interactions per page: the message shown and the row stored."""

from __future__ import annotations

from datetime import timedelta

from stdnum.cn import uscc as stdnum_uscc

from survey import clock
from survey import db as store
from survey.problems.register import STATUS_LABELS
from tests.helpers import open_page, signed_in


def test_handler_never_sees_another_departments_problem(demo_db):
    at = open_page(demo_db, "handler", "pages/problems_page.py")
    at.multiselect(key="problem_status").set_value(list(STATUS_LABELS)).run()
    shown = at.dataframe[0].value
    with store.opened(demo_db) as db:
        expected = store.scalar(
            db, "SELECT count(*) FROM problems WHERE lead_department_code = 'GXJ'"
        )
        others = {
            r["id"]
            for r in store.query(
                db, "SELECT id FROM problems WHERE lead_department_code IS NOT 'GXJ'"
            )
        }
    assert len(shown) == expected > 0
    assert set(shown["责任部门"]) == {"市工业和信息化局"}
    assert not others & set(shown["编号"])
    offered = {int(o.split()[0].lstrip("#")) for o in at.selectbox(key="problem_open").options}
    assert offered and not others & offered


def test_problem_detail_shows_timeline(demo_db):
    at = open_page(demo_db, "supervisor", "pages/problems_page.py")
    assert at.header[0].value.startswith("问题 #")
    assert len(at.dataframe) == 1 and len(at.table) == 1  # the list; the timeline wraps its text
    assert "说明" in at.table[0].value.columns


def test_company_search_and_edit(demo_db):
    at = open_page(demo_db, "supervisor", "pages/companies_page.py")
    at.text_input(key="company_query").input("恒顺").run()
    assert at.dataframe[0].value["企业名称"].iloc[0] == "江苏恒顺醋业股份有限公司"
    company_id = at.selectbox(key="company_open").value
    at.text_input(key=f"edit{company_id}_edit_company_0_name").input("江苏恒顺醋业集团有限公司")
    at.text_input(key=f"edit{company_id}_edit_company_0_address").input("镇江市京口区恒顺大道66号")
    at.button(key=f"FormSubmitter:edit_company_{company_id}_edit_company_0-保存修改").click().run()
    assert not at.exception and not at.error
    # after the rerun (issue 28 item 4): the message, and the table above shows the new name
    assert [s.value for s in at.success] == ["已保存。"]
    assert "江苏恒顺醋业集团有限公司" in list(at.dataframe[0].value["企业名称"])
    assert "江苏恒顺醋业股份有限公司" not in list(at.dataframe[0].value["企业名称"])
    name = at.text_input(key=f"edit{company_id}_edit_company_1_name")  # the form read again
    assert name.value == "江苏恒顺醋业集团有限公司"
    with store.opened(demo_db) as db:
        assert (
            store.scalar(db, "SELECT address FROM companies WHERE id = ?", (company_id,))
            == "镇江市京口区恒顺大道66号"
        )


def test_company_import_shows_its_result_after_the_rerun(demo_db, tmp_path):
    """导入 (issue 28 item 4): 导入完成 shows after the rerun, 查询's table already lists the new
    company in that screen, and the upload comes back empty: no second import to tap."""
    from survey.companies import registry

    body = "91321102MA1QQQQ51"
    code = body + stdnum_uscc.calc_check_digit(body)
    csv = f"{','.join(registry.HEADERS[:5])}\n镇江导入测试有限公司,{code},京口区,,其他\n"
    at = open_page(demo_db, "admin", "pages/companies_page.py")
    at.text_input(key="company_query").input("导入测试").run()
    assert not [d for d in at.dataframe if "匹配" in d.value.columns]
    at.file_uploader[0].set_value([("good.csv", csv.encode(), "text/csv")]).run()
    assert not at.exception, at.exception
    at.button(key="start_import_import_companies_0").click().run()
    assert not at.exception and not at.error, at.exception or at.error[0].value
    assert [s.value for s in at.success] == ["导入完成：新增 1 家，更新 0 家，未变 0 家。"]
    [found] = [d.value for d in at.dataframe if "匹配" in d.value.columns]  # 查询's table
    assert list(found["企业名称"]) == ["镇江导入测试有限公司"]
    assert not at.file_uploader[0].value
    assert "start_import_import_companies_1" not in [b.key for b in at.button]
    at.run()
    assert not at.success
    with store.opened(demo_db) as db:
        assert store.scalar(db, "SELECT count(*) FROM companies WHERE uscc = ?", (code,)) == 1


def test_add_company_names_the_bad_field_and_keeps_input(demo_db):
    at = open_page(demo_db, "admin", "pages/companies_page.py")
    at.text_input(key="add_add_company_0_name").input("镇江示例新材料有限公司")
    at.text_input(key="add_add_company_0_uscc").input("91321102MA1XY2W3")
    at.button(key="FormSubmitter:add_company_0-新增企业").click().run()
    assert "应为 18 位" in at.error[0].value
    assert at.text_input(key="add_add_company_0_name").value == "镇江示例新材料有限公司"
    body = "91321102MA1XY2W30"
    at.text_input(key="add_add_company_0_uscc").input(body + stdnum_uscc.calc_check_digit(body))
    at.button(key="FormSubmitter:add_company_0-新增企业").click().run()
    assert not at.exception and not at.error
    # after the rerun (issue 28 item 4): the message, and the form empty again under a new key
    assert [s.value for s in at.success if s.value.startswith("已新增企业“镇江示例新材料有限公司”")]
    assert at.text_input(key="add_add_company_1_name").value == ""
    with store.opened(demo_db) as db:
        assert (
            store.scalar(db, "SELECT count(*) FROM companies WHERE name = '镇江示例新材料有限公司'")
            == 1
        )


def test_users_page_creates_a_user(demo_db):
    at = open_page(demo_db, "admin", "pages/users_page.py")
    at.text_input(key="create_user_0_name").input("周新")
    at.text_input[0].input("zhou.xin")
    at.multiselect(key="create_user_0_roles").set_value(["monitor"])
    password = next(t for t in at.text_input if t.label.startswith("初始密码"))
    password.input("short")
    at.button(key="FormSubmitter:create_user_0-创建用户").click().run()
    assert "至少 8 位" in at.error[0].value
    next(t for t in at.text_input if t.label.startswith("初始密码")).input("Initial2026")
    at.button(key="FormSubmitter:create_user_0-创建用户").click().run()
    assert at.success[0].value == "已创建用户 zhou.xin。"
    assert "zhou.xin" in list(at.dataframe[0].value["用户名"])  # listed at once (issue 28, 4)
    assert at.text_input(key="create_user_1_name").value == ""  # a fresh, empty form
    assert not at.multiselect(key="create_user_1_roles").value
    with store.opened(demo_db) as db:
        row = store.query(
            db, "SELECT display_name, must_change_password FROM users WHERE username='zhou.xin'"
        )
    assert row == [{"display_name": "周新", "must_change_password": 1}]


def test_audit_page_filters(demo_db):
    at = open_page(demo_db, "admin", "pages/audit_page.py")
    at.selectbox[1].select("admin").run()
    frame = at.dataframe[0].value
    assert len(frame) and set(frame["操作人"]) == {"admin"}


def test_company_profile_by_query_param(demo_db):
    with store.opened(demo_db) as db:
        company_id = store.scalar(
            db, "SELECT id FROM companies WHERE name = '江苏恒顺醋业股份有限公司'"
        )
    at = signed_in(demo_db, "supervisor")
    at.query_params["id"] = str(company_id)
    at.switch_page("pages/company_page.py").run()
    assert not at.exception, at.exception
    assert at.header[0].value == "江苏恒顺醋业股份有限公司"
    assert [m.label for m in at.metric] == ["走访次数", "反映问题", "未办结"]


def test_my_visits_lists_own_visits(demo_db):
    at = open_page(demo_db, "officer", "pages/my_visits_page.py")
    at.date_input(key="mv_since").set_value(None).run()
    frame = at.dataframe[0].value
    with store.opened(demo_db) as db:
        officer_id = store.scalar(db, "SELECT id FROM users WHERE username = 'officer'")
        own = store.scalar(
            db,
            "SELECT count(DISTINCT v.id) FROM visits v LEFT JOIN visit_participants p ON p.visit_id = v.id"
            " WHERE (v.officer_id = ? OR p.user_id = ?) AND v.visit_date <= ?",
            (officer_id, officer_id, (clock.today() + timedelta(days=1)).isoformat()),
        )
    assert 0 < len(frame) <= own
    assert at.header[0].value.startswith("走访 #")


def test_my_visits_edit_shows_its_result_after_the_rerun(demo_db):
    """保存修改 (issue 28 item 4): the message after the rerun, and the list above shows the new
    mode in that screen."""
    from survey import visits
    from tests.helpers import actor_for, payload

    with store.opened(demo_db) as db:
        officer = actor_for(db, "officer")
        visit_id = visits.submit_visit(db, officer, "edit-rerun-1", payload(db, officer)).visit_id
    at = open_page(demo_db, "officer", "pages/my_visits_page.py")
    at.selectbox(key="mv_open").set_value(visit_id).run()
    [mode] = [r for r in at.radio if r.label == "走访方式"]
    new_mode = next(m for m in mode.options if m != mode.value)
    mode.set_value(new_mode)
    at.button(key=f"FormSubmitter:edit_visit_{visit_id}_edit_visit_0-保存修改").click().run()
    assert not at.exception and not at.error, at.exception or at.error[0].value
    assert [s.value for s in at.success] == ["已保存，修改前后内容已记入操作日志。"]
    shown = at.dataframe[0].value
    assert list(shown[shown["编号"] == visit_id]["方式"]) == [new_mode]
    assert at.button(key=f"FormSubmitter:edit_visit_{visit_id}_edit_visit_1-保存修改")
    with store.opened(demo_db) as db:
        assert store.scalar(db, "SELECT mode FROM visits WHERE id = ?", (visit_id,)) == new_mode


def test_meeting_candidates_say_how_many_are_listed(demo_db):
    from survey.problems import meetings
    from tests.helpers import actor_for

    with store.opened(demo_db) as db:
        listed = len(meetings.candidates(db, actor_for(db, "supervisor"), limit=200))
    at = open_page(demo_db, "supervisor", "pages/meetings_page.py")
    assert f"列出时限最早的 {listed} 个（最多 200 个）" in [c.value for c in at.caption]
