"""The company's own view (企业端, issue 30), in process: links (random, stored hashed, expiring,
revoked all at once by a supervisor, one message for every refusal, rate-limited and audited), the
SMS on 登记/答复/办结 with a link minted when sent, what a company sees (its own problems only),
its rating as the callback move (不满意 reopens and tells the department; one rating per answer;
a phone callback after it is refused), and a new request arriving in 交办 as 企业自报."""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from survey import clock
from survey import db as store
from survey.access import audit
from survey.access.actor import SYSTEM
from survey.access.settings import set_setting
from survey.companyview import links, satisfaction, view
from survey.errors import PermissionDeniedError, SurveyError, ValidationError
from survey.notify import sms, worker
from survey.problems import inbox, lifecycle, listing, register
from tests.helpers import actor_for, linked_company, open_page
from tests.robotserver import robot_server

MOBILE = "13900001111"
BASE = "https://zhy.example.gov.cn"


@pytest.fixture
def gateway():
    with robot_server() as server:
        yield server


def _configure(db, gateway) -> None:
    sms.save(
        db,
        actor_for(db, "admin"),
        enabled=True,
        url=f"http://127.0.0.1:{gateway.port}/sms",
        method="POST",
        format="json",
        headers="",
        template='{"phone": "${mobile}", "content": "${text}"}',
        secret=None,
        success='"code": 0',
    )
    set_setting(db, SYSTEM, "public_base_url", BASE)


def _company_with_visit_problem(db) -> tuple[int, int]:
    """A company with a visit-raised problem waiting for triage, its contact a mobile number."""
    pid, company = db.conn.execute(
        "SELECT id, company_id FROM problems WHERE status = 'new' AND source = 'visit'"
        " ORDER BY id LIMIT 1"
    ).fetchone()
    with store.transaction(db):
        db.execute("UPDATE companies SET contact_phone = ? WHERE id = ?", (MOBILE, company))
    return company, pid


def _token(text: str) -> str:
    url = re.search(r"https?://\S+", text).group(0)
    assert urlsplit(url).path == links.PATH
    return parse_qs(urlsplit(url).query)["t"][0]


def _answered(db, pid: int) -> None:
    supervisor, handler = actor_for(db, "supervisor"), actor_for(db, "handler")
    lifecycle.assign(db, supervisor, pid, "GXJ", "short")
    lifecycle.accept(db, handler, pid)
    lifecycle.reply(db, handler, pid, "resolved", "已协调供电公司完成线路改造。")


def _company(db, company_id: int):
    with store.transaction(db):
        user = links.service_user(db)
    return links.company_actor(user, company_id)


def test_sms_link_opens_a_session_for_that_company_alone(db, gateway):
    _configure(db, gateway)
    company, pid = _company_with_visit_problem(db)
    _answered(db, pid)
    queued = store.query(
        db,
        "SELECT d.channel, d.target, e.action FROM deliveries d JOIN problem_events e"
        " ON e.id = d.event_id WHERE d.company_id = ? ORDER BY d.id",
        (company,),
    )
    assert [(q["channel"], q["target"], q["action"]) for q in queued] == [("sms", MOBILE, "reply")]
    # No token waits in the outbox: it is minted when the worker sends the SMS.
    assert store.scalar(db, "SELECT count(*) FROM company_links") == 0
    assert worker.deliver(db)["parked"] == 0
    sent = [json.loads(s["body"]) for s in gateway.sms if json.loads(s["body"])["phone"] == MOBILE]
    assert len(sent) == 1
    text = sent[0]["content"]
    assert f"问题 #{pid}" in text and "已答复" in text and "张" not in text
    token = _token(text)
    assert len(token) >= 32  # 24 random bytes, 192 bits
    row = store.query(db, "SELECT * FROM company_links")[0]
    assert row["token_hash"] == links.token_hash(token) and token not in json.dumps(row)
    assert row["company_id"] == company and row["via"] == "sms" and row["problem_id"] == pid
    days = (
        datetime.fromisoformat(row["expires_at"]) - datetime.fromisoformat(row["issued_at"])
    ).days
    assert days == links.DEFAULT_LINK_DAYS

    cookie, max_age = links.open_link(db, token, "10.0.0.5")
    assert max_age == links.SESSION_MINUTES * 60 and cookie != token
    actor = links.actor_for_cookie(db, cookie)
    assert actor.company_id == company and actor.roles == {"company"}
    # A forwarded link opens the same company's page from another phone, until revoked.
    other_cookie, _ = links.open_link(db, token, "10.0.0.6")
    assert links.actor_for_cookie(db, other_cookie).company_id == company

    with pytest.raises(PermissionDeniedError):
        links.revoke_all(db, actor_for(db, "handler"), company)
    assert links.revoke_all(db, actor_for(db, "supervisor"), company, "号码变更") == 1
    assert links.actor_for_cookie(db, cookie) is None  # its sessions end too
    assert links.open_link(db, token, "10.0.0.5") is None
    revoked = audit.list_entries(db, actor_for(db, "admin"), table="company_links")
    assert (
        revoked[1]["note"].startswith("撤销企业全部查看链接")
        and revoked[1]["actor_name"] == "supervisor"
    )
    assert json.loads(revoked[0]["after"])["reason"] == "revoked"


