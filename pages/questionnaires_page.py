"""问卷管理 (supervisors, admins): upload a new XLSForm version, preview and try it, publish it,
download any version, export the answers flat."""

import io
import re

import pandas as pd
import streamlit as st

from survey import clock, questionnaires
from survey.errors import SurveyError
from survey.sheets import sniff
from survey.xlsform.loader import FormLoadError
from ui import form_widgets, session, uploads
from ui.text import md

actor = session.require_actor("questionnaires.manage")
st.title("问卷管理")
st.caption(
    "问卷采用 XLSForm 格式（survey、choices、settings 三个工作表），可用 Excel 编辑；上传后先试填，确认无误再发布。已提交的答卷保留各自的版本和题目。"
)

with session.database() as db:
    versions = questionnaires.list_versions(db, actor)
if versions:
    table = pd.DataFrame(versions)
    st.dataframe(
        pd.DataFrame(
            {
                "问卷": table["form_id"],
                "版本": table["version"],
                "标题": table["title"],
                "发布时间": table["published_at"].fillna("未发布"),
                "答卷数": table["answered"],
            }
        ),
        hide_index=True,
        width="stretch",
    )

FORM_TYPES = ("xlsx", "xls", "xlsb", "ods")  # the questionnaire; the CSVs are its choice files
# The load notes that say a question is not shown or a value not filled (see survey/xlsform).
NOT_ASKED = ("不会显示", "留空", "按空值", "按未作答", "没有可在网页中填写")
MADE = "form_version_made"  # the version 检查并保存 stored last: the select's choice after it

session.flash("upload")
# new after each saved version: the picker comes back empty, the select shows the new version
upload_form = session.form_key("upload")
picked = uploads.file_uploader(
    "上传新版本（.xlsx、.xls、.xlsb 或 .ods；题目从文件选项或用 pulldata 时，把 CSV 文件一并选上）",
    [*FORM_TYPES, "csv"],
    f"form_upload_{upload_form}",
    multiple=True,
)
workbooks = [f for f in picked or [] if f.name.lower().rsplit(".", 1)[-1] in FORM_TYPES]
if picked and len(workbooks) != 1:
    st.error("请只选一个问卷文件（.xlsx、.xls、.xlsb 或 .ods；CSV 选项文件可以有多个）。")
elif picked and st.button("检查并保存为新版本", type="primary", key=f"save_{upload_form}"):
    upload = workbooks[0]
    files = {f.name: f.getvalue() for f in picked if f is not upload}
    request = session.request_id("upload")  # a repeat of this tap finds the version it stored
    try:
        with session.database() as db:
            new_id, form = questionnaires.save_version(
                db, actor, upload.getvalue(), upload.name, files, request_id=request
            )
    except FormLoadError as exc:
        st.error(f"问卷有 {len(exc.problems)} 处问题，未保存：")
        st.markdown("\n".join(f"- {md(str(p))}" for p in exc.problems[:50]))
        if len(exc.problems) > 50:
            st.caption(f"另有 {len(exc.problems) - 50} 处，改正以上各处后再上传即可看到。")
    except SurveyError as exc:
        st.error(md(str(exc)))
    else:
        notes = f"（{len(form.warnings)} 条提示见下方）" if form.warnings else ""
        st.session_state[MADE] = new_id  # the new version is the one shown
        session.done(
            "upload",
            f"已保存 {md(form.form_id)} 版本 {md(form.version)}（未发布）{notes}，"
            "请在下方试填后发布。",
        )

if not versions:
    st.stop()
by_id = {v["id"]: v for v in versions}
made = st.session_state.get(MADE)
chosen = st.selectbox(
    "查看版本",
    list(by_id),
    index=list(by_id).index(made) if made in by_id else 0,
    # a new key after each saved version, which it then shows: a second tap of 检查并保存 sent
    # the select's old value, and with the old key that value would win over the new version
    key=f"form_version_{upload_form}",
    format_func=lambda i: (
        f"{by_id[i]['form_id']} · {by_id[i]['version']} · {by_id[i]['title']}"
        + ("" if by_id[i]["published_at"] else "（未发布）")
    ),
)
with session.database() as db:
    form = questionnaires.get_version(db, actor, chosen)
    source = questionnaires.source_file(db, actor, chosen)
    attached = questionnaires.attached_files(db, actor, chosen)
left, right = st.columns(2)
kind = sniff(source) if sniff(source) in FORM_TYPES else "xlsx"  # as it was uploaded
left.download_button(
    f"下载此版本 .{kind}",
    source,
    file_name=f"{form.form_id}-{form.version}.{kind}",
    key="download_form",
)
not_asked = sorted(  # in the order of the survey sheet's rows
    (w for w in form.warnings if any(word in w for word in NOT_ASKED)),
    key=lambda w: int(m[1]) if (m := re.search(r"第 (\d+) 行", w)) else 0,
)
if not_asked:  # what a browser form cannot do: the admin decides whether to publish
    st.warning(
        f"此版本有 {len(not_asked)} 处在网页问卷中不会问到或不会填写，发布前请确认：\n"
        + "\n".join(f"- {md(w)}" for w in not_asked)
    )
for name, data in attached.items():
    left.download_button(f"下载选项文件 {name}", data, file_name=name, key=f"download_{name}")
publishing = f"publish_{chosen}"  # one form per version: its request id publishes only it
pending = f"pending_{session.form_key(publishing)}"  # tapped, and done() not reached yet
# Drawn while the version is unpublished, and after its publication until done() has recorded
# the success: a second tap that cut off the run after the write presses it again with the same
# request id, and survey/ answers with the first result, so the message shows. After done() its
# key is new, and a later press of the old one is ignored.
if (not by_id[chosen]["published_at"] or st.session_state.get(pending)) and right.button(
    "发布此版本", type="primary", key=session.form_key(publishing)
):
    st.session_state[pending] = True  # before the write
    request = session.request_id(publishing)
    session.attempt(
        lambda db: questionnaires.publish(db, actor, chosen, request_id=request),
        "已发布：新的答卷将使用此版本。",
        rerun=publishing,
    )
session.flash(publishing)
st.caption("题型：" + "，".join(f"{t} {n}" for t, n in sorted(form.counts_by_type().items())))
for warning in form.warnings:
    if warning not in not_asked:
        st.caption(f"提示：{md(warning)}")

st.header("试填")
key = f"preview{chosen}"
attempted = st.session_state.get(f"{key}#attempted", False)
state = form_widgets.render(form, key, today=clock.today(), show_required=attempted)
if st.button("提交试填", key=f"{key}#submit", type="primary"):
    st.session_state[f"{key}#attempted"] = True
    if state.ok:
        st.session_state[f"{key}#result"] = state.clean
    else:
        st.session_state.pop(f"{key}#result", None)
    st.rerun()
if attempted and not state.ok:
    st.error(f"还有 {len(state.errors)} 处需要修改（见各题下方）。")
if st.session_state.get(f"{key}#result") is not None and state.ok:
    st.success("试填通过，提交的数据如下（试填不会保存）：")
    st.json(st.session_state[f"{key}#result"])

st.header("导出答卷")
form_ids = sorted({v["form_id"] for v in versions})
export_id = st.selectbox("问卷", form_ids, key="export_form")
if st.button("生成导出文件", key="export_answers"):
    buffer = io.BytesIO()
    with session.database() as db:
        counts = questionnaires.export_answers(db, actor, export_id, buffer)
    st.download_button(
        f"下载 {export_id} 答卷（{counts['submissions']} 份）.xlsx",
        buffer.getvalue(),
        file_name=f"{export_id}-答卷.xlsx",
    )
