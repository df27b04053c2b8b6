"""Shared pieces for the problem pages: a compact table and a problem's detail with its timeline."""

from __future__ import annotations

import streamlit as st

from survey.access.actor import Actor
from survey.labels import OUTCOME_LABELS
from survey.problems import columns, listing
from survey.problems.columns import EVENT_COLUMNS as EVENTS
from survey.problems.register import STATUS_LABELS
from ui import session
from ui.text import md

PAGE = 100  # a queue's first page; the rest by a search (编号 or company), not 100k rows sent


def shown_of(total: int, found: int, shown: int, what: str) -> str:
    """The caption above a queue's first page: how many in all, how many a search found, shown."""
    line = f"{what} {total} 条"
    if found < total:
        line += f"，查找到 {found} 条"
    if shown < found:
        line += f"，按提出日期列出最早的 {shown} 条；其余请按编号或企业名称查找"
    return line


def table(rows: list[dict], *, with_deadline: bool = True, with_source: bool = False) -> None:
    keys = ["id", "raised_on", "company", "sector", "category", "status", "summary"]
    if with_source:  # 交办: where it came from (走访, 监督员, 12345热线, 企业自报...)
        keys.insert(4, "source")
    if "return_count" in rows[0]:
        keys.append("return_count")
    if with_deadline:
        keys += ["department", "deadline_on", "reminder"]
    st.dataframe(columns.frame(rows, keys), hide_index=True, width="stretch")


def pick(rows: list[dict], key: str) -> int:
    by_id = {r["id"]: r for r in rows}
    return st.selectbox(
        "选择问题",
        list(by_id),
        key=key,
        format_func=lambda i: f"#{i} {by_id[i]['company'] or ''} · {by_id[i]['category']}",
    )


def detail(actor: Actor, problem_id: int) -> dict:
    with session.database() as db:
        problem = listing.get_problem(db, actor, problem_id)
    st.markdown(f"**问题 #{problem['id']} · {STATUS_LABELS[problem['status']]}**")
    st.caption(
        f"{md(problem['company'] or '未指明企业')} · {md(problem['sector'])} · {md(problem['category_group'])} / "
        f"{md(problem['category'])} · 提出 {problem['raised_on']}"
    )
    st.text(problem["description"])
    if problem["reply_text"]:
        st.caption("答复（" + OUTCOME_LABELS.get(problem["outcome"] or "", "") + "）")
        st.text(problem["reply_text"])
    if problem["events"]:
        timeline = columns.frame(problem["events"], ["at", "actor", "to_status", "note"], EVENTS)
        st.dataframe(timeline, hide_index=True, width="stretch")
    return problem
