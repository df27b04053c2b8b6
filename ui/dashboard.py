"""Dashboard pieces shared by 统计看板 and 周报: the filter bar kept in the URL's query parameters,
KPI cards, charts whose clicks filter the rest, and PNG/SVG downloads of any chart."""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import streamlit as st

from survey import clock, dataversion, reference
from survey.errors import SurveyError
from survey.labels import SOURCE_LABELS
from survey.reports import (
    charts,
    common,
    cubes,
    overview,
    periods,
    scorecard,
    visit_coverage,
    weekly,
)
from survey.reports.periods import Filters
from ui import params
from ui.text import md

PRESETS = {
    "12m": "近 12 个月",
    "month": "本月",
    "last_month": "上月",
    "quarter": "本季度",
    "year": "本年",
    "custom": "自定义",
}
_PARAMS = {  # widget key -> query parameter
    "dash_area": "area",
    "dash_cluster": "cluster",
    "dash_sector": "sector",
    "dash_source": "source",
    "dash_dept": "dept",
}
_LIST_KEYS = ("dash_area", "dash_sector", "dash_dept")
# The chart tabs: query parameter value -> label. Only the open tab's charts and tables are built
# and sent (st.tabs with a key and on_change="rerun": a hidden tab's content does not run).
TABS = {
    "spread": "问题分布",
    "speed": "办理时效",
    "league": "部门排行",
    "visits": "走访覆盖",
    "common": "共性问题",
}
TAB_KEY = "dash_tab"
_TAB_PARAM = "tab"
_PARAM_LABELS = {
    "dash_area": "区县/园区代码",
    "dash_cluster": "产业集群",
    "dash_sector": "行业代码",
    "dash_source": "来源",
    "dash_dept": "部门代码",
}


def preset_range(preset: str, today_month: str) -> tuple[str, str]:
    if preset == "month":
        return today_month, today_month
    if preset == "last_month":
        last = periods.month_add(today_month, -1)
        return last, last
    if preset == "quarter":
        return visit_coverage.quarter_bounds(today_month)[0], today_month
    if preset == "year":
        return f"{today_month[:4]}-01", today_month
    return periods.month_add(today_month, -11), today_month


def _month_options(today_month: str) -> list[str]:
    return [periods.month_add(today_month, -k) for k in range(36)]


def _seed_from_url(today_month: str, allowed: dict[str, object]) -> None:
    """Widgets start from the address (a bookmark or a link a colleague sent); afterwards the address
    follows the widgets. A value the widget does not offer is named and dropped."""
    if "dash_preset" not in st.session_state:  # the page opened anew: no chart click kept either
        st.session_state.pop(_PICKS, None)
        options = _month_options(today_month)
        start = (params.known_values("from", options, "月份") or [None])[0]
        end = (params.known_values("to", options, "月份") or [None])[0]
        preset = next(
            (k for k in PRESETS if k != "custom" and preset_range(k, today_month) == (start, end)),
            "custom" if start and end else "12m",
        )
        st.session_state["dash_preset"] = preset
        st.session_state["dash_from"] = start if start in options else options[11]
        st.session_state["dash_to"] = end if end in options else options[0]
    if TAB_KEY not in st.session_state:
        code = (params.known_values(_TAB_PARAM, TABS, "标签页") or ["spread"])[0]
        st.session_state[TAB_KEY] = TABS[code]
    for key, name in _PARAMS.items():
        if key not in st.session_state:
            values = params.known_values(name, allowed[key], _PARAM_LABELS[key])
            st.session_state[key] = values if key in _LIST_KEYS else (values[0] if values else None)


