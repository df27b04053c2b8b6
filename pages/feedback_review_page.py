"""监督反馈汇总 (supervisors): all monitor feedback with filters, department ratings per dimension
over time (with the number of ratings behind each point), and each monitor's quarterly duty."""

from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st

from survey import clock, dataversion, feedback, reference
from survey.access import permissions
from survey.labels import FEEDBACK_KIND_LABELS
from survey.problems.register import STATUS_LABELS
from ui import session

actor = session.require_actor("feedback.review")
st.title("监督反馈汇总")
with session.database() as db:
    departments = reference.options(db, "departments")
# Only the open tab is built (a tab change reruns the page): the ratings' series and the duties
# count over every feedback (at ten million problems, 1.6 million feedback: 1.1 s together), and
# the list the page opens on needs neither.
list_tab, rating_tab, duty_tab = st.tabs(
    ["全部反馈", "部门评价", "履职情况"], key="feedback_tab", on_change="rerun"
)

if list_tab.open:
    with list_tab:
        c1, c2, c3 = st.columns(3)
        kind = c1.selectbox(
            "类型",
            ["", *FEEDBACK_KIND_LABELS],  # "" (全部), not None: a kept None shows as no choice
            format_func=lambda v: FEEDBACK_KIND_LABELS.get(v, "全部"),
            key="feedback_kind",
            persist_state="page",  # kept while another tab is open
        )
        dept = c2.selectbox(
            "部门",
            ["", *departments],
            format_func=lambda v: departments.get(v, "全部"),
            key="feedback_department",
            persist_state="page",
        )
        since = c3.date_input(
            "起始日期",
            value=clock.today() - timedelta(days=90),
            key="feedback_since",
            persist_state="page",
        )
        with session.database() as db:
            rows = feedback.list_feedback(
                db,
                actor,
                kind=kind or None,
                department_code=dept or None,
                since=since.isoformat() if since else None,
            )
        st.caption(f"{len(rows)} 条")
        if rows:
            frame = pd.DataFrame(rows)
            st.dataframe(
                pd.DataFrame(
                    {
                        "编号": frame["id"],
                        "时间": frame["submitted_at"],
                        "类型": frame["kind"].map(FEEDBACK_KIND_LABELS),
                        "监督员": frame["monitor"],
                        "部门": frame["department"].fillna(""),
                        "内容": frame["body"],
                        "问题状态": frame["problem_status"].map(STATUS_LABELS).fillna(""),
                    }
                ),
                hide_index=True,
                width="stretch",
            )


@st.cache_data(max_entries=32, show_spinner=False)
def _rating_series(key: tuple, _actor, department: str | None) -> list[dict]:
    """Every rating's month, department and dimension (132,510 ratings at a million problems,
    0.2-0.9 s), kept until a new feedback, a write the data version sees or a renamed dimension."""
    with session.database() as db:
        return feedback.rating_series(db, _actor, department)


if rating_tab.open:
    with rating_tab:
        rated = st.selectbox(
            "被评价部门",
            ["", *departments],
            format_func=lambda v: departments.get(v, "全部部门"),
            key="rated",
            persist_state="page",
        )
        with session.database() as db:
            named = tuple(reference.options(db, "rating_dimensions").items())
            key = dataversion.key(db, actor, "ratings", feedback.latest_feedback_id(db), named)
        series = _rating_series(key, actor, rated or None)
        if not series:
            st.info("暂无部门评价。")
        else:
            data = pd.DataFrame(series)
            data = (  # each month and dimension over the departments, weighted by their ratings
                data.assign(weighted=data["average"] * data["ratings"])
                .groupby(["month", "dimension_name"], as_index=False)[["weighted", "ratings"]]
                .sum()
            )
            data["average"] = data["weighted"] / data["ratings"]
            base = alt.Chart(data).encode(
                x=alt.X("month:N", title="月份"),
                y=alt.Y("average:Q", title="平均分（1–5）", scale=alt.Scale(domain=[1, 5])),
                color=alt.Color("dimension_name:N", title="维度"),
                tooltip=[
                    alt.Tooltip("month:N", title="月份"),
                    alt.Tooltip("dimension_name:N", title="维度"),
                    alt.Tooltip("average:Q", title="平均分", format=".2f"),
                    alt.Tooltip("ratings:Q", title="评价数"),
                ],
            )
            chart = base.mark_line() + base.mark_circle().encode(
                size=alt.Size("ratings:Q", title="评价数")
            )
            st.altair_chart(chart, width="stretch")
            st.caption(f"共 {int(data['ratings'].sum())} 项评分；点的大小表示该月该维度的评价数。")

if duty_tab.open:
    with duty_tab:
        with session.database() as db:
            progress = feedback.duty_progress(db, actor)
        st.caption(
            f"{progress['quarter']}：每位监督员每季度至少提交 {progress['target']} 条问题线索或意见建议"
        )
        frame = pd.DataFrame(progress["monitors"])
        frame["状态"] = frame["behind"].map(lambda b: f"落后 {b} 条" if b else "已完成")
        st.dataframe(
            frame[["monitor", "done", "total", "状态"]].rename(
                columns={"monitor": "监督员", "done": "线索和建议", "total": "全部反馈"}
            ),
            hide_index=True,
            width="stretch",
        )
        if permissions.can(actor, "settings.edit"):
            with st.form("target", enter_to_submit=False):
                target = st.number_input(
                    "每季度目标（条）", min_value=0, max_value=100, value=progress["target"], step=1
                )
                if st.form_submit_button("保存目标"):
                    session.attempt(
                        lambda db: feedback.set_quarter_target(db, actor, int(target)), "已保存。"
                    )
