"""企业自评与电话回访 (企业端, issue 30 item 6): the companies' own ratings next to the phone
callbacks, per sector and per department, for the dashboard and the weekly report (static tables,
so they print whole)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from survey import dataversion
from survey.access.actor import Actor
from survey.companyview import satisfaction
from ui import session
from ui.text import md_table

COLUMNS = {
    "phone_asked": "应回访",
    "phone_answered": "电话回访",
    "phone_share": "电话满意率%",
    "company_asked": "发送评价链接",
    "company_answered": "企业自评",
    "company_share": "自评满意率%",
    "gap": "差距（百分点）",
}


def _cell(value) -> str:
    """A count or a share as text, "—" where there is none: a column of numbers and dashes is
    text to Arrow (mixed, it logged a conversion traceback on every render and was retried)."""
    if value is None or pd.isna(value):
        return "—"
    return f"{value:.1f}" if isinstance(value, float) and not value.is_integer() else f"{value:.0f}"


def frame(rows: list[dict], label: str) -> pd.DataFrame:
    shown = pd.DataFrame(rows, columns=["name", *COLUMNS]).rename(columns=COLUMNS)
    shown = shown.rename(columns={"name": label}).set_index(label)
    return shown.map(_cell)


def _show(found: dict[str, list[dict]]) -> None:
    st.header("企业自评与电话回访")
    if not found["sector"]:
        st.info("本期提出的问题还没有答复。")
        return
    st.caption(
        "本期提出的问题：满意率为满意和基本满意（电话回访为非差评）占已评价的比例；"
        "差距 = 自评满意率 − 电话满意率。企业自评来自短信、邮件或走访二维码中的链接。"
    )
    for by, label in (("sector", "行业"), ("department", "牵头部门")):
        st.table(md_table(frame(found[by], label)))


def section(actor: Actor, since: str, until: str) -> None:
    """The section for problems raised on the days [since, until) (the weekly report)."""
    last = (date.fromisoformat(until) - timedelta(days=1)).isoformat()
    with session.database() as db:
        key = dataversion.key(db, actor, "ratings_days", since, last)
    _show(_kept(key, actor, "days", since, last))


def for_months(actor: Actor, start: str, end: str) -> None:
    """The section for problems raised in the months [start, end] (YYYY-MM), as the dashboard's
    filter bar sets them: the phone side from the summary tables."""
    with session.database() as db:
        key = dataversion.key(db, actor, "ratings_months", start, end)
    _show(_kept(key, actor, "months", start, end))


# Kept under the data version like the figures beside it: the company side reads every company
# delivery and rating (0.1-0.3 s at ten million problems) on each reload and filter change. Its
# tables move only in the transaction of a problem's move (the link queued with the reply, the
# rating written with the callback), which moves the version too.
@st.cache_data(max_entries=64, show_spinner=False)
def _kept(key: tuple, _actor: Actor, span: str, first: str, last: str) -> dict:
    read = satisfaction.overview_days if span == "days" else satisfaction.overview_months
    with session.database() as db:
        return read(db, _actor, first, last)
