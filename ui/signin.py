"""The sign-in form, shown at every address until the user signs in (deep links survive it)."""

from __future__ import annotations

import streamlit as st

from survey.errors import SurveyError
from ui import session
from ui.text import md

SIGNED_OUT = "signed_out_note"  # why the user is signed out (a changed password), kept once


def render() -> None:
    st.title("镇合意·惠企走访")
    st.caption("镇江市“惠企‘镇’行”走访、营商环境监督与诉求办理")
    if said := session.kept(SIGNED_OUT):  # until a run that showed it has completed
        st.success(said)
    with st.form("signin", enter_to_submit=True):
        username = st.text_input("用户名", autocomplete="username")
        password = st.text_input("密码", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("登录", type="primary", width="stretch")
    if submitted:
        try:
            session.sign_in(username, password)
        except SurveyError as exc:
            st.error(md(str(exc)))
        else:
            st.rerun()
    if session.is_demo():
        st.info(session.demo_accounts_text())
