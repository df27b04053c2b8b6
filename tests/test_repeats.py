"""A form's request id (survey.repeats): a repeat of the same id writes nothing and returns the
first result, for every flow that takes one; and the race itself (a second tap that cut the first
run off after its write, before the page recorded its success) ends in the success, not an error."""

from __future__ import annotations

from datetime import timedelta

import pytest

from survey import clock, repeats
from survey import db as store
from survey.access import clients, users
from survey.cases import library
from survey.errors import ValidationError
from survey.notify import robots
from survey.plans import reports
from survey.problems import meetings
from tests.helpers import actor_for, cut_off_first_done, new_problems, open_page, triage_picker

URL = "http://127.0.0.1:9/cgi-bin/webhook/send?key=repeat-key-12345678"
TABLES = (
    "robots",
    "users",
    "api_clients",
    "meetings",
    "meeting_items",
    "problem_events",
    "task_reports",
    "cases",
    "audit_log",
    "form_requests",
)


def counts(db) -> dict:
    return {t: store.scalar(db, f"SELECT count(*) FROM {t}") for t in TABLES}


def twice(db, call):
    """`call(request_id)` twice with one id: the second returns the first result, writes nothing."""
    request = f"req-{next(_ids)}-abcdefgh"
    first = call(request)
    after_first = counts(db)
    assert call(request) == first
    assert counts(db) == after_first
    return first


_ids = iter(range(10_000))
# robot added and changed, user, meeting, agenda item, decision (its event's row), report, review,
# case
AUDITED = 9


def test_a_repeat_returns_the_first_result_and_writes_nothing(db):
    admin, supervisor = actor_for(db, "admin"), actor_for(db, "supervisor")
    handler = actor_for(db, "handler")
    before = counts(db)

    robot = twice(
        db,
        lambda r: robots.save_robot(
            db, admin, name="工信局工作群", platform="wecom", audience="GXJ", url=URL, request_id=r
        ),
    )
    with pytest.raises(ValidationError, match="已经登记过"):  # a new request is still refused
        robots.save_robot(db, admin, name="又一个", platform="wecom", audience="GXJ", url=URL)
    twice(  # a change (url kept) the same way
        db,
        lambda r: robots.save_robot(
            db,
            admin,
            robot_id=robot,
            name="工信局群",
            platform="wecom",
            audience="GXJ",
            url=None,
            request_id=r,
        ),
    )
    twice(
        db,
        lambda r: users.create_user(
            db,
            admin,
            username="repeat.user",
            display_name="重复",
            password="Zhy-repeat-2026!",
            roles=["supervisor"],
            request_id=r,
        ),
    )
    meeting = twice(
        db, lambda r: meetings.create_meeting(db, supervisor, "2026-07-01", "重复", request_id=r)
    )
    pid = store.scalar(  # one not on an agenda yet: the new meeting carries the open items over
        db,
        "SELECT id FROM problems WHERE status IN ('assigned', 'in_progress')"
        " AND id NOT IN (SELECT problem_id FROM meeting_items) ORDER BY id LIMIT 1",
    )
    item = meetings.add_item(db, supervisor, meeting, pid, ["overdue"])
    twice(
        db,
        lambda r: meetings.record_decision(
            db,
            supervisor,
            item,
            decision="两周内现场办公解决",
            departments=["GXJ"],
            deadline_on="2026-07-20",
            chair="王副市长",
            request_id=r,
        ),
    )
    task = store.scalar(
        db,
        "SELECT id FROM plan_tasks WHERE lead_department_code = ? ORDER BY id LIMIT 1",
        (handler.department_code,),
    )
    report = twice(
        db,
        lambda r: reports.submit(
            db, handler, task, "2025-01", done_text="完成", percent=10, request_id=r
        ),
    )
    twice(db, lambda r: reports.review(db, supervisor, report, True, request_id=r))
    assert store.scalar(db, "SELECT status FROM task_reports WHERE id = ?", (report,)) == "accepted"
    closed = store.scalar(db, "SELECT id FROM problems WHERE status = 'closed' ORDER BY id LIMIT 1")
    write_up = {
        "title": "一日办结",
        "background": "企业急需",
        "approach": "并联审批",
        "results": "3天",
    }
    twice(db, lambda r: library.nominate_problem(db, supervisor, closed, write_up, request_id=r))
    after = counts(db)
    assert {t: after[t] - before[t] for t in TABLES if t != "meeting_items"} == {
        "robots": 1,
        "users": 1,
        "api_clients": 0,
        "meetings": 1,
        "problem_events": 1,  # the decision, once
        "task_reports": 1,
        "cases": 1,
        "audit_log": AUDITED,  # one row per write, none per repeat
        "form_requests": 8,
    }


