"""Dashboard figures: the summary tables stay equal to a fresh count, every KPI equals the same figure
computed the naive way in pandas (whole view and filtered), common problems, the weekly report and
the .xlsx export whose totals equal the KPIs."""

from __future__ import annotations

import io
import re
import statistics
from datetime import date, timedelta

import pandas as pd
import pytest
from openpyxl import load_workbook

from survey import clock, visits
from survey import db as store
from survey.errors import ValidationError
from survey.problems import lifecycle, register
from survey.reports import (
    aggregates,
    charts,
    common,
    cubes,
    exports,
    overview,
    periods,
    scorecard,
    weekly,
)
from survey.reports.periods import Filters
from tests.helpers import SEED_TODAY, actor_for, payload

VIEW = Filters("2025-07", "2026-06")


def naive_kpis(db, first_day: str, last_day: str, today: date, where=None) -> dict:
    """The KPIs from every problem row in pandas: the definition the summary tables must match."""
    frame = pd.DataFrame(
        store.query(
            db, "SELECT * FROM problems WHERE raised_on BETWEEN ? AND ?", (first_day, last_day)
        )
    )
    if where is not None:
        frame = frame[where(frame)]
    replied = frame["replied_at"].notna()
    due = replied & frame["deadline_on"].notna()
    on_time = due & (frame["replied_at"].str[:10] <= frame["deadline_on"])
    overdue = int(
        (
            frame["status"].isin(["assigned", "in_progress"])
            & (frame["deadline_on"] < today.isoformat())
        ).sum()
    )
    bad = register.bad_review_levels(db)
    called = frame["satisfaction_level"].notna().sum()
    days = frame.loc[replied, "reply_working_days"].dropna().clip(upper=cubes.MAX_EXACT_DAYS + 1)
    assigned = (frame["status"] != "new").sum()
    return {
        "raised": len(frame),
        "closed_rate": (frame["status"] == "closed").mean() if len(frame) else None,
        "on_time_rate": on_time.sum() / (due.sum() + overdue) if due.sum() + overdue else None,
        "median_days": float(statistics.median(days)) if len(days) else None,
        "satisfaction_rate": 1 - frame["satisfaction_level"].isin(bad).sum() / called
        if called
        else None,
        "overdue": overdue,
        "return_rate": (frame["return_count"] > 0).sum() / assigned if assigned else None,
        "reopen_rate": (frame["reopen_count"] > 0).sum() / called if called else None,
    }


def assert_same(ours: dict, theirs: dict) -> None:
    for key, value in theirs.items():
        if value is None:
            assert ours[key] is None, key
        else:
            assert ours[key] == pytest.approx(value), key


FILTERED = {
    "area": (
        {"areas": ("321181",)},
        lambda f: f["district_code"] == "321181",
    ),
    "sector+category": (
        {"sectors": ("EQ-POWER", "TR-EYE"), "categories": ("A1", "E2", "C2")},
        lambda f: (
            f["sector_code"].isin(["EQ-POWER", "TR-EYE"])
            & f["category_code"].isin(["A1", "E2", "C2"])
        ),
    ),
    "department+source": (
        {"departments": ("GXJ", "FGW"), "sources": ("visit",)},
        lambda f: f["lead_department_code"].isin(["GXJ", "FGW"]) & (f["source"] == "visit"),
    ),
    "no sector (monitor leads)": ({"sectors": ("",)}, lambda f: f["sector_code"].isna()),
}


def test_kpis_equal_a_naive_count_of_every_problem(db):
    supervisor = actor_for(db, "supervisor")
    kpis = {k.key: k for k in scorecard.kpis(db, supervisor, VIEW, today=SEED_TODAY)}
    assert kpis["raised"].value > 300
    assert_same(
        {k: v.value for k, v in kpis.items()},
        naive_kpis(db, VIEW.first_day, VIEW.last_day, SEED_TODAY),
    )
    previous = VIEW.previous()
    assert (previous.start, previous.end) == ("2024-07", "2025-06")
    assert_same(
        {k: v.previous for k, v in kpis.items()},
        naive_kpis(db, previous.first_day, previous.last_day, SEED_TODAY),
    )


@pytest.mark.parametrize("case", FILTERED)
def test_filtered_kpis_read_the_right_cube_and_still_match(db, case):
    values, where = FILTERED[case]
    view = VIEW.narrowed(**values)
    kpis = {
        k.key: k.value
        for k in scorecard.kpis(db, actor_for(db, "supervisor"), view, today=SEED_TODAY)
    }
    expected = naive_kpis(db, view.first_day, view.last_day, SEED_TODAY, where)
    assert expected["raised"] > 0
    assert_same(kpis, expected)


