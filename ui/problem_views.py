"""Shared pieces for the problem pages: a compact table and a problem's detail with its timeline."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from survey.access.actor import Actor
from survey.labels import OUTCOME_LABELS
from survey.problems import listing, register
from survey.problems.register import STATUS_LABELS
from ui import session
from ui.text import md

DEADLINE_LABELS = {"overdue": "逾期", "warning": "预警", "ok": "", "": ""}


def table(rows: list[dict], *, with_deadline: bool = True) -> None:
    frame = pd.DataFrame(rows)
    view = pd.DataFrame(
        {
            "编号": frame["id"],
            "提出": frame["raised_on"],
            "企业": frame["company"].fillna("（未指明）"),
            "行业": frame["sector"].fillna(""),
            "类别": frame["category"],
            "状态": frame["status"].map(STATUS_LABELS),
        }
    )
    view["描述"] = frame["description"].str.slice(0, 60)
    if "return_count" in frame:
        view["退回"] = frame["return_count"].map(lambda n: f"{n} 次" if n else "")
    if with_deadline:
        view["责任部门"] = frame["department"].fillna("")
        view["时限"] = frame["deadline_on"].fillna("")
        view["提醒"] = [DEADLINE_LABELS[register.deadline_state(r)] for r in rows]
    st.dataframe(view, hide_index=True, width="stretch")


def pick(rows: list[dict], key: str) -> int:
    by_id = {r["id"]: r for r in rows}
    return st.selectbox(
        "选择问题", list(by_id), key=key,
        format_func=lambda i: f"#{i} {by_id[i]['company'] or ''} · {by_id[i]['category']}",
    )  # fmt: skip


def detail(actor: Actor, problem_id: int) -> dict:
    with session.database() as db:
        problem = listing.get_problem(db, actor, problem_id)
    st.markdown(f"**问题 #{problem['id']} · {STATUS_LABELS[problem['status']]}**")
    st.caption(f"{md(problem['company'] or '未指明企业')} · {md(problem['sector'])} · {md(problem['category_group'])} / "
               f"{md(problem['category'])} · 提出 {problem['raised_on']}")  # fmt: skip
    st.text(problem["description"])
    if problem["reply_text"]:
        st.caption("答复（" + OUTCOME_LABELS.get(problem["outcome"] or "", "") + "）")
        st.text(problem["reply_text"])
    if problem["events"]:
        events = pd.DataFrame(problem["events"])
        st.dataframe(
            pd.DataFrame({"时间": events["at"], "操作人": events["actor"].fillna("系统"),
                          "到": events["to_status"].map(STATUS_LABELS), "说明": events["note"]}),
            hide_index=True, width="stretch",
        )  # fmt: skip
    return problem
