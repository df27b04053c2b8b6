"""Two app hosts behind nginx sharing one PostgreSQL (README, 正式部署): one host is killed while
officers are drafting and submitting on their tablets. The tablets go on on the other host, still
signed in (the session is in the database) and with their drafts; no visit is lost or doubled."""

from __future__ import annotations

import signal

import pytest

from survey import db as store
from tests.browser import (
    assert_restored,
    chromium,
    fill_visit,
    free_port,
    require_chromium,
    resume,
    sign_in,
    streamlit_server,
    wait_idle,
)
from tests.proxy import nginx, require_nginx, upstream_of

# Runs once, in the PostgreSQL pass, on its own copy of the seeded template (demo_db).
pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def draft_of(url: str, username: str) -> str:
    with store.opened(url) as db:
        return store.scalar(
            db,
            "SELECT d.submission_id FROM drafts d JOIN users u ON u.id = d.user_id"
            " WHERE u.username = ? AND d.kind = 'visit' ORDER BY d.id DESC LIMIT 1",
            (username,),
        )


def signed_in_as_before(page, url: str) -> None:
    """The page, opened afresh, is the app and not the sign-in form."""
    page.goto(url + "/visit")
    wait_idle(page)
    page.get_by_role("button", name="＋ 新建走访").wait_for(timeout=30_000)
    assert page.get_by_role("button", name="登录").count() == 0


def visits_of(url: str, submission_id: str) -> int:
    with store.opened(url) as db:
        return store.scalar(
            db, "SELECT count(*) FROM visits WHERE submission_id = ?", (submission_id,)
        )


def test_a_host_killed_mid_session_loses_no_tablet_and_no_visit(demo_db):
    require_chromium()
    require_nginx()
    database = str(demo_db)
    with store.opened(database) as db:
        visits_before = store.scalar(db, "SELECT count(*) FROM visits")
    hosts, ports = [], [free_port(), free_port()]
    with (
        streamlit_server(database, port=ports[0], processes=hosts),
        streamlit_server(database, port=ports[1], processes=hosts),
        nginx(ports) as front,
        chromium() as browser,
    ):
        serving = upstream_of(front)
        victim = hosts[ports.index(serving)]
        tablets = []
        for officer in ("officer", "officer.fgw", "officer.swj"):
            context = browser.new_context(viewport={"width": 768, "height": 1024})
            page = context.new_page()
            sign_in(page, front, officer)
            fill_visit(page, front)
            tablets.append(page)
        drafting, submitting, submitted = tablets
        first_draft = draft_of(database, "officer")
        second_draft = draft_of(database, "officer.fgw")
        third_draft = draft_of(database, "officer.swj")

        # The third officer's visit is saved; then the second officer taps 提交走访 and the
        # host dies right under the tap.
        submitted.get_by_role("button", name="提交走访").click()
        for _ in range(150):
            if visits_of(database, third_draft):
                break
            submitted.wait_for_timeout(200)
        submitting.get_by_role("button", name="提交走访").click()
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        assert upstream_of(front) == ports[1 - ports.index(serving)]  # nginx moved on

        # The first officer was mid-draft: the other host knows the tablet and its draft.
        signed_in_as_before(drafting, front)
        resume(drafting, front)
        assert_restored(drafting)
        drafting.get_by_role("button", name="提交走访").click()
        drafting.get_by_text("走访已提交").wait_for(timeout=30_000)

        # The second officer: the visit either committed before the host died (its draft is
        # gone) or it did not (the draft is still there, and submitting it again saves it).
        signed_in_as_before(submitting, front)
        committed_before_kill = visits_of(database, second_draft) == 1
        if not committed_before_kill:
            resume(submitting, front)
            submitting.get_by_role("button", name="提交走访").click()
            submitting.get_by_text("走访已提交").wait_for(timeout=30_000)
        print(f"the tapped visit had committed before the kill: {committed_before_kill}")

        # The third officer's visit was saved before the kill: nothing is left to send again.
        signed_in_as_before(submitted, front)
        assert submitted.get_by_role("button", name="继续").count() == 0
    assert visits_of(database, first_draft) == 1
    assert visits_of(database, second_draft) == 1
    assert visits_of(database, third_draft) == 1
    with store.opened(database) as db:
        assert store.scalar(db, "SELECT count(*) FROM visits") == visits_before + 3
        assert (
            store.scalar(
                db,
                "SELECT count(*) FROM drafts WHERE submission_id IN (?, ?) AND submitted_at IS NULL",
                (first_draft, second_draft),
            )
            == 0
        )
    store.release(database)
