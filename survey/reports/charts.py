"""Altair builders for the dashboards: each takes a small aggregated frame and returns a chart whose
named point selection (SELECTIONS) the page turns into a filter for the other charts and the list.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

# Selection name -> (chart key, the fields a click selects, the filter it sets)
SELECTIONS = {
    "cell": ("sector", "category"),
    "month": ("month",),
    "topcat": ("sector", "category"),
    "replysector": ("sector",),
    "dept": ("department",),
    "coversector": ("sector",),
    "coverdept": ("department",),
}

FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif"


def _themed(chart: alt.Chart, title: str) -> alt.Chart:
    return chart.properties(title=title).configure(font=FONT).configure_axis(labelLimit=180)


def _select(name: str) -> alt.Parameter:
    return alt.selection_point(name=name, fields=list(SELECTIONS[name]), toggle=False)


def _highlight(selection: alt.Parameter):
    return alt.condition(selection, alt.value(1.0), alt.value(0.35))


def heatmap(frame: pd.DataFrame) -> alt.Chart:
    data = frame[["sector", "category", "sector_name", "category_name", "group_name", "n"]]
    selection = _select("cell")
    chart = (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=alt.X("category_name:N", title="问题类别", sort=alt.SortField("category")),
            y=alt.Y("sector_name:N", title="行业"),
            color=alt.Color("n:Q", title="问题数", scale=alt.Scale(scheme="orangered")),
            opacity=_highlight(selection),
            tooltip=[
                alt.Tooltip("sector_name:N", title="行业"),
                alt.Tooltip("group_name:N", title="大类"),
                alt.Tooltip("category_name:N", title="类别"),
                alt.Tooltip("n:Q", title="问题数", format=","),
            ],
        )
        .add_params(selection)
        .properties(height=alt.Step(24))
    )
    return _themed(chart, "行业 × 问题类别")


def monthly(frame: pd.DataFrame) -> alt.Chart:
    data = frame[["month", "group_name", "n"]]
    selection = _select("month")
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("month:O", title="月份"),
            y=alt.Y("sum(n):Q", title="问题数"),
            color=alt.Color("group_name:N", title="问题大类"),
            opacity=_highlight(selection),
            tooltip=[
                alt.Tooltip("month:O", title="月份"),
                alt.Tooltip("group_name:N", title="大类"),
                alt.Tooltip("n:Q", title="问题数", format=","),
            ],
        )
        .add_params(selection)
        .properties(height=360)  # tall enough for the legend of every category group
    )
    return _themed(chart, "每月问题数（按大类）")


def top_categories(frame: pd.DataFrame) -> alt.Chart:
    data = frame[["sector", "category", "sector_name", "category_name", "n", "rank"]]
    selection = _select("topcat")
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("sector_name:N", title="行业"),
            x=alt.X("n:Q", title="问题数", stack="zero"),
            color=alt.Color("rank:O", title="排名", scale=alt.Scale(scheme="blues", reverse=True)),
            order=alt.Order("rank:O"),
            opacity=_highlight(selection),
            tooltip=[
                alt.Tooltip("sector_name:N", title="行业"),
                alt.Tooltip("rank:O", title="排名"),
                alt.Tooltip("category_name:N", title="类别"),
                alt.Tooltip("n:Q", title="问题数", format=","),
            ],
        )
        .add_params(selection)
        .properties(height=alt.Step(24))
    )
    return _themed(chart, "各行业最突出的问题类别（前 5）")


def reply_days(frame: pd.DataFrame) -> alt.Chart:
    data = frame[["sector", "sector_name", "replied", "p25", "median", "p75", "p90"]]
    selection = _select("replysector")
    base = alt.Chart(data).encode(
        y=alt.Y("sector_name:N", title="行业", sort=alt.SortField("median")),
        tooltip=[
            alt.Tooltip("sector_name:N", title="行业"),
            alt.Tooltip("replied:Q", title="已答复", format=","),
            alt.Tooltip("p25:Q", title="25% 分位"),
            alt.Tooltip("median:Q", title="中位数"),
            alt.Tooltip("p75:Q", title="75% 分位"),
            alt.Tooltip("p90:Q", title="90% 分位"),
        ],
    )
    whisker = base.mark_rule(color="#999").encode(
        x=alt.X("p25:Q", title="答复用时（工作日）"), x2="p90:Q"
    )
    box = base.mark_bar(size=12, color="#4c78a8").encode(
        x="p25:Q", x2="p75:Q", opacity=_highlight(selection)
    )
    middle = base.mark_tick(color="white", thickness=2, size=12).encode(x="median:Q")
    chart = alt.layer(box.add_params(selection), whisker, middle).properties(height=alt.Step(24))
    return _themed(chart, "各行业答复用时分布（25%–75% 分位，线至 90%，白线为中位数）")


def league(frame: pd.DataFrame) -> alt.Chart:
    data = frame[frame["ranked"]][
        ["department", "department_name", "volume", "on_time_rate", "satisfaction_rate", "overdue"]
    ]
    selection = _select("dept")
    # 当前逾期 counts problems: whole numbers on its legend, at most five of them
    top = int(data["overdue"].max()) if len(data) else 0
    overdue_marks = list(range(0, top + 1, max(1, -(-top // 4))))
    chart = (
        alt.Chart(data)
        .mark_circle()
        .encode(
            x=alt.X("on_time_rate:Q", title="按时办结率", axis=alt.Axis(format=".0%")),
            y=alt.Y(
                "satisfaction_rate:Q",
                title="满意率",
                axis=alt.Axis(format=".0%"),
                scale=alt.Scale(zero=False),
            ),
            size=alt.Size("volume:Q", title="问题数"),
            color=alt.Color(
                "overdue:Q",
                title="当前逾期",
                scale=alt.Scale(scheme="reds"),
                legend=alt.Legend(format="d", values=overdue_marks),
            ),
            opacity=_highlight(selection),
            tooltip=[
                alt.Tooltip("department_name:N", title="部门"),
                alt.Tooltip("volume:Q", title="问题数", format=","),
                alt.Tooltip("on_time_rate:Q", title="按时办结率", format=".1%"),
                alt.Tooltip("satisfaction_rate:Q", title="满意率", format=".1%"),
                alt.Tooltip("overdue:Q", title="当前逾期"),
            ],
        )
        .add_params(selection)
        .properties(height=320)
    )
    return _themed(chart, "部门办理情况（圆越大问题越多）")


def coverage(frame: pd.DataFrame, by: str) -> alt.Chart:
    """Linked companies visited this quarter vs not, per sector or per department."""
    long = (
        frame[["code", "name", "rate", "visited", "not_visited"]]
        .rename(columns={"code": by})
        .melt(
            id_vars=[by, "name", "rate"],
            value_vars=["visited", "not_visited"],
            var_name="state",
            value_name="companies",
        )
    )
    long["state"] = long["state"].map({"visited": "本季度已走访", "not_visited": "本季度未走访"})
    selection = _select("coversector" if by == "sector" else "coverdept")
    chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("name:N", title=None, sort=alt.SortField("rate", order="descending")),
            x=alt.X("companies:Q", title="企业数", stack="zero"),
            color=alt.Color(
                "state:N",
                title="",
                scale=alt.Scale(
                    domain=["本季度已走访", "本季度未走访"], range=["#54a24b", "#d3d3d3"]
                ),
            ),
            opacity=_highlight(selection),
            tooltip=[
                alt.Tooltip("name:N", title="名称"),
                alt.Tooltip("state:N", title="状态"),
                alt.Tooltip("companies:Q", title="企业数", format=","),
                alt.Tooltip("rate:Q", title="覆盖率", format=".0%"),
            ],
        )
        .add_params(selection)
        .properties(height=alt.Step(24))
    )
    title = f"走访覆盖（{'行业' if by == 'sector' else '部门联系'}企业，{frame.attrs.get('quarter', '')}）"
    return _themed(chart, title)


def selection_filters(selections: dict[str, list[dict]]) -> dict[str, tuple[str, ...]]:
    """Chart clicks -> Filters fields: {'sectors': (...), 'categories': (...), ...}."""
    field_of = {"sector": "sectors", "category": "categories", "department": "departments"}
    chosen: dict[str, set[str]] = {}
    for points in selections.values():
        for point in points or []:
            for key, value in point.items():
                if value is not None and (key in field_of or key == "month"):
                    chosen.setdefault(field_of.get(key, "months"), set()).add(str(value))
    return {field: tuple(sorted(values)) for field, values in chosen.items()}


def weekly_trend(frame: pd.DataFrame) -> alt.Chart:
    chart = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "week:O",
                title="周（周一）",
                axis=alt.Axis(labelAngle=0, labelExpr="slice(datum.value, 5)"),
            ),
            y=alt.Y("n:Q", title="提出问题数"),
            tooltip=[
                alt.Tooltip("week:O", title="周"),
                alt.Tooltip("n:Q", title="问题数", format=","),
            ],
        )
        .properties(height=260)
    )
    return _themed(chart, "近 12 周提出问题数")


def weekly_sectors(frame: pd.DataFrame) -> alt.Chart:
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("sector_name:N", title="行业", sort="-x"),
            x=alt.X("sum(n):Q", title="问题数"),
            color=alt.Color("group_name:N", title="问题大类"),
            tooltip=[
                alt.Tooltip("sector_name:N", title="行业"),
                alt.Tooltip("group_name:N", title="大类"),
                alt.Tooltip("n:Q", title="问题数"),
            ],
        )
        .properties(height=alt.Step(24))
    )
    return _themed(chart, "本周问题：行业 × 大类")


def to_image(spec: dict, fmt: str) -> bytes | str:
    """A chart as PNG bytes or SVG text, rendered on this machine (vl-convert; no outside host)."""
    import vl_convert

    if fmt == "png":
        return vl_convert.vegalite_to_png(spec, scale=2)
    if fmt == "svg":
        return vl_convert.vegalite_to_svg(spec)
    raise ValueError(f"unknown image format {fmt}")
