"""AppTest: log a visit on the visit page, leave it mid-draft, come back in a new session (a reload),
find every typed value again, submit, and see the visit and problem numbers."""

from __future__ import annotations

from survey import db as store
from survey.companies import registry
from tests.helpers import cut_off_first_done, open_page


def start_visit(demo_db):
    at = open_page(demo_db, "officer", "pages/visit_page.py")
    at.button[0].click().run()  # ＋ 新建走访
    assert not at.exception, at.exception
    with store.opened(demo_db) as db:
        sid = store.scalar(db, "SELECT submission_id FROM drafts ORDER BY id DESC LIMIT 1")
    return at, sid


def officer_company(demo_db) -> int:
    from tests.helpers import actor_for

    with store.opened(demo_db) as db:
        return registry.search_companies(db, actor_for(db, "officer"), "有限公司")[0]["id"]


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def fill(at, sid, company_id: int):
    v = lambda name: f"v|{sid}|{name}"  # noqa: E731
    f = lambda name: f"vf|{sid}|{name}"  # noqa: E731
    at.text_input(key=v("company_q")).input("有限公司").run()
    at.selectbox(key=v("company_id")).set_value(company_id).run()
    for name, value in (
        ("output_trend", "up"),
        ("orders_trend", "flat"),
        ("employment_trend", "down"),
        ("had_earlier", "no"),
    ):
        at.radio(key=f(name)).set_value(value)
    at.number_input(key=f("inspection_count")).set_value(1).run()
    at.button(key=v("add_problem")).click().run()
    at.selectbox(key=v("p0|category")).set_value("A2")
    at.radio(key=v("p0|nature")).set_value("help")
    at.text_area(key=v("p0|description")).input("冬季用气高峰期供气不稳定，生产多次降负荷。").run()
    return at


def test_visit_draft_survives_a_new_session_and_submits_once(demo_db):
    at, sid = start_visit(demo_db)
    company_id = officer_company(demo_db)
    fill(at, sid, company_id)
    assert not at.exception, at.exception
    assert any(c.value.startswith("草稿已保存") for c in at.caption)
    with store.opened(demo_db) as db:
        saved = store.scalar(db, "SELECT payload FROM drafts WHERE submission_id = ?", (sid,))
    assert "冬季用气高峰期供气不稳定" in saved

    # A reload: a new session, signed in again, finds the draft and carries on.
    again = open_page(demo_db, "officer", "pages/visit_page.py")
    assert any("未完成的草稿" in h.value for h in again.header)
    again.button(key=f"resume_{sid}").click().run()
    assert not again.exception, again.exception
    assert (
        again.text_area(key=f"v|{sid}|p0|description").value
        == "冬季用气高峰期供气不稳定，生产多次降负荷。"
    )
    assert again.radio(key=f"vf|{sid}|output_trend").value == "up"
    assert again.number_input(key=f"vf|{sid}|inspection_count").value == 1
    assert again.selectbox(key=f"v|{sid}|company_id").value == company_id

    button(again, "提交走访").click().run()
    assert not again.exception, again.exception
    assert again.success[0].value.startswith("走访已提交，编号 #")
    with store.opened(demo_db) as db:
        visit = store.query(db, "SELECT id FROM visits WHERE submission_id = ?", (sid,))
        assert len(visit) == 1
        problems = store.query(
            db, "SELECT id, status FROM problems WHERE visit_id = ?", (visit[0]["id"],)
        )
        assert [p["status"] for p in problems] == ["new"]
        assert store.scalar(db, "SELECT submitted_at FROM drafts WHERE submission_id = ?", (sid,))
    links = [e.proto for e in again.get("page_link")]
    assert any(link.label == f"问题 #{problems[0]['id']}" for link in links)


def test_missing_fields_are_named_and_nothing_is_saved(demo_db):
    at, sid = start_visit(demo_db)
    button(at, "提交走访").click().run()
    assert not at.exception, at.exception
    messages = [e.value for e in at.error]
    assert "请选择走访的企业。" in messages
    assert any("处需要修改" in m for m in messages)
    with store.opened(demo_db) as db:
        assert store.scalar(db, "SELECT count(*) FROM visits WHERE submission_id = ?", (sid,)) == 0


