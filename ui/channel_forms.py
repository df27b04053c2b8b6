"""The group-robot, SMS and allow-list forms of 通知设置 (kept here so the page stays thin), the
test button every channel shares (it sends now and says what happened: sent, refused, or the
service's own error code and message) and the save that warns when a secret was cleared."""

import pandas as pd
import streamlit as st

from survey import outbound, reference
from survey.errors import SurveyError
from survey.labels import CHANNEL_LABELS
from survey.notify import robots, sms
from ui import session
from ui.text import md

KEEP = "已保存，留空表示不修改"


def test_button(label: str, key: str, send) -> None:
    """A button that sends a test now and says what happened (sent, or why not)."""
    if st.button(label, key=key, icon=":material/send:"):
        try:
            with session.database() as db:
                said = send(db)
        except SurveyError as exc:
            st.error(md(str(exc)))
        else:
            st.success(md(said))


def save(action, name: str) -> None:
    """Save through `action(db)` and show the form `name` again from the saved values (its tab
    kept, the secret field empty); a note the action returns (a secret cleared by a changed
    server, to be filled in again) is shown as a warning under 已保存."""
    notes: list = []
    if session.attempt(lambda db: notes.append(action(db)), "已保存。"):
        session.done(name, "已保存。", *[n for n in notes if n])


def allow_list_form(actor) -> None:
    """内网地址白名单: the intranet addresses the app may reach (the rule refuses them otherwise)."""
    with session.database() as db:
        current = outbound.allow_list_text(db)
    st.caption(
        "系统向外发送（群机器人、短信网关、邮件服务器、事件推送）时，只连接公网地址；回环、内网、"
        "链路本地等地址一律拒绝，除非登记在这里。本单位内网的短信平台或邮件服务器，请把它的 IP "
        "地址或所在小网段登记一次（每行一个，如 10.20.1.5 或 10.20.1.0/24，# 后可写备注）。"
        "每次修改和每次拒绝都记入操作日志。"
    )
    session.flash("outbound_allow_form")
    with st.form(session.form_key("outbound_allow_form"), enter_to_submit=False):
        text = st.text_area(
            "允许连接的内网地址",
            value=current,
            key="outbound_allow",
            placeholder="10.20.1.5  # 短信平台",
        )
        if st.form_submit_button("保存白名单", type="primary"):
            session.attempt(
                lambda db: outbound.save_allow_list(db, actor, text),
                "已保存。",
                rerun="outbound_allow_form",
            )


def robots_form(actor) -> None:
    """群机器人: the robots, one form to add or change one, and a test post to its group."""
    with session.database() as db:
        known = robots.list_robots(db, actor)
        departments = reference.options(db, "departments")
    audiences = {robots.SUPERVISORS: "督查人员", **departments}
    st.caption(
        "在企业微信或钉钉群中添加机器人，把 Webhook 地址填在这里：交办、督办、时限提醒等消息"
        "会同时发到对应部门的群（或督查人员的群）。每个机器人每分钟最多发 20 条，多出的合并发送。"
    )
    if known:
        frame = pd.DataFrame(known)
        st.dataframe(
            pd.DataFrame(
                {
                    "名称": frame["name"],
                    "类型": frame["platform"].map(CHANNEL_LABELS),
                    "所在群": frame["audience_name"],
                    "Webhook": frame["url"],
                    "加签": frame["signed"].map({1: "是", 0: "否"}),
                    "状态": frame["active"].map({1: "启用", 0: "停用"}),
                    "最近发送": frame["last_post_at"].fillna("—"),
                }
            ),
            hide_index=True,
            width="stretch",
        )
    by_id = {r["id"]: r for r in known}
    chosen = st.selectbox(
        "机器人",
        [None, *by_id],
        format_func=lambda i: "＋ 新增机器人" if i is None else by_id[i]["name"],
        key="robot_choice",
    )
    current = by_id.get(chosen, {})
    session.flash("robot")  # after a save: the table shows it, the form is empty again
    request = session.request_id("robot")  # a repeat of this save answers 已保存 (survey.repeats)
    with st.form(f"{session.form_key('robot')}_{chosen}", enter_to_submit=False):
        name = st.text_input("名称", value=current.get("name", ""), placeholder="工信局工作群")
        platforms = list(robots.PLATFORMS)
        platform = st.selectbox(
            "类型",
            platforms,
            index=platforms.index(current["platform"]) if current else 0,
            format_func=CHANNEL_LABELS.get,
            disabled=bool(current),
        )
        codes = list(audiences)
        audience = st.selectbox(
            "发到哪个群",
            codes,
            index=codes.index(current["audience"]) if current.get("audience") in codes else 0,
            format_func=audiences.get,
        )
        url = st.text_input(
            "Webhook 地址",
            placeholder=f"{KEEP}（{current['url']}）" if current else robots.PLATFORMS["wecom"][1],
            help="企业微信："
            + robots.PLATFORMS["wecom"][1]
            + "；钉钉："
            + robots.PLATFORMS["dingtalk"][1],
        )
        secret = st.text_input(
            "加签密钥（钉钉，SEC 开头，可留空）",
            type="password",
            placeholder=KEEP if current.get("signed") else "",
            autocomplete="new-password",
        )
        active = st.checkbox("启用", value=bool(current.get("active", 1)))
        if st.form_submit_button("保存机器人", type="primary"):
            session.attempt(
                lambda db: robots.save_robot(
                    db,
                    actor,
                    robot_id=chosen,
                    name=name,
                    platform=platform,
                    audience=audience,
                    url=url or None,
                    secret=secret or None,
                    active=active,
                    request_id=request,
                ),
                "已保存。",
                rerun="robot",
            )
    if chosen is not None:
        test_button(
            "发送测试消息到这个群", "test_robot", lambda db: robots.send_test(db, actor, chosen)
        )