def filter_bar(db) -> Filters:
    today_month = clock.today().isoformat()[:7]
    areas = reference.options(db, "districts")
    sectors = reference.list_entries(db, "sectors")
    departments = reference.options(db, "departments")
    clusters = sorted({s["cluster"] for s in sectors})
    allowed = {
        "dash_area": areas,
        "dash_cluster": clusters,
        "dash_sector": {s["code"] for s in sectors},
        "dash_source": SOURCE_LABELS,
        "dash_dept": departments,
    }
    _seed_from_url(today_month, allowed)

    top = st.columns([2, 2, 2, 2])
    preset = top[0].selectbox("统计期间", list(PRESETS), format_func=PRESETS.get, key="dash_preset")
    if preset == "custom":
        months = _month_options(today_month)
        start = top[1].selectbox("起始月份", months, key="dash_from")
        end = top[2].selectbox("结束月份", months, key="dash_to")
    else:
        start, end = preset_range(preset, today_month)
        top[1].text_input("期间", f"{start} 至 {end}", disabled=True)
    source = top[3].selectbox(
        "来源",
        [None, *SOURCE_LABELS],
        format_func=lambda v: SOURCE_LABELS.get(v, "全部来源"),
        key="dash_source",
        placeholder="全部来源",
    )
    row = st.columns([2, 2, 3, 3])
    area = row[0].multiselect(
        "区县/园区", list(areas), format_func=areas.get, key="dash_area", placeholder="全部区域"
    )
    cluster = row[1].selectbox(
        "产业集群",
        [None, *clusters],
        format_func=lambda v: v or "全部集群",
        key="dash_cluster",
        placeholder="全部集群",
    )
    in_cluster = {s["code"]: s["name"] for s in sectors if cluster in (None, s["cluster"])}
    st.session_state["dash_sector"] = [
        c for c in st.session_state["dash_sector"] if c in in_cluster
    ]
    sector = row[2].multiselect(
        "行业",
        list(in_cluster),
        format_func=in_cluster.get,
        key="dash_sector",
        placeholder="全部行业",
    )
    dept = row[3].multiselect(
        "责任部门",
        list(departments),
        format_func=departments.get,
        key="dash_dept",
        placeholder="全部部门",
    )
    _write_url(
        start,
        end,
        {"area": area, "cluster": cluster, "sector": sector, "source": source, "dept": dept},
    )
    try:
        return Filters(
            start,
            end,
            areas=tuple(area),
            sectors=tuple(sector or (in_cluster if cluster else ())),
            sources=(source,) if source else (),
            departments=tuple(dept),
        )
    except SurveyError as exc:
        st.error(md(str(exc)))
        st.stop()


def _write_url(start: str, end: str, values: dict) -> None:
    wanted = {"from": start, "to": end}
    for name, value in values.items():
        text = ",".join(value) if isinstance(value, list) else (value or "")
        if text:
            wanted[name] = text
    if tab := _tab_param():
        wanted[_TAB_PARAM] = tab
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)


def _tab_param() -> str | None:
    """The open tab's query parameter value, None for the first tab (the address stays short)."""
    label = st.session_state.get(TAB_KEY)
    code = next((c for c, name in TABS.items() if name == label), None)
    return None if code in (None, next(iter(TABS))) else code


def chart_tabs() -> dict:
    """The chart tabs, {label: tab}, the open one (tab.open) kept in the session and the address.
    A tab change reruns only the fragment that draws them: the address follows here."""
    names = list(TABS.values())
    tabs = dict(zip(names, st.tabs(names, key=TAB_KEY, on_change="rerun"), strict=True))
    tab = _tab_param()
    if st.query_params.get(_TAB_PARAM) != tab:
        if tab:
            st.query_params[_TAB_PARAM] = tab
        else:
            del st.query_params[_TAB_PARAM]
    return tabs


def kpi_cards(kpis: list[scorecard.Kpi]) -> None:
    for start in range(0, len(kpis), 5):
        columns = st.columns(5)
        for column, kpi in zip(columns, kpis[start : start + 5], strict=False):
            column.metric(
                kpi.label,
                format_value(kpi.kind, kpi.value),
                delta=format_change(kpi),
                delta_color="normal" if kpi.higher_is_better else "inverse",
                help=f"{kpi.help}。上一期：{format_value(kpi.kind, kpi.previous)}",
            )


def format_value(kind: str, value) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "days":
        return (
            f"{value:g} 天" if value <= cubes.MAX_EXACT_DAYS else f"{cubes.MAX_EXACT_DAYS} 天以上"
        )
    return f"{int(value):,}"


def format_change(kpi: scorecard.Kpi) -> str | None:
    change = kpi.change
    if change is None:
        return None
    if kpi.kind == "rate":
        return f"{change * 100:+.1f} 个百分点"
    if kpi.kind == "days":
        return f"{change:+g} 天"
    return f"{int(change):+,}"


# ---- charts and their selections ------------------------------------------------------------------


def chart_key(name: str) -> str:
    return f"chart_{name}"


# Each chart's clicked points, kept apart from the charts' own widget state: a chart in a tab that
# is not open is not drawn, and Streamlit drops the state of a widget a run did not draw. A click
# (or a click beside the marks, which clears it) reaches _picked; a chart drawn again starts empty
# without touching what was picked.
_PICKS = "dash_picks"