def test_message_slots_are_kept_per_session_not_in_module_state(demo_db):
    """Every session's script thread shares module state: a module-level dict of message places let
    one session's validation messages land in another's form. After a run, no ui module may hold a
    Streamlit element of a session."""
    import sys

    from streamlit.delta_generator import DeltaGenerator

    at, _sid = start_visit(demo_db)
    button(at, "提交走访").click().run()
    assert at.error  # the messages were drawn
    held = []
    for name, module in list(sys.modules.items()):
        if not name.startswith(("ui.", "pages.")):
            continue
        for attr, value in vars(module).items():
            values = (
                value.values()
                if isinstance(value, dict)
                else value
                if isinstance(value, list)
                else ()
            )
            if any(isinstance(v, DeltaGenerator) for v in values):
                held.append(f"{name}.{attr}")
    assert held == []


NEW_COMPANY = "现场新增测试有限公司"


def add_company_on_the_spot(at, sid) -> None:
    import random

    from seeds.generator import make_uscc

    at.text_input(key=f"v|{sid}|newco_name").input(NEW_COMPANY)
    at.text_input(key=f"v|{sid}|newco_uscc").input(make_uscc(random.Random(28), "321100"))
    button(at, "新增并选中该企业").click()


def added(demo_db) -> list[int]:
    with store.opened(demo_db) as db:
        return [
            r[0] for r in db.conn.execute("SELECT id FROM companies WHERE name = ?", (NEW_COMPANY,))
        ]


def test_a_company_added_on_the_spot_is_chosen_with_its_message_after_a_late_second_tap(demo_db):
    """Issue 28 item 4: 新增并选中该企业 says what it did in the run after it and chooses the new
    company; a second tap's request sent from the screen before (the old button pressed, the
    企业 select still empty) arrives after that run: the message stays, the company stays chosen
    (the select's old value does not win), no second company and no 已登记 error."""
    at, sid = start_visit(demo_db)
    add_company_on_the_spot(at, sid)
    screen = at._tree.get_widget_states()  # the screen the user tapped twice on
    at.run()
    assert not at.exception and not at.error, at.exception or at.error[0].value
    said = [f"已新增并选中企业“{NEW_COMPANY}”。"]
    assert [s.value for s in at.success] == said
    [company] = added(demo_db)
    assert at.selectbox(key=f"v|{sid}|company_id").value == company
    at._run(widget_state=screen)  # the late second tap
    assert not at.exception and not at.error, at.exception or at.error[0].value
    assert [s.value for s in at.success] == said
    assert at.selectbox(key=f"v|{sid}|company_id").value == company
    at.run()  # the next interaction: the message has gone, the company stays chosen
    assert not at.success
    assert at.selectbox(key=f"v|{sid}|company_id").value == company
    assert added(demo_db) == [company]


def test_a_tap_that_cut_off_adding_a_company_after_its_write_adds_one(demo_db, monkeypatch):
    """The race: the first run adds the company and is stopped before done() records it; the
    second tap's request presses the button again with the same request id and gets the first
    company back (survey.repeats), chosen, with the message, not 统一社会信用代码…已登记."""

    calls = cut_off_first_done(monkeypatch)
    at, sid = start_visit(demo_db)
    add_company_on_the_spot(at, sid)
    screen = at._tree.get_widget_states()
    at.run()
    assert calls and not at.error and len(added(demo_db)) == 1  # cut off after the write
    at._run(widget_state=screen)  # the second tap
    assert not at.exception and not at.error, at.exception or at.error[0].value
    assert [s.value for s in at.success] == [f"已新增并选中企业“{NEW_COMPANY}”。"]
    [company] = added(demo_db)
    assert at.selectbox(key=f"v|{sid}|company_id").value == company
