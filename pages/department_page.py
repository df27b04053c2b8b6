"""部门办理 (department handler): problems assigned to the department, soonest deadline first, with
warnings and escalations; accept, reply with an outcome, return with a reason, ask for more time."""

import streamlit as st

from survey.labels import OUTCOME_LABELS
from survey.problems import lifecycle, listing
from ui import problem_views, session

actor = session.require_actor("problems.handle")
st.title("部门办理")


def handle(action, success: str) -> None:
    """答复, 退回 or 申请延期 through attempt(rerun="handled"), kept under the form key until done()
    has recorded its success: a tap that cut this run off after the write finds the problem gone
    from the list, and its form with it, so that tap's run finishes the kept write first thing
    (the same request id: survey/ answers with the first result, nothing is written twice) and
    shows the message."""
    pending = f"pending_{session.form_key('handled')}"
    st.session_state[pending] = (action, success)
    try:
        ok = session.attempt(action, success, rerun="handled")
    except Exception:
        st.session_state.pop(pending, None)
        raise
    if not ok:  # refused (the message shown): nothing written, nothing to finish
        st.session_state.pop(pending, None)


handled = session.form_key("handled")  # new after each success: the forms come back empty
if tapped := st.session_state.get(f"pending_{handled}"):
    handle(*tapped)
request = session.request_id("handled")  # a repeat of the tap finds its move made
with session.database() as db:
    rows = listing.list_for_department(db, actor)
st.caption(f"待办 {len(rows)} 条（逾期、预警在前；时限按工作日计算）")
# 答复, 退回 and 申请延期 rerun the page, so the list above is current (an answered problem has
# left it); their message shows here, above the list, whichever problem is chosen next
session.flash("handled")
if not rows:
    st.success("没有待办理的问题。")
    st.stop()
problem_views.table(rows)
chosen = problem_views.pick(rows, "dept_pick")
problem = problem_views.detail(actor, chosen)

session.flash("sign_for")  # after the rerun 签收 starts, so the list and the detail are current
if problem["status"] == "assigned":
    # a new key after each 签收: a second tap's press of the old one is ignored
    if st.button("签收", type="primary", key=session.form_key("sign_for")):
        session.attempt(
            lambda db: lifecycle.accept(db, actor, chosen),
            "已签收，请在时限内答复。",
            rerun="sign_for",
        )
else:
    with st.form(f"reply_{chosen}_{handled}", enter_to_submit=False):
        outcome = st.radio(
            "办理结果", list(OUTCOME_LABELS), format_func=OUTCOME_LABELS.get, horizontal=True
        )
        text = st.text_area("答复内容（至少 10 个字）")
        if st.form_submit_button("提交答复", type="primary"):
            handle(
                lambda db, p=chosen, o=outcome, t=text, q=request: lifecycle.reply(
                    db, actor, p, o, t, request_id=q
                ),
                "已答复，等待营商办回访。",
            )
with (
    st.expander("不属于本部门职责？退回"),
    st.form(f"return_{chosen}_{handled}", enter_to_submit=False),
):
    reason = st.text_input("退回理由")
    if st.form_submit_button("退回营商办"):
        handle(
            lambda db, p=chosen, r=reason, q=request: lifecycle.return_problem(
                db, actor, p, r, request_id=q
            ),
            "已退回，营商办将重新交办。",
        )
with st.expander("申请延期"), st.form(f"extend_{chosen}_{handled}", enter_to_submit=False):
    days = st.number_input("延长工作日", min_value=1, max_value=60, value=5, step=1)
    why = st.text_input("延期理由")
    if st.form_submit_button("提交申请"):
        handle(
            lambda db, p=chosen, d=int(days), r=why, q=request: lifecycle.request_extension(
                db, actor, p, d, r, request_id=q
            ),
            "已提交延期申请。",
        )
