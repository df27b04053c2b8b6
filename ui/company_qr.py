"""The company's links in the app (企业端, issue 30). The QR code an officer shows on the visit
receipt (item 5) opens the company's own page (`/company-view?t=…`) on the company's phone: the link
is minted once per receipt (survey.companyview.links.issue_qr, audited) and drawn here with the
`qrcode` library, in this process (no outside host is asked for the image). On 企业档案 a supervisor
sees how many links are live, revokes them all at once, and keeps the company's e-mail address."""

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


def manage(actor: Actor, company_id: int) -> None:
    """企业查看链接 on 企业档案 (supervisors): live links, revoke all, the company's e-mail."""
    st.header("企业查看链接")
    with session.database() as db:
        live = links.live_links(db, actor, company_id)
        email = links.contact_email(db, actor, company_id)
        days = links.link_days(db)
    st.write(
        f"有效链接 {live} 个。短信、邮件和走访二维码中的链接 {days} 天内有效，转发给他人同样可用，"
        "直到撤销。"
    )
    session.flash("revoke_links")
    with st.form(session.form_key("revoke_links"), enter_to_submit=False):
        reason = st.text_input("撤销原因（记入操作日志）")
        if st.form_submit_button("撤销该企业的全部链接"):
            session.attempt(
                lambda db: links.revoke_all(db, actor, company_id, reason),
                "已撤销该企业的全部查看链接，已打开的页面也随即失效。",
                rerun="revoke_links",
            )
    session.flash("company_email")
    with st.form(session.form_key("company_email"), enter_to_submit=False):
        typed = st.text_input("企业联系邮箱（答复、办结时发送查看链接）", value=email)
        if st.form_submit_button("保存邮箱"):
            session.attempt(
                lambda db: links.set_contact_email(db, actor, company_id, typed),
                "邮箱已保存。",
                rerun="company_email",
            )
