"""The year's action plan: importing the task list as plans are published (all or nothing, every bad
row listed, department names mapped and learnt, a second import updating by number), tasks in
each department's scope, monthly reports by the cut-off (late, not refused), their review, and
each task's state."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
import xlsxwriter

from survey import db as store
from survey import reference, spreadsheets, workdays
from survey.attachments import add_photo
from survey.errors import NotFoundError, PermissionDeniedError, ValidationError
from survey.notify import messages
from survey.plans import aliases, deadlines, importing, overview, reports, tasks
from tests.fixtures import plan_files
from tests.helpers import actor_for, open_page, signed_in

YEAR = 2025  # the demo database already holds its own 2026 plan
HEADERS = ["序号", "重点任务", "目标要求", "牵头单位", "配合单位", "完成时限"]
ROWS = [
    [
        "1",
        "推行企业开办“一日办结”",
        "全流程1个工作日内办结",
        "市行政审批局",
        "市市场监管局、市税务局",
        "2025年6月底",
    ],
    [
        "2",
        "开展惠企政策“免申即享”",
        "兑现资金 5 亿元以上",
        "市发展和改革委员会",
        "市财政局",
        "2025-12-31",
    ],
    ["3", "降低企业用电成本", "组织企业参与电力市场化交易", "市工业和信息化局", "", "年底"],
    [
        "4",
        "破解企业融资难题",
        "新增普惠小微贷款 100 亿元",
        "市地方金融管理局",
        "市工业和信息化局",
        "9月底",
    ],
]


def xlsx(headers: list[str], rows: list[list]) -> tuple[list[str], list[list]]:
    """Write and read back a real workbook, as the upload would."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet()
    for r, row in enumerate([headers, *rows]):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()
    headers, body = spreadsheets.read_table(buffer.getvalue(), "任务清单.xlsx")
    return headers, body


def task_of(db, number: str) -> int:
    return store.scalar(
        db,
        "SELECT t.id FROM plan_tasks t JOIN plans p ON p.id = t.plan_id"
        " WHERE p.year = ? AND t.number = ?",
        (YEAR, number),
    )


def plan_size(db) -> int:
    return store.scalar(
        db,
        "SELECT count(*) FROM plan_tasks t JOIN plans p ON p.id = t.plan_id WHERE p.year = ?",
        (YEAR,),
    )


def names(db) -> dict[str, str]:
    return dict(db.conn.execute("SELECT name, code FROM departments").fetchall())


# The names ROWS uses that differ from the list, and the department a supervisor picks for each
PICKED = {
    "市市场监管局": "市市场监督管理局",
    "市税务局": "国家税务总局镇江市税务局",
    "市发展和改革委员会": "市发展改革委",
    "市地方金融管理局": "市委金融办",  # renamed in 2024: no name is close, the supervisor knows
}


def imported(db, rows=ROWS):
    """The plan imported, mapping the names that differ as a supervisor would."""
    supervisor = actor_for(db, "supervisor")
    headers, body = xlsx(HEADERS, rows)
    mapping = {name: names(db)[department] for name, department in PICKED.items()}
    return importing.import_plan(db, supervisor, YEAR, headers, body, mapping)


def test_names_that_differ_are_a_step_then_learnt(db):
    supervisor = actor_for(db, "supervisor")
    headers, body = xlsx(HEADERS, ROWS)
    check = importing.check_plan(db, YEAR, headers, body)
    assert check.problems == [] and len(check.records) == 4  # nothing wrong with the file
    assert {n: (u.suggestion, u.rows) for n, u in check.unknown.items()} == {
        "市市场监管局": ("市市场监督管理局", [2]),
        "市税务局": ("国家税务总局镇江市税务局", [2]),
        "市发展和改革委员会": ("市发展改革委", [3]),
        "市地方金融管理局": (None, [5]),  # nothing close: not pre-filled with a wrong guess
    }
    with pytest.raises(importing.NamesToMapError) as asked:
        importing.import_plan(db, supervisor, YEAR, headers, body)
    assert "还有 4 个部门名称没有对应" in str(asked.value)
    assert plan_size(db) == 0
    done = imported(db)
    assert (done.inserted, done.updated, done.unchanged, done.skipped) == (4, 0, 0, ())
    learnt = [a for a in aliases.list_aliases(db, supervisor) if a["alias"] in PICKED]
    assert {a["alias"]: a["department"] for a in learnt} == PICKED
    assert {a["learnt_by"] for a in learnt} == {supervisor.display_name}
    again = importing.import_plan(db, supervisor, YEAR, headers, body)  # learnt: no mapping
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    changed = [row[:] for row in ROWS]
    changed[2][2] = "组织 300 家企业参与电力市场化交易"
    headers, body = xlsx(HEADERS, changed)
    third = importing.import_plan(db, supervisor, YEAR, headers, body)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 3)
    assert plan_size(db) == 4  # updated, not duplicated
    first = store.scalar(db, "SELECT due_on FROM plan_tasks WHERE id = ?", (task_of(db, "1"),))
    assert first == "2025-06-30"