def test_wrong_expired_and_revoked_links_fail_alike_and_are_throttled(db):
    company = store.scalar(db, "SELECT id FROM companies ORDER BY id LIMIT 1")
    with store.transaction(db):
        fresh = links._mint(db, company, "qr")
        old = links._mint(db, company, "qr")
        db.execute(
            "UPDATE company_links SET expires_at = ? WHERE token_hash = ?",
            (clock.iso(clock.now() - timedelta(seconds=1)), links.token_hash(old)),
        )
    assert links.open_link(db, "x" * 32, "10.1.1.1") is None
    assert links.open_link(db, old, "10.1.1.1") is None
    assert links.open_link(db, "", "10.1.1.1") is None
    reasons = [
        json.loads(r["after"])["reason"]
        for r in audit.list_entries(db, actor_for(db, "admin"), table="company_links")
    ]
    assert reasons == ["malformed", "expired", "unknown"]
    # FAILURE_LIMIT failures from one address: even a good link is refused there, not elsewhere.
    for _ in range(links.FAILURE_LIMIT - 3):
        links.open_link(db, "y" * 32, "10.1.1.1")
    assert links.open_link(db, fresh, "10.1.1.1") is None
    assert links.open_link(db, fresh, "10.1.1.2") is not None


def test_a_company_sees_its_own_problems_and_nothing_else(db):
    company = store.scalar(
        db,
        "SELECT company_id FROM problems WHERE source = 'visit' GROUP BY company_id"
        " ORDER BY count(*) DESC LIMIT 1",
    )
    actor = _company(db, company)
    # A monitor's lead about the company, which it must never see.
    lead = register.raise_problem(
        db,
        actor_for(db, "monitor"),
        register.NewProblem(
            source="monitor",
            submission_id="cv-lead-1",
            category_code="A1",
            nature_code="report",
            description="监督员反映：该企业周边道路破损。",
            raised_on="2026-06-01",
            feedback_id=store.scalar(db, "SELECT id FROM feedback LIMIT 1"),
            company=store.query(db, "SELECT * FROM companies WHERE id = ?", (company,))[0],
        ),
    )
    mine = view.my_problems(db, actor)
    expected = store.scalar(
        db,
        "SELECT count(*) FROM problems WHERE company_id = ? AND source <> 'monitor'",
        (company,),
    )
    assert len(mine) == expected > 0 and lead not in {p["id"] for p in mine}
    assert all(p["status_words"] for p in mine)
    assert not {"created_by", "officer", "display_name"} & set(mine[0])
    other = store.scalar(db, "SELECT id FROM problems WHERE company_id <> ? LIMIT 1", (company,))
    assert view.my_problems(db, actor, other) == [] and view.my_problems(db, actor, lead) == []
    assert view.my_problems(db, actor, mine[0]["id"])[0]["id"] == mine[0]["id"]
    with pytest.raises(ValidationError, match="没有找到"):
        view.rate(db, actor, other, "满意")
    # The company role reaches nothing else of the app.
    with pytest.raises(PermissionDeniedError):
        inbox.waiting_items(db, actor)


