"""联审会办 (supervisors): put the hardest problems on a dated meeting's agenda, record the minutes
(decision, departments responsible, deadline, chair: it enters the problem's timeline and sets
its deadline), follow the decisions, and print the agenda with each problem's history."""

import streamlit as st

from survey import clock, reference
from survey.errors import SurveyError
from survey.problems import columns, meetings
from ui import session
from ui.text import md, md_table

MADE = "meeting_made"  # the meeting 新建会议 made last: the select's first choice after it

# 可列入议题的问题: the first by deadline (tens of thousands are held at a million problems)
CANDIDATES = 200

actor = session.require_actor("problems.triage")
st.title("联审会办")

with session.database() as db:
    known = meetings.list_meetings(db, actor)
    departments = reference.options(db, "departments")

session.flash("new_meeting")
request = session.request_id("new_meeting")  # a repeat of the same tap finds its first meeting
with (
    st.expander("新建会议（上次会议未办结的议题自动列入）", expanded=not known),
    st.form(session.form_key("new_meeting"), enter_to_submit=False),
):
    held_on = st.date_input("会议日期", value=clock.today())
    title = st.text_input("会议名称（可留空）", placeholder="重点问题联审会")
    created = st.form_submit_button("新建会议", type="primary")
if created:
    made: list[int] = []
    if session.attempt(
        lambda db: made.append(
            meetings.create_meeting(db, actor, held_on.isoformat(), title, request_id=request)
        ),
        "",
    ):
        st.session_state[MADE] = made[0]  # the new meeting is the one shown
        session.done("new_meeting", "已新建会议。")
if not known:
    st.stop()

by_id = {m["id"]: m for m in known}
shown = st.session_state.get(MADE)
chosen = st.selectbox(
    "会议",
    list(by_id),
    index=list(by_id).index(shown) if shown in by_id else 0,
    format_func=lambda i: (
        f"{by_id[i]['held_on']} {by_id[i]['title']}（{by_id[i]['items']} 项，"
        f"未办结 {by_id[i]['open_items'] or 0} 项）"
    ),
    # kept when its counts change after an action; a new key after each new meeting, which it
    # then shows: a second tap of 新建会议 sent the select's old value, and with the old key it
    # would win over the new meeting
    key=f"meeting_choice_{session.form_key('new_meeting')}",
)
printing = st.toggle("打印视图（含每个问题的办理过程，用浏览器打印）")
with session.database() as db:
    items = meetings.agenda(db, actor, chosen)

if printing:
    st.header(md(by_id[chosen]["title"]))
    for number, item in enumerate(items, 1):
        st.header(f"{number}. 问题 #{item['problem_id']} · {md(item['company'])}")
        st.write(
            f"{md(item['category'])} · 牵头部门 {md(item['department'] or '—')} · "
            f"列入原因：{item['reason_labels'] or '—'}"
        )
        st.text(item["description"])
        if item["decision"]:
            st.write(
                f"会议决定：{md(item['decision'])}；责任单位：{md(item['responsible'] or '')}；"
                f"时限 {item['deadline_on']}；主持：{md(item['chair'])}"
            )
        history = columns.frame(item["history"], ["at", "action", "note"], columns.EVENT_COLUMNS)
        st.table(md_table(history))
    st.stop()

st.header(f"议题（{len(items)}）")
session.flash("agenda")
agenda_request = session.request_id("agenda")  # one per success: a repeat writes nothing
for item in items:
    state = meetings.ITEM_STATES[item["state"]]
    with st.container(border=True):
        st.markdown(
            f"**问题 #{item['problem_id']}** · {md(item['company'])} · {md(item['category'])} · "
            f"{md(item['department'] or '—')} · {state}"
        )
        st.page_link(
            "pages/problems_page.py",
            label=f"打开问题 #{item['problem_id']}（办理过程）",
            icon=":material/assignment:",
            query_params={"id": item["problem_id"]},
        )
        st.caption(f"列入原因：{item['reason_labels'] or '—'}")
        if item["decision"]:
            st.write(
                f"决定：{md(item['decision'])}（{md(item['responsible'] or '')}，时限 "
                f"{item['deadline_on']}，主持 {md(item['chair'])}）"
            )
        if item["status"] == "open":
            # a new form after each success (its fields keep their keys, so the values stay for
            # an edit): a late second tap then finds no submit button; an identical decision is
            # refused in survey/ in any case
            minutes = f"minutes_{item['id']}_{session.form_key('agenda')}"
            with st.form(minutes, enter_to_submit=False):
                decision = st.text_area("会议决定", value=item["decision"], key=f"dec_{item['id']}")
                responsible = st.multiselect(
                    "责任单位",
                    list(departments),
                    format_func=departments.get,
                    key=f"resp_{item['id']}",
                    placeholder="请选择",
                )
                left, right = st.columns(2)
                deadline = left.date_input("办理时限", key=f"due_{item['id']}")
                chair = right.text_input("主持人", value=item["chair"], key=f"chair_{item['id']}")
                if st.form_submit_button("记录决定", type="primary"):
                    session.attempt(
                        lambda db, i=item["id"], d=decision, r=responsible, t=deadline, c=chair: (
                            meetings.record_decision(
                                db,
                                actor,
                                i,
                                decision=d,
                                departments=r,
                                deadline_on=t.isoformat(),
                                chair=c,
                                request_id=f"{agenda_request}-{i}",
                            )
                        ),
                        "已记录，决定已写入问题的办理过程，时限已更新。",
                        rerun="agenda",
                    )
            if st.button("标记办结", key=f"done_{item['id']}"):
                session.attempt(
                    lambda db, i=item["id"]: meetings.mark_done(db, actor, i),
                    "已办结。",
                    rerun="agenda",
                )

st.header("可列入议题的问题")
with session.database() as db:
    found = meetings.candidates(db, actor, limit=CANDIDATES)
if not found:
    st.info("没有逾期、已督办、差评重办或多家企业反映的在办问题。")
else:
    st.caption(f"列出时限最早的 {len(found)} 个（最多 {CANDIDATES} 个）")
    labels = {
        c["id"]: f"#{c['id']} {c['company']} · {c['category']} · "
        + "、".join(meetings.REASONS[r] for r in c["reasons"])
        for c in found
    }
    picked = st.multiselect(
        "选择问题", list(labels), format_func=labels.get, placeholder="请选择", key="candidates"
    )
    if st.button("列入本次会议", disabled=not picked):
        reasons = {c["id"]: c["reasons"] for c in found}
        try:
            with session.database() as db:
                for pid in picked:
                    meetings.add_item(db, actor, chosen, pid, reasons[pid])
        except SurveyError as exc:
            st.error(md(str(exc)))
        else:
            session.done("agenda", f"已列入 {len(picked)} 个问题。")