def test_only_real_errors_stop_the_import_each_named_by_its_file_row(db):
    supervisor = actor_for(db, "supervisor")
    headers, body = xlsx(HEADERS[:3] + HEADERS[4:], [r[:3] + r[4:] for r in ROWS])
    with pytest.raises(importing.PlanRejectedError) as refused:
        importing.import_plan(db, supervisor, YEAR, headers, body)
    assert refused.value.problems == [{"行号": 1, "列": "牵头单位", "问题": "表头缺少这一列"}]
    bad = [
        ["1", "推行企业开办“一日办结”", "", "市行政审批局", "", "2026-06-30"],
        ["1", "重复的序号", "", "市工业和信息化局", "", "2026-06-30"],
        ["5", "未知部门", "", "市宇宙管理局", "", "2026-06-30"],
        ["6", "日期不对", "", "市工业和信息化局", "", "尽快"],
        ["7", "", "", "市工业和信息化局", "", "2026-02-30"],
    ]
    headers, body = xlsx(HEADERS, bad)
    with pytest.raises(importing.PlanRejectedError) as refused:
        importing.import_plan(db, supervisor, YEAR, headers, body)
    found = [(p["行号"], p["列"]) for p in refused.value.problems]
    assert found == [(3, "序号"), (5, "完成时限"), (6, "重点任务"), (6, "完成时限")]
    assert "第 3、5、6 行" in str(refused.value)
    check = importing.check_plan(db, YEAR, headers, body)
    assert check.unknown["市宇宙管理局"].rows == [4]  # a step, not an error
    assert check.unknown["市宇宙管理局"].suggestion is None
    assert plan_size(db) == 0
    assert store.scalar(db, "SELECT count(*) FROM plans WHERE year = ?", (YEAR,)) == 0
    with pytest.raises(PermissionDeniedError):
        importing.import_plan(db, actor_for(db, "handler"), YEAR, headers, body)


def test_a_name_not_in_the_list_needs_a_department_and_is_not_learnt(db):
    supervisor, admin = actor_for(db, "supervisor"), actor_for(db, "admin")
    rows = [*ROWS, ["5", "建设新区企业服务中心", "", "镇江新区管委会", "市商务局", "2025年底"]]
    headers, body = xlsx(HEADERS, rows)
    mapping = {name: names(db)[department] for name, department in PICKED.items()}
    check = importing.check_plan(db, YEAR, headers, body, mapping)
    assert list(check.unknown) == ["镇江新区管委会"]
    assert check.unknown["镇江新区管委会"].suggestion is None
    with pytest.raises(importing.DepartmentsMissingError) as stopped:
        importing.import_plan(
            db, supervisor, YEAR, headers, body, mapping, not_listed=["镇江新区管委会"]
        )
    assert stopped.value.rows == {6: ["镇江新区管委会"]}
    assert "第 6 行" in str(stopped.value) and "参考列表" in str(stopped.value)
    assert plan_size(db) == 0  # never half written unless asked
    done = importing.import_plan(
        db,
        supervisor,
        YEAR,
        headers,
        body,
        {**mapping, "镇江新区管委会": "SWJ"},  # a stale pick does not count: it is not listed
        not_listed=["镇江新区管委会"],
        skip_not_listed=True,
    )
    assert (done.inserted, done.skipped) == (4, (6,))
    learnt = {a["alias"] for a in aliases.list_aliases(db, supervisor)}
    assert set(PICKED) <= learnt and "镇江新区管委会" not in learnt
    reference.add_entry(db, admin, "departments", {"code": "XQ", "name": "镇江新区管委会"})
    later = importing.import_plan(db, supervisor, YEAR, headers, body)  # the same file again
    assert (later.inserted, later.unchanged, later.skipped) == (1, 4, ())
    imports = [
        json.loads(r[0])
        for r in db.conn.execute(
            "SELECT after FROM audit_log WHERE table_name = 'plan_tasks' AND action = 'import'"
            " ORDER BY id"
        )
    ]
    assert [(i["skipped_rows"], i["inserted"]) for i in imports if i["year"] == YEAR] == [
        ([6], 4),
        ([], 1),
    ]


