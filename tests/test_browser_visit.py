"""Browser tests of the visit page on a tablet: a double tap submits once, a reload and a server
restart mid-draft lose nothing."""

from __future__ import annotations

import pytest

from survey import db as store
from tests.browser import (
    assert_restored,
    chromium,
    fill_visit,
    free_port,
    private_copy,
    require_chromium,
    resume,
    sign_in,
    streamlit_server,
    wait_idle,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def visit_db(template_db, tmp_path):
    require_chromium()
    path = private_copy(template_db, tmp_path / "visit.db")
    return path


def latest_draft(path) -> str:
    with store.opened(path) as db:
        return store.scalar(db, "SELECT submission_id FROM drafts ORDER BY id DESC LIMIT 1")


def test_two_taps_on_submit_give_one_visit(visit_db):
    with streamlit_server(visit_db) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 768, "height": 1024})
        sign_in(page, url, "officer")
        fill_visit(page, url)
        sid = latest_draft(visit_db)
        page.evaluate(
            """() => { const b = [...document.querySelectorAll('button')].find(x => x.innerText.includes('提交走访'));
                       b.click(); setTimeout(() => b.click(), 100); }"""
        )
        page.get_by_text("走访已提交").wait_for(timeout=30_000)
        page.wait_for_timeout(1500)  # let the second tap's run finish too
    with store.opened(visit_db) as db:
        assert store.scalar(db, "SELECT count(*) FROM visits WHERE submission_id = ?", (sid,)) == 1
        assert (
            store.scalar(
                db, "SELECT count(*) FROM problems WHERE submission_id LIKE ?", (sid + "-%",)
            )
            == 1
        )


# Once, on SQLite: the draft a reload resumes is read by a new session as in
# test_visit_page.test_visit_draft_survives_a_new_session_and_submits_once, which runs on both stores.
@pytest.mark.store_independent
def test_reload_mid_draft_brings_every_value_back(visit_db):
    with streamlit_server(visit_db) as url, chromium() as browser:
        context = browser.new_context(viewport={"width": 1024, "height": 768})
        page = context.new_page()
        sign_in(page, url, "officer")
        fill_visit(page, url)
        page.reload()
        wait_idle(page)
        resume(page, url)
        assert_restored(page)
        context.close()


def test_server_restart_mid_draft_loses_nothing(visit_db):
    port = free_port()
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 768, "height": 1024})
        page = context.new_page()
        with streamlit_server(visit_db, port=port) as url:
            sign_in(page, url, "officer")
            fill_visit(page, url)
        with streamlit_server(visit_db, port=port) as url:  # the same address, a new process
            resume(page, url)  # the sign-in cookie still works: sessions live in the database
            assert_restored(page)
        context.close()
