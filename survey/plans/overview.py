"""The plan's overview and its monthly bulletin (月度通报): tasks per department and per indicator by
state, the lagging tasks, the reports missing for a month; the bulletin lists, per department,
the tasks done, lagging and unreported, and is written to .xlsx."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlite_utils import Database

from survey import clock, spreadsheets
from survey.access.actor import Actor
from survey.plans import reports, tasks

STATES = list(tasks.STATE_LABELS)


def frame(db: Database, actor: Actor, year: int, today: date | None = None) -> pd.DataFrame:
    rows = tasks.list_tasks(db, actor, year, today)
    columns = [
        "id",
        "number",
        "content",
        "target",
        "lead_name",
        "due_on",
        "indicator_name",
        "percent",
        "state",
    ]
    data = pd.DataFrame(rows, columns=[*columns, "co_names", "last_month"])
    data["state_label"] = data["state"].map(tasks.STATE_LABELS)
    data["percent"] = data["percent"].fillna(0).astype(int)
    data["indicator_name"] = data["indicator_name"].fillna("（未对应指标）")
    data["due_on"] = data["due_on"].fillna(tasks.NO_DEADLINE_LABEL)
    return data


def by(data: pd.DataFrame, column: str) -> pd.DataFrame:
    """Task counts per `column` value and state (long form, for a stacked bar)."""
    if data.empty:
        return pd.DataFrame(columns=[column, "state", "state_label", "tasks"])
    counts = (
        data.groupby([column, "state"], as_index=False).size().rename(columns={"size": "tasks"})
    )
    counts["state_label"] = counts["state"].map(tasks.STATE_LABELS)
    return counts


def _listed(group: pd.DataFrame) -> str:
    return "；".join(f"{n} {c}" for n, c in zip(group["number"], group["content"], strict=True))


def bulletin(
    db: Database, actor: Actor, year: int, month: str, today: date | None = None
) -> pd.DataFrame:
    """Per department: tasks done, lagging, and not reported for `month` (names listed)."""
    data = frame(db, actor, year, today)
    unreported = {t["id"] for t in reports.missing(db, actor, year, month)}
    data["unreported"] = data["id"].isin(unreported)
    rows = []
    for department, group in data.groupby("lead_name", sort=True):
        rows.append(
            {
                "牵头单位": department,
                "任务数": len(group),
                "已完成": int((group["state"] == "done").sum()),
                "滞后": int((group["state"] == "lagging").sum()),
                "未报送": int(group["unreported"].sum()),
                "滞后任务": _listed(group[group["state"] == "lagging"]),
                "未报送任务": _listed(group[group["unreported"]]),
            }
        )
    return pd.DataFrame(
        rows, columns=["牵头单位", "任务数", "已完成", "滞后", "未报送", "滞后任务", "未报送任务"]
    )


def write_bulletin(
    db: Database, actor: Actor, year: int, month: str, target, today: date | None = None
) -> int:
    """The bulletin as .xlsx: a summary sheet per department and the full task list."""
    summary = bulletin(db, actor, year, month, today)
    data = frame(db, actor, year, today)
    book = spreadsheets.new_workbook(target)
    sheet = book.add_worksheet("月度通报")
    sheet.write_string(
        0, 0, f"{year} 年度任务清单 · {month} 月度通报（{clock.today().isoformat()} 生成）"
    )
    spreadsheets.write_rows(sheet, [list(summary.columns), *summary.values.tolist()], start=2)
    listing = book.add_worksheet("任务清单")
    header = ["序号", "重点任务", "牵头单位", "配合单位", "完成时限", "指标", "进度%", "状态"]
    body = data[
        [
            "number",
            "content",
            "lead_name",
            "co_names",
            "due_on",
            "indicator_name",
            "percent",
            "state_label",
        ]
    ].fillna("")
    spreadsheets.write_rows(listing, [header, *body.values.tolist()])
    book.close()
    return len(summary)