def test_the_smallest_cube_holding_the_dimensions_is_read():
    assert cubes.cube_for({"month", "sector", "category"}).table == "cube_sector"
    assert cubes.cube_for({"month", "department"}).table == "cube_department"
    assert cubes.cube_for({"month", "area", "sector"}).table == "cube_area"


def test_cubes_follow_every_kind_of_write(db):
    """Visit submit, edit, withdrawal, assignment, reply, callback: the triggers keep the sums exact."""
    officer, supervisor = actor_for(db, "officer"), actor_for(db, "supervisor")
    handler = actor_for(db, "handler")
    mistaken = visits.submit_visit(db, officer, "cube-0", payload(db, officer))
    visits.withdraw_problem(db, officer, mistaken.problem_ids[0], "重复登记")
    first = visits.submit_visit(db, officer, "cube-1", payload(db, officer)).problem_ids[0]
    lifecycle.assign(db, supervisor, first, handler.department_code, "short")
    lifecycle.accept(db, handler, first)
    lifecycle.reply(db, handler, first, "resolved", "已协调供地部门落实用地指标。")
    lifecycle.callback(db, supervisor, first, 1, False)  # a bad review reopens it
    assert cubes.mismatches(db) == []
    with store.transaction(db):
        db.execute("DELETE FROM messages WHERE problem_id = ?", (first,))
        db.execute("DELETE FROM problem_events WHERE problem_id = ?", (first,))
        db.execute("DELETE FROM problems WHERE id = ?", (first,))
    assert cubes.mismatches(db) == []


def test_median_days_matches_statistics_median():
    for values in ([3], [1, 2], [0, 0, 5, 9], [2, 2, 2, 40, 40], list(range(31))):
        sums = {bucket: 0 for bucket in cubes.DAY_BUCKETS}
        for v in values:
            sums[cubes.DAY_BUCKETS[min(v, cubes.MAX_EXACT_DAYS + 1)]] += 1
        expected = statistics.median([min(v, cubes.MAX_EXACT_DAYS + 1) for v in values])
        assert scorecard.median_days(sums) == expected
    assert scorecard.median_days({}) is None


def test_period_validation_names_the_field():
    with pytest.raises(ValidationError, match="起始月份应为 YYYY-MM"):
        Filters("2026-1", "2026-06")
    with pytest.raises(ValidationError, match="结束月份的月份应在 01–12"):
        Filters("2026-01", "2026-13")
    with pytest.raises(ValidationError, match="起始月份不能晚于结束月份"):
        Filters("2026-06", "2026-01")
    assert periods.month_add("2026-01", -1) == "2025-12"
    assert Filters("2026-01", "2026-03").previous() == Filters("2025-10", "2025-12")


def test_chart_frames_are_small_and_consistent(db):
    supervisor = actor_for(db, "supervisor")
    data = overview.dashboard_data(db, supervisor, VIEW, today=SEED_TODAY)
    raised = data["kpis"][0].value
    assert data["cells"]["n"].sum() == raised
    assert data["months"]["n"].sum() == raised
    assert (
        data["departments"]["volume"].sum()
        + (
            store.scalar(
                db,
                "SELECT count(*) FROM problems WHERE lead_department_code IS NULL"
                " AND raised_on BETWEEN ? AND ?",
                (VIEW.first_day, VIEW.last_day),
            )
        )
        == raised
    )
    assert (data["top"].groupby("sector_name").size() <= 5).all()
    cover = data["cover_sector"]
    assert cover["companies"].sum() == store.scalar(
        db, "SELECT count(*) FROM companies WHERE active = 1"
    )
    for name, chart in (
        ("cell", charts.heatmap(data["cells"])),
        ("month", charts.monthly(data["months"])),
        ("dept", charts.league(data["departments"])),
        ("coversector", charts.coverage(cover, "sector")),
    ):
        spec = chart.to_dict()
        assert name in {p["name"] for p in spec.get("params", [])}


def test_a_chart_click_becomes_a_filter():
    picked = charts.selection_filters(
        {"cell": [{"sector": "EQ-POWER", "category": "A1"}], "month": [{"month": "2026-03"}]}
    )
    assert picked == {"sectors": ("EQ-POWER",), "categories": ("A1",), "months": ("2026-03",)}


