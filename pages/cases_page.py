"""经典案例: the library of solved problems (search by category, sector and words; a printable
page per case), nominating a case, and the yearly selection round."""

import streamlit as st

from survey import reference
from survey.access import permissions
from survey.cases import library, selection
from ui import case_views, params, session
from ui.text import md

actor = session.require_actor("cases.read")
st.title("经典案例")

names = ["案例库"]
if permissions.can(actor, "cases.nominate"):
    names.append("推荐")
with session.database() as db:
    rounds = selection.rounds_for(db, actor)
    categories = {
        c["code"]: c["name"]
        for c in reference.list_entries(db, "problem_categories")
        if not c["parent"]
    }
    sectors = reference.options(db, "sectors")
if rounds or permissions.can(actor, "cases.manage"):
    names.append("评选")
# The tab is kept across the rerun that follows an action (发起, 结束评选): st.tabs without a key
# opens the first tab again. Only the open tab is built: 推荐 looks for closed problems among all
# of them, which took most of the page's 0.84 s at a million problems on PostgreSQL.
tabs = dict(zip(names, st.tabs(names, key="cases_tab", on_change="rerun"), strict=True))

if tabs["案例库"].open:
    with tabs["案例库"]:
        asked = params.record_id("id", "案例编号")
        if asked:
            case = session.load_or_stop(lambda db: library.get_case(db, actor, asked))
            case_views.show_case(case)
            st.caption("使用浏览器的打印功能（Ctrl+P）打印本页。")
            if (
                case["mask_company"]
                and case["company_id"]
                and permissions.can(actor, "cases.manage")
            ):
                case_views.aliases_form(actor, case["id"])
        else:
            words = st.text_input("搜索", placeholder="例如 用地 审批 融资")
            left, right = st.columns(2)
            category = left.selectbox(
                "问题类别",
                [None, *categories],
                format_func=lambda c: "全部" if c is None else categories[c],
            )
            sector = right.selectbox(
                "行业", [None, *sectors], format_func=lambda s: "全部" if s is None else sectors[s]
            )
            with session.database() as db:
                found = library.search(db, actor, words, category=category, sector=sector)
            st.caption(f"共 {len(found)} 个案例")
            for case in found:
                with st.container(border=True):
                    st.page_link(
                        "pages/cases_page.py",
                        label=md(case["title"]),
                        icon=":material/auto_stories:",
                        query_params={"id": case["id"]},
                    )
                    st.caption(
                        f"{md(case['company'])} · {md(case['category'])} · {md(case['sector'])}"
                        f" · {library.STATUS_LABELS[case['status']]}"
                    )
                    st.text(case["results"][:120])

if "推荐" in tabs and tabs["推荐"].open:
    with tabs["推荐"]:
        case_views.nominate_form(actor)

if "评选" in tabs and tabs["评选"].open:
    with tabs["评选"]:
        if permissions.can(actor, "cases.manage"):
            case_views.new_round_form(actor)
        for item in rounds:
            status = "进行中" if item["status"] == "open" else "已结束"
            with st.expander(f"{md(item['title'])}（{status}）", expanded=item is rounds[0]):
                case_views.round_view(actor, item["id"])
