"""登记走访: the field officer's visit log on a tablet. Every change is kept as a draft in the
database; submitting writes the visit exactly once, however often the button is tapped."""

import uuid

import streamlit as st

from survey import clock, drafts, visits
from survey.errors import SurveyError
from ui import company_qr, session, visit_form
from ui.text import md

actor = session.require_actor("visits.create")
st.title("登记走访")
state = st.session_state

receipt = state.get("visit_receipt")
if receipt:
    st.success(
        f"走访已提交，编号 #{receipt['visit_id']}。"
        + ("（重复提交已忽略）" if receipt["already"] else "")
    )
    st.page_link(
        "pages/my_visits_page.py",
        label=f"查看走访 #{receipt['visit_id']}",
        icon=":material/assignment_turned_in:",
        query_params={"id": receipt["visit_id"]},
    )
    if receipt["problems"]:
        st.write("登记的问题：")
        for p in receipt["problems"]:
            st.page_link(
                "pages/problems_page.py",
                icon=":material/assignment:",
                query_params={"id": p},
                label=f"问题 #{p}" + ("（现场已解决）" if p in receipt["closed"] else ""),
            )
    if receipt.get("company_id"):  # 企业端: the company follows its problems from its phone
        company_qr.show(actor, receipt["company_id"], f"company_qr_{receipt['visit_id']}")
    if st.button("再登记一次走访", type="primary"):
        state.pop("visit_receipt")
        st.rerun()
    st.stop()

sid = state.get("visit_sid")
if not sid:
    with session.database() as db:
        open_drafts = drafts.open_drafts(db, actor, "visit")
    if st.button("＋ 新建走访", type="primary"):
        new_sid = str(uuid.uuid4())
        with session.database() as db:
            drafts.save_draft(
                db, actor, "visit", new_sid, {"visit_date": clock.today().isoformat()}
            )
        state["visit_sid"] = new_sid
        st.rerun()
    if open_drafts:
        st.header("未完成的草稿")
        for d in open_drafts:
            cols = st.columns([4, 1, 1])
            problems = len(d["payload"].get("problems") or [])
            cols[0].write(
                f"保存于 {d['updated_at'][5:16]} · {d['payload'].get('company_name') or '未选企业'} · {problems} 个问题"
            )
            if cols[1].button("继续", key=f"resume_{d['submission_id']}"):
                state["visit_sid"] = d["submission_id"]
                st.rerun()
            if cols[2].button("放弃", key=f"discard_{d['submission_id']}"):
                with session.database() as db:
                    drafts.discard_draft(db, actor, d["submission_id"])
                st.rerun()
    st.stop()

with session.database() as db:
    saved = drafts.get_draft(db, actor, sid)
qid, form = visit_form.current_form(actor, saved["payload"])
if state.get("visit_restored") != sid:
    visit_form.restore(sid, saved["payload"], form)
    state["visit_restored"] = sid

attempted = state.get(visit_form.k(sid, "attempted"), False)
payload = visit_form.render(sid, actor, qid, form, attempted)
with session.database() as db:
    errors = visits.check_visit(db, actor, payload)
# Before the first submit, only fields already filled in get a message (a description too short...).
visit_form.show_errors(errors if attempted else visit_form.filled_only(errors, payload))

# Keep the draft: every change lands in the database (a reload or a restart loses nothing).
saved_at = session.keep_draft(actor, "visit", sid, payload, saved["updated_at"][11:])
st.caption(f"草稿已保存 {saved_at}")

left, right = st.columns(2)
if left.button("提交走访", type="primary", width="stretch"):
    photos = visit_form.photos(sid)  # read every input first; the write below has no st.* call
    try:
        with session.database() as db:
            result = visits.submit_visit(db, actor, sid, payload, photos=photos)
    except visits.VisitInvalidError:
        state[visit_form.k(sid, "attempted")] = True
        st.rerun()
    except SurveyError as exc:
        st.error(md(str(exc)))
    else:
        visit_form.forget(sid)
        state.pop("visit_sid", None)
        state["visit_receipt"] = {
            "visit_id": result.visit_id,
            "problems": result.problem_ids,
            "closed": result.closed_on_spot,
            "already": result.already_submitted,
            "company_id": payload.get("company_id"),
        }
        st.rerun()
if attempted and errors:
    st.error(f"还有 {len(errors)} 处需要修改（见各项下方），草稿已保留。")
if right.button("稍后再填（保留草稿）", width="stretch"):
    state.pop("visit_sid", None)
    st.rerun()
