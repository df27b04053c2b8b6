"""周报 (supervisors): a printable one-page weekly report: the week's KPIs against the week before, the
twelve-week trend, the week by sector, departments and the oldest overdue problems."""

from datetime import timedelta

import pandas as pd
import streamlit as st

from survey import clock
from survey.problems import columns
from survey.reports import charts, periods, weekly
from survey.reports.weekly import Week
from ui import company_ratings, dashboard, params, session, style
from ui.text import md_table

actor = session.require_actor("dashboard.read")
style.printable()
latest = weekly.last_full_week()
mondays = [latest + timedelta(days=7) - timedelta(days=7 * k) for k in range(27)]
default = params.iso_date("week", "日期（应为 YYYY-MM-DD）") or latest
monday = st.selectbox(
    "报告周",
    mondays,
    index=mondays.index(weekly.week_of(default)) if weekly.week_of(default) in mondays else 1,
    format_func=lambda d: Week(d).label + ("（本周，未完）" if d > latest else ""),
)
st.query_params["week"] = monday.isoformat()
week = Week(monday)
city = periods.Filters(monday.isoformat()[:7], week.sunday.isoformat()[:7])

with session.database() as db:
    kept = dashboard.weekly_data(db, actor, week, city)
kpis, sectors, trend = kept["kpis"], kept["sectors"], kept["trend"]
departments, overdue = kept["departments"], kept["overdue"]

st.title(f"惠企走访周报 · {week.label}")
st.caption(
    f"生成于 {clock.now_iso()}。与上一周比较；打印请用浏览器的“打印”（Ctrl+P），页面已按 A4 排版。"
)
dashboard.kpi_cards(kpis)
dashboard.show_chart(charts.weekly_trend(trend), None, f"周报_趋势_{monday}")
if sectors.empty:
    st.info("本周没有新提出的问题。")
else:
    dashboard.show_chart(charts.weekly_sectors(sectors), None, f"周报_行业_{monday}")
st.header("部门办理")
st.table(  # a static table prints whole; a dataframe would print its scroll window
    md_table(
        pd.DataFrame(
            {
                "部门": departments["department_name"],
                "本周新交办": departments["raised"],
                "本周答复": departments["replied"],
                "其中按时": departments["on_time"],
                "当前逾期": departments["overdue"],
            }
        ).set_index("部门")
    ),
)
company_ratings.section(actor, monday.isoformat(), (week.sunday + timedelta(days=1)).isoformat())
st.header("逾期最久的问题")
if overdue:
    keys = ["id", "company", "category", "department", "deadline_on", "raised_on"]
    st.table(md_table(columns.frame(overdue, keys).set_index("编号")))
else:
    st.success("当前没有逾期问题。")