@pytest.mark.store_independent
def test_a_department_is_suggested_only_when_the_name_is_close():
    with open(reference.REFERENCE_DIR / "departments.csv", encoding="utf-8") as f:
        zhenjiang = [row["name"] for row in csv.DictReader(f)]
    close = {
        "市住建局": "市住房和城乡建设局",
        "市发改委": "市发展改革委",
        "市发展和改革委员会": "市发展改革委",
        "市人社局": "市人力资源和社会保障局",
        "市资规局": "市自然资源和规划局",
        "市工信局": "市工业和信息化局",
        "市市场监管局": "市市场监督管理局",
        "市场监管局": "市市场监督管理局",
        "市审批局": "市行政审批局",
        "市税务局": "国家税务总局镇江市税务局",
        "镇江供电公司": "国网镇江供电公司",
        "人民银行镇江分行": "人民银行镇江市分行",
        "市金融办": "市委金融办",
    }
    for name, department in close.items():
        assert aliases.suggest(name, zhenjiang) == department, name
    far = ["镇江新区管委会", "各辖市区政府", "市公安局", "市水务局", "市城管局", "市卫健委"]
    far += ["市政务办", "市国资委", "市医保局", "市统计局", "市地方金融管理局", "镇江经开区管委会"]
    for name in far:
        assert aliases.suggest(name, zhenjiang) is None, name


@pytest.mark.store_independent
@pytest.mark.parametrize(
    ("written", "due"),
    [
        ("2026年6月底", "2026-06-30"),
        ("2026年6月底前完成", "2026-06-30"),
        ("6月底", "2026-06-30"),
        ("2026年底", "2026-12-31"),
        ("年底", "2026-12-31"),
        ("2026年12月", "2026-12-31"),
        ("2026.9", "2026-09-30"),
        ("2026/3/31", "2026-03-31"),
        ("三季度", "2026-09-30"),
        ("2026年上半年", "2026-06-30"),
        ("2026年3月至6月", "2026-06-30"),
        (46203, "2026-06-30"),  # an Excel date serial
        (date(2026, 5, 31), "2026-05-31"),
        ("长期坚持", None),
        ("持续推进", None),
    ],
)
def test_due_dates_as_plans_write_them(written, due):
    parsed = deadlines.parse_due(written, 2026)
    assert (parsed.isoformat() if parsed else None) == due


@pytest.mark.store_independent
@pytest.mark.parametrize("written", ["尽快", "", None, "2026-02-30", "13月底"])
def test_a_due_date_that_is_not_a_date_is_an_error(written):
    with pytest.raises(ValueError):
        deadlines.parse_due(written, 2026)


def test_departments_see_their_own_tasks(db):
    imported(db)
    everyone = tasks.list_tasks(db, actor_for(db, "supervisor"), YEAR)
    assert len(everyone) == 4
    gxj = tasks.list_tasks(db, actor_for(db, "handler"), YEAR)  # leads 3, works on 4
    assert [t["number"] for t in gxj] == ["3", "4"]
    other = task_of(db, "1")
    with pytest.raises(NotFoundError):
        tasks.get_task(db, actor_for(db, "handler"), other)
    with pytest.raises(PermissionDeniedError):
        tasks.list_tasks(db, actor_for(db, "officer"), YEAR)


