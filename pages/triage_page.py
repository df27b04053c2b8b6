"""交办 (supervisor): new problems from visits and monitors; assign a lead department, co-departments
and a deadline class, one at a time or in bulk, with suggestions from where similar problems went."""

import streamlit as st

from survey import clock, reference, workdays
from survey.errors import SurveyError
from survey.problems import lifecycle, listing
from ui import problem_views, session
from ui.text import md

actor = session.require_actor("problems.triage")
st.title("交办")
if not workdays.is_known_year(clock.today().year):
    st.warning(f"{clock.today().year} 年节假日安排尚未收录，工作日暂按周一至周五计算。")


def assign(tap: dict) -> None:
    """交办 the tapped problems, each in its own transaction with its own request id, and rerun
    the page (attempt's pattern, README "Adding a page" 4): the queue below then no longer lists
    them and the message shows above it. The tap is kept under the form key until done() has
    recorded the result: a tap that cut this run off after a write finds those problems gone
    from the queue, and the form with them, so its run finishes the kept tap first thing (a
    repeated request id returns the first deadline: nothing is assigned twice) and shows the
    message."""
    pending = f"pending_{session.form_key('assign')}"
    st.session_state[pending] = tap
    made, failed = [], []
    try:
        for pid in tap["problems"]:
            try:
                with session.database() as db:
                    deadline = lifecycle.assign(
                        db,
                        actor,
                        pid,
                        tap["lead"],
                        tap["klass"],
                        co_departments=tap["co"],
                        note=tap["note"],
                        request_id=f"{tap['request']}-{pid}",
                    )
                made.append(f"#{pid}（时限 {deadline or '长期推进'}）")
            except SurveyError as exc:
                failed.append(f"#{pid}：{exc}")
    except Exception:
        st.session_state.pop(pending, None)
        raise
    if made:
        session.done("assign", "已交办：" + "，".join(made), *failed)
    st.session_state.pop(pending, None)  # none assigned: nothing to finish
    for line in failed:
        st.error(md(line))


assigning = session.form_key("assign")
if tapped := st.session_state.get(f"pending_{assigning}"):
    assign(tapped)
search = st.text_input(
    "查找待交办的问题",
    placeholder="编号或企业名称",
    key="triage_search",
    on_change=session.renew,
    args=("triage_search",),
)
# A keyed widget keeps its identity (and the browser its shown value) whatever its options and
# default: a new key after each 交办 and each search makes the picker start again on the first
# waiting, in the browser as on the server; a second tap's old value goes to the old key.
picking = f"triage_pick_{assigning}_{session.form_key('triage_search')}"
with session.database() as db:
    total = listing.count_waiting(db, actor, "new")
    waiting = listing.list_waiting(db, actor, "new", limit=problem_views.PAGE, search=search)
    found = listing.count_waiting(db, actor, "new", search=search) if search.strip() else total
    departments = reference.options(db, "departments")
    deadlines = reference.options(db, "deadline_classes")
st.caption(problem_views.shown_of(total, found, len(waiting), "待交办"))
session.flash("assign")  # after the rerun 交办 starts: the problems it assigned have left the queue
if not waiting:
    st.success("没有找到这个问题。" if found < total else "没有待交办的问题。")
    st.stop()
problem_views.table(waiting, with_deadline=False, with_source=True)
by_id = {r["id"]: r for r in waiting}
chosen = st.multiselect(
    "选择要交办的问题（可多选，批量交办给同一部门）",
    list(by_id),
    key=picking,
    default=[waiting[0]["id"]],
    format_func=lambda i: f"#{i} {by_id[i]['company'] or ''} · {by_id[i]['category']}",
)
if not chosen:
    st.stop()
with session.database() as db:
    linked = sorted(
        {
            i
            for pid in chosen
            for i in lifecycle.linked_ids(db, pid)
            if i in by_id and i not in chosen
        }
    )
if linked and st.checkbox(
    f"连同关联的待交办问题一起交办：{'、'.join(f'#{i}' for i in linked)}", value=True
):
    chosen = [*chosen, *linked]
first = by_id[chosen[0]]
with session.database() as db:
    suggested = lifecycle.suggest_departments(db, first["category_code"])
if suggested:
    st.caption(
        "同类问题以往交办：" + "，".join(f"{departments.get(d, d)} {n} 次" for d, n in suggested)
    )
if len(chosen) == 1:
    problem_views.detail(actor, chosen[0])
codes = list(departments)
with st.form(assigning, enter_to_submit=False):  # a new key after each 交办: the form empty
    lead = st.selectbox(
        "牵头部门",
        codes,
        format_func=departments.get,
        index=codes.index(suggested[0][0]) if suggested and suggested[0][0] in codes else 0,
    )
    co = st.multiselect("协办部门", codes, format_func=departments.get, placeholder="可不选")
    klass = st.selectbox(
        "办理时限",
        list(deadlines),
        format_func=deadlines.get,
        index=list(deadlines).index("standard") if "standard" in deadlines else 0,
    )
    note = st.text_input("交办说明（可选）")
    if st.form_submit_button(f"交办 {len(chosen)} 条", type="primary"):
        assign(
            {
                "problems": list(chosen),
                "lead": lead,
                "co": list(co),
                "klass": klass,
                "note": note,
                "request": session.request_id("assign"),
            }
        )