def test_a_repeated_token_request_makes_one_client_and_one_working_token(db):
    """Only a token's hash is kept, so a repeat cannot give the first token back: it was never
    shown (the run was cut off), so the repeat replaces it, audited as a repeat."""
    admin = actor_for(db, "admin")
    request = "client-request-0001"
    client, first = clients.create_client(
        db, admin, name="12345热线", scopes=["problems.read"], request_id=request
    )
    again, second = clients.create_client(
        db, admin, name="12345热线", scopes=["problems.read"], request_id=request
    )
    assert again == client and second != first
    assert store.scalar(db, "SELECT count(*) FROM api_clients WHERE name = '12345热线'") == 1
    assert clients.authenticate(db, second) and not clients.authenticate(db, first)
    rotated = clients.rotate(db, admin, client, request_id="rotate-request-0001")
    repeated = clients.rotate(db, admin, client, request_id="rotate-request-0001")
    assert clients.authenticate(db, repeated) and not clients.authenticate(db, rotated)
    notes = [
        r[0]
        for r in db.conn.execute(
            "SELECT note FROM audit_log WHERE table_name = 'api_clients' AND row_id = ?"
            " ORDER BY id",
            (str(client),),
        )
    ]
    assert notes[1:] == ["重复提交：重新生成令牌", "更换令牌", "重复提交：更换令牌"]
    old = clock.iso(clock.now() - repeats.KEPT - timedelta(minutes=1))
    db.execute("UPDATE form_requests SET created_at = ? WHERE request_id = ?", (old, request))
    clients.rotate(db, admin, client, request_id="rotate-request-0002")
    assert not store.scalar(  # a day later it is gone (the table stays small)
        db, "SELECT 1 FROM form_requests WHERE request_id = ?", (request,)
    )
    clients.rotate(db, admin, client, request_id="rotate-request-0003")
    with pytest.raises(ValidationError, match="提交编号"):  # another user's id, or another kind
        users.create_user(
            db,
            admin,
            username="other.user",
            display_name="别人",
            password="Zhy-repeat-2026!",
            roles=["supervisor"],
            request_id="rotate-request-0003",
        )
    with pytest.raises(ValidationError, match="提交编号"):
        meetings.create_meeting(
            db, actor_for(db, "supervisor"), "2026-07-02", request_id="rotate-request-0003"
        )


def test_a_tap_that_cut_off_the_first_run_after_its_write_shows_the_success(demo_db, monkeypatch):
    """The race in AppTest: the first run saves the robot and is stopped before done() records
    the success (as a new tap interrupts it); the tap's run presses the button again with the
    same fields and the same request id, and shows 已保存, not 这个地址已经登记过."""

    cut_off_first_done(monkeypatch)
    at = open_page(demo_db, "admin", "pages/notify_settings_page.py")
    field = {t.label: t for t in at.text_input}
    field["名称"].input("工信局工作群")
    field["Webhook 地址"].input(URL)
    at.button(key="FormSubmitter:robot_0_None-保存机器人").click().run()
    assert not at.success and not at.error  # cut off after the write
    at.button(key="FormSubmitter:robot_0_None-保存机器人").click().run()  # the second tap
    assert not at.exception, at.exception
    assert not at.error, at.error[0].value
    assert [s.value for s in at.success] == ["已保存。"]
    assert at.button(key="FormSubmitter:robot_1_None-保存机器人")  # the next form: a new id
    with store.opened(demo_db) as db:
        assert store.scalar(db, "SELECT count(*) FROM robots WHERE name = '工信局工作群'") == 1
        assert store.scalar(db, "SELECT count(*) FROM form_requests WHERE kind = 'robot'") == 1


