"""The monitor's feedback form; keys carry the draft's submission id (as the visit form does)."""

from __future__ import annotations

import streamlit as st

from survey import reference
from survey.access.actor import Actor
from survey.companies import registry
from survey.labels import FEEDBACK_KIND_LABELS
from ui import form_widgets, session, uploads
from ui.text import md

FIELDS = (
    "kind",
    "department_code",
    "service_window",
    "indicator_code",
    "company_id",
    "body",
    "anonymous",
    "category",
    "nature",
)


def k(sid: str, name: str) -> str:
    return f"f|{sid}|{name}"


def form_key(sid: str) -> str:
    return f"ff|{sid}"


def restore(sid: str, payload: dict, form) -> None:
    for name in FIELDS:
        if payload.get(name) not in (None, ""):
            st.session_state[k(sid, name)] = payload[name]
    for code, score in (payload.get("ratings") or {}).items():
        st.session_state[k(sid, f"rating|{code}")] = score
    if form is not None:
        form_widgets.restore(form, form_key(sid), payload.get("answers") or {})


def _pick(label: str, options: dict, key: str, placeholder: str = "可不选"):
    return st.selectbox(
        label, list(options), key=key, index=None, format_func=options.get, placeholder=placeholder
    )


def render(sid: str, actor: Actor, qid, form, attempted: bool, slots: dict) -> dict:
    with session.database() as db:
        departments = reference.options(db, "departments")
        indicators = {
            r["code"]: f"{r['system']} · {r['name']}"
            for r in reference.list_entries(db, "indicators")
        }
        dimensions = reference.options(db, "rating_dimensions")
        natures = reference.options(db, "request_natures")
        from survey.visits import category_options

        categories = category_options(db, actor)
    st.radio(
        "反馈类型",
        list(FEEDBACK_KIND_LABELS),
        key=k(sid, "kind"),
        format_func=FEEDBACK_KIND_LABELS.get,
        horizontal=True,
        index=None,
    )
    slots["kind"] = st.empty()
    kind = st.session_state.get(k(sid, "kind"))
    _pick(
        "涉及部门" + ("（必填）" if kind == "rating" else ""),
        departments,
        k(sid, "department_code"),
    )
    slots["department_code"] = st.empty()
    st.text_input("服务窗口或场所（可选）", key=k(sid, "service_window"))
    _pick("涉及的营商环境指标", indicators, k(sid, "indicator_code"))
    query = st.text_input("涉及企业（可选，输入名称查找）", key=k(sid, "company_q"))
    with session.database() as db:
        hits = registry.search_companies(db, actor, query, limit=20) if query.strip() else []
    names = {h["id"]: h["name"] for h in hits}
    chosen = st.session_state.get(k(sid, "company_id"))
    if chosen and chosen not in names:
        with session.database() as db:
            names = {chosen: registry.get_company(db, actor, chosen)["name"], **names}
    _pick("企业", names, k(sid, "company_id"), "先在上方查找")
    if kind == "lead":
        _pick("问题类别（必填）", categories, k(sid, "category"), "选择小类")
        slots["category"] = st.empty()
        st.radio(
            "诉求性质",
            list(natures),
            key=k(sid, "nature"),
            format_func=lambda c: md(natures[c]),
            horizontal=True,
            index=None,
        )
    if kind == "rating":
        st.markdown("**评分（1 最差，5 最好）**")
        for code, name in dimensions.items():
            st.radio(
                md(name), [1, 2, 3, 4, 5], key=k(sid, f"rating|{code}"), horizontal=True, index=None
            )
            slots[f"ratings.{code}"] = st.empty()
    st.text_area("内容（至少 10 个字）", key=k(sid, "body"), height=120)
    slots["body"] = st.empty()
    st.checkbox("匿名：责任部门看不到我的姓名", key=k(sid, "anonymous"))
    uploads.file_uploader(
        "照片（可选，提交时保存）", uploads.PHOTO_TYPES, k(sid, "photos"), multiple=True
    )
    answers = {}
    if form is not None:
        st.header(md(form.title))
        answers = form_widgets.to_json(
            form_widgets.render(form, form_key(sid), today=_today(), show_required=attempted).raw
        )
    state = st.session_state
    payload = {name: state.get(k(sid, name)) for name in FIELDS}
    payload["anonymous"] = bool(payload["anonymous"])
    payload["ratings"] = (
        {code: state.get(k(sid, f"rating|{code}")) for code in dimensions}
        if kind == "rating"
        else {}
    )
    payload["questionnaire_id"] = qid
    payload["answers"] = answers
    return payload


def _today():
    from survey import clock

    return clock.today()


def photos(sid: str) -> list[tuple[str, bytes]]:
    return [(f.name, f.getvalue()) for f in st.session_state.get(k(sid, "photos")) or []]


def forget(sid: str) -> None:
    for key in [key for key in list(st.session_state.keys()) if isinstance(key, str)]:
        if key.startswith((f"f|{sid}|", f"{form_key(sid)}|", f"draft|{sid}|")):
            del st.session_state[key]
