"""消息: what the app sent the signed-in user (assignments, replies, 督办, deadline reminders),
unread first, each linking to its problem."""

import streamlit as st

from survey.notify import messages
from ui import session
from ui.text import md

actor = session.require_actor("messages.read")
st.title("消息")
with session.database() as db:
    mine = messages.list_messages(db, actor)
unread = [m["id"] for m in mine if not m["read_at"]]
left, right = st.columns([3, 1], vertical_alignment="center")
left.caption(f"未读 {len(unread)} 条，共 {len(mine)} 条（最近 200 条）")
if unread and right.button("全部标为已读", icon=":material/done_all:", width="stretch"):
    with session.database() as db:
        messages.mark_read(db, actor)
    st.rerun()
if not mine:
    st.info("还没有消息。交办、答复、督办和时限提醒会出现在这里。")
for m in mine:
    with st.container(border=True):
        mark = "" if m["read_at"] else "● "
        urgent = " :red-badge[紧急]" if m["urgent"] else ""
        st.markdown(f"**{mark}{md(m['title'])}**{urgent}")
        st.caption(m["created_at"])
        st.text(m["body"])
        a, b = st.columns(2)
        if m["problem_id"]:
            a.page_link(
                "pages/problems_page.py",
                label=f"打开问题 #{m['problem_id']}",
                icon=":material/assignment:",
                query_params={"id": m["problem_id"]},
            )
        if not m["read_at"] and b.button("标为已读", key=f"read_{m['id']}"):
            with session.database() as db:
                messages.mark_read(db, actor, [m["id"]])
            st.rerun()
