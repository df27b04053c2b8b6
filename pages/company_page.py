"""企业档案: everything about one company on one screen: details, linked department, the timeline of
visits, problems and their status, satisfaction over time. Opened with ?id=<company id>."""

import altair as alt
import pandas as pd
import streamlit as st

from survey.access import permissions
from survey.companies import profiles, registry
from survey.problems import columns
from ui import company_qr, params, session
from ui.text import md

actor = session.require_actor("companies.read")
st.title("企业档案")
company_id = params.record_id("id", "企业编号")
query = st.text_input("查找企业", key="profile_q")
if query.strip():
    with session.database() as db:
        hits = registry.search_companies(db, actor, query, limit=20)
    for hit in hits:
        if st.button(
            f"{md(hit['name'])}（{md(hit['district'])}）", key=f"profile_pick_{hit['id']}"
        ):
            st.query_params["id"] = str(hit["id"])
            st.rerun()
if not company_id:
    st.info("请输入企业名称查找，或从走访、问题中打开企业档案。")
    st.stop()
profile = session.load_or_stop(lambda db: profiles.company_profile(db, actor, company_id))

company = profile["company"]
st.header(md(company["name"]))
c1, c2, c3 = st.columns(3)
c1.write(f"统一社会信用代码：{company['uscc']}")
c1.write(
    f"区县/园区：{md(company['district'])}"
    + (f" · {md(company['park'])}" if company["park"] else "")
)
c2.write(f"行业：{md(company['sector'])}")
if company["limited"]:
    c3.caption("监督员只能看到企业名称、代码、区县和行业；您提交过反馈的企业可看到联系人。")
else:
    c2.write(f"挂钩部门：{md(company['department'] or '未指定')}")
    c3.write(
        f"规模：{company['size'] or '—'}"
        + ("，规上" if company["is_above_scale"] else "")
        + ("，专精特新" if company["is_specialized"] else "")
    )
    c3.write(f"联系人：{md(company['contact_name'] or '—')} {md(company['contact_phone'])}")

problems = profile["problems"]
m1, m2, m3 = st.columns(3)
m1.metric("走访次数", len(profile["visits"]))
m2.metric("反映问题", len(problems))
m3.metric("未办结", sum(1 for p in problems if p["status"] != "closed"))

if profile["satisfaction"]:
    st.header("满意度变化")
    data = pd.DataFrame(profile["satisfaction"])
    chart = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:N", title="回访月份"),
            y=alt.Y("average:Q", title="平均满意度（1–5）", scale=alt.Scale(domain=[1, 5])),
            tooltip=[
                alt.Tooltip("month:N", title="月份"),
                alt.Tooltip("average:Q", title="平均", format=".2f"),
                alt.Tooltip("callbacks:Q", title="回访数"),
            ],
        )
    )
    st.altair_chart(chart, width="stretch")

st.header("问题")
if problems:
    keys = ["id", "raised_on", "category", "status", "department", "description"]
    st.dataframe(columns.frame(problems, keys), hide_index=True, width="stretch")
else:
    st.caption("没有您可查看的问题。")
if profile["visits"]:
    st.header("走访时间线")
    frame = pd.DataFrame(profile["visits"])
    st.dataframe(
        pd.DataFrame(
            {
                "编号": frame["id"],
                "日期": frame["visit_date"],
                "方式": frame["mode"],
                "走访人": frame["officer"],
                "问题数": frame["problems"],
            }
        ),
        hide_index=True,
        width="stretch",
    )
if permissions.can(actor, "company_links.revoke"):  # 企业端: the company's own links
    company_qr.manage(actor, company_id)