def test_the_cutoff_moves_back_to_a_working_day():
    for month in ("2026-01", "2025-04", "2026-10", "2027-01"):
        day = reports.cutoff(month, 25)
        assert workdays.is_workday(day) and day.isoformat()[:7] == month and day.day <= 25
        skipped = range(day.day + 1, 26)
        assert not any(workdays.is_workday(date(day.year, day.month, d)) for d in skipped)
    assert reports.cutoff("2026-02", 31).month == 2  # the month's last working day


def test_reports_are_late_not_refused_then_reviewed(db):
    imported(db)
    handler, supervisor = actor_for(db, "handler"), actor_for(db, "supervisor")
    task = task_of(db, "3")
    helper = task_of(db, "4")  # GXJ only helps
    with pytest.raises(PermissionDeniedError):
        reports.submit(db, handler, helper, "2025-05", done_text="配合", percent=10)
    on_time = date(2025, 5, 20)
    first = reports.submit(
        db, handler, task, "2025-05", done_text="组织 120 家企业入市", percent=40, today=on_time
    )
    late = reports.submit(
        db, handler, task, "2025-04", done_text="补报", percent=20, today=on_time
    )  # April's cut-off has passed: accepted, marked late
    rows = {r["month"]: r for r in reports.reports_of(db, handler, task)}
    assert rows["2025-05"]["late"] == 0 and rows["2025-04"]["late"] == 1
    with pytest.raises(ValidationError) as refused:
        reports.submit(db, handler, task, "2025-05", done_text="again", percent=50, today=on_time)
    assert refused.value.field == "month"  # once a month, unless returned
    with pytest.raises(ValidationError) as refused:
        reports.review(db, supervisor, first, accept=False)
    assert refused.value.field == "review_note"
    reports.review(db, supervisor, first, accept=False, note="请补充交易电量数据")
    told = [m for m in messages.list_messages(db, handler) if m["kind"] == "plan_returned"]
    assert len(told) == 1 and "请补充交易电量数据" in told[0]["body"]  # the department hears
    again = reports.submit(
        db,
        handler,
        task,
        "2025-05",
        done_text="组织 120 家企业，交易电量 3 亿千瓦时",
        percent=45,
        today=on_time,
    )
    assert again == first  # the returned report is replaced
    reports.review(db, supervisor, again, accept=True)
    reports.review(db, supervisor, late, accept=True)
    [shown] = [t for t in tasks.list_tasks(db, handler, YEAR, today=on_time) if t["id"] == task]
    assert shown["percent"] == 45 and shown["state"] == "in_progress"
    with pytest.raises(PermissionDeniedError):
        reports.review(db, handler, again, accept=True)


@pytest.mark.parametrize(
    ("percent", "due", "today", "state"),
    [
        (None, "2026-12-31", "2026-01-10", "not_started"),
        (30, "2026-12-31", "2026-05-01", "in_progress"),  # 33% of the time gone, 30% done
        (10, "2026-12-31", "2026-07-01", "lagging"),  # 50% gone, 10% done: behind by > 15
        (100, "2026-06-30", "2026-09-01", "done"),
        (90, "2026-06-30", "2026-07-01", "lagging"),  # past its due date
    ],
)
def test_task_states(percent, due, today, state):
    task = {"percent": percent, "due_on": due, "year": 2026}
    assert tasks.state_of(task, date.fromisoformat(today), 15) == state


def test_missing_reports_of_a_month(db):
    imported(db)
    handler = actor_for(db, "handler")
    task = task_of(db, "3")
    before = reports.missing(db, actor_for(db, "supervisor"), YEAR, "2025-05")
    assert len(before) == 4
    reports.submit(db, handler, task, "2025-05", done_text="x", percent=5, today=date(2025, 5, 3))
    after = reports.missing(db, actor_for(db, "supervisor"), YEAR, "2025-05")
    assert [t["number"] for t in after] == ["1", "2", "4"]


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), "#1f6feb").save(out, "PNG")
    return out.getvalue()


