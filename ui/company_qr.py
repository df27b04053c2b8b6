"""The QR code an officer shows on the visit receipt (企业端, issue 30 item 5): it opens the
company's own page (`/company-view?t=…`) on the company's phone. The link is minted once per
receipt (survey.companyview.links.issue_qr, audited) and drawn here with the `qrcode` library,
in this process: no outside host is asked for the image."""

from __future__ import annotations

import io

import qrcode
import streamlit as st

from survey.access.actor import Actor
from survey.access.settings import get_setting
from survey.companyview import links
from survey.errors import SurveyError
from ui import session


def base_url() -> str:
    """The site's public address (通知设置 → 常规), else the address this page was opened at."""
    with session.database() as db:
        configured = get_setting(db, links.BASE_URL_SETTING) or ""
    if configured.startswith("http"):
        return configured
    opened = st.context.url or ""
    scheme, _, rest = opened.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if rest else ""


def png(url: str) -> bytes:
    image = qrcode.make(url, box_size=8, border=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def show(actor: Actor, company_id: int, key: str) -> None:
    """The company's QR code under the receipt, minted on the first tap and kept for this
    receipt (a rerun shows the same code, and mints no other link)."""
    state = st.session_state
    if key not in state:
        if not st.button("出示企业查看码（企业扫码查看办理进度、评价）", width="stretch"):
            return
        try:
            with session.database() as db:
                token = links.issue_qr(db, actor, company_id)
        except SurveyError as exc:
            st.error(str(exc))
            return
        state[key] = png(links.url_for(token, base_url()))
    st.image(state[key], width=280, caption="请企业用手机扫码：查看本企业问题的办理进度并评价。")
