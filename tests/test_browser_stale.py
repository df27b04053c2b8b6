"""After an action the screen shows its result at once, and a second tap makes nothing more
(issue 28, item 4), in a real browser for the flows test_browser_review does not walk: a joint
review meeting and its minutes, a month's progress report and its review, a user and an API
client. One server, two sign-ins (a department on a tablet, the admin on a laptop)."""

from __future__ import annotations

import re

import pytest

from survey import clock
from survey import db as store
from tests.browser import (
    choose,
    chromium,
    double_tap,
    private_copy,
    require_chromium,
    settled_after_double_tap,
    sign_in,
    streamlit_server,
    wait_idle,
)

# What a double tap does is decided in the session (one script run at a time) and refused in
# survey/, whose refusals run on both stores in the in-process tests: this runs once, on SQLite.
pytestmark = [pytest.mark.browser, pytest.mark.store_independent]

# aria-labels with an English word in them (a file format's name aside)
ENGLISH_NAMES = """() => [...document.querySelectorAll('[aria-label]')]
  .map(e => e.getAttribute('aria-label')).filter(s => /[A-Za-z]{3}/.test(s.replace('CSV', '')))"""
DECISION = "由牵头部门会同供电公司十个工作日内现场办公解决"


def test_one_tap_shows_the_result_and_a_second_makes_nothing(template_db, tmp_path):
    require_chromium()
    path = private_copy(template_db, tmp_path / "stale.db")
    month = clock.today().isoformat()[:7]
    with streamlit_server(path) as url, chromium() as browser:
        # 任务清单 → 报送进展: a double tap reports once, the history lists it, the form is empty
        handler = browser.new_context(viewport={"width": 768, "height": 1024}).new_page()
        sign_in(handler, url, "handler")
        handler.goto(url + "/plan")
        wait_idle(handler)
        handler.get_by_role("tab", name="报送进展").click()
        wait_idle(handler)
        done = handler.get_by_label("本月完成情况")
        done.fill("走访重点企业 30 家，协调解决用电增容 2 项。")
        double_tap(handler.get_by_role("button", name="报送", exact=True))
        settled_after_double_tap(handler, "已报送，等待审核。")
        wait_idle(handler)
        assert handler.get_by_role("tab", selected=True).inner_text() == "报送进展"
        handler.get_by_text("走访重点企业 30 家").wait_for(timeout=30_000)  # in 报送记录
        assert handler.get_by_label("本月完成情况").input_value() == ""
        assert handler.locator("[data-testid=stAlertContentError]").count() == 0

        admin = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        sign_in(admin, url, "admin")
        # an admin's 管理 comes under 日常, in sight at 1366x768 without a scroll
        tools = admin.locator('[data-testid=stSidebarNav] [role=list][aria-label="管理"] a')
        box = tools.last.bounding_box()
        assert tools.count() > 1 and box["y"] + box["height"] <= 768

        # 任务清单 → 审核: a double tap on 通过 accepts once and the report leaves the queue
        admin.goto(url + "/plan")
        wait_idle(admin)
        admin.get_by_role("tab", name="审核").click()
        wait_idle(admin)
        with store.opened(path) as db:
            report = store.scalar(db, "SELECT max(id) FROM task_reports")
        accept = admin.locator(f".st-key-accept_{report} button")  # keyed: its own class
        waiting = admin.get_by_role("button", name="通过").count()
        double_tap(accept)
        settled_after_double_tap(admin, "已通过。")
        wait_idle(admin)
        assert admin.get_by_role("tab", selected=True).inner_text() == "审核"
        assert accept.count() == 0
        assert admin.get_by_role("button", name="通过").count() == waiting - 1
        assert admin.locator("[data-testid=stAlertContentError]").count() == 0

        # 联审会办: a double tap on 新建会议 makes one meeting, shown at once with its agenda
        admin.goto(url + "/meetings")
        wait_idle(admin)
        admin.get_by_text("新建会议（上次会议未办结的议题自动列入）").click()
        title = admin.get_by_role("textbox", name="会议名称（可留空）")
        title.fill("浏览器联审会")
        double_tap(admin.get_by_role("button", name="新建会议"))
        settled_after_double_tap(admin, "已新建会议。")
        wait_idle(admin)
        # chosen at once: the select's key is new after 新建会议, so the old value a second tap's
        # request carried is ignored
        assert "浏览器联审会" in admin.get_by_role("combobox", name="会议").input_value()
        assert admin.locator("[data-testid=stAlertContentError]").count() == 0
        # its minutes: a double tap, then one more tap, write the decision into the timeline once
        form = admin.locator("[data-testid=stForm]").filter(has=admin.get_by_label("会议决定"))
        minutes = form.first
        minutes.get_by_label("会议决定").fill(DECISION)
        minutes.get_by_label("主持人").fill("分管副市长")
        pick(minutes, "责任单位", "市工业和信息化局")
        double_tap(minutes.get_by_role("button", name="记录决定"))
        settled_after_double_tap(admin, "已记录，决定已写入问题的办理过程，时限已更新。")
        wait_idle(admin)
        admin.get_by_text("决定：" + DECISION).wait_for(timeout=30_000)
        assert admin.locator("[data-testid=stAlertContentError]").count() == 0
        minutes.get_by_role("button", name="记录决定").click()  # the same decision again
        admin.get_by_text("这项决定已记录，未重复写入办理过程。").wait_for(timeout=30_000)
        # a multiselect's "Select 3 matches" (and "Select all") reads Chinese
        problems = admin.get_by_role("combobox", name="选择问题")
        problems.click()
        problems.press_sequentially("#", delay=30)
        bulk = admin.locator('[role=option][data-key="__select_matches__"]')
        assert bulk.inner_text().startswith("全选") and "Select" not in bulk.inner_text()
        admin.keyboard.press("Escape")

        # 用户管理: a double tap on 创建用户 makes one user, listed at once, the form empty
        admin.goto(url + "/users")
        wait_idle(admin)
        admin.get_by_role("textbox", name="用户名（登录名）").fill("browser_new")
        admin.get_by_role("textbox", name="姓名").fill("浏览器新用户")
        pick(admin, "角色", "监督员")
        # Streamlit's own English names ("Show password", "Clear value", "Select all"...) are Chinese
        assert admin.evaluate(ENGLISH_NAMES) == []
        admin.get_by_role("textbox", name="初始密码（首次登录须修改）").fill("Browser2026")
        double_tap(admin.get_by_role("button", name="创建用户"))
        settled_after_double_tap(admin, "已创建用户 browser_new。")
        wait_idle(admin)
        assert admin.get_by_role("tab", selected=True).inner_text() == "新建用户"
        assert admin.get_by_role("textbox", name="用户名（登录名）").input_value() == ""
        assert admin.locator("[data-testid=stAlertContentError]").count() == 0
        admin.get_by_role("tab", name="修改、停用、重置").click()
        wait_idle(admin)
        listed(admin, "用户", "browser_new · 浏览器新用户")

        # 接口客户端: a double tap makes one client and one token, both shown at once
        admin.goto(url + "/api-clients")
        wait_idle(admin)
        admin.get_by_role("textbox", name="名称").fill("浏览器测试平台")
        pick(admin, "权限", "报送问题")
        double_tap(admin.get_by_role("button", name="创建并生成令牌"))
        settled_after_double_tap(admin, "令牌如下，只显示这一次")
        token = admin.locator("[data-testid=stCode]").inner_text().strip()
        assert admin.get_by_role("textbox", name="名称").input_value() == ""
        assert admin.locator("[data-testid=stAlertContentError]").count() == 0
        listed(admin, "客户端", "浏览器测试平台")
        with store.opened(path) as db:
            made_hint = store.scalar(
                db, "SELECT token_hint FROM api_clients WHERE name = '浏览器测试平台'"
            )
        # 更换令牌: a double tap rotates once (a late tap finds a new button; one that cut the
        # first run off gets the first's request id back), and the token shown is the one that works
        box = admin.get_by_role("combobox", name="客户端", exact=True)
        box.click()
        box.press_sequentially("浏览器测试", delay=30)
        admin.get_by_role("option", name="浏览器测试平台").click()
        wait_idle(admin)
        double_tap(admin.get_by_role("button", name="更换令牌（旧令牌立即失效）"))
        shown = admin.locator("[data-testid=stCode]").filter(has_not_text=token)
        shown.wait_for(timeout=30_000)
        settled_after_double_tap(admin, "令牌如下，只显示这一次")
        assert shown.count() == 1  # still on screen when the runs have settled
        rotated = admin.locator("[data-testid=stCode]").inner_text().strip()
        assert admin.locator("[data-testid=stAlertContentError]").count() == 0
    with store.opened(path) as db:
        reports = store.query(
            db,
            "SELECT status FROM task_reports WHERE month = ? AND done_text LIKE '走访重点企业 30 家%'",
            (month,),
        )
        meetings = store.scalar(db, "SELECT count(*) FROM meetings WHERE title = '浏览器联审会'")
        decisions = store.scalar(
            db, "SELECT count(*) FROM problem_events WHERE note LIKE ?", (f"%{DECISION}%",)
        )
        made = store.scalar(db, "SELECT count(*) FROM users WHERE username = 'browser_new'")
        clients = store.query(
            db, "SELECT id, token_hint FROM api_clients WHERE name = '浏览器测试平台'"
        )
        rotations = store.scalar(
            db,
            "SELECT count(*) FROM audit_log WHERE table_name = 'api_clients' AND row_id = ?"
            " AND note = '更换令牌'",
            (str(clients[0]["id"]),),
        )
    assert [r["status"] for r in reports] == ["accepted"]
    assert meetings == 1 and decisions == 1 and made == 1
    assert len(clients) == 1 and token.startswith(made_hint)
    assert rotations == 1 and rotated != token and rotated.startswith(clients[0]["token_hint"])