def test_rating_is_the_callback_move(db, gateway):
    _configure(db, gateway)
    company, pid = _company_with_visit_problem(db)
    _answered(db, pid)
    actor = _company(db, company)
    [shown] = view.my_problems(db, actor, pid)
    assert shown["may_rate"] and shown["status_words"].endswith("请您评价")
    assert view.rate(db, actor, pid, "不满意", "电压仍不稳定") == "in_progress"
    problem = register.load(db, pid)
    assert problem["deadline_on"] == register.reopen_deadline(clock.today())
    assert problem["reopen_count"] == 1 and problem["satisfaction_level"] == 2
    told = store.query(
        db,
        "SELECT m.kind, m.urgent FROM messages m JOIN users u ON u.id = m.user_id"
        " WHERE m.problem_id = ? AND u.department_code = 'GXJ' AND m.kind = 'reopened'",
        (pid,),
    )
    assert told and all(m["urgent"] for m in told)
    actions = [
        r[0]
        for r in db.conn.execute(
            "SELECT action FROM problem_events WHERE problem_id = ? ORDER BY id", (pid,)
        )
    ]
    assert actions[-2:] == ["rate", "reopen"]
    with pytest.raises(ValidationError, match="已经评价过"):
        view.rate(db, actor, pid, "满意")  # a second tap
    # The department answers again: a new answer, a new rating; a phone callback after it asks
    # nothing more (the move is no longer open).
    handler = actor_for(db, "handler")
    lifecycle.reply(db, handler, pid, "resolved", "已更换变压器，电压恢复稳定。")
    assert view.rate(db, actor, pid, "满意") == "closed"
    with pytest.raises(register.IllegalTransitionError):
        lifecycle.callback(db, actor_for(db, "supervisor"), pid, 5, True)
    assert [r["rating"] for r in view.my_problems(db, actor, pid)] == ["满意"]
    assert (
        store.scalar(db, "SELECT count(*) FROM company_ratings WHERE problem_id = ?", (pid,)) == 2
    )
    with pytest.raises(ValidationError):
        view.rate(db, actor, pid, "很好")
    # 企业自评与电话回访: both answers were sent a link and rated, one of two satisfied.
    supervisor = actor_for(db, "supervisor")
    rows = satisfaction.comparison(db, supervisor, "2000-01-01", "2100-01-01", "department")
    gxj = next(r for r in rows if r["code"] == "GXJ")
    assert (gxj["company_asked"], gxj["company_answered"], gxj["company_satisfied"]) == (2, 2, 1)
    assert gxj["company_share"] == 50.0 and rows[-1]["name"] == "合计"
    assert rows[-1]["company_answered"] == 2 and rows[-1]["phone_asked"] >= gxj["phone_asked"]
    phone = gxj["phone_share"]
    assert gxj["gap"] == (None if phone is None else round(50.0 - phone, 1))
    # The dashboard's months read the phone side from the summary tables: the same figures.
    month = register.load(db, pid)["raised_month"]
    last = (date.fromisoformat(f"{month}-01") + timedelta(days=31)).replace(day=1) - timedelta(1)
    by_days = satisfaction.for_days(db, supervisor, f"{month}-01", last.isoformat(), "sector")
    assert satisfaction.for_months(db, supervisor, month, month, "sector") == by_days
    with pytest.raises(PermissionDeniedError):
        satisfaction.comparison(db, actor_for(db, "handler"), "2000-01-01", "2100-01-01", "sector")


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, "JPEG")
    return out.getvalue()