def test_the_plan_page_for_supervisors_and_departments(demo_db):
    at = open_page(demo_db, "supervisor", "pages/plan_page.py")
    assert sum(int(m.value) for m in at.metric) == 60  # the demo's own plan
    with store.opened(demo_db) as db:
        imported(db)
        task = task_of(db, "3")
    at = open_page(demo_db, "handler", "pages/plan_page.py")
    at.selectbox[0].select(YEAR).run()
    assert [m.label for m in at.metric] == ["未启动", "推进中", "已完成", "滞后"]
    assert sum(int(m.value) for m in at.metric) == 2  # its own two tasks
    at.text_area(key=f"done_report_{task}_0").input("组织 120 家企业参与交易")
    at.slider(key=f"pct_report_{task}_0").set_value(30)
    table = next(d.value for d in at.dataframe if "状态" in d.value.columns)
    assert "编号" not in table.columns and "目标要求" in table.columns  # one number per task
    assert any(m.value == "**目标要求**" for m in at.markdown)  # shown to the department
    at.button(key=f"FormSubmitter:report_{task}_0-报送").click().run()
    assert at.success[0].value == "已报送，等待审核。"
    # issue 28 item 4: the history lists it at once and the form is empty again
    assert any(t.value == "组织 120 家企业参与交易" for t in at.text)
    assert at.text_area(key=f"done_report_{task}_1").value == ""
    with store.opened(demo_db) as db:
        report = store.scalar(db, "SELECT id FROM task_reports WHERE task_id = ?", (task,))
        with store.transaction(db):
            add_photo(db, actor_for(db, "handler"), "现场.png", png(), report_id=report)
    at.run()
    assert "佐证照片 1 张" in [c.value for c in at.caption] and at.get("image")  # history
    at = open_page(demo_db, "supervisor", "pages/plan_page.py")
    at.selectbox[0].select(YEAR).run()
    assert sum(int(m.value) for m in at.metric) == 4
    assert "佐证照片 1 张" in [c.value for c in at.caption] and at.get("image")  # the 审核 card
    [accept] = [b for b in at.button if b.label == "通过"]
    accept.click().run()
    assert at.success[0].value == "已通过。"
    assert not [b for b in at.button if b.label == "通过"]  # the card is gone without a reload
    with store.opened(demo_db) as db:
        status = store.scalar(db, "SELECT status FROM task_reports WHERE task_id = ?", (task,))
    assert status == "accepted"
    bulletins = [d.value for d in at.dataframe if "未报送" in d.value.columns]
    assert bulletins and bulletins[0]["任务数"].sum() == 4  # the 通报 tab


def test_the_bulletin_lists_done_lagging_and_unreported(db):
    imported(db)
    supervisor = actor_for(db, "supervisor")
    summary = overview.bulletin(db, supervisor, YEAR, "2025-05", today=date(2025, 8, 1))
    assert summary["任务数"].sum() == 4 and summary["未报送"].sum() == 4
    late = summary[summary["滞后"] > 0]
    assert "1 推行企业开办" in "".join(late["滞后任务"])  # due in June, not done by August
    target = io.BytesIO()
    assert overview.write_bulletin(db, supervisor, YEAR, "2025-05", target) == len(summary)
    headers, rows = spreadsheets.read_table(target.getvalue(), "通报.xlsx")
    assert headers[0].startswith("2025 年度任务清单")


def test_a_task_links_to_the_problems_it_answers(demo_db):
    with store.opened(demo_db) as db:
        imported(db)
        task = task_of(db, "3")
        problem = store.scalar(
            db, "SELECT id FROM problems WHERE lead_department_code = 'GXJ' LIMIT 1"
        )
        with pytest.raises(PermissionDeniedError):
            tasks.link_problem(db, actor_for(db, "handler"), task, problem)
        tasks.link_problem(db, actor_for(db, "supervisor"), task, problem)
        tasks.link_problem(db, actor_for(db, "supervisor"), task, problem)  # once
        assert [p["id"] for p in tasks.problems_of_task(db, actor_for(db, "handler"), task)] == [
            problem
        ]
        assert tasks.tasks_of_problem(db, actor_for(db, "officer"), problem) == []  # not theirs
    at = open_page(demo_db, "handler", "pages/problems_page.py")
    at.query_params["id"] = str(problem)
    at.run()
    assert any("降低企业用电成本" in link.label for link in at.get("page_link"))


