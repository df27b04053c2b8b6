"""The visit form: company, date, mode, colleagues, the visit questionnaire, the problems raised and
the company's open problems that were raised again. Widget keys carry the draft's submission id, so
a new visit starts clean and a draft restores into exactly its own widgets.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from survey import clock, questionnaires, reference, visits
from survey.access.actor import Actor
from survey.companies import profiles, registry
from survey.errors import SurveyError
from survey.labels import VISIT_MODES
from ui import form_widgets, session, uploads
from ui.company_form import company_fields
from ui.text import md

PROBLEM_FIELDS = (
    "category",
    "nature",
    "description",
    "deadline_class",
    "solved_on_spot",
    "spot_solution",
)


def k(sid: str, name: str) -> str:
    return f"v|{sid}|{name}"


def form_key(sid: str) -> str:
    return f"vf|{sid}"


def _count(sid: str) -> int:
    return st.session_state.get(k(sid, "problems#n"), 0)


# ---- restoring a draft ---------------------------------------------------------------------------


def restore(sid: str, payload: dict, form) -> None:
    state = st.session_state
    if payload.get("company_id"):
        state[k(sid, "company_id")] = int(payload["company_id"])
    if payload.get("visit_date"):
        state[k(sid, "date")] = date.fromisoformat(payload["visit_date"])
    if payload.get("mode") in VISIT_MODES:
        state[k(sid, "mode")] = payload["mode"]
    state[k(sid, "people")] = [int(p) for p in payload.get("participants") or []]
    state[k(sid, "summary")] = payload.get("summary") or ""
    problems = payload.get("problems") or []
    state[k(sid, "problems#n")] = len(problems)
    for i, p in enumerate(problems):
        for name in PROBLEM_FIELDS:
            if p.get(name) is not None:
                state[k(sid, f"p{i}|{name}")] = p[name]
    for pid in payload.get("raised_again") or []:
        state[k(sid, f"again|{pid}")] = True
    if form is not None:
        form_widgets.restore(form, form_key(sid), payload.get("answers") or {})


# ---- problems repeat helpers ---------------------------------------------------------------------


def _add_problem(sid: str) -> None:
    st.session_state[k(sid, "problems#n")] = _count(sid) + 1


def _remove_problem(sid: str, index: int) -> None:
    state, n = st.session_state, _count(sid)
    for i in range(index, n):
        for name in (*PROBLEM_FIELDS, "photo"):
            nxt = k(sid, f"p{i + 1}|{name}")
            here = k(sid, f"p{i}|{name}")
            if nxt in state and name != "photo":
                state[here] = state[nxt]
            else:
                state.pop(here, None)
    state[k(sid, "problems#n")] = max(0, n - 1)


# ---- drawing -------------------------------------------------------------------------------------


# The places reserved for messages belong to one session's run: kept in its session state, never in
# module state, which every session's script thread shares.
_SLOTS_KEY = "visit_form|message_slots"


def _slots() -> dict[str, object]:
    return st.session_state.setdefault(_SLOTS_KEY, {})


def _slot(field: str) -> None:
    """Reserve the place under a field where its message goes once the whole form is read."""
    _slots()[field] = st.empty()


def show_errors(errors: dict[str, str]) -> None:
    """Fill the reserved places; messages of questionnaire answers are drawn by form_widgets."""
    for field, message in errors.items():
        slot = _slots().get(field)
        if slot is not None:
            slot.error(message, icon=":material/error:")


def _company_section(sid: str, actor: Actor) -> dict | None:
    st.header("走访企业")
    query = st.text_input("查找企业（名称两字以上或信用代码）", key=k(sid, "company_q"))
    with session.database() as db:
        hits = registry.search_companies(db, actor, query, limit=30) if query.strip() else []
        chosen = st.session_state.get(k(sid, "company_id"))
        names = {h["id"]: f"{h['name']}（{h['district']} · {h['sector']}）" for h in hits}
        if chosen and chosen not in names:
            try:
                company = registry.get_company(db, actor, chosen)
                names = {chosen: company["name"], **names}
            except SurveyError:
                st.session_state.pop(k(sid, "company_id"), None)
    st.selectbox(
        "企业",
        list(names),
        key=k(sid, "company_id"),
        format_func=names.get,
        index=None,
        placeholder="先在上方输入企业名称查找",
    )
    _slot("company")
    adding = k(sid, "newco")  # its form: a new key after each company added, a new request id
    session.flash(adding)
    with st.expander("企业尚未登记？在此新增"):
        values = company_fields(adding, {"department_code": actor.department_code})
        if st.button("新增并选中该企业", key=k(sid, f"newco_add_{session.form_key(adding)}")):
            request = session.request_id(adding)  # a repeat of this tap finds its first company
            try:
                with session.database() as db:
                    new_id = registry.create_company(db, actor, values, request_id=request)
            except SurveyError as exc:
                st.error(md(str(exc)))
            else:
                # chosen by the runs that follow (render) until one that chose it has completed,
                # and by a second tap's run, whose request carries the select's old value
                session.keep(
                    k(sid, "company_pick"),
                    (new_id, values["name"]),
                    made_by=session.form_key(adding),
                )
                session.done(adding, f"已新增并选中企业“{md(values['name'])}”。")
    company_id = st.session_state.get(k(sid, "company_id"))
    if not company_id:
        return None
    with session.database() as db:
        profile = profiles.company_profile(db, actor, company_id)
    company = profile["company"]
    st.caption(
        f"挂钩部门：{company['department'] or '未指定'} · {company['district']} · {company['sector']}"
    )
    return profile


def _problem(sid: str, i: int, categories: dict, natures: dict, deadlines: dict) -> None:
    with st.container(border=True):
        st.markdown(f"**问题 {i + 1}**")
        st.selectbox(
            "问题类别 *",
            list(categories),
            key=k(sid, f"p{i}|category"),
            index=None,
            format_func=categories.get,
            placeholder="选择小类（常用的在前）",
        )
        _slot(f"problems[{i}].category")
        st.radio(
            "诉求性质 *",
            list(natures),
            key=k(sid, f"p{i}|nature"),
            index=None,
            format_func=lambda c: md(natures[c]),
            horizontal=True,
        )
        _slot(f"problems[{i}].nature")
        st.text_area("问题描述 *（至少 10 个字）", key=k(sid, f"p{i}|description"), height=110)
        _slot(f"problems[{i}].description")
        st.selectbox(
            "建议办理时限",
            list(deadlines),
            key=k(sid, f"p{i}|deadline_class"),
            index=None,
            format_func=deadlines.get,
            placeholder="由营商办确定",
        )
        st.checkbox("已现场解决", key=k(sid, f"p{i}|solved_on_spot"))
        if st.session_state.get(k(sid, f"p{i}|solved_on_spot")):
            st.text_input("如何解决的 *", key=k(sid, f"p{i}|spot_solution"))
            _slot(f"problems[{i}].spot_solution")
        uploads.file_uploader(
            "照片（可选，提交时保存）", uploads.PHOTO_TYPES, k(sid, f"p{i}|photo"), multiple=True
        )
        st.button(
            f"删除问题 {i + 1}", key=k(sid, f"p{i}|remove"), on_click=_remove_problem, args=(sid, i)
        )


def render(sid: str, actor: Actor, qid: int | None, form, attempted: bool) -> dict:
    """Draw the whole form; returns the payload (JSON-safe) for the draft and the submit. Places
    for messages are reserved under each field; show_errors fills them."""
    st.session_state[_SLOTS_KEY] = {}
    if picked := session.kept(k(sid, "company_pick")):  # a company added on the spot
        st.session_state[k(sid, "company_id")], st.session_state[k(sid, "company_q")] = picked
    profile = _company_section(sid, actor)
    today = clock.today()
    left, right = st.columns(2)
    # Defaults go into the state (not the widget) so a restored draft never clashes with them.
    st.session_state.setdefault(k(sid, "date"), today)
    st.session_state.setdefault(k(sid, "mode"), VISIT_MODES[0])
    left.date_input("走访日期", key=k(sid, "date"), max_value=today, format="YYYY-MM-DD")
    with right:
        st.radio("走访方式", VISIT_MODES, key=k(sid, "mode"), horizontal=True)
    _slot("visit_date")
    with session.database() as db:
        people = visits.colleagues(db)
        categories = visits.category_options(db, actor)
        natures = reference.options(db, "request_natures")
        deadlines = reference.options(db, "deadline_classes")
    people.pop(actor.id, None)
    st.multiselect(
        "同行人员", list(people), key=k(sid, "people"), format_func=people.get, placeholder="可多选"
    )

    answers = {}
    if form is not None:
        st.header(md(form.title))
        state = form_widgets.render(form, form_key(sid), today=today, show_required=attempted)
        answers = form_widgets.to_json(state.raw)

    again = []
    if profile and profile["problems"]:
        open_ones = [p for p in profile["problems"] if p["status"] != "closed"]
        if open_ones:
            st.header("该企业尚未办结的问题")
            st.caption("企业再次提到其中的问题时，请勾选“再次反映”，不要重复登记。")
            for p in open_ones[:20]:
                text = f"#{p['id']} {p['category']}：{p['description'][:40]}"
                if st.checkbox(f"再次反映 · {md(text)}", key=k(sid, f"again|{p['id']}")):
                    again.append(p["id"])
            _slot("raised_again")

    st.header("企业反映的问题")
    for i in range(_count(sid)):
        _problem(sid, i, categories, natures, deadlines)
    st.button("＋ 添加问题", key=k(sid, "add_problem"), on_click=_add_problem, args=(sid,))
    st.text_area("走访小结", key=k(sid, "summary"), height=90)

    state = st.session_state
    chosen_date = state.get(k(sid, "date")) or today
    return {
        "company_id": state.get(k(sid, "company_id")),
        "visit_date": chosen_date.isoformat(),
        "mode": state.get(k(sid, "mode")),
        "participants": list(state.get(k(sid, "people")) or []),
        "questionnaire_id": qid,
        "answers": answers,
        "problems": [
            {name: state.get(k(sid, f"p{i}|{name}")) for name in PROBLEM_FIELDS}
            for i in range(_count(sid))
        ],
        "raised_again": again,
        "summary": state.get(k(sid, "summary")) or "",
        "company_name": profile["company"]["name"]
        if profile
        else "",  # names the draft in the list
    }


def filled_only(errors: dict[str, str], payload: dict) -> dict[str, str]:
    """The messages about fields that already hold something."""
    out = {}
    for field, message in errors.items():
        if field.startswith("problems["):
            index, _, name = field[len("problems[") :].partition("].")
            value = (payload["problems"][int(index)] or {}).get(name)
        else:
            value = payload.get(field)
        if value not in (None, "", [], False):
            out[field] = message
    return out


def photos(sid: str) -> dict[int, list[tuple[str, bytes]]]:
    out = {}
    for i in range(_count(sid)):
        files = st.session_state.get(k(sid, f"p{i}|photo")) or []
        if files:
            out[i] = [(f.name, f.getvalue()) for f in files]
    return out


def forget(sid: str) -> None:
    """Drop every widget value of a submitted or discarded visit."""
    for key in [key for key in list(st.session_state.keys()) if isinstance(key, str)]:
        if key.startswith((f"v|{sid}|", f"{form_key(sid)}|", f"draft|{sid}|")):
            del st.session_state[key]


def current_form(actor: Actor, payload: dict):
    """The questionnaire version the draft started with (or the current one for a new draft)."""
    with session.database() as db:
        try:
            if payload.get("questionnaire_id"):
                qid = int(payload["questionnaire_id"])
                return qid, questionnaires.get_version(db, actor, qid)
            return questionnaires.current(db, actor, "visit")
        except SurveyError:
            return None, None
