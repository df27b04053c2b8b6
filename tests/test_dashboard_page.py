"""AppTest of 统计看板 and 周报: filters come from and go to the address, figures on screen equal the
domain's, the export produces a download, and the problem link opens the problem."""

from __future__ import annotations

import json
import re
import tempfile

import pytest

from survey import db as store
from survey.problems import lifecycle
from survey.reports import overview, periods, scorecard, weekly
from survey.reports.periods import Filters
from tests.helpers import actor_for, new_problems, open_page, signed_in
from ui.dashboard import format_value


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_filters_come_from_the_address_and_figures_match(demo_db):
    at = signed_in(demo_db, "supervisor")  # a bookmark opens in a new session
    at.switch_page("pages/dashboard_page.py")
    at.query_params.update({"from": "2026-01", "to": "2026-03", "sector": "EQ-POWER"})
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="dash_preset").value == "custom"
    assert at.multiselect(key="dash_sector").value == ["EQ-POWER"]
    with store.opened(demo_db) as db:
        kpis = scorecard.kpis(
            db, actor_for(db, "supervisor"), Filters("2026-01", "2026-03", sectors=("EQ-POWER",))
        )
    shown = metrics(at)
    for kpi in kpis:
        assert shown[kpi.label] == format_value(kpi.kind, kpi.value), kpi.label
    assert f"共 {kpis[0].value:,} 条" in " ".join(c.value for c in at.caption)

    at.multiselect(key="dash_area").select(
        "321181"
    ).run()  # a widget change goes back to the address
    assert at.query_params["area"] == ["321181"] or at.query_params["area"] == "321181"
    assert metrics(at)["提出问题"] != shown["提出问题"]


def test_league_lists_small_departments_apart_and_export_downloads(demo_db, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the export's file goes
    at = open_page(demo_db, "supervisor", "pages/dashboard_page.py")
    at.session_state["dash_tab"] = "部门排行"  # its widgets and tables are built only when open
    at.run()
    at.number_input(key="dash_min_volume").set_value(40).run()
    assert any("问题少于 40 件，单列" in c.value for c in at.caption)
    export = next(b for b in at.button if b.label.startswith("生成 Excel"))
    export.click().run()
    assert not at.exception, at.exception
    downloads = [d for d in at.get("download_button") if "下载 Excel" in d.proto.label]
    assert downloads, "no download offered"
    assert list(tmp_path.glob("dashboard-*.xlsx")) == []  # the workbook is not left on disk


def chart_titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["title"] for c in at.get("vega_lite_chart")]


def test_only_the_open_tab_is_built_and_the_choice_is_kept(demo_db):
    """The browser draws only the open tab's charts: the others are not sent. Another tab shows
    its own chart; the choice survives a rerun, goes to the address and comes back from it, and
    a tab's settings are kept while another is open."""
    at = open_page(demo_db, "supervisor", "pages/dashboard_page.py")
    assert len(chart_titles(at)) == 3 and "tab" not in at.query_params  # 问题分布
    at.session_state["dash_tab"] = "部门排行"
    at.run()
    assert not at.exception, at.exception
    assert chart_titles(at) == ["部门办理情况（圆越大问题越多）"]
    assert at.query_params["tab"] in ("league", ["league"])
    at.number_input(key="dash_min_volume").set_value(40).run()
    at.run()  # a rerun keeps the tab
    assert chart_titles(at) == ["部门办理情况（圆越大问题越多）"]
    assert any("问题少于 40 件，单列" in c.value for c in at.caption)

    at.session_state["dash_tab"] = "办理时效"
    at.run()
    assert [t.split("（")[0] for t in chart_titles(at)] == ["各行业答复用时分布"]
    assert not at.number_input  # 部门排行's threshold is not drawn ...
    at.session_state["dash_tab"] = "部门排行"
    at.run()
    assert at.number_input(key="dash_min_volume").value == 40  # ... but kept

    bookmarked = signed_in(demo_db, "supervisor")  # the address opens the same tab
    bookmarked.switch_page("pages/dashboard_page.py")
    bookmarked.query_params["tab"] = "visits"
    bookmarked.run()
    assert not bookmarked.exception, bookmarked.exception
    assert [t.split("（")[0] for t in chart_titles(bookmarked)] == ["走访覆盖"] * 2


def test_handler_has_no_dashboard(demo_db):
    at = open_page(demo_db, "handler", "pages/home_page.py")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/dashboard_page.py")  # not among the handler's pages


def test_weekly_report_shows_the_weeks_kpis(demo_db):
    at = open_page(demo_db, "supervisor", "pages/report_page.py")
    monday = weekly.last_full_week()
    assert at.query_params["week"] in (monday.isoformat(), [monday.isoformat()])
    with store.opened(demo_db) as db:
        week = weekly.Week(monday)
        kpis = weekly.kpis(
            db,
            actor_for(db, "supervisor"),
            week,
            Filters(monday.isoformat()[:7], week.sunday.isoformat()[:7]),
        )
    shown = metrics(at)
    for kpi in kpis:
        assert shown[kpi.label] == format_value(kpi.kind, kpi.value), kpi.label
    assert "周报" in at.title[0].value


def test_problem_opens_from_its_address(demo_db):
    at = open_page(demo_db, "supervisor", "pages/problems_page.py")
    with store.opened(demo_db) as db:
        pid = store.scalar(db, "SELECT min(id) FROM problems WHERE status = 'closed'")
    at.query_params["id"] = str(pid)
    at.run()
    assert not at.exception, at.exception
    assert any(f"问题 #{pid}" in s.value for s in at.header)


