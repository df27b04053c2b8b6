"""Query parameters from the address (links, bookmarks, a colleague's message). Each is parsed and
checked before use; a bad one gets a Chinese message naming it and the page goes on without it."""

from __future__ import annotations

from datetime import date

import streamlit as st

from ui.text import md

MAX_ID = 2**63 - 1  # SQLite's INTEGER: a larger number cannot even be looked up


def _refuse(name: str, raw: str, what: str) -> None:
    st.warning(f"地址中的参数 {name}=“{md(raw[:40])}”不是有效的{what}，已忽略。")


def record_id(name: str, what: str) -> int | None:
    """A positive record number, or None when absent or bad (with a message)."""
    raw = st.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID:
        return int(raw)
    _refuse(name, raw, what)
    return None


def iso_date(name: str, what: str) -> date | None:
    """A YYYY-MM-DD date, or None when absent or bad (with a message)."""
    raw = st.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw)
    except ValueError:
        pass
    _refuse(name, raw, what)
    return None


def known_values(name: str, allowed, what: str) -> list[str]:
    """Comma-separated codes that are in `allowed`; unknown ones are named and dropped."""
    raw = st.query_params.get(name) or ""
    values = [v for v in raw.split(",") if v]
    unknown = [v for v in values if v not in allowed]
    if unknown:
        _refuse(name, ",".join(unknown), what)
    return [v for v in values if v in allowed]
