"""企业名录: search the registry, open a company, add or edit one, import and export."""

import io

import pandas as pd
import streamlit as st

from survey.access import permissions
from survey.companies import registry, transfer
from survey.problems import columns, listing
from ui import session
from ui.company_form import company_fields
from ui.text import md

actor = session.require_actor("companies.read")
st.title("企业名录")

tab_names = ["查询"]
if permissions.can(actor, "companies.create"):
    tab_names.append("新增企业")
if permissions.can(actor, "companies.import"):
    tab_names.append("导入")
if permissions.can(actor, "companies.export"):
    tab_names.append("导出")
# keyed: 新增企业 reruns the page, which would open the first tab again
tabs = dict(zip(tab_names, st.tabs(tab_names, key="companies_tab", on_change="rerun"), strict=True))

with tabs["查询"]:
    # 保存修改 and 导入 rerun the page: the table below then shows the stored names
    session.flash("edit_company")
    query = st.text_input(
        "企业名称、简称或信用代码", key="company_query", placeholder="例如：恒顺、913211…"
    )
    with session.database() as db:
        hits = registry.search_companies(db, actor, query, limit=50) if query.strip() else []
    if query.strip() and not hits:
        st.info("没有找到匹配的企业。")
    if hits:
        table = pd.DataFrame(hits)[["name", "uscc", "district", "sector", "department", "match"]]
        table.columns = ["企业名称", "统一社会信用代码", "区县/园区", "行业", "挂钩部门", "匹配"]
        st.dataframe(table, hide_index=True, width="stretch")
        by_id = {h["id"]: h for h in hits}
        chosen = st.selectbox(
            "打开企业", list(by_id), format_func=lambda i: by_id[i]["name"], key="company_open"
        )
        with session.database() as db:
            company = registry.get_company(db, actor, chosen)
            raised = listing.list_problems(db, actor, company_id=chosen, limit=50)
        st.header(md(company["name"]))
        st.caption(f"统一社会信用代码 {company['uscc']}")
        st.page_link(
            "pages/company_page.py",
            label="打开企业档案",
            icon=":material/badge:",
            query_params={"id": chosen},
        )
        if raised:
            st.write(f"问题（{len(raised)}）")
            keys = ["id", "raised_on", "category", "status", "department"]
            st.dataframe(columns.frame(raised, keys), hide_index=True, width="stretch")
        if permissions.can(actor, "companies.edit"):
            # a new key after each save: the fields read the stored company again
            editing = session.form_key("edit_company")
            with st.form(f"edit_company_{chosen}_{editing}", enter_to_submit=False):
                values = company_fields(f"edit{chosen}_{editing}", company)
                if st.form_submit_button("保存修改", type="primary"):
                    # saving the same values again changes nothing: no request id needed
                    session.attempt(
                        lambda db: registry.update_company(db, actor, chosen, values),
                        "已保存。",
                        rerun="edit_company",
                    )

if "新增企业" in tabs:
    with tabs["新增企业"]:
        session.flash("add_company")
        adding = session.form_key("add_company")  # new after each company: the fields empty
        request = session.request_id("add_company")  # a repeat of the tap finds its company
        with st.form(adding, enter_to_submit=False):
            values = company_fields(f"add_{adding}")
            if st.form_submit_button("新增企业", type="primary"):
                made: list[int] = []
                if session.attempt(
                    lambda db: made.append(
                        registry.create_company(db, actor, values, request_id=request)
                    ),
                    "",
                ):
                    session.done(
                        "add_company", f"已新增企业“{md(values['name'])}”（编号 {made[0]}）。"
                    )

if "导入" in tabs:
    with tabs["导入"]:
        from ui import company_import

        company_import.render(actor)

if "导出" in tabs:
    with tabs["导出"]:
        if st.button("生成导出文件", key="export_companies"):
            buffer = io.BytesIO()
            with session.database() as db, st.spinner("正在导出…"):
                count = transfer.export_xlsx(db, actor, buffer)
            st.download_button(
                f"下载企业名录（{count:,} 家）.xlsx",
                buffer.getvalue(),
                file_name="企业名录.xlsx",
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