def test_an_unexpected_error_shows_a_number_that_is_in_the_log(demo_db, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(overview, "dashboard_data", broken)  # fault injection, not a storage mock
    at = signed_in(demo_db, "supervisor")
    with caplog.at_level("ERROR", logger="zhenheyi"):
        at.switch_page("pages/dashboard_page.py").run()
    assert not at.exception  # the page did not crash into a traceback
    message = at.error[0].value
    number = re.search(r"错误编号 (E-[0-9A-Z]+-[0-9A-F]{4})", message).group(1)
    records = [r for r in caplog.records if number in r.getMessage()]
    assert records and "user=supervisor" in records[0].getMessage()
    assert "disk on fire" in records[0].exc_text


def test_similar_descriptions_on_request(demo_db):
    at = open_page(demo_db, "supervisor", "pages/dashboard_page.py")
    at.session_state["dash_tab"] = "共性问题"
    at.run()
    assert not at.expander  # nothing compared until asked
    at.toggle(key="dash_similar").set_value(True).run()
    assert not at.exception, at.exception
    assert any(re.match(r"^\d+ 组$", c.value) for c in at.caption)
    assert at.expander and "家企业" in at.expander[0].label


def badges(at) -> dict[str, str]:
    """The navigation's titles with their counts, by address."""
    return {p["url_pathname"]: p["page_name"] for p in at._registered_pages.values()}


def test_a_write_shows_at_once_in_the_kpis_and_the_badges(demo_db):
    """The dashboard's figures and the menu's counts are kept between runs under the data version:
    a rerun with no write shows the same, and each write (a problem submitted, assigned, closed)
    shows on the very next run, with no timer to wait out."""
    at = open_page(demo_db, "supervisor", "pages/dashboard_page.py")
    first = metrics(at)
    at.run()
    assert metrics(at) == first

    def after(write) -> dict:
        with store.opened(demo_db) as db:
            write(db)
        at.run()
        assert not at.exception, at.exception
        return metrics(at)

    def shown(page: str) -> int:
        title = badges(at)[page]
        return int(title.rsplit(" ", 1)[1]) if title[-1].isdigit() else 0

    def waiting(sql: str) -> int:
        with store.opened(demo_db) as db:
            return store.scalar(db, f"SELECT count(*) FROM problems WHERE {sql}")

    new, replied = "status = 'new'", "status = 'replied'"
    assert shown("triage") == waiting(new)
    submitted = after(lambda db: new_problems(db, waiting(new) + 1))  # an officer's visit
    assert submitted["提出问题"] != first["提出问题"]
    assert shown("triage") == waiting(new)

    def assign(db):
        department = store.scalar(db, "SELECT code FROM departments WHERE active = 1 LIMIT 1")
        problem = new_problems(db, 1)[0]
        lifecycle.assign(db, actor_for(db, "supervisor"), problem, department, "standard")

    before = shown("triage")
    after(assign)
    assert shown("triage") == before - 1 == waiting(new)

    def close(db):
        problem = store.scalar(
            db, f"SELECT id FROM problems WHERE {replied} ORDER BY raised_month DESC LIMIT 1"
        )
        assert lifecycle.callback(db, actor_for(db, "supervisor"), problem, 5, True) == "closed"

    before, rate = shown("followup"), metrics(at)["办结率"]
    closed = after(close)
    assert closed["办结率"] != rate
    assert shown("followup") == before - 1


@pytest.mark.store_independent  # SQLite's trace callback counts the statements
def test_a_render_keeps_to_28_statements_and_150_kb_of_chart_data(demo_db):
    """The budget of one dashboard render when nothing is kept yet (the first after a write), as
    `python -m bench dashboard` counts it at a million problems: at most 28 distinct statements
    for the page's data and 共性问题, and at most 150 KB of chart data sent."""
    from survey.reports import common

    with store.opened(demo_db) as db:
        actor = actor_for(db, "supervisor")
        end = store.scalar(db, "SELECT max(raised_month) FROM problems")
        view = Filters(periods.month_add(end, -11), end)
        statements: list[str] = []
        db.conn.set_trace_callback(statements.append)
        data = overview.dashboard_data(db, actor, view)
        common.common_categories(db, actor, view, counts=data["cells"])
        db.conn.set_trace_callback(None)
    selects = {s for s in statements if s.lstrip().upper().startswith("SELECT")}
    assert len(selects) <= 28, len(selects)

    # Only the open tab's charts are sent: all five tabs' seven charts together stay within it.
    at = open_page(demo_db, "supervisor", "pages/dashboard_page.py")
    charts = []
    for tab in ("问题分布", "办理时效", "部门排行", "走访覆盖", "共性问题"):
        at.session_state["dash_tab"] = tab
        at.run()
        charts += at.get("vega_lite_chart")
    sent = sum(len(c.proto.spec) + sum(len(d.data.data) for d in c.proto.datasets) for c in charts)
    assert len(charts) == 7 and sent <= 150_000, (len(charts), sent)


def test_side_by_side_runs_the_reads_at_once_and_raises_a_failure(demo_db):
    """周报's reads run at once (ui.session.side_by_side): three reads meet at a barrier, which
    only happens when they run at the same time, each on its own connection; a failing read's
    error reaches the page."""
    import threading

    from ui import session

    meeting = threading.Barrier(3)

    def read(db):
        meeting.wait(timeout=60)
        return store.scalar(db, "SELECT count(*) FROM problems"), id(db)

    found = session.side_by_side({"a": read, "b": read, "c": read})
    with store.opened(demo_db) as db:
        total = store.scalar(db, "SELECT count(*) FROM problems")
    assert {name: n for name, (n, _) in found.items()} == {"a": total, "b": total, "c": total}
    assert len({connection for _, connection in found.values()}) == 3

    def broken(db):
        raise ValueError("读取失败")

    with pytest.raises(ValueError, match="读取失败"):
        session.side_by_side({"a": lambda db: 1, "b": broken})
