"""任务清单: the year's action plan. Supervisors import and follow it (overview, review, monthly
bulletin); departments see their own tasks and report their progress each month."""

import pandas as pd
import streamlit as st

from survey import clock, reference
from survey.access import permissions
from survey.plans import overview, reports, tasks
from ui import params, plan_views, session
from ui.text import md

actor = session.require_actor("plans.read")
st.title("任务清单")
plan_views.show_imported()
managing = permissions.can(actor, "plans.manage")

with session.database() as db:
    years = tasks.years(db, actor)
    departments = reference.options(db, "departments")
    indicators = reference.options(db, "indicators")
if not years:
    st.info(
        "尚无年度任务清单。"
        + ("请在下方导入。" if managing else "导入后，本部门的任务会列在这里。")
    )
    if managing:
        plan_views.import_step(actor, departments)
    st.stop()

asked = params.record_id("year", "年度")
year = st.selectbox("年度", years, index=years.index(asked) if asked in years else 0)
st.query_params["year"] = str(year)
month = clock.today().isoformat()[:7]
with session.database() as db:
    data = overview.frame(db, actor, year)
    missing = reports.missing(db, actor, year, month)

states = params.known_values("state", tasks.STATE_LABELS, "任务状态")
leads = params.known_values("dept", departments, "牵头单位")  # e.g. /plan?year=2026&dept=GXJ
if leads:
    data = data[data["lead_name"].isin([departments[c] for c in leads])]
shown = data[data["state"].isin(states)] if states else data
counts = data["state"].value_counts()
cols = st.columns(4)
for col, (key, label) in zip(cols, tasks.STATE_LABELS.items(), strict=True):
    col.metric(label, int(counts.get(key, 0)))

names = ["总览", "任务", "通报"] + (["审核", "导入"] if managing else ["报送进展"])
# A key keeps the open tab across the rerun after 报送, 通过/退回 or 保存修改.
tabs = dict(zip(names, st.tabs(names, key="plan_tab", on_change="rerun"), strict=True))

with tabs["总览"]:
    left, right = st.columns(2)
    left.altair_chart(
        plan_views.state_chart(overview.by(data, "lead_name"), "lead_name", "各牵头单位"),
        width="stretch",
    )
    right.altair_chart(
        plan_views.state_chart(overview.by(data, "indicator_name"), "indicator_name", "各指标"),
        width="stretch",
    )
    lagging = data[data["state"] == "lagging"]
    st.header(f"滞后任务（{len(lagging)}）")
    st.dataframe(
        pd.DataFrame(
            {
                "序号": lagging["number"],
                "重点任务": lagging["content"],
                "牵头单位": lagging["lead_name"],
                "完成时限": lagging["due_on"],
                "进度%": lagging["percent"],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    st.header(f"{month} 未报送（{len(missing)}）")
    st.dataframe(
        pd.DataFrame(missing, columns=["number", "content", "lead_name"]).rename(
            columns={"number": "序号", "content": "重点任务", "lead_name": "牵头单位"}
        ),
        hide_index=True,
        width="stretch",
    )

with tabs["任务"]:
    chosen = st.segmented_control(
        "状态",
        list(tasks.STATE_LABELS),
        format_func=tasks.STATE_LABELS.get,
        selection_mode="multi",
        default=states,
        key="state_filter",
    )
    if chosen != states:
        st.query_params["state"] = ",".join(chosen)
        st.rerun()
    st.dataframe(
        pd.DataFrame(
            {  # one number per task: the 序号 of the published list, the one departments quote
                "序号": shown["number"],
                "重点任务": shown["content"],
                "目标要求": shown["target"].fillna(""),
                "牵头单位": shown["lead_name"],
                "配合单位": shown["co_names"].fillna(""),
                "完成时限": shown["due_on"],
                "指标": shown["indicator_name"],
                "进度%": shown["percent"],
                "状态": shown["state_label"],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    if managing:
        plan_views.edit_task_form(actor, data, departments, indicators)

with tabs["通报"]:
    with session.database() as db:
        summary = overview.bulletin(db, actor, year, month)
    st.caption(f"{year} 年度任务清单 · {month} 月度通报：各牵头单位已完成、滞后和未报送的任务。")
    st.dataframe(summary, hide_index=True, width="stretch")
    plan_views.bulletin_download(actor, year, month)

if managing:
    with tabs["审核"]:
        plan_views.review_queue(actor, year)
    with tabs["导入"]:
        plan_views.import_step(actor, departments)
        with st.expander("学到的部门名称"):
            plan_views.learnt_aliases(actor)
else:
    with tabs["报送进展"]:
        mine = data[data["lead_name"] == departments.get(actor.department_code)]
        order = {"lagging": 0, "in_progress": 1, "not_started": 2, "done": 3}  # what needs it first
        mine = mine.sort_values("state", key=lambda column: column.map(order), kind="stable")
        if mine.empty:
            st.info("本部门没有牵头的任务。")
        else:
            task_id = st.selectbox(
                "任务",
                list(mine["id"]),
                format_func=lambda i: " ".join(
                    mine[mine["id"] == i][["number", "content"]].iloc[0]
                ),
            )
            with session.database() as db:
                task = tasks.get_task(db, actor, task_id)
                history = reports.reports_of(db, actor, task_id)
            st.markdown("**目标要求**")
            st.text(task["target"] or "（未填写）")
            plan_views.report_form(actor, task)
            if history:
                st.header("报送记录")
            for r in history:
                status = reports.REPORT_STATUS_LABELS[r["status"]]
                late = " · 逾期报送" if r["late"] else ""
                with st.container(border=True):
                    st.markdown(f"**{r['month']}** · {r['percent']}% · {status}{late}")
                    st.text(r["done_text"])
                    if r["review_note"]:
                        st.caption("退回原因：" + md(r["review_note"]))
                    plan_views.photos(actor, r["id"], r["photos"])
