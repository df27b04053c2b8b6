"""统计看板 (supervisors): KPIs against the previous period, sector charts whose clicks filter each other
and the problem list, common problems, and the view as .xlsx. Filters live in the address."""

import tempfile
from functools import partial
from pathlib import Path

import streamlit as st

from survey.problems import columns
from survey.reports import chart_data, charts, exports
from ui import company_ratings, dashboard, failures, session
from ui.text import md

actor = session.require_actor("dashboard.read")
ACTION = "dashboard.read"  # checked again on each of the fragment's own reruns
st.title("统计看板")
with session.database() as db:
    filters = dashboard.filter_bar(db)


# A chart click (and 清除图表筛选, the league's threshold, a row of the list) reruns only this part:
# the filter bar, the menu and its counts stay as they are. The filter bar reruns the whole page.
@st.fragment
def figures(filters) -> None:
    failures.guarded(lambda: _figures(filters), actor, "dashboard")


def _figures(filters) -> None:
    actor = session.require_actor(ACTION)  # a chart click reruns this part alone: check again
    view = dashboard.narrowed(filters)
    with session.database() as db:
        if view != filters:
            left, right = st.columns([4, 1])
            left.info("图表筛选：" + dashboard.describe_narrowing(db, filters, view))
            right.button(
                "清除图表筛选",
                on_click=dashboard.clear_selections,
                icon=":material/filter_alt_off:",
            )
        min_volume = st.session_state.get("dash_min_volume", chart_data.DEFAULT_MIN_VOLUME)
        data = dashboard.dashboard_data(db, actor, filters, min_volume=min_volume)
    kpis, cells, problems = data["kpis"], data["cells"], data["problems"]

    dashboard.kpi_cards(kpis)
    # Only the open tab is built and sent: the browser draws its charts alone (a hidden tab's Vega
    # charts were laid out too), and a tab change reruns this fragment.
    tabs = dashboard.chart_tabs()
    spread, speed, league_tab, visits_tab, common_tab = tabs.values()
    if spread.open:
        with spread:
            if cells.empty:
                st.info("所选范围内没有问题。")
            else:
                dashboard.show_kept_chart(data, charts.heatmap, "cells", "cell", "行业类别热力图")
                dashboard.show_kept_chart(data, charts.monthly, "months", "month", "每月问题数")
                dashboard.show_kept_chart(
                    data, charts.top_categories, "top", "topcat", "行业突出问题"
                )
    if speed.open:
        with speed:
            if data["days"].empty:
                st.info("所选范围内还没有已答复的问题。")
            else:
                dashboard.show_kept_chart(
                    data, charts.reply_days, "days", "replysector", "答复用时分布"
                )
    if league_tab.open:
        with league_tab:
            league(data, min_volume)
    if visits_tab.open:
        with visits_tab:
            for by, name, stem in (
                ("sector", "coversector", "行业"),
                ("department", "coverdept", "部门"),
            ):
                build = partial(charts.coverage, by=by)
                dashboard.show_kept_chart(data, build, f"cover_{by}", name, f"{stem}走访覆盖")
    if common_tab.open:
        with common_tab:
            dashboard.common_problems(actor, view, cells)

    st.header("问题清单")
    total = next(k.value for k in kpis if k.key == "raised")
    st.caption(
        f"共 {total:,} 条" + ("，显示最新 200 条；完整清单请导出 Excel" if total > 200 else "")
    )
    if problems:
        keys = [
            "id",
            "raised_on",
            "company",
            "sector",
            "category",
            "source",
            "status",
            "department",
        ]
        picked = st.dataframe(
            columns.frame(problems, [*keys, "description"]),
            hide_index=True,
            width="stretch",
            on_select="rerun",
            selection_mode="single-row",
            key="dash_list",
        )
        rows = picked.selection.rows if picked else []
        if rows:
            chosen = problems[rows[0]]
            left, right = st.columns(2)
            left.page_link(
                "pages/problems_page.py",
                label=f"打开问题 #{chosen['id']}",
                icon=":material/assignment:",
                query_params={"id": chosen["id"]},
            )
            if chosen["company_id"]:
                right.page_link(
                    "pages/company_page.py",
                    label=f"企业档案：{md(chosen['company'])}",
                    icon=":material/domain:",
                    query_params={"id": chosen["company_id"]},
                )
        else:
            st.caption("点选一行，打开问题或企业档案。")

    st.header("导出")
    if st.button("生成 Excel（当前视图）", icon=":material/table:"):
        bar = st.progress(0.0, "准备导出…")
        target = Path(tempfile.mkstemp(suffix=".xlsx", prefix="dashboard-")[1])
        try:  # the file only carries the workbook to the download button: none left behind
            with session.database() as db:
                result = exports.write_dashboard(
                    db,
                    actor,
                    view,
                    target,
                    progress=lambda f, text: bar.progress(min(f, 1.0), text),
                )
            workbook = target.read_bytes()
        finally:
            target.unlink(missing_ok=True)
        st.session_state["dash_export"] = (workbook, result["problems"], f"{view.start}_{view.end}")
    if exported := st.session_state.get("dash_export"):
        workbook, count, stem = exported
        st.download_button(
            f"下载 Excel（{count:,} 条问题）",
            workbook,
            f"统计看板_{stem}.xlsx",
            icon=":material/download:",
        )


def league(data: dict, min_volume: int) -> None:
    st.number_input(
        "问题数少于此数的部门单列（不参与排名）",
        1,
        1000,
        key="dash_min_volume",
        value=chart_data.DEFAULT_MIN_VOLUME,
        persist_state="page",  # kept while another tab is open
    )
    departments = data["departments"]
    if not departments.empty:
        dashboard.show_kept_chart(data, charts.league, "departments", "dept", "部门办理情况")
        for ranked, caption in ((True, "参与排名"), (False, f"问题少于 {min_volume} 件，单列")):
            part = departments[departments["ranked"] == ranked]
            if not part.empty:
                st.caption(caption)
                st.dataframe(dashboard.league_table(part), hide_index=True, width="stretch")


figures(filters)


# 企业自评与电话回访 (issue 30): the companies' own ratings beside the phone callbacks, for the filter
# bar's months (0.07-0.26 s at a million problems), in a fragment of its own: a chart click skips it.
@st.fragment
def ratings(filters) -> None:
    company_ratings.for_months(actor, filters.start, filters.end)


ratings(filters)
