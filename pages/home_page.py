"""工作台: what waits for the signed-in user, per role."""

import streamlit as st

from survey import reference
from survey.labels import ROLE_LABELS
from survey.problems import inbox
from ui import session
from ui.text import md

actor = session.require_actor("workbench.read")
st.title(f"{md(actor.display_name)}，您好")
with session.database() as db:
    items = inbox.waiting_items(db, actor)
    department = reference.names(db, "departments").get(actor.department_code)
st.caption(f"角色：{actor.role_labels}" + (f" · {md(department)}" if department else ""))
for role in ROLE_LABELS:
    mine = [item for item in items if item.role == role]
    if not mine:
        continue
    st.header(f"{ROLE_LABELS[role]}待办")
    columns = st.columns(len(mine))
    for column, item in zip(columns, mine, strict=True):
        column.metric(item.label, f"{item.count:,}", help=item.help or None)
