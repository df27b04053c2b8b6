"""通知设置 (admins): the digest time, the public address and quiet hours; e-mail (SMTP); the
WeCom and DingTalk group robots per department; the SMS gateway; the intranet addresses the app
may reach. Each channel has a test button that says what happened. Secrets are never shown again
after saving, and a changed server asks for its secret again."""

import streamlit as st

from survey.companyview import links as company_links
from survey.notify import config, mail
from ui import channel_forms, session

actor = session.require_actor("settings.edit")
st.title("通知设置")


# A key keeps the open tab across the rerun after a save (without one st.tabs opens 常规 again
# and the 已保存 of another tab is never seen).
general, email, robot_tab, sms_tab, allow_tab = st.tabs(
    ["常规", "邮件", "群机器人", "短信", "内网地址白名单"], key="notify_tab", on_change="rerun"
)

with general:
    session.flash("notify_settings")
with general, st.form(session.form_key("notify_settings"), enter_to_submit=False):
    with session.database() as db:
        notify = config.current(db)
    digest_at = st.text_input(
        "每日待办发送时间（工作日，HH:MM）", value=notify["digest_time"], max_chars=5
    )
    base_url = st.text_input(
        "系统访问地址（消息中的链接用，可留空）",
        value=notify["base_url"],
        placeholder="https://zhy.example.gov.cn",
    )
    st.caption("免打扰时段内，群机器人和短信消息推迟到时段结束后发出；站内消息和邮件照常。")
    left, right = st.columns(2)
    quiet_start = left.text_input(
        "免打扰开始（HH:MM，可留空）", value=notify["quiet_start"], placeholder="例如 21:00"
    )
    quiet_end = right.text_input(
        "免打扰结束（HH:MM）", value=notify["quiet_end"], placeholder="例如 08:00"
    )
    quiet_urgent = st.checkbox("逾期和督办消息不受免打扰限制", value=notify["quiet_urgent"] == "1")
    if st.form_submit_button("保存", type="primary"):
        session.attempt(
            lambda db: config.save(
                db,
                actor,
                digest_time=digest_at,
                base_url=base_url,
                quiet_start=quiet_start,
                quiet_end=quiet_end,
                quiet_urgent=quiet_urgent,
            ),
            "已保存。",
            rerun="notify_settings",
        )

with general:  # 企业端: how long a link sent to a company (SMS, e-mail, QR code) opens its page
    session.flash("company_link_days")
with general, st.form(session.form_key("company_link_days"), enter_to_submit=False):
    with session.database() as db:
        days = company_links.link_days(db)
    chosen = st.number_input("企业查看链接有效期（天）", min_value=1, max_value=366, value=days)
    if st.form_submit_button("保存有效期"):
        session.attempt(
            lambda db: company_links.set_link_days(db, actor, int(chosen)),
            "已保存，此后发出的链接按新的有效期计算。",
            rerun="company_link_days",
        )

with email:
    with session.database() as db:
        smtp = mail.load(db)
    session.flash("smtp_settings")
    with st.form(session.form_key("smtp_settings"), enter_to_submit=False):
        st.caption("服务器留空即不发邮件。用户在“我的账号”填写邮箱后收到邮件。")
        host = st.text_input("SMTP 服务器", value=smtp.host, placeholder="smtp.example.gov.cn")
        port = st.number_input("端口", 1, 65535, value=smtp.port, step=1)
        security = st.selectbox(
            "加密方式",
            list(mail.SECURITY),
            index=list(mail.SECURITY).index(smtp.security),
            format_func=mail.SECURITY.get,
        )
        username = st.text_input("登录用户名（可留空）", value=smtp.username)
        password = st.text_input(
            "登录密码",
            type="password",
            placeholder=channel_forms.KEEP
            if smtp.password
            else (mail.ASK_AGAIN if smtp.username else ""),
            autocomplete="new-password",
        )
        sender = st.text_input(
            "发件地址", value=smtp.sender, placeholder="镇合意 <notice@example.gov.cn>"
        )
        if st.form_submit_button("保存邮件设置", type="primary"):
            channel_forms.save(
                lambda db: mail.save(
                    db,
                    actor,
                    host=host,
                    port=port,
                    security=security,
                    username=username,
                    password=password or None,
                    sender=sender,
                ),
                "smtp_settings",
            )
    channel_forms.test_button(
        "发送测试邮件到我的邮箱", "test_mail", lambda db: mail.send_test(db, actor)
    )

with robot_tab:
    channel_forms.robots_form(actor)

with sms_tab:
    channel_forms.sms_form(actor)

with allow_tab:
    channel_forms.allow_list_form(actor)
