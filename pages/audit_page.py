"""操作日志 (admin): every write, with who, when, what and before/after."""

import datetime as dt

import pandas as pd
import streamlit as st

from survey import clock
from survey.access import audit
from survey.labels import AUDIT_ACTION_LABELS, TABLE_LABELS
from ui import session

actor = session.require_actor("audit.read")
st.title("操作日志")
with session.database() as db:
    tables = audit.distinct_values(db, actor, "table_name")
    names = audit.distinct_values(db, actor, "actor_name")
    actions = audit.distinct_values(db, actor, "action")
c1, c2, c3 = st.columns(3)
table = c1.selectbox(
    "数据表", [None, *tables], format_func=lambda v: TABLE_LABELS.get(v, v) if v else "全部"
)
username = c2.selectbox("操作人", [None, *names], format_func=lambda v: v or "全部")
action = c3.selectbox(
    "操作", [None, *actions], format_func=lambda v: AUDIT_ACTION_LABELS.get(v, v) if v else "全部"
)
d1, d2 = st.columns(2)
since = d1.date_input("起始日期", value=None)
until = d2.date_input("截止日期", value=None, max_value=clock.today() + dt.timedelta(days=1))
with session.database() as db:
    rows = audit.list_entries(
        db,
        actor,
        table=table,
        username=username,
        action=action,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
    )
st.caption(f"显示最新 {len(rows)} 条")
if rows:
    frame = pd.DataFrame(rows)[
        ["at", "actor_name", "action", "table_name", "row_id", "before", "after", "note"]
    ]
    frame["action"] = frame["action"].map(AUDIT_ACTION_LABELS)
    frame["table_name"] = frame["table_name"].map(lambda t: TABLE_LABELS.get(t, t))
    frame.columns = ["时间", "操作人", "操作", "数据表", "记录", "修改前", "修改后", "说明"]
    st.dataframe(frame, hide_index=True, width="stretch")