def test_supervisors_edit_a_task_and_filter_by_department_in_the_address(demo_db):
    with store.opened(demo_db) as db:
        imported(db)
        task = task_of(db, "3")
    at = signed_in(demo_db, "supervisor")
    at.switch_page("pages/plan_page.py")
    at.query_params["year"] = str(YEAR)
    at.query_params["dept"] = "GXJ"
    at.run()
    assert sum(int(m.value) for m in at.metric) == 1  # the task GXJ leads
    at.selectbox(key="edit_task").select(task).run()
    [content] = [t for t in at.text_area if t.label == "重点任务"]
    content.input("降低企业用电和用气成本")
    at.button(key=f"FormSubmitter:edit_task_{task}-保存修改").click().run()
    assert at.success[0].value == "已保存。"
    table = next(d.value for d in at.dataframe if "状态" in d.value.columns)
    assert "降低企业用电和用气成本" in list(table["重点任务"])  # at once
    with store.opened(demo_db) as db:
        assert (
            store.scalar(db, "SELECT content FROM plan_tasks WHERE id = ?", (task,))
            == "降低企业用电和用气成本"
        )
        assert (
            store.scalar(
                db,
                "SELECT count(*) FROM audit_log WHERE table_name = 'plan_tasks' AND action = 'update'",
            )
            == 1
        )


def test_learnt_aliases_are_listed_and_undone_by_supervisors_and_admins(db):
    imported(db)
    supervisor, admin = actor_for(db, "supervisor"), actor_for(db, "admin")
    for role in ("handler", "officer", "monitor"):
        with pytest.raises(PermissionDeniedError):
            aliases.list_aliases(db, actor_for(db, role))
        with pytest.raises(PermissionDeniedError):
            aliases.delete_alias(db, actor_for(db, role), "市税务局")
    [entry] = [a for a in aliases.list_aliases(db, admin) if a["alias"] == "市税务局"]
    assert entry["department_code"] == "SWU" and entry["learnt_at"][:4].isdigit()
    aliases.delete_alias(db, supervisor, "市税务局")
    with pytest.raises(NotFoundError):
        aliases.delete_alias(db, admin, "市税务局")
    before = store.query(
        db,
        "SELECT actor_id, before FROM audit_log WHERE table_name = 'department_aliases'"
        " AND action = 'delete' AND row_id = '市税务局'",
    )
    assert len(before) == 1 and before[0]["actor_id"] == supervisor.id
    assert '"department_code": "SWU"' in before[0]["before"]
    headers, body = xlsx(HEADERS, ROWS)
    check = importing.check_plan(db, YEAR, headers, body)  # asked again, nothing else
    assert list(check.unknown) == ["市税务局"]


def test_the_admin_undoes_an_alias_in_the_reference_page(demo_db):
    with store.opened(demo_db) as db:
        imported(db)
    at = open_page(demo_db, "admin", "pages/reference_page.py")
    at.selectbox(key="ref_list").select("departments").run()
    shown = " ".join(m.value for m in at.markdown)
    assert "“市税务局” → **国家税务总局镇江市税务局**" in shown
    at.button(key="alias_del_市税务局").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith("已撤销“市税务局”")
    assert "“市税务局” →" not in " ".join(m.value for m in at.markdown)
    with store.opened(demo_db) as db:
        assert not store.scalar(
            db, "SELECT count(*) FROM department_aliases WHERE alias = '市税务局'"
        )
        assert (
            store.scalar(
                db, "SELECT count(*) FROM audit_log WHERE table_name = 'department_aliases'"
            )
            == 1
        )


def _published(kind: str):
    if kind == "xls":
        pytest.importorskip("xlwt")
    data = plan_files.published_plan(PUBLISHED, kind)
    return spreadsheets.read_table(data, f"{plan_files.title(PUBLISHED)}.{kind}", importing.HEADER)


PUBLISHED = 2027  # the demo holds its own 2026 plan


