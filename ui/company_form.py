"""The company form, shared by adding and editing (and later by the visit page's 'add on the spot')."""

from __future__ import annotations

import streamlit as st

from survey import reference
from survey.companies import registry
from ui import session


def _pick(label: str, options: dict, current, *, key: str, optional: bool = False):
    codes = list(options)
    if optional:
        codes = [None, *codes]
    if current is not None and current not in codes:
        codes.append(current)  # a deactivated entry still shows on an old record
    return st.selectbox(
        label,
        codes,
        index=codes.index(current) if current in codes else 0,
        format_func=lambda c: "（无）" if c is None else options.get(c, c),
        key=key,
    )


def company_fields(prefix: str, current: dict | None = None) -> dict:
    """Widgets for every company field; returns the values keyed by column (codes for lists)."""
    current = current or {}
    with session.database() as db:
        districts = reference.options(db, "districts")
        sectors = reference.options(db, "sectors")
        departments = reference.options(db, "departments")
    values = {
        "name": st.text_input("企业名称（必填）", current.get("name", ""), key=f"{prefix}_name"),
        "uscc": st.text_input(
            "统一社会信用代码（必填）",
            current.get("uscc", ""),
            max_chars=24,
            key=f"{prefix}_uscc",
            help="18 位；全角字符、空格和小写会自动转换",
        ),
    }
    left, right = st.columns(2)
    with left:
        values["district_code"] = _pick(
            "所属区县（必填）", districts, current.get("district_code"), key=f"{prefix}_district"
        )
        values["sector_code"] = _pick(
            "所属行业（必填）", sectors, current.get("sector_code"), key=f"{prefix}_sector"
        )
        values["size"] = st.selectbox(
            "企业规模",
            ["", *registry.SIZES],
            index=(["", *registry.SIZES].index(current.get("size", "") or "")),
            key=f"{prefix}_size",
        )
    with right:
        values["park_code"] = _pick(
            "所属园区", districts, current.get("park_code"), key=f"{prefix}_park", optional=True
        )
        values["department_code"] = _pick(
            "挂钩部门",
            departments,
            current.get("department_code"),
            key=f"{prefix}_dept",
            optional=True,
        )
        values["contact_name"] = st.text_input(
            "联系人", current.get("contact_name", ""), key=f"{prefix}_contact"
        )
    values["contact_phone"] = st.text_input(
        "联系电话", current.get("contact_phone", ""), key=f"{prefix}_phone"
    )
    values["address"] = st.text_input("地址", current.get("address", ""), key=f"{prefix}_address")
    flags = st.columns(2)
    values["is_above_scale"] = (
        "是"
        if flags[0].checkbox("规上企业", bool(current.get("is_above_scale")), key=f"{prefix}_above")
        else "否"
    )
    values["is_specialized"] = (
        "是"
        if flags[1].checkbox("专精特新", bool(current.get("is_specialized")), key=f"{prefix}_spec")
        else "否"
    )
    return values