def test_a_second_tap_that_cuts_off_the_run_showing_the_result_leaves_it_shown(
    template_db, tmp_path
):
    """The race itself, made certain: the second tap's request of a double click on 新建会议 is held
    until the server has sent the success message (the run after the write is under way), then
    let go, so it cuts that run off and carries the screen the user tapped on, with the 会议
    select's old value. The message stays on screen and the new meeting stays chosen."""
    require_chromium()
    path = private_copy(template_db, tmp_path / "race.db")
    message = "已新建会议。".encode()
    tap = b"FormSubmitter:"  # in the id of the submit button a tap presses
    wire = {"state": "idle", "held": None}

    def relay(ws) -> None:  # between the page and Streamlit's socket
        server = ws.connect_to_server()

        def from_page(frame) -> None:
            data = frame.encode() if isinstance(frame, str) else frame
            # a tap's request names the form's submit button; any other frame (the page's
            # heartbeat) goes on: holding one of those held the first tap, and no message came
            if tap in data and wire["state"] == "armed":
                wire["state"] = "holding"  # the first tap's request goes on
            elif tap in data and wire["state"] == "holding" and wire["held"] is None:
                wire["held"] = frame  # the second tap's waits
                return
            server.send(frame)

        def from_server(frame) -> None:
            ws.send(frame)
            data = frame.encode() if isinstance(frame, str) else frame
            if wire["state"] == "holding" and wire["held"] is not None and message in data:
                wire["state"] = "let go"  # the message is out, the run goes on: now it comes
                server.send(wire["held"])

        ws.on_message(from_page)
        server.on_message(from_server)

    with streamlit_server(path) as url, chromium() as browser:
        admin = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        admin.route_web_socket(re.compile(r".*/_stcore/stream"), relay)
        sign_in(admin, url, "admin")
        admin.goto(url + "/meetings")
        wait_idle(admin)
        choose(admin, "会议", "2026年2月")  # an older meeting is the select's value
        admin.get_by_text("新建会议（上次会议未办结的议题自动列入）").click()
        admin.get_by_role("textbox", name="会议名称（可留空）").fill("浏览器双击联审会")
        wire["state"] = "armed"
        double_tap(admin.get_by_role("button", name="新建会议"))
        settled_after_double_tap(admin, "已新建会议。")
        assert wire["state"] == "let go", wire["state"]  # the race happened
        assert "浏览器双击联审会" in admin.get_by_role("combobox", name="会议").input_value()
        assert admin.locator("[data-testid=stAlertContentError]").count() == 0
    with store.opened(path) as db:
        made = store.scalar(db, "SELECT count(*) FROM meetings WHERE title = '浏览器双击联审会'")
    assert made == 1


