"""我的诉求 (企业端): a company's own page, opened from the link in its SMS or e-mail or the QR code
on a visit receipt; no account. Phone first (390 px, large text, 44 px targets): its problems
with their status in plain words, the department in charge, the deadline and the reply; a rating
of each answer; a new request. Only the session's company is ever read (survey.companyview)."""

import uuid

import streamlit as st

from survey.companyview import view
from ui import params, session, uploads
from ui.text import md

actor = session.require_actor("company_view.read")
# Static: larger text and 44 px choices for a phone (no user text in it).
st.html(
    "<style>[data-testid=stMainBlockContainer] p, [data-testid=stMainBlockContainer] li"
    " { font-size: 1.125rem; line-height: 1.6; }"
    " [data-testid=stRadio] label { min-height: 44px; align-items: center; }"
    " [data-testid=stTextArea] textarea { font-size: 1.0625rem; }</style>"
)
st.title("我的诉求")
focus = params.record_id("id", "问题编号")
with session.database() as db:
    name = view.company_name(db, actor)
    problems = view.my_problems(db, actor, focus)
    categories = view.categories(db, actor)
st.caption(f"{md(name)}：本页只显示贵企业提出的问题，链接请勿转发给他人。")
session.flash("company_rate")
session.flash("company_request")

st.header("办理进度")
if focus is not None and not problems:
    st.info("没有可显示的问题。")
elif not problems:
    st.info("贵企业目前没有登记的问题。")
# Twenty at a time (answers to rate first): a company with hundreds of problems gets a quick page.
limit = st.session_state.get("company_view_limit", view.PAGE_SIZE)
for p in problems[:limit]:
    with st.container(border=True, key=f"problem_{p['id']}"):
        st.subheader(f"问题 #{p['id']} · {md(p['category'])}")
        st.markdown(f"**{md(p['status_words'])}**")
        facts = [f"提出日期：{p['raised_on']}"]
        if p["department"]:
            facts.append(f"牵头部门：{md(p['department'])}")
        if p["deadline_shown"]:
            facts.append(f"办理时限：{p['deadline_shown']}")
        st.markdown("  \n".join(facts))
        st.markdown(f"问题描述：{md(p['description'])}")
        if p["solved_on_spot"] and p["spot_solution"]:
            st.markdown(f"现场解决：{md(p['spot_solution'])}")
        if p["reply_text"]:
            outcome = f"（{md(p['outcome_label'])}）" if p["outcome_label"] else ""
            st.markdown(f"部门答复{outcome}：{md(p['reply_text'])}")
        if p["rating"]:
            st.markdown(f"您的评价：{md(p['rating'])}")
        if p["may_rate"]:
            form = session.form_key(f"rate_{p['id']}")
            with st.form(form, enter_to_submit=False):
                word = st.radio(
                    "您对这次答复满意吗？",
                    list(view.RATINGS),
                    index=None,
                    horizontal=True,
                    key=f"rating_{form}",
                )
                comment = st.text_area("补充说明（选填）", max_chars=view.MAX_COMMENT)
                if st.form_submit_button("提交评价", type="primary", width="stretch"):
                    if word is None:
                        st.error("请选择满意、基本满意或不满意。")
                    else:
                        pid = p["id"]
                        session.attempt(
                            lambda db, pid=pid, word=word, comment=comment: view.rate(
                                db, actor, pid, word, comment
                            ),
                            "已收到您的评价，谢谢。选择“不满意”的问题已转回部门重新办理。",
                            rerun="company_rate",
                        )

if len(problems) > limit:
    more = min(view.PAGE_SIZE, len(problems) - limit)
    if st.button(f"再显示 {more} 条（共 {len(problems)} 条）", width="stretch"):
        st.session_state["company_view_limit"] = limit + view.PAGE_SIZE
        st.rerun()

st.header("提出新诉求")
key = session.form_key("company_request")
sid = st.session_state.setdefault(f"sid_{key}", uuid.uuid4().hex)
with st.form(key, enter_to_submit=False):
    category = st.selectbox(
        "问题类别",
        list(categories),
        index=None,
        format_func=lambda c: categories[c],
        placeholder="请选择",
    )
    description = st.text_area(
        f"遇到的问题（{view.MIN_DESCRIPTION}–{view.MAX_DESCRIPTION} 个字）",
        max_chars=view.MAX_DESCRIPTION,
    )
    photos = uploads.file_uploader(
        f"照片（选填，最多 {view.MAX_PHOTOS} 张）",
        uploads.PHOTO_TYPES,
        f"photos_{key}",
        multiple=True,
    )
    if st.form_submit_button("提交诉求", type="primary", width="stretch"):
        request = view.Request(
            sid,
            category or "",
            description,
            tuple((f.name, f.getvalue()) for f in photos or []),
        )
        session.attempt(
            lambda db: view.raise_request(db, actor, request),
            "诉求已提交，营商办将尽快交办；办理进度会显示在本页。",
            rerun="company_request",
        )
