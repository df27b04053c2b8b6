"""参考列表 (admin): list, add, rename, deactivate and delete entries of the editable lists."""

import pandas as pd
import streamlit as st

from survey import reference
from ui import plan_views, session

actor = session.require_actor("reference.edit")
st.title("参考列表")
st.caption(
    "区县、行业、问题类别、部门等列表均可编辑。已被记录使用的条目不能删除，只能停用；停用后不再出现在选择框中，历史记录仍显示原名称。"
)

key = st.selectbox(
    "列表", list(reference.LISTS), format_func=lambda k: reference.LISTS[k].title, key="ref_list"
)
spec = reference.get_list(key)
show_inactive = st.toggle("显示已停用的条目", value=True)
with session.database() as db:
    entries = reference.list_entries(db, key, include_inactive=show_inactive)

labels = {c.name: c.label for c in spec.columns} | {"active": "状态"}
table = pd.DataFrame(entries, columns=[*spec.column_names, "active"]).rename(columns=labels)
table["状态"] = table["状态"].map({1: "启用", 0: "停用"})
st.dataframe(table, hide_index=True, width="stretch")
st.caption(f"共 {len(entries)} 条")


def entry_label(row: dict) -> str:
    state = "" if row["active"] else "（已停用）"
    return f"{row[spec.key_column]} · {row['name']}{state}"


add_tab, rename_tab, active_tab, delete_tab = st.tabs(["新增", "改名", "停用/启用", "删除"])
with add_tab, st.form(f"add_{key}", clear_on_submit=False, enter_to_submit=False):
    values = {
        c.name: st.text_input(c.label + ("（必填）" if c.required else "")) for c in spec.columns
    }
    if st.form_submit_button("新增条目", type="primary"):
        session.attempt(lambda db: reference.add_entry(db, actor, key, values), "已新增。")

with session.database() as db:
    all_entries = reference.list_entries(db, key, include_inactive=True)
by_code = {row[spec.key_column]: row for row in all_entries}

with rename_tab, st.form(f"rename_{key}", enter_to_submit=False):
    code = st.selectbox("条目", list(by_code), format_func=lambda c: entry_label(by_code[c]))
    new_name = st.text_input("新名称")
    if st.form_submit_button("改名", type="primary"):
        session.attempt(
            lambda db: reference.rename_entry(db, actor, key, code, new_name), "已改名。"
        )

with active_tab, st.form(f"active_{key}", enter_to_submit=False):
    code = st.selectbox("条目 ", list(by_code), format_func=lambda c: entry_label(by_code[c]))
    left, right = st.columns(2)
    if left.form_submit_button("停用"):
        session.attempt(lambda db: reference.set_active(db, actor, key, code, False), "已停用。")
    if right.form_submit_button("重新启用"):
        session.attempt(lambda db: reference.set_active(db, actor, key, code, True), "已启用。")

with delete_tab, st.form(f"delete_{key}", enter_to_submit=False):
    code = st.selectbox("条目  ", list(by_code), format_func=lambda c: entry_label(by_code[c]))
    st.caption("仅能删除从未被使用的条目。")
    if st.form_submit_button("删除", type="secondary"):
        session.attempt(lambda db: reference.delete_entry(db, actor, key, code), "已删除。")

if key == "departments":
    st.header("学到的部门名称")
    plan_views.learnt_aliases(actor)
