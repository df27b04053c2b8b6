"""用户管理 (admin): create users, change roles and department, deactivate, reset passwords,
unlock, end sessions; set how long a sign-in lasts."""

import pandas as pd
import streamlit as st

from survey import reference
from survey.access import auth, users
from survey.labels import ROLE_LABELS
from ui import session

actor = session.require_actor("users.manage")
st.title("用户管理")


with session.database() as db:
    everyone = users.list_users(db, actor)
    departments = reference.options(db, "departments")
    hours = auth.session_hours(db)

table = pd.DataFrame(everyone)
st.dataframe(
    pd.DataFrame(
        {
            "用户名": table["username"],
            "姓名": table["display_name"],
            "角色": table["roles"]
            .fillna("")
            .map(lambda r: "、".join(ROLE_LABELS[x] for x in r.split(",") if x)),
            "部门": table["department_code"].map(departments).fillna(""),
            "状态": table["active"].map({1: "启用", 0: "停用"}),
            "最近登录": table["last_sign_in_at"].fillna(""),
        }
    ),
    hide_index=True,
    width="stretch",
)


def user_form(prefix: str, current: dict) -> dict:
    name = st.text_input("姓名", current.get("display_name", ""), key=f"{prefix}_name")
    roles = st.multiselect(
        "角色",
        list(ROLE_LABELS),
        current.get("roles", []),
        format_func=ROLE_LABELS.get,
        placeholder="请选择角色",
        key=f"{prefix}_roles",
    )
    codes = [None, *departments]
    department = st.selectbox(
        "所属部门（责任部门、走访人员必填）",
        codes,
        index=codes.index(current.get("department_code"))
        if current.get("department_code") in codes
        else 0,
        format_func=lambda c: "（无）" if c is None else departments[c],
        key=f"{prefix}_dept",
    )
    phone = st.text_input("电话", current.get("phone", ""), key=f"{prefix}_phone")
    return {"display_name": name, "roles": roles, "department_code": department, "phone": phone}


# After each action the page reruns (session.attempt rerun=...): the table above shows the change
# at once; the tabs' key keeps the open tab across that rerun.
create_tab, edit_tab, settings_tab = st.tabs(
    ["新建用户", "修改、停用、重置", "登录有效期"], key="users_tab", on_change="rerun"
)
with create_tab:
    session.flash("create_user")
creating = session.form_key("create_user")  # new after each user made: the fields come back empty
request = session.request_id("create_user")  # a repeat of the same tap finds its first user
with create_tab, st.form(creating, enter_to_submit=False):
    username = st.text_input("用户名（登录名）")
    values = user_form(creating, {})
    password = st.text_input("初始密码（首次登录须修改）", type="password")
    if st.form_submit_button("创建用户", type="primary") and session.attempt(
        lambda db: users.create_user(
            db, actor, username=username, password=password, request_id=request, **values
        ),
        "",
    ):  # listed above at once (a later second tap finds the name taken)
        session.done("create_user", f"已创建用户 {username}。")

with edit_tab:
    by_id = {u["id"]: u for u in everyone}
    chosen = st.selectbox(
        "用户",
        list(by_id),
        format_func=lambda i: f"{by_id[i]['username']} · {by_id[i]['display_name']}",
        key="edit_user",
    )
    with session.database() as db:
        current = users.get_user(db, actor, chosen)
        sessions = auth.list_sessions(db, actor, user_id=chosen)
    session.flash("edit_user")
    with st.form(f"edit_user_{chosen}", enter_to_submit=False):
        values = user_form(f"edit{chosen}", current)
        if st.form_submit_button("保存修改", type="primary"):
            session.attempt(
                lambda db: users.update_user(db, actor, chosen, **values),
                "已保存。",
                rerun="edit_user",
            )
    left, mid, right = st.columns(3)
    if current["active"] and left.button("停用账号", key="deactivate"):
        session.attempt(
            lambda db: users.set_user_active(db, actor, chosen, False),
            "已停用，其登录已全部结束。",
            rerun="edit_user",
        )
    if not current["active"] and left.button("重新启用", key="activate"):
        session.attempt(
            lambda db: users.set_user_active(db, actor, chosen, True), "已启用。", rerun="edit_user"
        )
    if current["locked_until"] and mid.button("解除锁定", key="unlock"):
        session.attempt(
            lambda db: users.unlock_user(db, actor, chosen), "已解除锁定。", rerun="edit_user"
        )
    with st.form(f"reset_{session.form_key('edit_user')}_{chosen}", enter_to_submit=False):
        temporary = st.text_input("临时密码（用户下次登录须修改）", type="password")
        if st.form_submit_button("重置密码"):
            session.attempt(
                lambda db: users.reset_password(db, actor, chosen, temporary),
                "密码已重置。",
                rerun="edit_user",
            )
    st.caption(f"当前登录会话（{len(sessions)}）")
    for s in sessions:
        cols = st.columns([3, 3, 1])
        cols[0].text(f"{s['created_at']} 登录 · 最近 {s['last_seen_at']}")
        cols[1].text(s["user_agent"][:60] or "—")
        if cols[2].button("结束", key=f"revoke_{s['id']}"):
            session.attempt(
                lambda db, sid=s["id"]: auth.revoke_session(db, actor, sid),
                "会话已结束。",
                rerun="edit_user",
            )

with settings_tab, st.form("session_hours", enter_to_submit=False):
    new_hours = st.number_input(
        "登录有效期（小时）", min_value=1.0, max_value=720.0, value=hours, step=1.0
    )
    if st.form_submit_button("保存", type="primary"):
        session.attempt(
            lambda db: users.set_session_hours(db, actor, new_hours), "已保存，新的登录按此有效期。"
        )
