"""User text inside Markdown-capable elements (st.write, headers, captions, messages, labels): every
Markdown, LaTeX and Streamlit-directive character is escaped, so a company called
"![x](http://…)" or "**粗体**" shows exactly that and never becomes an image, a link or styling."""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md(value) -> str:
    """`value` as literal text for Markdown; None becomes ''."""
    if value is None:
        return ""
    return _SPECIAL.sub(r"\\\1", str(value)).replace("\n", "  \n")
