"""The import flow: upload, map columns (our own headers map themselves), preview, import with a
progress bar; a rejected file gives a downloadable report of every bad row."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from survey.access.actor import Actor
from survey.companies import registry, transfer
from survey.errors import SurveyError
from ui import session, uploads
from ui.text import md


def render(actor: Actor) -> None:
    # 开始导入 reruns the page (README "Adding a page" 4): 查询's table shows the imported companies
    # and the upload comes back empty under a new key; the message shows here
    session.flash("import_companies")
    importing = session.form_key("import_companies")
    st.caption(
        "支持 .xlsx、.xls、.xlsb、.ods 和 .csv/.txt（UTF-8 或 GBK）；表头上方可以有标题行。"
        "列名与导出文件相同（企业名称、统一社会信用代码、所属区县、所属行业……）时"
        "无需映射。任何一行有问题则整批不导入，并列出每一行的问题；按信用代码更新已有企业，不会重复。"
    )
    table = uploads.table_upload(
        "企业名录文件", f"company_upload_{importing}", transfer.HEADER_ROW_MARKS
    )
    if table is None:
        return
    upload, headers, rows = table
    if table.table.header_row > 1:
        st.caption(
            f"表头在工作表“{table.table.sheet}”第 {table.table.header_row} 行，其上的标题行不导入。"
        )
    st.write(f"共 {len(rows):,} 行。列映射：")
    suggested = transfer.suggest_mapping(headers)
    mapping = {}
    columns = st.columns(3)
    for i, field in enumerate(registry.FIELDS):
        options = [None, *headers]
        mapping[field.column] = columns[i % 3].selectbox(
            field.header + ("（必填）" if field.required else ""),
            options,
            index=options.index(suggested[field.column]),
            format_func=lambda h: "（不导入）" if h is None else h,
            key=f"map_{field.column}_{importing}",
        )
    preview = pd.DataFrame(
        rows[:5], columns=headers if rows and len(rows[0]) == len(headers) else None
    )
    st.dataframe(preview, hide_index=True, width="stretch")
    # keyed by the form: a second tap's press of the button before the success is ignored
    if not st.button("开始导入", type="primary", key=f"start_import_{importing}"):
        return
    bar = st.progress(0.0, text="校验中…")
    try:
        with session.database() as db:
            result = transfer.import_companies(
                db,
                actor,
                headers,
                rows,
                mapping,
                source=upload.name,
                sha256=hashlib.sha256(upload.getvalue()).hexdigest(),
                progress=lambda f, text: bar.progress(min(1.0, f), text=text),
                first_line=table.table.first_row,
            )
    except transfer.ImportRejectedError as exc:
        bar.empty()
        st.error(md(str(exc)))
        report = pd.DataFrame(exc.problems)
        st.dataframe(report, hide_index=True, width="stretch")
        st.download_button(
            "下载问题清单.xlsx",
            transfer.problems_report(exc.problems),
            file_name="导入问题清单.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    except SurveyError as exc:
        st.error(md(str(exc)))
    else:
        session.done(
            "import_companies",
            f"导入完成：新增 {result['inserted']:,} 家，更新 {result['updated']:,} 家，"
            f"未变 {result['unchanged']:,} 家。",
        )
