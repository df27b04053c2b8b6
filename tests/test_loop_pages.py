"""AppTest: the closed loop through the pages - triage, department reply, callback, a bad review
reopening it, a second reply and a good review closing it."""

from __future__ import annotations

from survey import db as store
from tests.helpers import new_problems, open_page, triage_picker


def status(demo_db, pid: int) -> str:
    with store.opened(demo_db) as db:
        return store.scalar(db, "SELECT status FROM problems WHERE id = ?", (pid,))


def reply_as_handler(demo_db, pid: int, text: str) -> None:
    at = open_page(demo_db, "handler", "pages/department_page.py")
    at.selectbox(key="dept_pick").set_value(pid).run()
    if status(demo_db, pid) == "assigned":
        at.button(key="sign_for_0").click().run()
        assert not at.exception, at.exception
        # shown after the rerun (issue 28 item 4), the same problem still chosen
        assert [s.value for s in at.success] == ["已签收，请在时限内答复。"]
        assert at.selectbox(key="dept_pick").value == pid
    assert status(demo_db, pid) == "in_progress"
    at.radio[0].set_value("resolved")
    at.text_area[0].input(text)
    at.button(key=f"FormSubmitter:reply_{pid}_handled_0-提交答复").click().run()
    assert not at.exception, at.exception
    # shown after the rerun, which has taken the answered problem off the list
    assert [s.value for s in at.success] == ["已答复，等待营商办回访。"]
    assert not [o for o in at.selectbox(key="dept_pick").options if o.startswith(f"#{pid} ")]


def callback(demo_db, pid: int, level: int) -> None:
    at = open_page(demo_db, "supervisor", "pages/followup_page.py")
    at.selectbox(key="callback_pick_followup_search_0").set_value(pid).run()
    at.radio[0].set_value(level)
    at.button(key=f"FormSubmitter:callback_{pid}-保存回访").click().run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("回访已记录") for s in at.success)


def test_the_loop_through_the_pages(demo_db):
    with store.opened(demo_db) as db:
        new_problems(db, 2)  # one left in the queue after the first is assigned
    at = open_page(demo_db, "supervisor", "pages/triage_page.py")
    pid = triage_picker(at).value[0]
    at.selectbox[0].set_value("GXJ")
    at.button(key="FormSubmitter:assign_0-交办 1 条").click().run()
    assert not at.exception, at.exception
    # shown after the rerun (issue 28 item 4), which has taken the assigned problem off the queue
    assert [s.value[: len(f"已交办：#{pid}（")] for s in at.success] == [f"已交办：#{pid}（"]
    assert pid not in list(at.dataframe[0].value["编号"])
    assert not [o for o in triage_picker(at).options if o.startswith(f"#{pid} ")]
    assert triage_picker(at).value  # the first still waiting is chosen
    assert at.button(key="FormSubmitter:assign_1-交办 1 条")  # a new form: a fresh request id
    assert status(demo_db, pid) == "assigned"

    reply_as_handler(demo_db, pid, "已协调解决企业反映的问题，并当面告知。")
    callback(demo_db, pid, 2)
    assert status(demo_db, pid) == "in_progress"  # a bad review reopens it (重办)
    reply_as_handler(demo_db, pid, "重办：再次上门对接，问题已彻底解决。")
    callback(demo_db, pid, 5)
    assert status(demo_db, pid) == "closed"


def test_handler_page_shows_only_own_department(demo_db):
    with store.opened(demo_db) as db:  # the department holding the most problems, not GXJ
        code, name, username = db.conn.execute(
            "SELECT p.lead_department_code, d.name, u.username FROM problems p"
            " JOIN departments d ON d.code = p.lead_department_code"
            " JOIN users u ON u.department_code = d.code AND u.username LIKE 'handler.%'"
            " WHERE p.status IN ('assigned', 'in_progress') GROUP BY 1, 2, 3 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    at = open_page(demo_db, username, "pages/department_page.py")
    shown = at.dataframe[0].value
    assert len(shown) >= 1 and set(shown["责任部门"]) == {name}, code