def _picked(name: str) -> None:
    state = st.session_state.get(chart_key(name))
    points = (state or {}).get("selection", {}).get(name) if state else None
    picks = dict(st.session_state.get(_PICKS, {}))
    if points:
        picks[name] = list(points)
    else:
        picks.pop(name, None)
    st.session_state[_PICKS] = picks


def selections(exclude: str | None = None) -> dict[str, list[dict]]:
    """Points clicked in each chart, whether or not its tab is open."""
    picks = st.session_state.get(_PICKS, {})
    return {name: points for name, points in picks.items() if name != exclude}


def narrowed(filters: Filters, exclude: str | None = None) -> Filters:
    """The view narrowed by every chart click except the chart's own."""
    picked = charts.selection_filters(selections(exclude))
    months = picked.pop("months", ())
    values = {}
    for field, codes in picked.items():
        current = getattr(filters, field)
        values[field] = tuple(c for c in codes if not current or c in current) or codes
    if months:
        values["start"], values["end"] = min(months), max(months)
    return filters.narrowed(**values) if values else filters


# ---- results kept between runs -------------------------------------------------------------------
# Keyed on the data version (survey.dataversion): a write moves it in its own transaction, so the
# next run after a submit, an assignment or a close reads afresh; a click or a filter that comes
# back to a view already seen reads nothing.


def dashboard_data(db, actor, filters: Filters, *, min_volume: int) -> dict:
    """overview.dashboard_data for the view the filter bar and the chart clicks make, kept under
    (data version, today, the actor's scope, the view of every chart, min_volume)."""
    views = {name: narrowed(filters, name) for name in charts.SELECTIONS}
    view = narrowed(filters)
    key = dataversion.key(db, actor, "dashboard", view, tuple(views.items()), min_volume)
    return {**_dashboard_data(key, actor, view, views, min_volume), "key": key}


# Bounded: an entry is ~0.1-0.2 MB at a million problems (the 200-row list, the chart frames), and
# after a write the older versions' entries are only waiting to be pushed out.
@st.cache_data(max_entries=64, show_spinner=False)
def _dashboard_data(key: tuple, _actor, _view: Filters, _views: dict, _min_volume: int) -> dict:
    from ui import session

    with session.database() as db:
        return overview.dashboard_data(db, _actor, _view, _views.get, min_volume=_min_volume)


def common_categories(db, actor, view: Filters, min_companies: int, cells):
    key = dataversion.key(db, actor, "common", view, min_companies)
    return _common_categories(key, actor, view, min_companies, cells)


@st.cache_data(max_entries=64, show_spinner=False)
def _common_categories(key: tuple, _actor, _view: Filters, _min_companies: int, _cells):
    from ui import session

    with session.database() as db:
        return common.common_categories(
            db, _actor, _view, min_companies=_min_companies, counts=_cells
        )


def weekly_data(db, actor, week, city: Filters) -> dict:
    """周报's figures (survey.reports.weekly) for a week, kept under the data version like the
    dashboard's: at a million problems they are a dozen reads of the week's rows (1-3 s), and a
    reload, another supervisor or the print view reads none of them again until a write."""
    key = dataversion.key(db, actor, "weekly", week.monday.isoformat(), city)
    return _weekly_data(key, actor, week, city)


@st.cache_data(max_entries=64, show_spinner=False)
def _weekly_data(key: tuple, _actor, _week, _city: Filters) -> dict:
    from ui import session

    return session.side_by_side(
        {
            "kpis": lambda db: weekly.kpis(db, _actor, _week, _city),
            "sectors": lambda db: weekly.by_sector(db, _actor, _week, _city),
            "trend": lambda db: weekly.trend(db, _actor, _week, _city),
            "departments": lambda db: weekly.departments(db, _actor, _week, _city),
            "overdue": lambda db: weekly.oldest_overdue(db, _actor, _city),
        }
    )


def clear_selections() -> None:
    st.session_state.pop(_PICKS, None)
    for name in charts.SELECTIONS:
        st.session_state.pop(chart_key(name), None)


def show_chart(chart: alt.Chart, name: str | None, file_stem: str) -> None:
    """The chart (clickable when it has a selection) and PNG/SVG downloads rendered on demand."""
    if name:
        st.altair_chart(
            chart, key=chart_key(name), on_select=lambda: _picked(name), width="stretch"
        )
    else:
        st.altair_chart(chart, width="stretch")
    _downloads(chart.to_dict, file_stem)


