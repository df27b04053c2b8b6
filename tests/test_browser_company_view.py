"""Browser at 390x844: the company's own view (企业端, issue 30). The SMS a company receives when its
problem is answered (read from the test SMS gateway) opens its page; it rates 不满意 and the
problem is reopened with the new deadline, its department told. Another company's problem number in
the address shows nothing; an expired and a revoked link say the same thing; a forwarded link works
until the company's links are revoked."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from survey import clock
from survey import db as store
from survey.access.actor import SYSTEM
from survey.access.settings import set_setting
from survey.companyview import links
from survey.notify import sms, worker
from survey.problems import lifecycle, register
from tests.browser import chromium, private_copy, require_chromium, streamlit_server, wait_idle
from tests.helpers import actor_for
from tests.robotserver import robot_server

# The page and the cookie exchange do not depend on the store; the reads and writes behind them
# run on both stores in tests/test_company_view.py.
pytestmark = [pytest.mark.browser, pytest.mark.store_independent]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
MOBILE = "13900002222"
REPLY = "已协调供电公司完成线路改造，请企业确认。"


def _answered_with_sms(path, url, gateway) -> tuple[int, int, str]:
    """A visit problem of a company with a mobile number, assigned and answered; the SMS sent
    through the gateway. Returns (company, problem, the SMS text)."""
    with store.opened(path) as db:
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
        set_setting(db, SYSTEM, "public_base_url", url)
        pid, company = db.conn.execute(
            "SELECT id, company_id FROM problems WHERE status = 'new' AND source = 'visit'"
            " ORDER BY id LIMIT 1"
        ).fetchone()
        with store.transaction(db):
            db.execute("UPDATE companies SET contact_phone = ? WHERE id = ?", (MOBILE, company))
        lifecycle.assign(db, actor_for(db, "supervisor"), pid, "GXJ", "short")
        lifecycle.accept(db, actor_for(db, "handler"), pid)
        lifecycle.reply(db, actor_for(db, "handler"), pid, "resolved", REPLY)
        worker.deliver(db)
    [text] = [
        json.loads(s["body"])["content"]
        for s in gateway.sms
        if json.loads(s["body"])["phone"] == MOBILE
    ]
    return company, pid, text


def _message(page) -> str:
    page.get_by_text(links.INVALID_MESSAGE).wait_for(timeout=30_000)
    return page.locator("[data-testid=stAlert]").first.inner_text()


def test_company_view_from_the_sms_link(template_db, tmp_path):
    require_chromium()
    path = private_copy(template_db, tmp_path / "company.db")
    with robot_server() as gateway, streamlit_server(path) as url, chromium() as browser:
        company, pid, text = _answered_with_sms(path, url, gateway)
        link = re.search(r"http://\S+", text).group(0)
        assert link.startswith(f"{url}/company-view?t=")

        page = browser.new_context(**PHONE).new_page()
        referers = []
        page.on("request", lambda r: referers.append((r.url, r.headers.get("referer"))))
        answer = page.goto(link)
        wait_idle(page)
        assert answer.headers.get("referrer-policy") == "no-referrer"
        assert page.url == f"{url}/company-view"  # the token left the address bar
        assert not page.get_by_text("Page not found").count()
        assert not [r for r in referers if r[1]], referers[:20]  # no request carried a Referer
        card = page.locator(f".st-key-problem_{pid}")
        card.get_by_text(REPLY).wait_for(timeout=30_000)
        assert card.get_by_text("已答复，请您评价").count()
        # Rate 不满意: reopened under the 重办 rules, with the new deadline; the department told.
        card.get_by_text("不满意", exact=True).click()
        card.get_by_label("补充说明（选填）").fill("电压仍不稳定")
        card.get_by_role("button", name="提交评价").click()
        page.get_by_text("已收到您的评价").wait_for(timeout=30_000)
        wait_idle(page)
        deadline = register.reopen_deadline(clock.today())
        card.get_by_text(f"办理时限：{deadline}").wait_for(timeout=30_000)
        with store.opened(path) as db:
            problem = register.load(db, pid)
            assert (problem["status"], problem["deadline_on"]) == ("in_progress", deadline)
            told = store.scalar(
                db,
                "SELECT count(*) FROM messages m JOIN users u ON u.id = m.user_id"
                " WHERE m.problem_id = ? AND m.kind = 'reopened' AND u.department_code = 'GXJ'",
                (pid,),
            )
            assert told >= 1
            assert (
                store.scalar(
                    db, "SELECT count(*) FROM company_ratings WHERE problem_id = ?", (pid,)
                )
                == 1
            )
            other = store.query(
                db,
                "SELECT id, description FROM problems WHERE company_id <> ? ORDER BY id LIMIT 1",
                (company,),
            )[0]
        # Another company's problem number (or a company id) in the address shows nothing of it.
        page.goto(f"{url}/company-view?id={other['id']}&company={company + 1}")
        wait_idle(page)
        page.get_by_text("没有可显示的问题。").wait_for(timeout=30_000)
        assert other["description"] not in page.content()

        # A forwarded link opens the same page on another phone.
        forwarded = browser.new_context(**PHONE).new_page()
        forwarded.goto(link)
        wait_idle(forwarded)
        forwarded.get_by_text(f"问题 #{pid}").first.wait_for(timeout=30_000)

        # An expired link and a revoked one read the same.
        with store.opened(path) as db, store.transaction(db):
            old = links._mint(db, company, "sms")
            db.execute(
                "UPDATE company_links SET expires_at = ? WHERE token_hash = ?",
                (clock.iso(clock.now() - timedelta(minutes=1)), links.token_hash(old)),
            )
        expired = browser.new_context(**PHONE).new_page()
        expired.goto(f"{url}/company-view?t={old}")
        wait_idle(expired)
        said_expired = _message(expired)
        with store.opened(path) as db:
            links.revoke_all(db, actor_for(db, "supervisor"), company, "测试")
        revoked = browser.new_context(**PHONE).new_page()
        revoked.goto(link)
        wait_idle(revoked)
        assert _message(revoked) == said_expired
        forwarded.reload()  # the forwarded phone's session ended with the links
        wait_idle(forwarded)
        assert _message(forwarded) == said_expired
