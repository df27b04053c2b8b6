"""接口客户端 (admins): the other systems that call /api/v1, each with its scopes and row scope.
A new or rotated token is shown once, here, and never again."""

import pandas as pd
import streamlit as st

from survey import reference
from survey.access import clients
from survey.access.permissions import SCOPES
from survey.errors import SurveyError
from survey.notify import webhooks
from ui import session
from ui.text import md

actor = session.require_actor("api_clients.manage")
st.title("接口客户端")
st.caption(
    "12345 热线、政务服务平台等系统通过 /api/v1 报送和读取问题。接口说明见 "
    "[/api/v1/docs](/api/v1/docs)（OpenAPI 文档：/api/v1/openapi.json）。"
)


TOKEN = "client_token_once"  # a new or rotated token: in the session's memory, not the database


def show_token(token: str) -> None:
    st.success("令牌如下，只显示这一次：请立即复制给对方系统的管理员。")
    st.code(token, language=None)


def token_made(token: str, name: str) -> None:
    """After create or rotate: the page reruns, so the table shows the client (and its new token's
    beginning) at once, and the token is shown at the top of that run; it stays until a run that
    showed it has completed (a second tap that cuts that run off shows it again)."""
    session.keep(TOKEN, token, made_by=session.form_key(name))
    session.done(name, "")


if token := session.kept(TOKEN):
    show_token(token)
session.flash("client_revoked")


with session.database() as db:
    known = clients.list_clients(db, actor)
    departments = reference.options(db, "departments")
    districts = reference.options(db, "districts")

if known:
    frame = pd.DataFrame(known)
    scope_names = frame["scopes"].map(lambda s: "、".join(SCOPES[x] for x in s.split(",") if x))
    rows = frame.apply(
        lambda r: (
            {"all": "全部"}.get(r["row_kind"])
            or departments.get(r["row_value"])
            or districts.get(r["row_value"], r["row_value"])
        ),
        axis=1,
    )
    st.dataframe(
        pd.DataFrame(
            {
                "名称": frame["name"],
                "令牌开头": frame["token_hint"] + "…",
                "权限": scope_names,
                "数据范围": rows,
                "每分钟上限": frame["per_minute"],
                "状态": frame["active"].map({1: "启用", 0: "已停用"}),
                "最近调用": frame["last_used_at"].fillna("—"),
            }
        ),
        hide_index=True,
        width="stretch",
    )

request = session.request_id("new_client")  # a repeat of the same tap makes no second client
with st.form(session.form_key("new_client"), enter_to_submit=False):
    st.header("新建客户端")
    name = st.text_input("名称", placeholder="12345热线平台")
    scopes = st.multiselect("权限", list(SCOPES), format_func=SCOPES.get, placeholder="请选择权限")
    row_kind = st.radio(
        "数据范围", list(clients.ROW_KINDS), format_func=clients.ROW_KINDS.get, horizontal=True
    )
    left, right = st.columns(2)
    department = left.selectbox(
        "部门（范围为一个部门时）", list(departments), format_func=departments.get
    )
    district = right.selectbox(
        "县（市、区）（范围为一个辖区时）", list(districts), format_func=districts.get
    )
    per_minute = st.number_input("每分钟请求上限", 1, 6000, clients.DEFAULT_PER_MINUTE, step=10)
    if st.form_submit_button("创建并生成令牌", type="primary"):
        value = {"department": department, "district": district}.get(row_kind, "")
        try:
            with session.database() as db:
                _, token = clients.create_client(
                    db,
                    actor,
                    name=name,
                    scopes=scopes,
                    row_kind=row_kind,
                    row_value=value,
                    per_minute=int(per_minute),
                    request_id=request,
                )
        except SurveyError as exc:
            st.error(md(str(exc)))
        else:  # the form comes back empty; a second tap would find the name taken
            token_made(token, "new_client")

with session.database() as db:
    hooks = webhooks.all_subscriptions(db, actor)
if hooks:
    st.header("事件推送订阅")
    st.caption("由客户端通过接口自行订阅；推送失败的记录见“通知记录”。")
    subscribed = pd.DataFrame(hooks)
    st.dataframe(
        pd.DataFrame(
            {
                "客户端": subscribed["client"],
                "推送地址": subscribed["url"],
                "事件": subscribed["actions"].str.replace(",", "、"),
                "状态": subscribed["active"].map({1: "有效", 0: "已取消"}),
                "已搁置": subscribed["parked"],
            }
        ),
        hide_index=True,
        width="stretch",
    )

active = {c["id"]: c["name"] for c in known if c["active"]}
if active:
    st.header("更换令牌或停用")
    chosen = st.selectbox("客户端", list(active), format_func=active.get)
    left, right = st.columns(2)
    # a new button after each rotation (a late second tap finds none) and one request id until
    # then (a tap that cut the first run off before its token showed gets one working token)
    rotating = session.request_id("client_rotated")
    if left.button(
        "更换令牌（旧令牌立即失效）",
        icon=":material/key:",
        key=f"rotate_{session.form_key('client_rotated')}",
    ):
        try:
            with session.database() as db:
                rotated = clients.rotate(db, actor, chosen, request_id=rotating)
        except SurveyError as exc:
            st.error(md(str(exc)))
        else:
            token_made(rotated, "client_rotated")
    if right.button("停用", icon=":material/block:"):
        session.attempt(
            lambda db: clients.revoke(db, actor, chosen),
            "已停用：令牌不再有效，事件推送订阅已取消，待推送的事件已搁置、不再发送。",
            rerun="client_revoked",
        )