def test_charts_export_as_png_and_svg(db):
    data = overview.dashboard_data(db, actor_for(db, "supervisor"), VIEW, today=SEED_TODAY)
    spec = charts.monthly(data["months"]).to_dict()
    assert charts.to_image(spec, "png")[:8] == b"\x89PNG\r\n\x1a\n"
    svg = charts.to_image(spec, "svg")
    assert svg.lstrip().startswith("<svg") and "每月问题数" in svg


def test_common_categories_count_distinct_companies_across_years(db):
    supervisor = actor_for(db, "supervisor")
    view = Filters("2025-11", "2026-02")  # spans two calendar years
    frame = common.common_categories(db, supervisor, view, min_companies=2)
    raw = pd.DataFrame(
        store.query(
            db,
            "SELECT coalesce(sector_code, '') AS sector, category_code AS category, company_id"
            " FROM problems WHERE raised_month BETWEEN ? AND ? AND company_id IS NOT NULL",
            (view.start, view.end),
        )
    )
    expected = raw.groupby(["sector", "category"])["company_id"].nunique()
    expected = expected[expected >= 2].sort_values(ascending=False)
    assert len(frame) == min(len(expected), 100) > 0
    got = frame.set_index(["sector", "category"])["companies"]
    assert got.to_dict() == expected.loc[got.index].to_dict()
    # the most widespread first, then by sector and sub-category: the first 100 of that order
    order = (
        expected.rename("companies")
        .reset_index()
        .sort_values(["companies", "sector", "category"], ascending=[False, True, True])
        .head(100)
    )
    assert list(zip(frame["sector"], frame["category"], strict=True)) == list(
        zip(order["sector"], order["category"], strict=True)
    )
    assert frame["examples"].iloc[0]


def test_similar_descriptions_across_companies_are_grouped(db):
    officer, supervisor = actor_for(db, "officer"), actor_for(db, "supervisor")
    company_ids = [
        r[0]
        for r in db.conn.execute(
            "SELECT id FROM companies WHERE department_code = ? ORDER BY id LIMIT 4",
            (officer.department_code,),
        )
    ]
    planted = [
        "园区污水处理厂扩容迟迟未批，企业新增产能的排污指标无法落地，已等待{n}个月。",
        "企业反映园区污水处理厂扩容迟迟未批复，新增产能排污指标落不了地，等了{n}个月",
        "园区污水处理厂扩容一直未批，企业新增产能所需排污指标无法落地（已{n}个月）。",
        "污水处理厂扩容迟迟未批，企业新增产能的排污指标无法落地，已等待{n}个月，请协调。",
    ]
    for i, (company, text) in enumerate(zip(company_ids, planted, strict=True)):
        body = payload(db, officer, company_id=company)
        body["problems"] = [dict(body["problems"][0], description=text.format(n=3 + i))]
        visits.submit_visit(db, officer, f"similar-{i}", body)
    groups = common.similar_groups(
        db, supervisor, Filters("2025-07", clock.today().isoformat()[:7]), min_companies=3
    )
    found = [g for g in groups if any("污水处理厂扩容" in e for e in g.examples)]
    # the three close wordings group together; the loosest paraphrase (0.54 to the leader) may not
    assert len(found) == 1 and found[0].companies >= 3
    assert all("污水" in t for t in found[0].examples)
    assert common.bigrams("缺少操作工约46人") == common.bigrams("缺少操作工约12人")


def test_weekly_kpis_equal_a_naive_count(db):
    supervisor = actor_for(db, "supervisor")
    week = weekly.Week(weekly.week_of(SEED_TODAY) - timedelta(days=14))
    city = Filters("2026-05", "2026-06")
    values = {k.key: k.value for k in weekly.kpis(db, supervisor, week, city, today=SEED_TODAY)}
    first, last = week.bounds()
    assert_same(values, naive_kpis(db, first, last, SEED_TODAY))
    assert values["raised"] > 0
    trend = weekly.trend(db, supervisor, week, city)
    assert len(trend) == weekly.TREND_WEEKS and trend["n"].iloc[-1] == values["raised"]
    by_sector = weekly.by_sector(db, supervisor, week, city)
    assert by_sector["n"].sum() == values["raised"]
    naive = pd.DataFrame(
        store.query(
            db,
            "SELECT coalesce(s.name, '（未指明行业）') AS sector_name,"
            " coalesce(g.name, c.name) AS group_name, count(*) AS n FROM problems p"
            " JOIN problem_categories c ON c.code = p.category_code"
            " LEFT JOIN problem_categories g ON g.code = c.parent"
            " LEFT JOIN sectors s ON s.code = p.sector_code"
            " WHERE p.raised_on BETWEEN ? AND ? GROUP BY 1, 2",
            [first, last],
        )
    )
    columns = ["sector_name", "group_name"]
    pd.testing.assert_frame_equal(
        by_sector.sort_values(columns, ignore_index=True),
        naive.sort_values(columns, ignore_index=True),
        check_dtype=False,
    )


