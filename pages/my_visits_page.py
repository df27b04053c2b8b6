"""我的走访: the visits one logged or joined, with filters; a visit's details, answers (with the
labels of the questionnaire version they were given with) and problems; corrections for 7 days."""

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from survey import clock, visits
from survey.access import permissions
from survey.labels import VISIT_MODES
from survey.problems.register import STATUS_LABELS
from ui import params, session
from ui.text import md

actor = session.require_actor("visits.read")
st.title("走访记录" if permissions.sees_everything(actor) else "我的走访")
c1, c2, c3 = st.columns(3)
since = c1.date_input("起始日期", value=clock.today() - timedelta(days=90), key="mv_since")
until = c2.date_input("截止日期", value=clock.today(), key="mv_until")
text = c3.text_input("企业名称包含", key="mv_text")
with session.database() as db:
    rows = visits.list_visits(
        db,
        actor,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
        company_text=text.strip() or None,
    )
st.caption(f"{len(rows)} 次走访")
requested = params.record_id("id", "走访编号")
if rows:
    frame = pd.DataFrame(rows)
    st.dataframe(
        pd.DataFrame(
            {
                "编号": frame["id"],
                "日期": frame["visit_date"],
                "企业": frame["company"],
                "方式": frame["mode"],
                "走访人": frame["officer"],
                "问题数": frame["problems"],
            }
        ),
        hide_index=True,
        width="stretch",
    )
elif requested is None:
    st.info("这段时间没有走访记录。")
    st.stop()
by_id = {r["id"]: r for r in rows}
if requested is not None:  # opened from a link (the receipt after submitting)
    chosen = requested
    st.button("返回列表", on_click=lambda: st.query_params.pop("id", None), icon=":material/list:")
else:
    chosen = st.selectbox(
        "查看走访",
        list(by_id),
        key="mv_open",
        format_func=lambda i: f"#{i} {by_id[i]['visit_date']} {by_id[i]['company']}",
    )
visit = session.load_or_stop(lambda db: visits.get_visit(db, actor, chosen))
st.header(f"走访 #{visit['id']} · {md(visit['company'])}")
st.page_link(
    "pages/company_page.py",
    label="打开企业档案",
    icon=":material/domain:",
    query_params={"id": visit["company_id"]},
)
st.write(
    f"{visit['visit_date']} · {md(visit['mode'])} · 走访人员：{md('、'.join(visit['participants']))}"
)
if visit["summary"]:
    st.text(visit["summary"])
if visit["answers"]:
    form, answers = visit["answers"]
    st.caption(f"{md(form.title)}（版本 {md(form.version)}）")
    lines = []
    for q, repeat in form.walk():
        if repeat is None and q.name in answers and q.spec["input"]:
            value = answers[q.name]
            if q.list_name and value is not None:  # None: not answered (hidden by relevance)
                labels = {c.name: c.label(form.default_language) for c in form.choices[q.list_name]}
                value = "、".join(
                    str(labels.get(v, v)) for v in (value if isinstance(value, list) else [value])
                )
            lines.append(
                {
                    "题目": q.label(form.default_language),
                    "回答": "" if value is None else str(value),
                }
            )
    st.dataframe(pd.DataFrame(lines), hide_index=True, width="stretch")
for p in visit["problems"]:
    st.write(f"问题 #{p['id']} · {md(p['category'])} · {STATUS_LABELS[p['status']]}")
    st.text(p["description"])

session.flash("edit_visit")  # after the rerun 保存修改 starts: the list and the visit are current
if visits.is_editable(visit, actor):
    with (
        st.expander("修改走访信息（提交后 7 天内）"),
        # a new key after each save: the fields read the stored visit again
        st.form(f"edit_visit_{chosen}_{session.form_key('edit_visit')}", enter_to_submit=False),
    ):
        new_date = st.date_input(
            "走访日期", value=date.fromisoformat(visit["visit_date"]), max_value=clock.today()
        )
        new_mode = st.radio(
            "走访方式", VISIT_MODES, index=VISIT_MODES.index(visit["mode"]), horizontal=True
        )
        new_summary = st.text_area("走访小结", value=visit["summary"])
        if st.form_submit_button("保存修改"):
            # saving the same values again changes nothing: a repeated tap needs no request id
            session.attempt(
                lambda db: visits.edit_visit(
                    db,
                    actor,
                    chosen,
                    {
                        "visit_date": new_date.isoformat(),
                        "mode": new_mode,
                        "summary": new_summary,
                    },
                ),
                "已保存，修改前后内容已记入操作日志。",
                rerun="edit_visit",
            )
