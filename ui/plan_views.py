"""The pieces of 任务清单 (pages/plan_page.py): the import with its department mapping step, the
department's report form, the review queue, and the overview's charts."""

from __future__ import annotations

import io
from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from survey import clock
from survey.access.actor import Actor
from survey.errors import SurveyError
from survey.plans import overview, reports, tasks
from ui import session, uploads
from ui.text import md

STATE_COLORS = {"未启动": "#b0b7c3", "推进中": "#1f6feb", "已完成": "#2da44e", "滞后": "#cf222e"}


def import_step(actor: Actor, departments: dict[str, str]) -> None:
    st.caption(
        "按行动方案发布的格式导入：序号、重点任务、目标要求、牵头单位、配合单位、完成时限（可选：指标）。"
        "任何一行有问题则整批不导入并列出每一行；部门名称与部门列表不同的，在下方对应一次，以后自动识别。"
        "同一年度再次导入按序号更新，不会重复。"
    )
    year = st.number_input("年度", 2000, 2100, clock.today().year, step=1, key="plan_year_in")
    table = uploads.table_upload("任务清单文件", "plan_upload")
    if table is None:
        return
    _, headers, rows = table
    mapping = st.session_state.setdefault("plan_mapping", {})
    try:
        with session.database() as db:
            done = tasks.import_plan(db, actor, int(year), headers, rows, mapping)
    except tasks.PlanRejectedError as exc:
        st.error(md(str(exc)))
        st.dataframe(pd.DataFrame(exc.problems), hide_index=True, width="stretch")
        if exc.unknown:
            choose_departments(exc.unknown, departments, mapping)
    except SurveyError as exc:
        st.error(md(str(exc)))
    else:
        st.session_state.pop("plan_mapping", None)
        st.success(
            f"已导入 {year} 年度任务清单：新增 {done.inserted} 项，更新 {done.updated} 项，"
            f"未变 {done.unchanged} 项。"
        )


def choose_departments(unknown: dict, departments: dict[str, str], mapping: dict) -> None:
    """The mapping step: each name the plan uses, matched to a department (suggested first)."""
    st.subheader("部门名称对应")
    by_name = {name: code for code, name in departments.items()}
    with st.form("plan_mapping_form", enter_to_submit=False):
        chosen = {}
        codes = list(departments)
        for name, suggested in unknown.items():
            default = codes.index(by_name[suggested]) if suggested in by_name else 0
            chosen[name] = st.selectbox(
                f"“{md(name)}”对应",
                codes,
                index=default,
                format_func=departments.get,
                key=f"map_{name}",
            )
        if st.form_submit_button("按此对应并导入", type="primary"):
            mapping.update(chosen)
            st.rerun()


def report_form(actor: Actor, task: dict) -> None:
    month = clock.today().isoformat()[:7]
    with session.database() as db:
        due = reports.cutoff(month, reports.cutoff_day(db))
    st.caption(f"{month} 的截止日为 {due.isoformat()}；截止后仍可报送，记为逾期报送。")
    with st.form(f"report_{task['id']}", enter_to_submit=False):
        done_text = st.text_area("本月完成情况", key=f"done_{task['id']}")
        percent = st.slider(
            "累计完成进度（%）", 0, 100, int(task["percent"] or 0), key=f"pct_{task['id']}"
        )
        issues = st.text_area("遇到的问题（可留空）", key=f"issues_{task['id']}")
        photos = uploads.file_uploader(
            "佐证材料（照片）", ["jpg", "jpeg", "png"], f"photos_{task['id']}", multiple=True
        )
        if st.form_submit_button("报送", type="primary"):
            files = [(f.name, f.getvalue()) for f in photos or []]
            session.attempt(
                lambda db: reports.submit(
                    db,
                    actor,
                    task["id"],
                    month,
                    done_text=done_text,
                    percent=int(percent),
                    issues_text=issues,
                    photos=files,
                ),
                "已报送，等待审核。",
            )


def review_queue(actor: Actor, year: int) -> None:
    with session.database() as db:
        waiting = reports.waiting_review(db, actor, year)
    if not waiting:
        st.info("没有待审核的进展报告。")
        return
    for report in waiting:
        late = "（逾期报送）" if report["late"] else ""
        with st.container(border=True):
            st.markdown(
                f"**{md(report['number'])} {md(report['content'])}** · {md(report['lead_name'])} · "
                f"{report['month']}{late} · 进度 {report['percent']}%"
            )
            st.text(report["done_text"])
            if report["issues_text"]:
                st.caption("问题：" + md(report["issues_text"]))
            note = st.text_input("退回原因", key=f"note_{report['id']}")
            left, right = st.columns(2)
            if left.button("通过", key=f"accept_{report['id']}", type="primary"):
                session.attempt(
                    lambda db, r=report["id"]: reports.review(db, actor, r, True), "已通过。"
                )
            if right.button("退回", key=f"return_{report['id']}"):
                session.attempt(
                    lambda db, r=report["id"], n=note: reports.review(db, actor, r, False, n),
                    "已退回。",
                )


def state_chart(counts: pd.DataFrame, column: str, title: str) -> alt.Chart:
    return (
        alt.Chart(counts, title=title)
        .mark_bar()
        .encode(
            y=alt.Y(f"{column}:N", title=None, sort="-x", axis=alt.Axis(labelLimit=200)),
            x=alt.X("tasks:Q", title="任务数", stack="zero"),
            color=alt.Color(
                "state_label:N",
                title="状态",
                scale=alt.Scale(domain=list(STATE_COLORS), range=list(STATE_COLORS.values())),
            ),
            tooltip=[column, "state_label", "tasks"],
        )
    )


def bulletin_download(actor: Actor, year: int, month: str) -> None:
    buffer = io.BytesIO()
    with session.database() as db:
        overview.write_bulletin(db, actor, year, month, buffer)
    st.download_button(
        "下载月度通报（Excel）",
        buffer.getvalue(),
        f"{year}年度任务清单-{month}月度通报.xlsx",
        icon=":material/download:",
    )


def edit_task_form(actor: Actor, data: pd.DataFrame, departments: dict, indicators: dict) -> None:
    """Supervisors change one task's content, target, lead department, due date or indicator."""
    if data.empty:
        return
    labels = dict(zip(data["id"], data["number"] + " " + data["content"], strict=True))
    with st.expander("修改任务"):
        task_id = st.selectbox("任务", list(labels), format_func=labels.get, key="edit_task")
        with session.database() as db:
            task = tasks.get_task(db, actor, task_id)
        with st.form(f"edit_task_{task_id}", enter_to_submit=False):
            content = st.text_area("重点任务", value=task["content"])
            target = st.text_area("目标要求", value=task["target"])
            codes = list(departments)
            lead = st.selectbox(
                "牵头单位",
                codes,
                index=codes.index(task["lead_department_code"])
                if task["lead_department_code"] in codes
                else 0,
                format_func=departments.get,
            )
            due = st.date_input("完成时限", value=date.fromisoformat(task["due_on"]))
            options = [None, *indicators]
            indicator = st.selectbox(
                "指标",
                options,
                index=options.index(task["indicator_code"])
                if task["indicator_code"] in options
                else 0,
                format_func=lambda c: "（未对应）" if c is None else indicators[c],
            )
            if st.form_submit_button("保存修改", type="primary"):
                values = {
                    "content": content,
                    "target": target,
                    "lead_department_code": lead,
                    "due_on": due.isoformat(),
                    "indicator_code": indicator,
                }
                session.attempt(
                    lambda db: tasks.update_task(db, actor, task_id, values), "已保存。"
                )
