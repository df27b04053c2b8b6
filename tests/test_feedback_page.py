"""AppTest: a monitor's lead becomes a problem, is assigned and answered, and the monitor sees the
answer; the rating charts and duties render for supervisors."""

from __future__ import annotations

from survey import db as store
from survey.problems import lifecycle
from tests.helpers import actor_for, open_page


def test_lead_to_problem_to_answer_seen_by_the_monitor(demo_db):
    at = open_page(demo_db, "monitor", "pages/feedback_page.py")
    with store.opened(demo_db) as db:
        sid = store.scalar(
            db, "SELECT submission_id FROM drafts WHERE kind = 'feedback' ORDER BY id DESC LIMIT 1"
        )
    key = lambda name: f"f|{sid}|{name}"  # noqa: E731
    at.radio(key=key("kind")).set_value("lead").run()
    at.selectbox(key=key("category")).set_value("D6")
    at.selectbox(key=key("department_code")).set_value("ZRZY")
    at.text_area(key=key("body")).input("不动产登记窗口要求企业重复提交营业执照复印件。")
    at.checkbox(key=key("anonymous")).check()
    at.radio(key=f"ff|{sid}|channel").set_value("window").run()
    next(b for b in at.button if b.label == "提交反馈").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith("反馈已提交") and "已转为问题 #" in at.success[0].value
    with store.opened(demo_db) as db:
        pid = store.scalar(
            db,
            "SELECT p.id FROM problems p JOIN feedback f ON f.id = p.feedback_id WHERE f.submission_id = ?",
            (sid,),
        )
        supervisor, handler = actor_for(db, "supervisor"), actor_for(db, "handler")
        lifecycle.assign(db, supervisor, pid, "GXJ", "short")
        lifecycle.accept(db, handler, pid)
        lifecycle.reply(
            db, handler, pid, "resolved", "已通知窗口取消重复提交营业执照复印件的要求。"
        )
    seen = open_page(demo_db, "monitor", "pages/feedback_page.py")
    mine = seen.dataframe[0].value
    row = mine[mine["编号"] == store_id(demo_db, sid)].iloc[0]
    assert row["办理状态"] == "已答复" and row["部门答复"].startswith("已通知窗口")


def store_id(demo_db, sid) -> int:
    with store.opened(demo_db) as db:
        return store.scalar(db, "SELECT id FROM feedback WHERE submission_id = ?", (sid,))


def test_missing_rating_scores_are_named(demo_db):
    at = open_page(demo_db, "monitor", "pages/feedback_page.py")
    with store.opened(demo_db) as db:
        sid = store.scalar(
            db, "SELECT submission_id FROM drafts WHERE kind = 'feedback' ORDER BY id DESC LIMIT 1"
        )
    at.radio(key=f"f|{sid}|kind").set_value("rating").run()
    next(b for b in at.button if b.label == "提交反馈").click().run()
    messages = [e.value for e in at.error]
    assert "部门评价须选择被评价的部门。" in messages and "请为“效率”打 1–5 分。" in messages


def test_review_page_renders_ratings_and_duties(demo_db):
    """Each tab is built only when open: the page opens on the list, reading neither the ratings
    nor the duties (over every feedback); each of those tabs then draws its own, and a filter set
    on the list is still there when the list is opened again."""
    at = open_page(demo_db, "supervisor", "pages/feedback_review_page.py")
    assert not at.exception
    assert any(c.value.endswith(" 条") for c in at.caption)  # the list's count
    assert not at.get("vega_lite_chart")
    assert not any("每位监督员每季度" in c.value for c in at.caption)
    at.selectbox(key="feedback_kind").set_value("lead").run()
    at.session_state["feedback_tab"] = "部门评价"
    at.run()
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == 1  # the ratings chart (Altair)
    at.session_state["feedback_tab"] = "履职情况"
    at.run()
    assert any("每位监督员每季度" in c.value for c in at.caption)
    assert not at.get("vega_lite_chart")
    at.session_state["feedback_tab"] = "全部反馈"
    at.run()
    assert at.selectbox(key="feedback_kind").value == "lead"
    # 全部 is a choice (""), not None: a kept None is drawn as no choice ("Choose an option")
    assert at.selectbox(key="feedback_department").value == ""