def test_the_published_shape_imports(db):
    """Title row, merged 类别 and 牵头单位 cells, 指标, dates in every form, file row numbers."""
    supervisor = actor_for(db, "supervisor")
    table = _published("xlsx")
    assert table.header_row == 2
    lines = list(table.row_numbers)
    check = importing.check_plan(db, PUBLISHED, table.headers, table.rows, row_numbers=lines)
    assert check.problems == []
    assert [r["row"] for r in check.records] == [3, 4, 5, 6, 7, 8, 9]  # row 3: the first task
    assert {n: (u.suggestion, u.rows) for n, u in check.unknown.items()} == {
        "市市场监管局": ("市市场监督管理局", [3, 9]),
        "市税务局": ("国家税务总局镇江市税务局", [3, 7]),
        "市住建局": ("市住房和城乡建设局", [4]),
        "市资规局": ("市自然资源和规划局", [4]),
        "镇江供电公司": ("国网镇江供电公司", [5]),
        "人民银行镇江分行": ("人民银行镇江市分行", [6]),
        "市地方金融管理局": (None, [7]),
        "镇江新区管委会": (None, [8]),
    }
    assert [(n["行号"], n["列"]) for n in check.notices] == [(7, "完成时限"), (9, "完成时限")]
    departments = names(db)
    mapping = {n: departments[u.suggestion] for n, u in check.unknown.items() if u.suggestion}
    mapping["市地方金融管理局"] = "JRB"
    done = importing.import_plan(
        db,
        supervisor,
        PUBLISHED,
        table.headers,
        table.rows,
        mapping,
        row_numbers=lines,
        not_listed=["镇江新区管委会"],
        skip_not_listed=True,
    )
    assert (done.inserted, done.skipped) == (6, (8,))
    rows = store.query(
        db,
        "SELECT t.number, t.lead_department_code AS lead, t.due_on, t.indicator_code"
        " FROM plan_tasks t JOIN plans p ON p.id = t.plan_id WHERE p.year = ? ORDER BY t.id",
        (PUBLISHED,),
    )
    assert [tuple(r.values()) for r in rows] == [
        ("1", "XZSP", "2027-06-30", "CN01"),  # a date cell; 市审批局 learnt by the demo
        ("2", "ZJJ", "2027-12-31", "CN03"),  # 2027年底
        ("3", "FGW", "2027-09-30", "CN06"),  # an Excel serial number
        ("4", "FGW", "2027-06-30", "CN09"),  # 牵头单位 merged over tasks 3 and 4
        ("5", "JRB", None, "CN13"),  # 持续推进: no deadline; 纳税 is the NDRC indicator
        ("7", "SFJ", None, "CN16"),  # 长期坚持
    ]
    [five] = [t for t in tasks.list_tasks(db, supervisor, PUBLISHED) if t["number"] == "5"]
    assert five["state"] == "not_started"  # never 滞后 without a deadline


@pytest.mark.store_independent
def test_the_published_shape_reads_the_same_from_xls(db):
    xlsx, xls = _published("xlsx"), _published("xls")
    assert (xls.header_row, xls.headers) == (xlsx.header_row, xlsx.headers)
    first = importing.check_plan(db, PUBLISHED, xlsx.headers, xlsx.rows)
    second = importing.check_plan(db, PUBLISHED, xls.headers, xls.rows)
    assert first.records == second.records and first.unknown == second.unknown


@pytest.mark.store_independent
def test_section_rows_are_skipped_and_the_row_numbers_are_the_files(db):
    headers = ["序号", "重点任务", "牵头单位", "责任单位", "完成时限"]
    rows = [
        ["一、优化政务服务", "一、优化政务服务", "一、优化政务服务", "一、优化政务服务", ""],
        ["1", "推行企业开办“一网通办”", "市行政审批局、市数据局", "市商务局", "2026年6月底"],
        ["二、强化要素保障", None, None, None, None],
        ["2", "降低企业用电成本", "市工业和信息化局", "", "尽快"],
    ]
    check = importing.check_plan(db, 2026, headers, rows, row_numbers=[4, 5, 6, 7])
    assert check.problems == [{"行号": 7, "列": "完成时限", "问题": check.problems[0]["问题"]}]
    [task] = check.records
    assert (task["row"], task["lead_department_code"], task["co"]) == (5, "XZSP", ["SJJ", "SWJ"])