def pick(scope, label: str, typed: str) -> None:
    """Add one option to a multiselect (in `scope`, a page or a form) by typing it."""
    box = scope.get_by_role("combobox", name=label)
    box.click()
    box.press_sequentially(typed, delay=30)
    box.page.get_by_role("option").filter(has_text=typed).first.wait_for(timeout=30_000)
    box.press("Enter")
    box.page.keyboard.press("Escape")


def listed(page, label: str, option: str) -> None:
    """The select box `label` offers `option` (typed in to find it, then left unchosen)."""
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.press_sequentially(option[:6], delay=30)
    page.get_by_role("option", name=option).wait_for(timeout=30_000)
    page.keyboard.press("Escape")


def test_a_double_tap_saves_and_publishes_one_questionnaire_version(template_db, tmp_path):
    """问卷管理 (issue 28 item 4): a double tap on 检查并保存为新版本 stores one version, says so and
    chooses it in 查看版本 (the select's old value, carried by the second tap, does not win); a
    double tap on 发布此版本 publishes it once and says so."""
    from tests.xlsform_corpus import FORMS, xlsx

    require_chromium()
    path = private_copy(template_db, tmp_path / "forms.db")
    upload = tmp_path / "zzform.xlsx"  # its form_id sorts last: the select's first choice is older
    upload.write_bytes(xlsx(FORMS / "simple_feedback.md"))
    with streamlit_server(path) as url, chromium() as browser:
        admin = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        sign_in(admin, url, "admin")
        admin.goto(url + "/forms")
        wait_idle(admin)
        version = admin.get_by_role("combobox", name="查看版本")
        assert "zzform" not in version.input_value()
        admin.locator("input[type=file]").first.set_input_files(str(upload))
        wait_idle(admin)
        double_tap(admin.get_by_role("button", name="检查并保存为新版本"))
        settled_after_double_tap(admin, "已保存 zzform 版本 1（未发布），请在下方试填后发布。")
        assert "zzform" in version.input_value()  # the new version, chosen
        assert admin.get_by_role("button", name="检查并保存为新版本").count() == 0  # empty picker
        assert admin.locator("[data-testid=stAlertContentError]").count() == 0
        double_tap(admin.get_by_role("button", name="发布此版本"))
        settled_after_double_tap(admin, "已发布：新的答卷将使用此版本。")
        assert "zzform" in version.input_value()
        assert admin.get_by_role("button", name="发布此版本").count() == 0
        assert admin.locator("[data-testid=stAlertContentError]").count() == 0
    with store.opened(path) as db:
        versions = store.query(
            db, "SELECT id, published_at FROM questionnaires WHERE form_id = 'zzform'"
        )
        published = store.scalar(
            db,
            "SELECT count(*) FROM audit_log WHERE table_name = 'questionnaires' AND row_id = ?"
            " AND note = '发布'",
            (str(versions[0]["id"]),),
        )
    assert len(versions) == 1 and versions[0]["published_at"] and published == 1