def tap_while_it_shows(monkeypatch, name: str, screen) -> list:
    """A second tap that arrives while the run after a success is under way: the first time
    flash(name) has run after session.done(), a rerun request is queued carrying `screen`'s
    widget states (the screen the user tapped on, before the first run), as the browser's request
    for the second tap does; Streamlit cuts the run off at its next call and runs that request.
    Returns a list that holds True once the tap has arrived."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData

    from ui import session

    real_done, real_flash, armed, arrived = session.done, session.flash, [], []

    def done(form, success, *notes):
        armed.append(form)
        real_done(form, success, *notes)

    def flash(form):
        real_flash(form)
        if form == name and armed and not arrived:
            arrived.append(True)
            ctx = get_script_run_ctx()
            ctx.script_requests.request_rerun(
                RerunData(
                    query_string=ctx.query_string,
                    widget_states=screen,
                    page_script_hash=ctx.page_script_hash,
                )
            )

    monkeypatch.setattr(session, "done", done)
    monkeypatch.setattr(session, "flash", flash)
    return arrived


@pytest.mark.store_independent
def test_a_tap_that_cuts_off_the_run_showing_the_success_leaves_it_shown(demo_db, monkeypatch):
    """Race 1 (issue 28 item 4): the run that shows 已保存 is cut off by the second tap's request;
    the run of that request shows it again (it was not dropped: its run never completed), the
    one after it does not (one tap, one message)."""
    at = open_page(demo_db, "admin", "pages/notify_settings_page.py")
    field = {t.label: t for t in at.text_input}
    field["名称"].input("工信局工作群")
    field["Webhook 地址"].input(URL)
    at.button(key="FormSubmitter:robot_0_None-保存机器人").click()
    arrived = tap_while_it_shows(monkeypatch, "robot", at._tree.get_widget_states())
    at.run()
    assert arrived and not at.exception, at.exception
    assert not at.error
    assert [s.value for s in at.success] == ["已保存。"]  # shown by the second tap's run
    assert at.button(key="FormSubmitter:robot_1_None-保存机器人")
    at.run()  # the next interaction: the message has gone
    assert not at.success and not at.error
    with store.opened(demo_db) as db:
        assert store.scalar(db, "SELECT count(*) FROM robots WHERE name = '工信局工作群'") == 1


@pytest.mark.store_independent
def test_a_tap_carrying_the_old_selection_leaves_the_new_meeting_chosen(demo_db, monkeypatch):
    """Race 2: the second tap's request carries the 会议 select's old value; the select after
    新建会议 has a new key, so the old value is ignored and the new meeting stays chosen, with its
    message, and one meeting is made."""
    at = open_page(demo_db, "supervisor", "pages/meetings_page.py")
    [box] = [s for s in at.selectbox if s.label == "会议"]
    older = box.options[-1]
    box.select(older).run()
    [box] = [s for s in at.selectbox if s.label == "会议"]
    assert box.value != box.options[0] or len(box.options) == 1
    [title] = [t for t in at.text_input if t.label == "会议名称（可留空）"]
    title.input("双击联审会")
    at.button(key="FormSubmitter:new_meeting_0-新建会议").click()
    arrived = tap_while_it_shows(monkeypatch, "new_meeting", at._tree.get_widget_states())
    at.run()
    assert arrived and not at.exception, at.exception
    assert not at.error
    with store.opened(demo_db) as db:
        made = store.query(db, "SELECT id FROM meetings WHERE title = '双击联审会'")
    assert len(made) == 1
    [box] = [s for s in at.selectbox if s.label == "会议"]
    assert box.value == made[0]["id"]
    assert [s.value for s in at.success] == ["已新建会议。"]
    at.run()
    [box] = [s for s in at.selectbox if s.label == "会议"]
    assert box.value == made[0]["id"] and not at.success


@pytest.mark.store_independent
def test_a_tap_that_cuts_off_the_run_showing_a_new_token_shows_it_again(demo_db, monkeypatch):
    """Race 3: the new API token is shown by the second tap's run too, and works; the database
    keeps only its hash and its first characters; the run after that no longer shows it."""
    at = open_page(demo_db, "admin", "pages/api_clients_page.py")
    at.text_input[0].input("双击平台")
    at.multiselect[0].set_value(["problems.read"])
    at.button(key="FormSubmitter:new_client_0-创建并生成令牌").click()
    arrived = tap_while_it_shows(monkeypatch, "client_revoked", at._tree.get_widget_states())
    at.run()
    assert arrived and not at.exception, at.exception
    assert not at.error
    [token] = [c.value for c in at.code]
    assert token.startswith("zhy_")
    with store.opened(demo_db) as db:
        assert clients.authenticate(db, token)
        rows = store.query(db, "SELECT * FROM api_clients WHERE name = '双击平台'")
        audit = store.query(db, "SELECT * FROM audit_log WHERE table_name = 'api_clients'")
    assert len(rows) == 1
    assert token not in repr(rows) and token not in repr(audit)  # never in plain text
    at.run()
    assert not at.code


@pytest.mark.store_independent
def test_a_tap_arriving_after_the_run_that_showed_the_result_shows_it_again(demo_db):
    """The second tap's request left the browser before the success reached it, and arrives when
    the run that showed it has completed: it presses the old form's button, so its run shows
    the message (and a new token) again, with the new meeting chosen; the next interaction's run
    shows neither."""
    at = open_page(demo_db, "supervisor", "pages/meetings_page.py")
    [box] = [s for s in at.selectbox if s.label == "会议"]
    box.select(box.options[-1]).run()
    [title] = [t for t in at.text_input if t.label == "会议名称（可留空）"]
    title.input("迟到的双击")
    at.button(key="FormSubmitter:new_meeting_0-新建会议").click()
    screen = at._tree.get_widget_states()
    at.run()  # the first tap, its success shown by a completed run
    assert [s.value for s in at.success] == ["已新建会议。"]
    at._run(screen)  # the second tap's request, from the screen before the success
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["已新建会议。"]
    with store.opened(demo_db) as db:
        made = store.query(db, "SELECT id FROM meetings WHERE title = '迟到的双击'")
    [box] = [s for s in at.selectbox if s.label == "会议"]
    assert len(made) == 1 and box.value == made[0]["id"]
    at.run()
    assert not at.success

    page = open_page(demo_db, "admin", "pages/api_clients_page.py")
    page.text_input[0].input("迟到平台")
    page.multiselect[0].set_value(["problems.read"])
    page.button(key="FormSubmitter:new_client_0-创建并生成令牌").click()
    screen = page._tree.get_widget_states()
    page.run()
    [token] = [c.value for c in page.code]
    page._run(screen)
    assert [c.value for c in page.code] == [token] and not page.error
    page.run()
    assert not page.code


def test_a_repeated_move_of_a_problem_writes_once(db):
    """交办, 答复, 退回 and 申请延期 with a request id (issue 28 item 4): a repeat writes nothing (no
    second event, no error for a move the problem has already made) and 交办's returns the first
    deadline; the same id for another problem is refused."""
    from survey.problems import lifecycle

    supervisor, handler = actor_for(db, "supervisor"), actor_for(db, "handler")
    first, second, third = new_problems(db, 3)
    start = store.scalar(db, "SELECT max(id) FROM problem_events")

    def moves() -> int:
        return store.scalar(db, "SELECT count(*) FROM problem_events")

    def once(call):
        request = f"move-{next(_ids)}-abcdefgh"
        result = call(request)
        before = moves(), store.scalar(db, "SELECT count(*) FROM form_requests")
        assert call(request) == result
        assert (moves(), store.scalar(db, "SELECT count(*) FROM form_requests")) == before
        return request

    assigned = once(
        lambda r: lifecycle.assign(db, supervisor, first, "GXJ", "standard", request_id=r)
    )
    with pytest.raises(ValidationError, match="提交编号"):
        lifecycle.assign(db, supervisor, second, "GXJ", "standard", request_id=assigned)
    lifecycle.accept(db, handler, first)
    once(
        lambda r: lifecycle.request_extension(
            db, handler, first, 3, "需要协调土地指标", request_id=r
        )
    )
    once(
        lambda r: lifecycle.reply(
            db, handler, first, "resolved", "已协调解决，并当面告知。", request_id=r
        )
    )
    for pid in (second, third):
        lifecycle.assign(db, supervisor, pid, "GXJ", "standard")
    once(lambda r: lifecycle.return_problem(db, handler, second, "不属于本部门职责", request_id=r))
    status = {
        r[0]: r[1]
        for r in db.conn.execute(
            "SELECT id, status FROM problems WHERE id IN (?, ?)", (first, second)
        )
    }
    assert status == {first: "replied", second: "new"}
    events = store.query(
        db,
        "SELECT action, count(*) AS n FROM problem_events WHERE problem_id IN (?, ?)"
        " AND id > ? GROUP BY action ORDER BY action",
        (first, second, start),
    )
    assert {e["action"]: e["n"] for e in events} == {
        "accept": 1,
        "assign": 2,
        "extension_requested": 1,
        "reply": 1,
        "return": 1,
    }


def events_of(demo_db, pid: int, action: str) -> int:
    with store.opened(demo_db) as db:
        return store.scalar(
            db,
            "SELECT count(*) FROM problem_events WHERE problem_id = ? AND action = ?",
            (pid, action),
        )


@pytest.mark.store_independent
def test_a_tap_that_cut_off_triage_after_its_write_shows_the_success(demo_db, monkeypatch):
    """交办's race (issue 28 item 4): the first run assigns and is stopped before done(); the
    problem has left the queue, so the second tap's run finds no form for it, finishes the kept
    tap with its request id (nothing assigned twice) and shows 已交办 with the queue current."""

    with store.opened(demo_db) as db:
        new_problems(db, 2)
    cut_off_first_done(monkeypatch)
    at = open_page(demo_db, "supervisor", "pages/triage_page.py")
    pid = triage_picker(at).value[0]
    at.selectbox[0].set_value("GXJ")
    at.button(key="FormSubmitter:assign_0-交办 1 条").click().run()
    assert not at.success and not at.error  # cut off after the write
    assert events_of(demo_db, pid, "assign") == 1
    at.button(key="FormSubmitter:assign_0-交办 1 条").click().run()  # the second tap
    assert not at.exception, at.exception
    assert not at.error, at.error[0].value
    assert [s.value[: len(f"已交办：#{pid}（")] for s in at.success] == [f"已交办：#{pid}（"]
    assert not [o for o in triage_picker(at).options if o.startswith(f"#{pid} ")]
    assert events_of(demo_db, pid, "assign") == 1
    at.run()  # the next interaction: the message has gone, nothing more assigned
    assert not at.success and events_of(demo_db, pid, "assign") == 1


@pytest.mark.store_independent
def test_a_tap_that_cut_off_a_reply_after_its_write_shows_the_success(demo_db, monkeypatch):
    """部门办理's race: the answered problem has left the list (its form with it); the second
    tap's run finishes the kept reply with its request id and shows 已答复, one reply stored."""
    with store.opened(demo_db) as db:
        handler = actor_for(db, "handler")
        pid = store.scalar(
            db,
            "SELECT id FROM problems WHERE status = 'in_progress' AND lead_department_code = ?"
            " ORDER BY id LIMIT 1",
            (handler.department_code,),
        )
    cut_off_first_done(monkeypatch)
    at = open_page(demo_db, "handler", "pages/department_page.py")
    at.selectbox(key="dept_pick").set_value(pid).run()
    at.radio[0].set_value("resolved")
    at.text_area[0].input("已协调解决企业反映的问题，并当面告知。")
    button = f"FormSubmitter:reply_{pid}_handled_0-提交答复"
    at.button(key=button).click().run()
    assert not at.success and not at.error  # cut off after the write
    assert events_of(demo_db, pid, "reply") == 1
    at.button(key=button).click().run()  # the second tap
    assert not at.exception, at.exception
    assert not at.error, at.error[0].value
    assert [s.value for s in at.success] == ["已答复，等待营商办回访。"]
    assert not [o for o in at.selectbox(key="dept_pick").options if o.startswith(f"#{pid} ")]
    assert events_of(demo_db, pid, "reply") == 1
