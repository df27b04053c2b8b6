"""督办回访 (supervisor): call companies back after a reply (a bad review reopens the problem),
escalate overdue problems, decide on requests for more time."""

import streamlit as st

from survey import reference
from survey.problems import lifecycle, listing
from ui import problem_views, session
from ui.text import md

actor = session.require_actor("problems.triage")
st.title("督办回访")
search = st.text_input(
    "查找问题",
    placeholder="编号或企业名称",
    key="followup_search",
    on_change=session.renew,
    args=("followup_search",),
)
# Each list shows the first it found after a search: a new key for its picker (popping a keyed
# widget's value resets it on the server only; the browser would keep showing the old choice).
searches = session.form_key("followup_search")
queues, captions = {}, {}
with session.database() as db:
    for kind in ("replied", "overdue", "extension"):
        total = listing.count_waiting(db, actor, kind)
        queues[kind] = listing.list_waiting(
            db, actor, kind, limit=problem_views.PAGE, search=search
        )
        found = listing.count_waiting(db, actor, kind, search=search) if search.strip() else total
        captions[kind] = (total, problem_views.shown_of(total, found, len(queues[kind]), "共"))
    levels = {r["level"]: r["name"] for r in reference.list_entries(db, "satisfaction_levels")}
replied, overdue, extensions = queues["replied"], queues["overdue"], queues["extension"]
tabs = st.tabs(
    [
        f"待回访 {captions['replied'][0]}",
        f"逾期督办 {captions['overdue'][0]}",
        f"延期申请 {captions['extension'][0]}",
    ]
)

with tabs[0]:
    st.caption(captions["replied"][1])
    if replied:
        problem_views.table(replied)
        pid = problem_views.pick(replied, f"callback_pick_{searches}")
        problem_views.detail(actor, pid)
        with st.form(f"callback_{pid}", enter_to_submit=False):
            level = st.radio(
                "企业满意度（好差评）",
                list(levels),
                format_func=lambda v: f"{v} {md(levels[v])}",
                horizontal=True,
                index=None,
            )
            solved = st.checkbox("企业认为问题已解决")
            note = st.text_input("回访记录")
            if st.form_submit_button("保存回访", type="primary"):
                if level is None:
                    st.error("请选择满意度。")
                else:
                    session.attempt(
                        lambda db: lifecycle.callback(db, actor, pid, level, solved, note),
                        "回访已记录：差评（1–2 级）转为重办，其余办结。",
                    )
    else:
        st.success("没有找到这个问题。" if search.strip() else "没有待回访的问题。")

with tabs[1]:
    st.caption(captions["overdue"][1])
    if overdue:
        problem_views.table(overdue)
        pid = problem_views.pick(overdue, f"overdue_pick_{searches}")
        with st.form(f"escalate_{pid}", enter_to_submit=False):
            note = st.text_input("督办意见（部门可见）")
            if st.form_submit_button("督办", type="primary"):
                session.attempt(lambda db: lifecycle.escalate(db, actor, pid, note), "已督办。")
    else:
        st.success("没有找到这个问题。" if search.strip() else "没有逾期的问题。")

with tabs[2]:
    st.caption(captions["extension"][1])
    if extensions:
        problem_views.table(extensions)
        pid = problem_views.pick(extensions, f"extension_pick_{searches}")
        row = next(r for r in extensions if r["id"] == pid)
        st.write(
            f"申请延长 {row['extension_requested_days']} 个工作日：{md(row['extension_reason'])}"
        )
        left, right = st.columns(2)
        if left.button("同意", type="primary", key="grant"):
            session.attempt(
                lambda db: lifecycle.decide_extension(db, actor, pid, True), "已同意延期。"
            )
        if right.button("不同意", key="refuse"):
            session.attempt(
                lambda db: lifecycle.decide_extension(db, actor, pid, False), "已不同意延期。"
            )
    else:
        st.success("没有找到这个问题。" if search.strip() else "没有待处理的延期申请。")