def show_kept_chart(data: dict, build, frame_name: str, name: str, file_stem: str) -> None:
    """show_chart for a chart of dashboard_data: its Vega-Lite spec (Altair's build and conversion,
    about a tenth of a second for the seven) is kept under the data's key with the rest."""
    frame = data[frame_name]
    spec = _chart_spec(data["key"], file_stem, build, frame) if _to_spec else None
    if spec is None:
        show_chart(build(frame), name, file_stem)
        return
    st.vega_lite_chart(spec, key=chart_key(name), on_select=lambda: _picked(name), width="stretch")
    _downloads(lambda: build(frame).to_dict(), file_stem)


try:  # what st.altair_chart does to a chart (Streamlit's theme, data as Arrow datasets)
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec as _to_spec
except ImportError:  # another Streamlit: the charts are built on every run, as before
    _to_spec = None


@st.cache_data(max_entries=7 * 64, show_spinner=False)  # the seven charts of 64 views
def _chart_spec(key: tuple, file_stem: str, _build, _frame) -> dict:
    return _to_spec(_build(_frame))


def _downloads(spec: Callable[[], dict], file_stem: str) -> None:
    left, right, _ = st.columns([1, 1, 4])
    left.download_button(
        "PNG",
        lambda: charts.to_image(spec(), "png"),
        f"{file_stem}.png",
        "image/png",
        key=f"png_{file_stem}",
        icon=":material/image:",
    )
    right.download_button(
        "SVG",
        lambda: charts.to_image(spec(), "svg"),
        f"{file_stem}.svg",
        "image/svg+xml",
        key=f"svg_{file_stem}",
        icon=":material/draw:",
    )


def describe_narrowing(db, filters: Filters, view: Filters) -> str:
    """What the chart clicks added to the filter bar, in words."""
    from survey.reports import exports

    before = dict(exports.describe(db, filters))
    parts = [
        f"{label} {value}" for label, value in exports.describe(db, view) if before[label] != value
    ]
    return "；".join(parts)


def league_table(frame):
    import pandas as pd

    return pd.DataFrame(
        {
            "部门": frame["department_name"],
            "问题数": frame["volume"],
            "按时办结率": frame["on_time_rate"].map(lambda v: format_value("rate", v)),
            "满意率": frame["satisfaction_rate"].map(lambda v: format_value("rate", v)),
            "答复用时中位数": frame["median_days"].map(lambda v: format_value("days", v)),
            "当前逾期": frame["overdue"],
        }
    )


def common_problems(actor, view: Filters, cells) -> None:
    """共性问题: widespread sub-categories per sector, and on request groups of similar descriptions."""
    from ui import session

    left, right = st.columns(2)
    min_companies = left.number_input(
        "至少有几家企业反映",
        2,
        500,
        common.DEFAULT_MIN_COMPANIES,
        key="dash_min_companies",
        persist_state="page",  # kept while another tab is open
    )
    with session.database() as db:
        frame = common_categories(db, actor, view, int(min_companies), cells)
    st.caption(f"同一行业中至少 {min_companies} 家企业反映的同一问题类别：{len(frame)} 项")
    if not frame.empty:
        st.dataframe(
            frame.assign(examples=frame["examples"].map(lambda e: " ／ ".join(e)))[
                ["sector_name", "group_name", "category_name", "companies", "problems", "examples"]
            ].rename(
                columns={
                    "sector_name": "行业",
                    "group_name": "大类",
                    "category_name": "类别",
                    "companies": "企业数",
                    "problems": "问题数",
                    "examples": "示例",
                }
            ),
            hide_index=True,
            width="stretch",
        )
    st.caption(
        "相似描述：比较所选范围内最新问题的描述（按字符二元组相似度），找出多家企业反映的同一件事。"
    )
    threshold = right.slider(
        "相似度阈值",
        0.3,
        0.95,
        common.DEFAULT_THRESHOLD,
        0.05,
        key="dash_threshold",
        persist_state="page",
    )
    if st.toggle("分析相似描述", key="dash_similar", persist_state="page"):
        with st.spinner("正在比较描述…"), session.database() as db:
            groups = common.similar_groups(
                db, actor, view, min_companies=int(min_companies), threshold=float(threshold)
            )
        st.caption(f"{len(groups)} 组")
        for group in groups[:30]:
            lead = group.examples[0]
            title = f"{group.companies} 家企业 · {len(group.problem_ids)} 条：{lead[:30]}{'…' if len(lead) > 30 else ''}"
            with st.expander(md(title)):
                st.caption("涉及类别：" + "、".join(group.categories))
                for text in group.examples:
                    st.text(text)
                st.caption("问题编号：" + "、".join(f"#{i}" for i in group.problem_ids[:50]))
