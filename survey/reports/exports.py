"""The dashboard's current view as an .xlsx: a summary sheet with the KPIs, a sheet per table and the
full problem list, streamed row by row (XlsxWriter's constant-memory mode, about 4x faster than
openpyxl's write-only mode here) so 100,000 problems never sit in memory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import BinaryIO

import pandas as pd
from sqlite_utils import Database

from survey import db as store
from survey import reference, spreadsheets
from survey.access import audit
from survey.access.actor import Actor
from survey.labels import SOURCE_LABELS
from survey.problems.register import STATUS_LABELS
from survey.reports import chart_data, common, problem_list, scorecard, visit_coverage
from survey.reports.periods import Filters
from survey.reports.problem_list import LIST_COLUMNS

Progress = Callable[[float, str], None]

TABLE_SHEETS = {  # sheet title -> (frame builder, {column: header})
    "行业×类别": (
        lambda db, actor, f: chart_data.sector_category(db, actor, f),
        {
            "sector_name": "行业",
            "group_name": "问题大类",
            "category_name": "问题类别",
            "n": "问题数",
        },
    ),
    "每月问题": (
        lambda db, actor, f: chart_data.monthly(db, actor, f),
        {"month": "月份", "group_name": "问题大类", "n": "问题数"},
    ),
    "答复用时": (
        lambda db, actor, f: chart_data.reply_days(db, actor, f),
        {
            "sector_name": "行业",
            "replied": "已答复",
            "p25": "25%分位",
            "median": "中位数",
            "p75": "75%分位",
            "p90": "90%分位",
        },
    ),
    "部门排行": (
        lambda db, actor, f: chart_data.league(db, actor, f),
        {
            "department_name": "部门",
            "volume": "问题数",
            "on_time_rate": "按时办结率",
            "satisfaction_rate": "满意率",
            "median_days": "答复用时中位数",
            "overdue": "当前逾期",
            "ranked": "参与排名",
        },
    ),
    "行业走访覆盖": (
        lambda db, actor, f: visit_coverage.coverage(db, actor, f, "sector"),
        {
            "name": "行业",
            "companies": "企业数",
            "visited": "本季度已走访",
            "not_visited": "未走访",
            "rate": "覆盖率",
        },
    ),
    "部门走访覆盖": (
        lambda db, actor, f: visit_coverage.coverage(db, actor, f, "department"),
        {
            "name": "部门",
            "companies": "联系企业数",
            "visited": "本季度已走访",
            "not_visited": "未走访",
            "rate": "覆盖率",
        },
    ),
    "共性问题": (
        lambda db, actor, f: common.common_categories(db, actor, f),
        {
            "sector_name": "行业",
            "group_name": "问题大类",
            "category_name": "问题类别",
            "companies": "反映企业数",
            "problems": "问题数",
        },
    ),
}


def describe(db: Database, filters: Filters) -> list[tuple[str, str]]:
    """The filters in words, for the summary sheet and the weekly report."""

    def named(key: str, codes: tuple[str, ...], everything: str) -> str:
        names = reference.names(db, key)
        return "、".join(names.get(c, c) for c in codes) if codes else everything

    return [
        ("统计期间", f"{filters.start} 至 {filters.end}"),
        ("区县/园区", named("districts", filters.areas, "全部")),
        ("行业", named("sectors", filters.sectors, "全部")),
        ("来源", "、".join(SOURCE_LABELS[s] for s in filters.sources) or "全部"),
        ("责任部门", named("departments", filters.departments, "全部")),
        ("问题类别", named("problem_categories", filters.categories, "全部")),
    ]


def _cell(value):
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def write_dashboard(
    db: Database,
    actor: Actor,
    filters: Filters,
    target: str | Path | BinaryIO,
    *,
    progress: Progress | None = None,
    today: date | None = None,
) -> dict:
    """Write the view to `target`; returns {'problems': rows written, 'kpis': {key: value}}."""
    progress = progress or (lambda fraction, text: None)
    # User text stays text (spreadsheets.SAFE_OPTIONS); skipping the formula and link checks is also
    # what makes 100,000 rows fast.
    workbook = spreadsheets.new_workbook(target)
    bold = workbook.add_format({"bold": True})
    percent = workbook.add_format({"num_format": "0.0%"})

    def sheet_writer(title: str, headers: list[str]):
        sheet = workbook.add_worksheet(title)
        sheet.write_row(0, 0, headers, bold)
        sheet.freeze_panes(1, 0)
        row = [0]

        def append(values: list) -> None:
            row[0] += 1
            sheet.write_row(row[0], 0, [_cell(v) for v in values])

        return sheet, append

    kpis = scorecard.kpis(db, actor, filters, today=today)
    summary, append = sheet_writer("汇总", ["镇合意·惠企走访 统计看板导出", ""])
    for label, value in describe(db, filters):
        append([label, value])
    append([])
    append(["指标", "本期", "上期", "说明"])
    first_kpi_row = len(describe(db, filters)) + 3
    for offset, kpi in enumerate(kpis):
        append([kpi.label, kpi.value, kpi.previous, kpi.help])
        if kpi.kind == "rate":  # stored as a fraction, shown as a percentage
            for column, value in ((1, kpi.value), (2, kpi.previous)):
                if value is not None:
                    summary.write_number(first_kpi_row + offset, column, value, percent)
    summary.set_column(0, 0, 16)
    summary.set_column(1, 2, 14)
    summary.set_column(3, 3, 60)
    progress(0.05, "汇总指标")

    for title, (build, headers) in TABLE_SHEETS.items():
        frame = build(db, actor, filters)
        _sheet, append = sheet_writer(title, list(headers.values()))
        for record in frame.reindex(columns=list(headers)).itertuples(index=False):
            append(list(record))
    progress(0.1, "统计表")

    total = int(next(k.value for k in kpis if k.key == "raised") or 0)
    sheet, _append = sheet_writer("问题清单", list(LIST_COLUMNS.values()))
    status_at, source_at = list(LIST_COLUMNS).index("status"), list(LIST_COLUMNS).index("source")
    written = 0
    for batch in problem_list.iter_problem_list(db, actor, filters):
        for row in batch:  # str, int or None: written as they are (None leaves the cell empty)
            values = list(row)
            values[status_at] = STATUS_LABELS.get(values[status_at], values[status_at])
            values[source_at] = SOURCE_LABELS.get(values[source_at], values[source_at])
            written += 1
            sheet.write_row(written, 0, values)
        progress(0.1 + 0.85 * written / max(total, 1), f"问题清单 {written:,}/{total:,}")
    workbook.close()
    with store.transaction(db):
        audit.record(
            db,
            actor,
            "other",
            "problems",
            note=f"导出统计看板 {filters.start}~{filters.end}，{written} 条问题",
        )
    progress(1.0, "完成")
    return {"problems": written, "kpis": {k.key: k.value for k in kpis}}