def test_a_new_request_arrives_in_triage_marked_as_the_companys_own(db):
    company = store.scalar(db, "SELECT id FROM companies ORDER BY id LIMIT 1")
    actor = _company(db, company)
    request = view.Request(
        "req-0001-abc", "A2", "厂区三月以来频繁停电，影响生产。", ((("a.jpg", _photo())),)
    )
    pid, again = view.raise_request(db, actor, request)
    assert not again and view.raise_request(db, actor, request) == (pid, True)  # a double tap
    problem = register.load(db, pid)
    assert (problem["source"], problem["status"], problem["company_id"]) == (
        "company",
        "new",
        company,
    )
    assert store.scalar(db, "SELECT count(*) FROM attachments WHERE problem_id = ?", (pid,)) == 1
    waiting = listing.list_problems(db, actor_for(db, "supervisor"), statuses=["new"], limit=10_000)
    assert pid in {p["id"] for p in waiting}
    assert view.my_problems(db, actor, pid)[0]["status_words"].startswith("已收到")
    with pytest.raises(ValidationError, match="照片最多"):
        view.raise_request(
            db,
            actor,
            view.Request("req-x-0002", "A2", "描述足够长的问题内容。", (("a.jpg", b"x"),) * 6),
        )
    with pytest.raises(ValidationError, match="个字"):
        view.raise_request(db, actor, view.Request("req-x-0003", "A2", "太短"))
    with pytest.raises(SurveyError):
        view.raise_request(
            db,
            actor,
            view.Request(
                "req-x-0004", "A2", "描述足够长的问题内容。", (("a.jpg", b"not a photo"),)
            ),
        )
    for n in range(view.MAX_REQUESTS_PER_DAY - 1):
        view.raise_request(
            db, actor, view.Request(f"req-more-{n:04d}", "A2", "描述足够长的问题内容。")
        )
    with pytest.raises(ValidationError, match="每天最多"):
        view.raise_request(db, actor, view.Request("req-more-last", "A2", "描述足够长的问题内容。"))
    # Another company's self-report never shows here, and a company SMS is not sent for its own.
    assert store.scalar(db, "SELECT count(*) FROM deliveries WHERE company_id = ?", (company,)) == 0


@pytest.mark.store_independent  # the page around survey/ calls tested above on both
def test_the_visit_receipt_shows_the_companys_qr_code(demo_db, monkeypatch):
    """After a visit the officer taps once and the receipt shows a QR code of a link minted for that
    company (audited); a rerun shows the same code and mints no other."""
    from ui import company_qr

    drawn = []
    real_png = company_qr.png
    monkeypatch.setattr(company_qr, "png", lambda url: drawn.append(url) or real_png(url))
    with store.opened(demo_db) as db:
        officer = actor_for(db, "officer")
        company = linked_company(db, officer)
        set_setting(db, SYSTEM, "public_base_url", BASE)  # else the page's own address
    at = open_page(demo_db, "officer", "pages/visit_page.py")
    at.session_state["visit_receipt"] = {
        "visit_id": 1,
        "problems": [],
        "closed": [],
        "already": False,
        "company_id": company,
    }
    at.run()
    [tap] = [b for b in at.button if b.label.startswith("出示企业查看码")]
    tap.click().run()
    assert not at.exception and len(drawn) == 1
    at.run()
    assert len(drawn) == 1 and not [b for b in at.button if b.label.startswith("出示企业查看码")]
    assert drawn[0].startswith(f"{BASE}/company-view?t=")
    assert real_png(drawn[0]).startswith(b"\x89PNG")
    token = parse_qs(urlsplit(drawn[0]).query)["t"][0]
    with store.opened(demo_db) as db:
        row = store.query(db, "SELECT * FROM company_links")[0]
        assert (row["company_id"], row["via"], row["issued_by"]) == (company, "qr", officer.id)
        assert row["token_hash"] == links.token_hash(token)
        assert (
            links.actor_for_cookie(db, links.open_link(db, token, "10.2.2.2")[0]).company_id
            == company
        )


