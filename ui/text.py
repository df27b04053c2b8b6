"""User text inside Markdown-capable elements (st.write, headers, captions, messages, labels, tabs,
expanders, buttons, metrics, toasts, radio options): every Markdown, LaTeX and Streamlit-directive
character is escaped, so a company called "![x](http://…)" or "**粗体**" shows exactly that and never
becomes an image, a link or styling. GFM autolinks ignore escapes (a bare http://… or www.… or
a@b.cn still becomes a link), so a word joiner (U+2060, invisible) is put inside each of them."""

from __future__ import annotations

import re

import pandas as pd

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
# "http:", "https:", "ftp:", "mailto:", "www." and "@": where GFM starts an autolink literal.
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(?=\\:)|(?<=www)(?=\\\.)|(?=@)")
JOINER = "\u2060"


def md(value) -> str:
    """`value` as literal text for Markdown; None becomes ''."""
    if value is None:
        return ""
    escaped = _SPECIAL.sub(r"\\\1", str(value))
    return _AUTOLINK.sub(JOINER, escaped).replace("\n", "  \n")


def md_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` for st.table, which reads every cell, index entry and header as
    Markdown: each text among them through `md` (numbers and dates stay as they are)."""

    def escaped(value):
        return md(value) if isinstance(value, str) else value

    shown = frame.copy()
    for column in shown.columns:
        shown[column] = shown[column].map(escaped)
    shown.index = shown.index.map(escaped)
    shown.columns = shown.columns.map(escaped)
    return shown
