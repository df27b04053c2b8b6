"""User text that looks like HTML or Markdown is shown as typed and never runs or renders (no script,
no image from an outside host, no styling), on the pages that display it: the problem list and
detail, the dashboard's list, the company profile and the triage inbox."""

from __future__ import annotations

import pytest

from survey import clock, visits
from survey import db as store
from survey.access import clients
from survey.cases import library, selection
from survey.companyview import links as company_links
from survey.plans import importing, reports, tasks
from survey.problems import lifecycle, meetings
from tests.browser import (
    chromium,
    private_copy,
    require_chromium,
    sign_in,
    streamlit_server,
    wait_idle,
)
from tests.helpers import actor_for, linked_company, payload

# How a page renders user text does not depend on the store that held it: once, on SQLite.
pytestmark = [pytest.mark.browser, pytest.mark.store_independent]

SCRIPT = "<script>window.__xss = 'script'</script>"
IMAGE = "<img src=x onerror=\"window.__xss = 'img'\">"
SVG = "<svg onload=\"window.__xss = 'svg'\"></svg>"
MARKDOWN = "![追踪](http://127.0.0.1:9/t.png)**粗体**:red[红]"


def test_html_in_user_text_never_runs(template_db, tmp_path):
    require_chromium()
    path = private_copy(template_db, tmp_path / "xss.db")
    with store.opened(path) as db:
        officer = actor_for(db, "officer")
        body = payload(db, officer, summary=f"走访纪要{IMAGE}")
        body["problems"] = [dict(body["problems"][0], description=f"用地问题{SCRIPT}{IMAGE}{SVG}")]
        receipt = visits.submit_visit(db, officer, "xss-visit", body)
        pid, company_id = receipt.problem_ids[0], body["company_id"]
        db.execute(
            "UPDATE companies SET name = name || ?, contact_name = ? WHERE id = ?",
            (f"{IMAGE}{MARKDOWN}", f"联系人{SCRIPT}{MARKDOWN}", company_id),
        )
    dialogs = []
    with streamlit_server(path) as url, chromium() as browser:
        page = browser.new_context(viewport={"width": 1366, "height": 1600}).new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        sign_in(page, url, "supervisor")
        for address, shown in (
            (
                f"/problems?id={pid}",
                ("用地问题<script>", "![追踪](http://127.0.0.1:9/t.png)**粗体**"),
            ),
            (
                f"/company?id={company_id}",
                ("联系人<script>", "![追踪](http://127.0.0.1:9/t.png)**粗体**:red[红]"),
            ),
            ("/triage", ()),
            ("/dashboard", ()),
            ("/problems", ()),
        ):
            page.goto(url + address)
            wait_idle(page)
            page.wait_for_timeout(500)
            assert page.evaluate("window.__xss") is None, address
            # The word joiner that breaks autolinks is invisible; compare what a person reads.
            text = page.locator("[data-testid=stMain]").inner_text().replace("\u2060", "")
            for literal in shown:
                assert literal in text, (address, literal)
            assert (
                page.locator("img[src=x], img[src*='127.0.0.1:9'], strong:has-text('粗体')").count()
                == 0
            )
        # The company's own view (企业端), opened from its link on a phone: its name, the problem.
        with store.opened(path) as db:
            token = company_links.issue_qr(db, actor_for(db, "supervisor"), company_id)
        phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        phone.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        phone.goto(f"{url}/company-view?t={token}")
        wait_idle(phone)
        phone.wait_for_timeout(500)
        assert phone.evaluate("window.__xss") is None
        text = phone.locator("[data-testid=stMain]").inner_text().replace("\u2060", "")
        assert "用地问题<script>" in text and "![追踪](http://127.0.0.1:9/t.png)**粗体**" in text
        assert (
            phone.locator("img[src=x], img[src*='127.0.0.1:9'], strong:has-text('粗体')").count()
            == 0
        )
    assert dialogs == []


LINK = "[点此核验](http://evil.example/login)"
BARE = "http://evil.example/bare www.evil.example"