def test_a_double_tap_on_assign_leaves_the_picker_and_the_detail_on_one_problem(
    template_db, tmp_path
):
    """交办 on a tablet (issue 28 item 4): a double tap on 交办 1 条 assigns the chosen problem once,
    and afterwards the picker and the detail below it show the same next problem. The picker's key
    used to stay the same, so the browser kept showing the assigned problem's chip while the
    server had moved on to the next one, whose detail was shown under it."""
    require_chromium()
    path = private_copy(template_db, tmp_path / "triage.db")
    picker = "[data-testid=stMultiSelect]"
    with streamlit_server(path) as url, chromium() as browser:
        page = browser.new_context(viewport={"width": 768, "height": 1024}).new_page()
        sign_in(page, url, "supervisor")
        page.goto(url + "/triage")
        wait_idle(page)
        chip = page.locator(picker).first.locator("[data-tag]")
        first = int(re.match(r"#(\d+)", chip.first.inner_text()).group(1))
        page.get_by_text(f"问题 #{first} · 待交办").wait_for(timeout=30_000)
        double_tap(page.get_by_role("button", name="交办 1 条"))
        settled_after_double_tap(page, f"已交办：#{first}")
        chips = [c.inner_text() for c in chip.all()]
        assert len(chips) == 1 and not chips[0].startswith(f"#{first} "), chips
        following = int(re.match(r"#(\d+)", chips[0]).group(1))
        page.get_by_text(f"问题 #{following} · 待交办").wait_for(timeout=30_000)
        assert page.get_by_text(f"问题 #{first} ·").count() == 0
        assert page.locator("[data-testid=stAlertContentError]").count() == 0
    with store.opened(path) as db:
        assigned = store.scalar(
            db,
            "SELECT count(*) FROM problem_events WHERE problem_id = ? AND action = 'assign'",
            (first,),
        )
        rows = store.query(
            db, "SELECT id, status FROM problems WHERE id IN (?, ?)", (first, following)
        )
    statuses = {r["id"]: r["status"] for r in rows}
    assert assigned == 1 and statuses == {first: "assigned", following: "new"}


def test_a_search_shows_the_first_found_in_the_picker_and_the_detail(template_db, tmp_path):
    """督办回访 (交办 keys its picker the same way): after a search, the picker in the browser and the detail under it show the
    same problem, the first found. Popping a keyed picker's value used to reset it on the server
    only: the browser kept showing the problem chosen before the search."""
    require_chromium()
    path = private_copy(template_db, tmp_path / "search.db")
    with store.opened(path) as db:
        replied = [
            r["id"]
            for r in store.query(
                db, "SELECT id FROM problems WHERE status = 'replied' ORDER BY id LIMIT 2"
            )
        ]
    assert len(replied) == 2, "the demo has problems waiting for a callback"
    wanted, other = replied
    with streamlit_server(path) as url, chromium() as browser:
        page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        sign_in(page, url, "supervisor")
        page.goto(url + "/followup")
        wait_idle(page)
        box = page.get_by_role("combobox", name="选择问题", exact=True).first
        if box.input_value().startswith(f"#{other} "):
            wanted, other = other, wanted
        choose(page, "选择问题", f"#{other} ")
        page.get_by_text(f"问题 #{other} ·").first.wait_for(timeout=30_000)
        page.get_by_role("textbox", name="查找问题").fill(str(wanted))
        page.get_by_role("textbox", name="查找问题").press("Enter")
        wait_idle(page)
        page.get_by_text(f"问题 #{wanted} ·").first.wait_for(timeout=30_000)
        assert box.input_value().startswith(f"#{wanted} "), box.input_value()