@pytest.mark.store_independent  # the page around survey/ calls tested above on both
def test_a_supervisor_revokes_a_companys_links_on_its_profile(demo_db):
    """企业档案 (supervisors): the live links counted, all revoked at once, the e-mail kept."""
    with store.opened(demo_db) as db:
        company = store.scalar(db, "SELECT id FROM companies ORDER BY id LIMIT 1")
        token = links.issue_qr(db, actor_for(db, "supervisor"), company)
    at = open_page(demo_db, "supervisor", "pages/company_page.py")
    at.query_params["id"] = str(company)
    at.run()
    assert any("有效链接 1 个" in m.value for m in at.markdown)
    at.text_input[-1].input("office@example")
    [save] = [b for b in at.button if b.label == "保存邮箱"]
    save.click().run()
    assert "有效的邮箱地址" in at.error[0].value
    at.text_input[-1].input("office@example.com")
    [save] = [b for b in at.button if b.label == "保存邮箱"]
    save.click().run()
    at.text_input[-2].input("号码已变更")
    [revoke] = [b for b in at.button if b.label == "撤销该企业的全部链接"]
    revoke.click().run()
    assert not at.exception
    assert any("已撤销" in s.value for s in at.success)
    assert any("有效链接 0 个" in m.value for m in at.markdown)
    with store.opened(demo_db) as db:
        assert links.open_link(db, token, "10.3.3.3") is None
        assert (
            store.scalar(db, "SELECT contact_email FROM companies WHERE id = ?", (company,))
            == "office@example.com"
        )
    with store.opened(demo_db) as db, pytest.raises(PermissionDeniedError):
        links.set_contact_email(db, actor_for(db, "handler"), company, "a@b.cn")


@pytest.mark.store_independent  # the page around survey/ calls tested above on both
def test_an_admin_sets_how_long_links_open(demo_db):
    at = open_page(demo_db, "admin", "pages/notify_settings_page.py")
    [days] = [n for n in at.number_input if n.label.startswith("企业查看链接有效期")]
    assert days.value == links.DEFAULT_LINK_DAYS
    days.set_value(30)
    [save] = [b for b in at.button if b.label == "保存有效期"]
    save.click().run()
    assert not at.exception
    with store.opened(demo_db) as db:
        assert links.link_days(db) == 30
        company = store.scalar(db, "SELECT id FROM companies ORDER BY id LIMIT 1")
        links.issue_qr(db, actor_for(db, "supervisor"), company)
        row = store.query(db, "SELECT issued_at, expires_at FROM company_links")[0]
        issued, expires = (datetime.fromisoformat(row[k]) for k in ("issued_at", "expires_at"))
        assert (expires - issued).days == 30
        with pytest.raises(ValidationError):
            links.set_link_days(db, actor_for(db, "admin"), 0)
        with pytest.raises(PermissionDeniedError):
            links.set_link_days(db, actor_for(db, "supervisor"), 10)


def test_an_email_goes_with_its_own_link(db, gateway):
    """With e-mail set up and an address on file, the company also gets an e-mail; each channel
    carries a link of its own, minted when sent."""
    from survey.notify import mail
    from tests.mailserver import smtp_server

    _configure(db, gateway)
    company, pid = _company_with_visit_problem(db)
    links.set_contact_email(db, actor_for(db, "supervisor"), company, "office@example.com")
    with smtp_server() as (inbox, port):
        mail.save(
            db,
            actor_for(db, "admin"),
            host="127.0.0.1",
            port=port,
            security="none",
            sender="notify@zhy.gov.cn",
        )
        _answered(db, pid)
        channels = [
            r[0]
            for r in db.conn.execute(
                "SELECT channel FROM deliveries WHERE company_id = ? ORDER BY id", (company,)
            )
        ]
        assert channels == ["sms", "email"]
        worker.deliver(db)
        [received] = [m for m in inbox.received if m["To"] == "office@example.com"]
    body = received.get_body(("plain",)).get_content()
    assert f"问题 #{pid}" in body and "已答复" in received["Subject"]
    token = _token(body)
    via = store.scalar(
        db, "SELECT via FROM company_links WHERE token_hash = ?", (links.token_hash(token),)
    )
    assert via == "email" and store.scalar(db, "SELECT count(*) FROM company_links") == 2
    assert (
        links.actor_for_cookie(db, links.open_link(db, token, "10.4.4.4")[0]).company_id == company
    )