def test_markdown_and_bare_links_in_company_names_stay_text(template_db, tmp_path):
    """An officer-made company named with an image, a directive and a link (and a bare URL, which
    GFM autolinks even when escaped) is shown as typed on the registry and profile pages."""
    require_chromium()
    path = private_copy(template_db, tmp_path / "md.db")
    name = f"恒顺醋业{MARKDOWN}{LINK} {BARE}"
    with store.opened(path) as db:
        officer = actor_for(db, "officer")
        company_id = linked_company(db, officer)
        db.execute("UPDATE companies SET name = ? WHERE id = ?", (name, company_id))
        body = payload(db, officer, company_id=company_id)
        body["problems"] = [dict(body["problems"][0], description=f"用地问题{LINK} {BARE}")]
        pid = visits.submit_visit(db, officer, "md-visit", body).problem_ids[0]
    outside = []
    with streamlit_server(path) as url, chromium() as browser:
        page = browser.new_context(viewport={"width": 1366, "height": 1600}).new_page()
        page.on(
            "request",
            lambda r: (
                outside.append(r.url)
                if not r.url.startswith(url) and "data:" not in r.url[:5]
                else None
            ),
        )
        sign_in(page, url, "supervisor")
        page.goto(url + "/companies")
        wait_idle(page)
        box = page.get_by_label("企业名称、简称或信用代码")
        box.fill("恒顺醋业")
        box.press("Enter")
        wait_idle(page)
        heading = page.locator("[data-testid=stHeading]").filter(has_text="恒顺醋业").first
        shown = heading.inner_text().replace("\u2060", "")
        assert LINK in shown and BARE in shown
        for address in ("/companies", f"/company?id={company_id}", f"/problems?id={pid}"):
            if address != "/companies":
                page.goto(url + address)
                wait_idle(page)
            assert page.locator("a[href*='evil.example']").count() == 0, address
            assert page.locator("img[src*='127.0.0.1:9']").count() == 0, address
            assert page.locator("strong:has-text('粗体')").count() == 0, address
    assert not [u for u in outside if "evil.example" in u or "127.0.0.1:9/" in u], outside


# 127.0.0.2 stands for an outside host: the browser is told to abort every request that is not
# to our server, and a loopback address could not leave the machine even if one got through.
OUTSIDE = "http://127.0.0.2:9"
PAYLOAD = (
    f"![追踪]({OUTSIDE}/t.png)[点此核验]({OUTSIDE}/login) {OUTSIDE}/bare **粗体** :red[红]"
    f" <img src={OUTSIDE}/i.png onerror=\"window.__xss = 'img'\">"
)


def seed_user_text(db) -> dict:
    """The payload in every user text the newer pages show: company, category and sector names,
    a published case (title, write-up), two selection rounds (title, criteria), a meeting (title,
    decision, chair; the decision enters the problem's history), a plan's task and its report,
    a problem linked to the task, a return reason (a message to supervisors), a robot and an API
    client. Returns the ids the test opens."""
    supervisor, handler, admin = (actor_for(db, n) for n in ("supervisor", "handler", "admin"))
    db.execute("UPDATE companies SET name = name || ?", (PAYLOAD,))
    closed = store.query(
        db,
        "SELECT id, category_code, sector_code FROM problems WHERE status = 'closed'"
        " AND lead_department_code = 'GXJ' ORDER BY id LIMIT 1",
    )[0]
    db.execute(
        "UPDATE problem_categories SET name = name || ? WHERE code = ?",
        (PAYLOAD, closed["category_code"]),
    )
    db.execute(
        "UPDATE sectors SET name = name || ? WHERE code = ?", (PAYLOAD, closed["sector_code"])
    )
    write_up = {
        "title": f"案例{PAYLOAD}",
        "background": f"背景{PAYLOAD}",
        "approach": f"做法{PAYLOAD}",
        "results": f"成效{PAYLOAD}",
        "figures": f"数据{PAYLOAD}",
    }
    case_id = library.nominate_problem(db, supervisor, closed["id"], write_up)
    library.set_status(db, supervisor, case_id, "published")
    for title, close in ((f"往年评选{PAYLOAD}", True), (f"本轮评选{PAYLOAD}", False)):
        round_id = selection.create_round(
            db,
            supervisor,
            year=2026,
            title=title,
            criteria=[(f"创新{PAYLOAD}", 1)],
            panel=[supervisor.id],
            case_ids=[case_id],
        )
        if close:
            selection.close_round(db, supervisor, round_id)
    held = store.scalar(
        db,
        "SELECT id FROM problems WHERE status IN ('assigned', 'in_progress')"
        " AND lead_department_code = 'GXJ' ORDER BY id LIMIT 1",
    )
    meeting_id = meetings.create_meeting(db, supervisor, "2099-01-05", f"联审会{PAYLOAD}")
    item_id = meetings.add_item(db, supervisor, meeting_id, held, ["escalated"])
    meetings.record_decision(
        db,
        supervisor,
        item_id,
        decision=f"决定{PAYLOAD}",
        departments=["GXJ"],
        deadline_on="2099-02-27",
        chair=f"主持{PAYLOAD}",
    )
    lead = store.scalar(db, "SELECT name FROM departments WHERE code = 'GXJ'")
    headers = ["序号", "重点任务", "目标要求", "牵头单位", "配合单位", "完成时限"]
    rows = [[f"1{PAYLOAD}", f"任务{PAYLOAD}", f"目标{PAYLOAD}", lead, "", "2099-12-31"]]
    importing.import_plan(db, supervisor, 2099, headers, rows, {})
    task_id = store.scalar(
        db, "SELECT t.id FROM plan_tasks t JOIN plans p ON p.id = t.plan_id WHERE p.year = 2099"
    )
    reports.submit(
        db,
        handler,
        task_id,
        clock.today().isoformat()[:7],
        done_text=f"完成{PAYLOAD}",
        percent=10,
        issues_text=f"问题{PAYLOAD}",
    )
    tasks.link_problem(db, supervisor, task_id, held)
    returned = store.scalar(db, "SELECT id FROM problems WHERE status = 'new' ORDER BY id LIMIT 1")
    lifecycle.assign(db, supervisor, returned, "GXJ", "short")
    lifecycle.accept(db, handler, returned)
    lifecycle.return_problem(db, handler, returned, f"退回{PAYLOAD}")
    db.execute(  # straight into the table: the address is never used here
        "INSERT INTO robots (name, platform, audience, url, secret, active, created_at)"
        " VALUES (?, 'wecom', 'GXJ', 'https://qyapi.weixin.qq.com/x?key=k', '', 1, ?)",
        (f"机器人{PAYLOAD}", clock.now_iso()),
    )
    clients.create_client(db, admin, name=f"客户端{PAYLOAD}", scopes=["problems.read"])
    return {"case": case_id, "problem": held}


