"""AppTest: every page for every role runs without exception; the sign-in and list pages work."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

import seeds
from survey import db as store
from survey import reference
from survey.access import auth, permissions, users
from survey.access.actor import SYSTEM
from survey.companyview.links import INVALID_MESSAGE
from tests.helpers import ROOT, app, signed_in
from ui import navigation

USERS = ["admin", "supervisor", "officer", "handler", "monitor", "lead"]


def test_anonymous_sees_sign_in_and_demo_notice(demo_db):
    at = app().run()
    assert not at.exception
    assert at.title[0].value == "镇合意·惠企走访"
    assert any("演示" in c.value for c in at.caption)
    assert any(seeds.DEMO_PASSWORD in i.value for i in at.info)


def test_sign_in_form(demo_db):
    at = app().run()
    at.text_input[0].input("supervisor")
    at.text_input[1].input("wrong-pass1")
    at.button[0].click().run()
    assert at.error[0].value == "用户名或密码不正确。"
    at.text_input[1].input(seeds.DEMO_PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "王督查，您好"
    assert [m.label for m in at.metric] == ["待交办", "已逾期", "待回访"]


@pytest.mark.parametrize("username", USERS)
def test_every_page_for_every_role(demo_db, username):
    at = signed_in(demo_db, username)
    with store.opened(demo_db) as db:
        actor = auth.load_actor(
            db, store.scalar(db, "SELECT id FROM users WHERE username=?", (username,))
        )
    specs = navigation.pages_for(actor)
    assert specs, username
    for spec in specs:
        at.switch_page(spec.path).run()
        assert not at.exception, (username, spec.path, at.exception)
        assert at.title, (username, spec.path)
    allowed = {s.url_path for s in specs}
    assert ("reference" in allowed) == actor.has_role("admin")


def test_home_counts_match_the_database(demo_db):
    at = signed_in(demo_db, "handler")
    with store.opened(demo_db) as db:
        waiting = store.scalar(
            db,
            "SELECT count(*) FROM problems WHERE lead_department_code='GXJ' AND status='assigned'",
        )
    metric = next(m for m in at.metric if m.label == "待签收的问题")
    assert metric.value == f"{waiting:,}"


def test_reference_page_adds_and_refuses_delete(demo_db):
    at = signed_in(demo_db, "admin")
    at.switch_page("pages/reference_page.py").run()
    at.selectbox(key="ref_list").select("sectors").run()
    form_inputs = [t for t in at.text_input if t.label.startswith(("代码", "名称", "产业集群"))]
    for widget, value in zip(form_inputs, ["LOW-ALT", "低空经济", "新兴产业"], strict=True):
        widget.input(value)
    at.button(key="FormSubmitter:add_sectors-新增条目").click().run()
    assert not at.exception
    assert at.success[0].value == "已新增。"
    with store.opened(demo_db) as db:
        assert reference.names(db, "sectors")["LOW-ALT"] == "低空经济"
    delete = at.selectbox[-1]
    delete.select("TR-EYE").run()
    at.button(key="FormSubmitter:delete_sectors-删除").click().run()
    assert "正被使用" in at.error[0].value and "停用" in at.error[0].value


def test_first_sign_in_must_change_password(demo_db):
    with store.opened(demo_db) as db:
        users.create_user(
            db,
            SYSTEM,
            username="newbie",
            display_name="新人",
            password="Initial2026",
            roles=["officer"],
            department_code="GXJ",
        )
    at = signed_in(demo_db, "admin")  # warm-up; then the new user
    with store.opened(demo_db) as db:
        signed = auth.sign_in(db, "newbie", "Initial2026")
    at = app()
    at.session_state["auth_session_id"] = signed.session_id
    at.run()
    assert at.title[0].value == "我的账号"
    assert "首次登录" in at.warning[0].value
    # issue 28 item 4: the result shows after the rerun, on the sign-in screen it leads to
    fields = {t.label: t for t in at.text_input}
    fields["原密码"].input("Initial2026")
    fields["新密码"].input("Changed2026x")
    fields["再输入一次新密码"].input("Changed2026x")
    at.button(key="FormSubmitter:change_password-修改密码").click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["密码已修改，请用新密码重新登录。"]
    assert at.button(key="FormSubmitter:signin-登录")
    at.run()
    assert not at.success  # once


def test_url_paths_differ_from_file_stems():
    for spec in navigation.PAGES:
        assert spec.url_path != spec.path.rsplit("/", 1)[-1].removesuffix(".py")


@pytest.mark.parametrize("spec", navigation.PAGES, ids=lambda s: s.url_path)
def test_page_file_run_directly_requires_sign_in(demo_db, spec):
    at = AppTest.from_file(f"../{spec.path}", default_timeout=30).run()
    assert not at.exception
    # The company's own view asks no one to sign in: it says its link is not (or no longer) valid.
    expected = INVALID_MESSAGE if spec.url_path == "company-view" else "请先登录。"
    assert [w.value for w in at.warning] == [expected]
    assert not at.metric and not at.dataframe


def test_missing_database_is_created_with_demo_data_when_asked(tmp_path, monkeypatch):
    """Only data/survey.db or SURVEY_DEMO=1; tests/test_hardening.py checks the refusal."""
    path = tmp_path / "fresh" / "survey.db"
    monkeypatch.setenv("SURVEY_DB", str(path))
    monkeypatch.setenv("SURVEY_DEMO", "1")
    at = app().run()
    assert not at.exception
    assert path.exists()
    with store.opened(path) as db:
        assert store.scalar(db, "SELECT count(*) FROM companies") == 2000
        assert store.integrity_problems(db) == []
    assert any("演示数据" in c.value for c in at.caption)


@pytest.mark.parametrize("spec", navigation.PAGES, ids=lambda s: s.url_path)
def test_each_page_asks_for_the_action_its_menu_entry_names(spec):
    """One action per page, read from the permission table by the menu and the page alike."""
    text = (ROOT / spec.path).read_text(encoding="utf-8")
    assert spec.action in permissions.RULES
    assert re.findall(r"session\.require_actor\(\"([\w.]+)\"\)", text) == [spec.action]
