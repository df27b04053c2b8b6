"""通知记录 (admins): the messages that left the app or wait to, with their errors; a parked one
(after repeated failures) can be sent again."""

import pandas as pd
import streamlit as st

from survey.labels import CHANNEL_LABELS
from survey.labels import DELIVERY_STATUS_LABELS as STATUS
from survey.notify import outbox
from ui import session
from ui.text import md

actor = session.require_actor("settings.edit")
st.title("通知记录")
status = st.segmented_control(
    "状态", [None, *STATUS], format_func=lambda s: STATUS.get(s, "全部"), default=None
)
with session.database() as db:
    rows = outbox.list_deliveries(db, actor, status)
    late = outbox.stuck(db)
if late:
    st.warning(f"{late} 条消息超过 1 小时仍未发出，请检查通知设置和下方的错误。")
if not rows:
    st.info("没有外发记录。在“通知设置”中配置邮件、群机器人或短信后，外发的消息会列在这里。")
    st.stop()
frame = pd.DataFrame(rows)
view = pd.DataFrame(
    {
        "编号": frame["id"],
        "渠道": frame["channel"].map(CHANNEL_LABELS),
        "收件": frame["target"],
        "标题": frame["title"],
        "状态": frame["status"].map(STATUS),
        "尝试": frame["attempts"],
        "时间": frame["sent_at"].fillna(frame["next_at"]),  # sent, or due
        "说明": frame["last_error"],
    }
)
st.dataframe(view, hide_index=True, width="stretch")
parked = [r["id"] for r in rows if r["status"] == "parked"]
if parked:
    chosen = st.selectbox("选择已搁置的消息", parked, format_func=lambda i: f"#{i}")
    if st.button("重新发送", icon=":material/replay:"):
        session.attempt(
            lambda db: outbox.retry(db, actor, chosen), f"#{md(str(chosen))} 已重新排队。"
        )