def test_user_text_on_the_newer_pages_stays_text(template_db, tmp_path):
    """经典案例 (library, a case, the selection rounds), 联审会办 (agenda and print view), 任务清单
    (review), 消息, 周报, a problem's task link, and the admins' 通知设置, 通知记录 and 接口客户端:
    user text holding Markdown, a directive, HTML, remote images and links shows as typed, and the
    browser asks no host but our server for anything."""
    require_chromium()
    path = private_copy(template_db, tmp_path / "newer.db")
    with store.opened(path) as db:
        ids = seed_user_text(db)
    outside: list[tuple[str, str]] = []  # (page, a URL not on our server)
    rendered: list[tuple[str, str]] = []  # (page, what rendered as markup)
    dialogs: list[str] = []
    where = {"page": ""}
    with streamlit_server(path) as url, chromium() as browser:

        def refuse(route):
            if route.request.url.startswith(url):
                route.continue_()
            else:
                outside.append((where["page"], route.request.url))
                route.abort()

        def check(page, address: str, literal: str | None = None) -> None:
            """Record what renders on this page that should not (every page is checked)."""
            wait_idle(page)
            page.wait_for_timeout(300)
            if page.evaluate("window.__xss") is not None:
                rendered.append((address, "script ran"))
            for selector in (
                "[data-testid=stMain] img[src*='127.0.0.2']",
                "a[href*='127.0.0.2']",
                "[data-testid=stMain] strong:text-is('粗体')",
                "[data-testid=stMain] span:text-is('红')",
            ):
                if page.locator(selector).count():
                    rendered.append((address, selector))
            if literal:
                text = page.locator("[data-testid=stMain]").inner_text().replace("\u2060", "")
                if literal not in text:
                    rendered.append((address, f"not shown as typed: {literal}"))

        def visit(page, address: str, literal: str | None = None) -> None:
            where["page"] = address
            page.goto(url + address)
            check(page, address, literal)

        context = browser.new_context(viewport={"width": 1366, "height": 2000})
        context.route("**/*", refuse)
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        sign_in(page, url, "supervisor")
        visit(page, "/cases", "案例![追踪]")
        visit(page, f"/cases?id={ids['case']}", f"案例{PAYLOAD}")
        page.get_by_role("tab", name="评选").click()
        check(page, "/cases 评选", f"本轮评选{PAYLOAD}")
        page.get_by_text("往年评选").first.click()
        check(page, "/cases 往年评选", f"往年评选{PAYLOAD}")
        visit(page, "/meetings", f"决定{PAYLOAD}")
        page.get_by_text("打印视图").click()
        check(page, "/meetings 打印视图", f"联审会{PAYLOAD}")
        visit(page, "/plan?year=2099")
        page.get_by_role("tab", name="审核").click()
        check(page, "/plan 审核", f"任务{PAYLOAD}")
        visit(page, f"/problems?id={ids['problem']}", f"任务{PAYLOAD}")
        visit(page, "/messages", f"退回{PAYLOAD}")
        visit(page, "/weekly")
        visit(page, "/home")
        context.close()

        context = browser.new_context(viewport={"width": 1366, "height": 2000})
        context.route("**/*", refuse)
        page = context.new_page()
        sign_in(page, url, "admin")
        for address in ("/notify-settings", "/deliveries", "/api-clients", "/reference"):
            visit(page, address)
        context.close()
    assert rendered == [], "\n".join(map(str, rendered))
    assert outside == [], "\n".join(map(str, outside))
    assert dialogs == []