DAY_VIEWS = {
    "all": {},
    "sectors": {"sectors": ("EQ-POWER", "TR-EYE")},
    "departments and none": {"departments": ("GXJ", "")},
    "categories": {"categories": ("A1", "B1")},
    "an area (in no day cube: read from problems)": {"areas": ("321181", "321102")},
}


GROUPINGS = [
    ("raised", ()),
    ("raised", ("day",)),
    ("raised", ("sector",)),
    ("raised", ("department",)),
    ("raised", ("sector", "category")),
    ("replied", ()),
    ("replied", ("day",)),
    ("replied", ("department",)),
]


@pytest.mark.parametrize("view", DAY_VIEWS)
@pytest.mark.parametrize(("days_of", "group_by"), GROUPINGS)
def test_the_day_cubes_sum_what_the_problems_sum(db, view, days_of, group_by):
    """周报 reads its days from the day cubes (m029, m031: by day raised; m030: by day of the latest
    reply); every measure, grouped or not, filtered or not, equals the same sums taken from
    `problems` row by row."""
    supervisor = actor_for(db, "supervisor")
    week = weekly.Week(weekly.week_of(SEED_TODAY) - timedelta(days=35))
    first, last = week.monday.isoformat(), (week.sunday + timedelta(days=14)).isoformat()
    filters = Filters("2026-05", "2026-06").narrowed(**DAY_VIEWS[view])
    measures = tuple(cubes.MEASURES)

    def sums(raw: bool) -> pd.DataFrame:
        found = aggregates.day_sums(
            db,
            supervisor,
            first,
            last,
            filters,
            group_by,
            measures=measures,
            days_of=days_of,
            raw=raw,
        )
        return found.sort_values(list(group_by) or ["n"], ignore_index=True)

    found = sums(raw=False)
    assert found["n"].sum() > 0
    if "day" in group_by:  # the day of its kind: raised, or replied, within the range
        assert found["day"].between(first, last).all()
    pd.testing.assert_frame_equal(found, sums(raw=True))


def test_the_weekly_departments_equal_a_naive_count(db):
    """周报's 部门办理: raised in the week, replied in the week (on time: by the deadline or with
    none), overdue today, per lead department, as pandas counts them from every problem."""
    supervisor = actor_for(db, "supervisor")
    today = clock.today().isoformat()
    week = weekly.Week(weekly.week_of(SEED_TODAY) - timedelta(days=14))
    first, last = week.bounds()
    frame = pd.DataFrame(store.query(db, "SELECT * FROM problems"))
    frame = frame[frame["lead_department_code"].notna()]
    replied_on = frame["replied_at"].str[:10]
    replied = frame[(replied_on >= first) & (replied_on <= last)]
    held = frame["status"].isin(["assigned", "in_progress"]) & (frame["deadline_on"] < today)
    expected = (
        pd.DataFrame(
            {
                "raised": frame[frame["raised_on"].between(first, last)]
                .groupby("lead_department_code")
                .size(),
                "replied": replied.groupby("lead_department_code").size(),
                "on_time": replied[
                    replied["replied_at"].str[:10] <= replied["deadline_on"].fillna("9999")
                ]
                .groupby("lead_department_code")
                .size(),
                "overdue": frame[held].groupby("lead_department_code").size(),
            }
        )
        .fillna(0)
        .astype("int64")
    )
    found = weekly.departments(db, supervisor, week, Filters("2026-05", "2026-06"))
    found = found.set_index("department")[["raised", "replied", "on_time", "overdue"]]
    assert found["replied"].sum() > 0 and found["raised"].sum() > 0
    pd.testing.assert_frame_equal(
        found.sort_index(), expected.sort_index(), check_names=False, check_like=True
    )


