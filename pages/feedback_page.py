"""监督反馈 (monitors): submit a lead, suggestion, experience report or department rating, kept as a
draft on every change and saved exactly once; follow what became of one's leads."""

import uuid

import pandas as pd
import streamlit as st

from survey import drafts, feedback, questionnaires
from survey.errors import SurveyError
from survey.labels import FEEDBACK_KIND_LABELS, OUTCOME_LABELS
from survey.problems.register import STATUS_LABELS
from ui import feedback_form, session
from ui.text import md

actor = session.require_actor("feedback.create")
st.title("监督反馈")
state = st.session_state
new_tab, mine_tab = st.tabs(["提交反馈", "我的反馈"])

with mine_tab:
    with session.database() as db:
        mine = feedback.list_feedback(db, actor)
    if mine:
        frame = pd.DataFrame(mine)
        st.dataframe(
            pd.DataFrame(
                {
                    "编号": frame["id"],
                    "提交时间": frame["submitted_at"],
                    "类型": frame["kind"].map(FEEDBACK_KIND_LABELS),
                    "内容": frame["body"],
                    "匿名": frame["anonymous"].map({1: "是", 0: "否"}),
                    "办理状态": frame["problem_status"].map(STATUS_LABELS).fillna(""),
                    "结果": frame["outcome"].map(OUTCOME_LABELS).fillna(""),
                    "部门答复": frame["reply_text"].fillna(""),
                }
            ),
            hide_index=True,
            width="stretch",
        )
        answered = [r for r in mine if r["reply_text"]][:10]
        if answered:
            st.header("部门答复")
            for r in answered:
                st.caption(
                    f"线索 #{r['id']} → 问题 #{r['problem_id']} · {STATUS_LABELS[r['problem_status']]}"
                )
                st.text(r["reply_text"])
    else:
        st.info("还没有提交过反馈。")

with new_tab:
    done = state.get("feedback_receipt")
    if done:
        st.success(
            f"反馈已提交，编号 #{done['feedback_id']}"
            + (
                f"，已转为问题 #{done['problem_id']}，可在“我的反馈”查看办理情况。"
                if done["problem_id"]
                else "。"
            )
        )
        if st.button("再提交一条", type="primary"):
            state.pop("feedback_receipt")
            st.rerun()
        st.stop()
    sid = state.get("feedback_sid")
    if not sid:
        sid = str(uuid.uuid4())
        with session.database() as db:
            drafts.save_draft(db, actor, "feedback", sid, {})
            older = [
                d
                for d in drafts.open_drafts(db, actor, "feedback")
                if d["submission_id"] != sid and d["payload"].get("body")
            ]
        state["feedback_sid"] = older[0]["submission_id"] if older else sid
        sid = state["feedback_sid"]
    with session.database() as db:
        saved = drafts.get_draft(db, actor, sid)
        try:
            qid, form = questionnaires.current(db, actor, "feedback")
        except SurveyError:
            qid, form = None, None
    if state.get("feedback_restored") != sid:
        feedback_form.restore(sid, saved["payload"], form)
        state["feedback_restored"] = sid
    attempted = state.get(feedback_form.k(sid, "attempted"), False)
    slots: dict = {}
    payload = feedback_form.render(sid, actor, qid, form, attempted, slots)
    with session.database() as db:
        errors = feedback.check_feedback(db, actor, payload)[0] if attempted else {}
    saved_at = session.keep_draft(actor, "feedback", sid, payload, saved["updated_at"][11:])
    for field, message in errors.items():
        if field in slots:
            slots[field].error(message)
    st.caption(f"草稿已保存 {saved_at}")
    if attempted and errors:
        st.error(f"还有 {len(errors)} 处需要修改，草稿已保留。")
    if st.button("提交反馈", type="primary", width="stretch"):
        photos = feedback_form.photos(sid)
        try:
            with session.database() as db:
                result = feedback.submit_feedback(db, actor, sid, payload, photos=photos)
        except feedback.FeedbackInvalidError:
            state[feedback_form.k(sid, "attempted")] = True
            st.rerun()
        except SurveyError as exc:
            st.error(md(str(exc)))
        else:
            feedback_form.forget(sid)
            state.pop("feedback_sid", None)
            state["feedback_receipt"] = result
            st.rerun()
