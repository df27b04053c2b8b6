"""The columns a problem table can show, defined once: each key's Chinese header and how its value
reads. Every page that lists problems, and the dashboard's export, picks columns by key, so a header
or a label is changed in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from survey.labels import OUTCOME_LABELS, SOURCE_LABELS
from survey.problems.register import STATUS_LABELS, TRANSITIONS, deadline_state

DEADLINE_LABELS = {"overdue": "逾期", "warning": "预警", "ok": "", "": ""}
SUMMARY_CHARACTERS = 60


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[pd.DataFrame], pd.Series]  # from the frame of rows as read


def _plain(key: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda frame: frame[key]


def _text(key: str, missing: str = "") -> Callable[[pd.DataFrame], pd.Series]:
    return lambda frame: frame[key].fillna(missing)


def _label(key: str, labels: dict[str, str]) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda frame: frame[key].map(labels).fillna("")


def _reminder(frame: pd.DataFrame) -> pd.Series:
    rows = frame[["status", "deadline_on"]].astype(object).where(frame.notna(), None)
    states = [deadline_state(row) for row in rows.to_dict("records")]
    return pd.Series([DEADLINE_LABELS[s] for s in states], index=frame.index)


def _times(key: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda frame: frame[key].map(lambda n: f"{n} 次" if n else "")


PROBLEM_COLUMNS: dict[str, Column] = {
    "id": Column("编号", _plain("id")),
    "raised_on": Column("提出日期", _plain("raised_on")),
    "company": Column("企业", _text("company", "（未指明企业）")),
    "sector": Column("行业", _text("sector")),
    "area": Column("区域", _text("area")),
    "category_group": Column("问题大类", _text("category_group")),
    "category": Column("问题类别", _plain("category")),
    "source": Column("来源", _label("source", SOURCE_LABELS)),
    "status": Column("状态", _label("status", STATUS_LABELS)),
    "department": Column("责任部门", _text("department")),
    "deadline_on": Column("办理时限", _text("deadline_on")),
    "reminder": Column("提醒", _reminder),
    "return_count": Column("退回", _times("return_count")),
    "replied_at": Column("答复时间", _text("replied_at")),
    "reply_working_days": Column("答复用时(工作日)", _plain("reply_working_days")),
    "outcome": Column("办理结果", _label("outcome", OUTCOME_LABELS)),
    "satisfaction_level": Column("满意度", _plain("satisfaction_level")),
    "description": Column("问题描述", _plain("description")),
    "summary": Column("问题描述", lambda f: f["description"].str.slice(0, SUMMARY_CHARACTERS)),
}

EVENT_COLUMNS: dict[str, Column] = {
    "at": Column("时间", _plain("at")),
    "actor": Column("操作人", _text("actor", "系统")),
    "action": Column("动作", _label("action", {a: t.verb for a, t in TRANSITIONS.items()})),
    "from_status": Column("从", _label("from_status", STATUS_LABELS)),
    "to_status": Column("到", _label("to_status", STATUS_LABELS)),
    "note": Column("说明", _plain("note")),
}


def frame(rows: list[dict], keys: list[str], registry: dict[str, Column] = PROBLEM_COLUMNS):
    """The rows as a table of the chosen columns, headed in Chinese, in the order given."""
    data = pd.DataFrame(rows)
    return pd.DataFrame({registry[k].header: registry[k].value(data) for k in keys})


def headers(keys: list[str]) -> dict[str, str]:
    """key -> header, for writers that stream rows (the .xlsx export)."""
    return {k: PROBLEM_COLUMNS[k].header for k in keys}
