"""我的账号: change the password (required at first sign-in) and sign out."""

import streamlit as st

from survey import auth
from survey.errors import SurveyError
from ui import session

actor = session.require_actor()
st.title("我的账号")
st.write(f"{actor.display_name}（{actor.username}）· {actor.role_labels}")
if actor.must_change_password:
    st.warning("首次登录请先修改初始密码，修改后需重新登录。")

with st.form("change_password", enter_to_submit=False):
    st.subheader("修改密码")
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
            st.error(str(exc))
        else:
            session.sign_out()
            st.success("密码已修改，请用新密码重新登录。")
            st.rerun()

st.divider()
if st.button("退出登录", icon=":material/logout:"):
    session.sign_out()
    st.rerun()
