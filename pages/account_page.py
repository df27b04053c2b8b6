"""我的账号: change the password (required at first sign-in) and sign out."""

import streamlit as st

from survey.access import auth, users
from survey.errors import SurveyError
from ui import session, signin
from ui.text import md

actor = session.require_actor("account.edit")
st.title("我的账号")
st.write(f"{md(actor.display_name)}（{md(actor.username)}）· {actor.role_labels}")
if actor.must_change_password:
    st.warning("首次登录请先修改初始密码，修改后需重新登录。")

with st.form("change_password", enter_to_submit=False):
    st.header("修改密码")
    old = st.text_input("原密码", type="password", autocomplete="current-password")
    new = st.text_input(
        "新密码", type="password", autocomplete="new-password", help="至少 8 位，含字母和数字"
    )
    again = st.text_input("再输入一次新密码", type="password", autocomplete="new-password")
    changed = st.form_submit_button("修改密码", type="primary")
if changed:
    if new != again:
        st.error("两次输入的新密码不一致。")
    else:
        try:
            with session.database() as db:
                auth.change_password(db, actor, old, new)
        except SurveyError as exc:
            st.error(md(str(exc)))
        else:
            session.sign_out()
            # said on the sign-in screen the rerun shows (an st.success here went with the rerun)
            session.keep(signin.SIGNED_OUT, "密码已修改，请用新密码重新登录。")
            st.rerun()

with session.database() as db:
    contact = users.own_contact(db, actor)
with st.form("contact", enter_to_submit=False):
    st.header("联系方式")
    st.caption(
        "填写后，交办、答复、督办和时限提醒也会发到邮箱和手机短信（管理员已开启时）。"
        "站内消息始终保留全部记录。"
    )
    email = st.text_input("电子邮箱", value=contact["email"], autocomplete="email")
    phone = st.text_input("手机号", value=contact["phone"], autocomplete="tel")
    urgent_only = st.checkbox(
        "邮件和短信只接收紧急消息（督办、逾期、差评重办）",
        value=bool(contact["urgent_only"]),
    )
    if st.form_submit_button("保存联系方式"):
        session.attempt(
            lambda db: users.set_own_contact(db, actor, email, phone, urgent_only=urgent_only),
            "已保存。",
        )

st.divider()
st.header("我的登录")
with session.database() as db:
    sessions = auth.list_sessions(db, actor)
current = st.session_state.get(session.SESSION_KEY)
for s in sessions:
    cols = st.columns([3, 3, 1])
    here = "（本设备）" if s["id"] == current else ""
    cols[0].text(f"{s['created_at'][:16]} 登录{here}，有效至 {s['expires_at'][:16]}")
    cols[1].text((s["user_agent"] or "—")[:60])
    if s["id"] != current and cols[2].button("结束", key=f"end_{s['id']}"):
        with session.database() as db:
            auth.revoke_session(db, actor, s["id"])
        st.rerun()

if st.button("退出登录", icon=":material/logout:"):
    session.sign_out()
    st.rerun()