def test_the_day_cube_migrations_fill_a_store_made_before_them(db, monkeypatch):
    """m029 to m031 on a store whose cubes and triggers predate the day cubes (a million problems
    in production): they make the tables, fill them from the problems, and the triggers they put
    back keep them exact through the next writes."""
    from survey import schema
    from survey.migrations import migrations

    new = (cubes.DAY_CUBE, cubes.DAY_CATEGORY_CUBE, cubes.REPLY_DAY_CUBE)
    before = tuple(c for c in cubes.CUBES if c not in new)
    added = ["m029_day_cube", "m030_reply_day_cube", "m031_day_category_cube"]
    with store.transaction(db):
        for name in cubes.TRIGGERS:
            db.execute(f"DROP TRIGGER IF EXISTS {name}{cubes._on_problems(db)}")
        for cube in new:
            db.execute(f"DROP TABLE {cube.table}")
        monkeypatch.setattr(cubes, "CUBES", before)
        for statement in cubes._trigger_sql(db):  # the triggers as the code before m029 made them
            db.execute(statement)
        for name in added:
            db.execute(f"DELETE FROM {migrations.migrations_table} WHERE name = ?", [name])
    monkeypatch.undo()
    officer, supervisor = actor_for(db, "officer"), actor_for(db, "supervisor")
    visits.submit_visit(db, officer, "before-m029", payload(db, officer))
    assert not {c.table for c in new} & store.table_names(db)
    assert schema.migrate(db) == added

    def counted(table: str, where: str = "1 = 1") -> int:
        return store.scalar(db, f"SELECT coalesce(sum(n), 0) FROM {table} WHERE {where}")

    def problems(where: str = "1 = 1") -> int:
        return store.scalar(db, f"SELECT count(*) FROM problems WHERE {where}")

    assert counted("cube_day") == counted("cube_day_category") == problems()
    assert cubes.mismatches(db) == []
    assert counted("cube_reply_day", "reply_day <> ''") == problems("replied_at IS NOT NULL") > 0
    first = visits.submit_visit(db, officer, "after-m029", payload(db, officer)).problem_ids[0]
    handler = actor_for(db, "handler")
    lifecycle.assign(db, supervisor, first, handler.department_code, "short")
    lifecycle.accept(db, handler, first)
    replies = problems("replied_at IS NOT NULL")
    lifecycle.reply(db, handler, first, "resolved", "已协调供地部门落实用地指标。")
    assert counted("cube_day") == counted("cube_day_category") == problems()
    assert counted("cube_reply_day", "reply_day <> ''") == replies + 1
    assert cubes.mismatches(db) == []


def test_export_opens_in_openpyxl_and_its_totals_equal_the_kpis(db):
    supervisor = actor_for(db, "supervisor")
    view = VIEW.narrowed(sectors=("EQ-POWER", "TR-EYE"))
    target = io.BytesIO()
    seen = []
    result = exports.write_dashboard(
        db, supervisor, view, target, today=SEED_TODAY, progress=lambda f, text: seen.append(f)
    )
    kpis = {k.label: k for k in scorecard.kpis(db, supervisor, view, today=SEED_TODAY)}
    book = load_workbook(io.BytesIO(target.getvalue()), read_only=True)
    assert book.sheetnames == ["汇总", *exports.TABLE_SHEETS, "问题清单"]
    summary = {row[0]: row for row in book["汇总"].iter_rows(values_only=True) if row[0] in kpis}
    assert len(summary) == len(kpis)
    for label, kpi in kpis.items():
        assert summary[label][1] == pytest.approx(kpi.value), label
    rows = list(book["问题清单"].iter_rows(values_only=True))
    assert len(rows) - 1 == kpis["提出问题"].value == result["problems"]
    assert {r[3] for r in rows[1:]} == {"新型电力装备/智能电气", "眼镜"}
    heat = list(book["行业×类别"].iter_rows(values_only=True))[1:]
    assert sum(r[3] for r in heat) == kpis["提出问题"].value
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert store.scalar(db, "SELECT count(*) FROM audit_log WHERE note LIKE '导出统计看板%'") == 1


def test_chart_labels_read_as_people_write_them(db):
    """部门办理情况's labels: whole percents, and 当前逾期 (a count of problems) in distinct whole
    numbers (it read 0.0, 0.2 … 1.0 where the most overdue department had one; in Streamlit's
    Vega a bare "%" format showed 100.000000% where every department had the same rate)."""
    data = overview.dashboard_data(db, actor_for(db, "supervisor"), VIEW, today=SEED_TODAY)
    spec = charts.league(data["departments"]).to_dict()
    encoding = spec["encoding"]
    assert encoding["x"]["axis"]["format"] == encoding["y"]["axis"]["format"] == ".0%"
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", charts.to_image(spec, "svg"))
    legend = labels[labels.index("满意率") + 1 : labels.index("当前逾期")]
    assert legend and all(t.isdigit() for t in legend) and len(set(legend)) == len(legend), legend