def sms_form(actor) -> None:
    """短信: the gateway's description, checked and saved whole, and a test SMS."""
    with session.database() as db:
        gateway = sms.load(db)
    asks_again = not gateway.secret and sms.uses_secret(gateway)
    if asks_again:
        st.warning(md(sms.NO_SECRET))
    st.caption(
        "通过本地政务短信平台的 HTTP 接口发送。模板中可用 `${mobile}`（手机号）、`${text}`（短信内容）"
        "和 `${secret}`（密钥）。短信只含问题编号、企业名称、类别和时限，不含其他个人信息。"
    )
    session.flash("sms_settings")
    with st.form(session.form_key("sms_settings"), enter_to_submit=False):
        enabled = st.checkbox("开启短信通知", value=gateway.enabled)
        sms_url = st.text_input(
            "网关地址", value=gateway.url, placeholder="https://sms.example.gov.cn/api/send"
        )
        left, right = st.columns(2)
        method = left.selectbox("请求方法", sms.METHODS, index=sms.METHODS.index(gateway.method))
        formats = list(sms.FORMATS)
        body_format = right.selectbox(
            "请求体格式",
            formats,
            index=formats.index(gateway.format),
            format_func=sms.FORMATS.get,
        )
        headers = st.text_area(
            "请求头（每行 名称: 值，可留空）",
            value=gateway.headers,
            placeholder="Authorization: Bearer ${secret}",
        )
        template = st.text_area(
            "请求体模板",
            value=gateway.template,
            placeholder='{"phone": "${mobile}", "content": "${text}"}',
        )
        sms_secret = st.text_input(
            "密钥（`${secret}`）",
            type="password",
            placeholder=KEEP if gateway.secret else ("请重新填写密钥" if asks_again else ""),
            autocomplete="new-password",
        )
        success = st.text_input(
            "成功标志（网关答复中应含的文字，可留空）",
            value=gateway.success,
            placeholder='"code":0',
        )
        left, right = st.columns(2)
        code_field = left.text_input(
            "答复中的状态码字段（可留空）",
            value=gateway.code_field,
            placeholder="code",
            help="发送失败时显示网关答复 JSON 中这两个字段的值；嵌套字段写作 result.code。",
        )
        message_field = right.text_input(
            "答复中的说明字段（可留空）", value=gateway.message_field, placeholder="msg"
        )
        if st.form_submit_button("保存短信设置", type="primary"):
            save(
                lambda db: sms.save(
                    db,
                    actor,
                    enabled=enabled,
                    url=sms_url,
                    method=method,
                    format=body_format,
                    headers=headers,
                    template=template,
                    secret=sms_secret or None,
                    success=success,
                    code_field=code_field,
                    message_field=message_field,
                ),
                "sms_settings",
            )
    test_button("发送测试短信到我的手机", "test_sms", lambda db: sms.send_test(db, actor))
