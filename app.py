"""镇合意·惠企走访: the router. Page config, database check, sign-in gate, navigation per role."""

import streamlit as st

from ui import failures, navigation, session, style

failures.configure_logging()
st.set_page_config(page_title="镇合意·惠企走访", page_icon=style.FAVICON, layout="wide")
style.apply()
session.ensure_database()
actor = session.current_actor()
page = navigation.build(actor)
session.sync_cookie()
if session.is_demo():
    st.caption("演示数据：本库中的企业、人员和问题均为生成的示例，不是真实记录。")
with session.one_time_values():  # a success message stays until a run showing it completes
    failures.run_page(page, actor)