def test_a_visit_problem_tells_its_company_a_monitors_lead_does_not(db, gateway):
    """登记 from a visit sends the company its SMS; a monitor's lead about the same company sends
    nothing to the company."""
    from survey import visits
    from tests.helpers import payload

    _configure(db, gateway)
    officer = actor_for(db, "officer")
    body = payload(db, officer)
    company = body["company_id"]
    with store.transaction(db):
        db.execute("UPDATE companies SET contact_phone = ? WHERE id = ?", (MOBILE, company))
    receipt = visits.submit_visit(db, officer, "cv-visit-0001", body)
    told = store.query(
        db,
        "SELECT e.problem_id, e.action FROM deliveries d JOIN problem_events e ON e.id = d.event_id"
        " WHERE d.company_id = ? ORDER BY d.id",
        (company,),
    )
    raised = {(pid, "raise") for pid in receipt.problem_ids}
    assert {(t["problem_id"], t["action"]) for t in told} >= raised and len(told) >= len(raised)
    before = len(told)
    register.raise_problem(
        db,
        actor_for(db, "monitor"),
        register.NewProblem(
            source="monitor",
            submission_id="cv-lead-2",
            category_code="A1",
            nature_code="report",
            description="监督员反映：该企业周边道路破损。",
            raised_on="2026-06-01",
            feedback_id=store.scalar(db, "SELECT id FROM feedback LIMIT 1"),
            company=store.query(db, "SELECT * FROM companies WHERE id = ?", (company,))[0],
        ),
    )
    after = store.scalar(db, "SELECT count(*) FROM deliveries WHERE company_id = ?", (company,))
    assert after == before


def test_a_company_rating_shows_at_once_on_the_dashboard_and_the_weekly_report(
    demo_db, db, gateway
):
    """企业自评与电话回访 is kept between runs under the data version, like the figures beside it:
    a rerun with no write shows the same table, and a company's rating (written in the transaction
    of its callback move) shows on the very next run of 统计看板 and of 周报."""
    _configure(db, gateway)
    company, pid = _company_with_visit_problem(db)
    _answered(db, pid)
    raised = date.fromisoformat(register.load(db, pid)["raised_on"])

    def rated(at) -> int:
        by_sector, by_department = [t.value for t in at.table if "企业自评" in t.value.columns]
        assert by_sector.loc["合计", "企业自评"] == by_department.loc["合计", "企业自评"]
        return int(by_sector.loc["合计", "企业自评"])

    dashboard = open_page(demo_db, "supervisor", "pages/dashboard_page.py")
    monday = raised - timedelta(days=raised.weekday())
    weekly = open_page(demo_db, "supervisor", "pages/report_page.py")
    weekly.query_params["week"] = monday.isoformat()
    weekly.run()
    assert not weekly.exception, weekly.exception
    before = {"dashboard": rated(dashboard), "weekly": rated(weekly)}
    for at in (dashboard, weekly):
        at.run()
    assert {"dashboard": rated(dashboard), "weekly": rated(weekly)} == before
    assert view.rate(db, _company(db, company), pid, "满意") == "closed"
    for at in (dashboard, weekly):
        at.run()
        assert not at.exception, at.exception
    assert rated(dashboard) == before["dashboard"] + 1
    assert rated(weekly) == before["weekly"] + 1


def test_the_ratings_name_a_missing_sector_as_such(db):
    """企业自评与电话回访 by sector named the problems without a sector （未交办）, the department
    table's word; they are （未指明行业）, as in the weekly report's chart."""
    supervisor = actor_for(db, "supervisor")
    for by, missing in (("sector", "（未指明行业）"), ("department", "（未交办）")):
        *rows, total = satisfaction.for_days(db, supervisor, "2000-01-01", "2100-01-01", by)
        assert total["name"] == "合计"
        assert {r["name"] for r in rows if not r["code"]} <= {missing}
    sectors = satisfaction.for_days(db, supervisor, "2000-01-01", "2100-01-01", "sector")
    assert any(r["name"] == "（未指明行业）" for r in sectors)
