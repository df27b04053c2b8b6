"""The pieces of 任务清单 (pages/plan_page.py): the import with its department mapping step, the
department's report form, the review queue, and the overview's charts."""

from __future__ import annotations

import io
from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from survey import clock
from survey.access.actor import Actor
from survey.errors import SurveyError
from survey.plans import aliases, importing, overview, reports, tasks
from ui import session, uploads
from ui.text import md

STATE_COLORS = {"未启动": "#b0b7c3", "推进中": "#1f6feb", "已完成": "#2da44e", "滞后": "#cf222e"}


NOT_LISTED = "__not_listed__"  # the mapping step's choice for a department the list lacks
IMPORTED = "plan_imported"  # the last import's result, said once after the rerun
UNDONE = "alias_undone"  # the alias just undone, said once after the rerun


def import_step(actor: Actor, departments: dict[str, str]) -> None:
    """Step 1 the file, step 2 the department names to map (if any), then the import."""
    st.header("第 1 步：选择文件")
    st.caption(
        "按行动方案发布的格式导入：序号、重点任务、目标要求、牵头单位、配合单位、完成时限"
        "（可选：指标）；表头上方的标题行和合并单元格都可以。"
        "同一年度再次导入按序号更新，不会重复。"
    )
    year = int(st.number_input("年度", 2000, 2100, clock.today().year, step=1, key="plan_year_in"))
    picked = st.session_state.setdefault("plan_upload_n", 0)
    table = uploads.table_upload("任务清单文件", f"plan_upload_{picked}", importing.HEADER)
    if table is None:
        return
    upload, headers, rows = table
    lines = list(table.table.row_numbers)  # file rows: the header may sit below a title
    with session.database() as db:
        check = importing.check_plan(db, year, headers, rows, row_numbers=lines)
    if check.problems:
        st.error(f"文件中有 {len(check.problems)} 处需要修改，改好后重新选择文件；未导入任何任务。")
        st.dataframe(pd.DataFrame(check.problems), hide_index=True, width="stretch")
        return
    if not check.records:
        st.error("文件中没有任务。")
        return
    first, last = check.records[0]["row"], check.records[-1]["row"]
    st.caption(f"读到 {len(check.records)} 项任务（文件第 {first}–{last} 行）。")
    if check.notices:
        with st.expander(f"导入时说明（{len(check.notices)} 处）", expanded=True):
            st.dataframe(pd.DataFrame(check.notices), hide_index=True, width="stretch")
    choices = {}
    step = 2
    if check.unknown:
        st.header(f"第 {step} 步：对应责任部门")
        st.caption(
            "下列名称与部门列表不同：为每个名称选择它所指的部门，导入后以后自动识别。"
            "名称相近的已预选，请核对；没有相近部门的留空待选，部门列表中没有的选“不在列表中”。"
        )
        choices = choose_departments(check.unknown, departments, upload.file_id)
        step += 1
    st.header(f"第 {step} 步：导入")
    pending = [name for name, code in choices.items() if code is None]
    not_listed = [name for name, code in choices.items() if code == NOT_LISTED]
    mapping = {n: c for n, c in choices.items() if c not in (None, NOT_LISTED)}
    skip = False
    if pending:
        st.info(f"还有 {len(pending)} 个名称未选择部门：{md('、'.join(pending))}。")
    needing = check.rows_using(not_listed)
    if needing:
        shown = "、".join(str(r) for r in sorted(needing))
        st.warning(
            f"第 {shown} 行的部门不在部门列表中（{md('、'.join(not_listed))}）："
            "这些任务要等管理员在“参考列表”的部门中新增后再导入。"
        )
        skip = st.checkbox(
            f"先导入其余 {len(check.records) - len(needing)} 项任务，跳过这 {len(needing)} 行"
            "（新增部门后再次导入同一文件即可补上，已导入的不会重复）",
            key=f"plan_skip_{upload.file_id}",
        )
    ready = not pending and (skip or not needing)
    count = len(check.records) - len(needing)  # rows needing a department wait in any case
    if st.button(f"导入 {count} 项任务", type="primary", disabled=not ready, key="plan_import"):
        try:
            with session.database() as db:
                done = importing.import_plan(
                    db,
                    actor,
                    year,
                    headers,
                    rows,
                    mapping,
                    row_numbers=lines,
                    not_listed=not_listed,
                    skip_not_listed=skip,
                )
        except SurveyError as exc:
            st.error(md(str(exc)))
            return
        skipped = (
            f"。第 {'、'.join(map(str, done.skipped))} 行的部门不在列表中，未导入："
            "管理员在“参考列表”中新增部门后，再次导入同一文件即可补上"
            if done.skipped
            else ""
        )
        session.keep(
            IMPORTED,
            f"已导入 {year} 年度任务清单：新增 {done.inserted} 项，更新 {done.updated} 项，"
            f"未变 {done.unchanged} 项{skipped}。",
        )
        st.session_state["plan_upload_n"] = picked + 1  # a fresh picker: the steps close
        st.query_params["year"] = str(year)
        st.rerun()


def show_imported() -> None:
    """The last import's result, once (the page reruns after it to show the imported year)."""
    said = session.kept(IMPORTED)  # until a run that showed it has completed
    if said:
        st.success(said)


def choose_departments(unknown: dict, departments: dict[str, str], file_key: str) -> dict:
    """Each unknown name with the rows that use it, its department chosen (pre-filled only with a
    close suggestion), or 不在列表中."""
    by_name = {name: code for code, name in departments.items()}
    options = [*departments, NOT_LISTED]

    def label(code: str) -> str:
        return "不在列表中（需要新增部门）" if code == NOT_LISTED else departments[code]

    chosen = {}
    for name, entry in unknown.items():
        rows = "、".join(str(r) for r in entry.rows[:8]) + ("等" if len(entry.rows) > 8 else "")
        suggested = by_name.get(entry.suggestion)
        chosen[name] = st.selectbox(
            f"“{md(name)}”：{len(entry.rows)} 行使用（第 {rows} 行）",
            options,
            index=options.index(suggested) if suggested else None,
            format_func=label,
            placeholder="请选择部门",
            key=f"map_{file_key}_{name}",
        )
    return chosen


def learnt_aliases(actor: Actor) -> None:
    """The department names learnt at import, each with who confirmed it, when, and 撤销."""
    said = session.kept(UNDONE)  # until a run that showed it has completed
    if said:
        st.success(said)
    with session.database() as db:
        learnt = aliases.list_aliases(db, actor)
    st.caption(
        "导入任务清单时确认过的部门名称，以后导入自动识别。撤销后，下次导入会再询问这个名称；"
        "已导入的任务不变。"
    )
    if not learnt:
        st.info("还没有学到的部门名称。")
        return
    for entry in learnt:
        when = (entry["learnt_at"] or "")[:16].replace("T", " ") or "时间未记录"
        who = entry["learnt_by"] or "系统"
        text, button = st.columns([5, 1], vertical_alignment="center")
        text.markdown(
            f"“{md(entry['alias'])}” → **{md(entry['department'])}**  \n{md(who)} · {when}"
        )
        if button.button("撤销", key=f"alias_del_{entry['alias']}"):
            try:
                with session.database() as db:
                    aliases.delete_alias(db, actor, entry["alias"])
            except SurveyError as exc:
                st.error(md(str(exc)))
            else:
                session.keep(UNDONE, f"已撤销“{md(entry['alias'])}”，下次导入时会再询问。")
                st.rerun()


def report_form(actor: Actor, task: dict) -> None:
    month = clock.today().isoformat()[:7]
    with session.database() as db:
        due = reports.cutoff(month, reports.cutoff_day(db))
    st.caption(f"{month} 的截止日为 {due.isoformat()}；截止后仍可报送，记为逾期报送。")
    form = session.form_key(f"report_{task['id']}")
    session.flash(f"report_{task['id']}")
    request = session.request_id(f"report_{task['id']}")  # a repeat finds its first report
    with st.form(form, enter_to_submit=False):
        done_text = st.text_area("本月完成情况", key=f"done_{form}")
        percent = st.slider(
            "累计完成进度（%）", 0, 100, int(task["percent"] or 0), key=f"pct_{form}"
        )
        issues = st.text_area("遇到的问题（可留空）", key=f"issues_{form}")
        photos = uploads.file_uploader(
            "佐证材料（照片）", ["jpg", "jpeg", "png"], f"photos_{form}", multiple=True
        )
        if st.form_submit_button("报送", type="primary"):
            files = [(f.name, f.getvalue()) for f in photos or []]
            sent = session.attempt(
                lambda db: reports.submit(
                    db,
                    actor,
                    task["id"],
                    month,
                    done_text=done_text,
                    percent=int(percent),
                    issues_text=issues,
                    photos=files,
                    request_id=request,
                ),
                "",
            )
            if sent:  # the history below lists it at once; the form comes back empty (new keys)
                session.done(f"report_{task['id']}", "已报送，等待审核。")


def photos(actor: Actor, report_id: int, count: int) -> None:
    """A report's evidence: how many photos, and each as a thumbnail (shown full size on click
    of the browser's own image view)."""
    if not count:
        st.caption("佐证照片：无")
        return
    with session.database() as db:
        images = reports.report_photos(db, actor, report_id)
    st.caption(f"佐证照片 {len(images)} 张")
    st.image(images, width=120)


def review_queue(actor: Actor, year: int) -> None:
    with session.database() as db:
        waiting = reports.waiting_review(db, actor, year)
    session.flash("review")
    request = session.request_id("review")  # one per success; per report below
    if not waiting:
        st.info("没有待审核的进展报告。")
        return
    for report in waiting:
        late = "（逾期报送）" if report["late"] else ""
        with st.container(border=True):
            st.markdown(
                f"**{md(report['number'])} {md(report['content'])}** · {md(report['lead_name'])} · "
                f"{report['month']}{late} · 进度 {report['percent']}%"
            )
            if report["target"]:
                st.caption("目标要求：" + md(report["target"]))
            st.text(report["done_text"])
            if report["issues_text"]:
                st.caption("问题：" + md(report["issues_text"]))
            photos(actor, report["id"], report["photos"])
            note = st.text_input("退回原因", key=f"note_{report['id']}")
            left, right = st.columns(2)
            if left.button("通过", key=f"accept_{report['id']}", type="primary"):
                session.attempt(
                    lambda db, r=report["id"]: reports.review(
                        db, actor, r, True, request_id=f"{request}-a{r}"
                    ),
                    "已通过。",
                    rerun="review",
                )
            if right.button("退回", key=f"return_{report['id']}"):
                session.attempt(
                    lambda db, r=report["id"], n=note: reports.review(
                        db, actor, r, False, n, request_id=f"{request}-r{r}"
                    ),
                    "已退回。",
                    rerun="review",
                )


def state_chart(counts: pd.DataFrame, column: str, title: str) -> alt.Chart:
    return (
        alt.Chart(counts, title=title)
        .mark_bar()
        .encode(
            y=alt.Y(f"{column}:N", title=None, sort="-x", axis=alt.Axis(labelLimit=200)),
            x=alt.X("tasks:Q", title="任务数", stack="zero"),
            color=alt.Color(
                "state_label:N",
                title="状态",
                scale=alt.Scale(domain=list(STATE_COLORS), range=list(STATE_COLORS.values())),
            ),
            tooltip=[column, "state_label", "tasks"],
        )
    )


def bulletin_download(actor: Actor, year: int, month: str) -> None:
    buffer = io.BytesIO()
    with session.database() as db:
        overview.write_bulletin(db, actor, year, month, buffer)
    st.download_button(
        "下载月度通报（Excel）",
        buffer.getvalue(),
        f"{year}年度任务清单-{month}月度通报.xlsx",
        icon=":material/download:",
    )


def edit_task_form(actor: Actor, data: pd.DataFrame, departments: dict, indicators: dict) -> None:
    """Supervisors change one task's content, target, lead department, due date or indicator."""
    if data.empty:
        return
    labels = dict(zip(data["id"], data["number"] + " " + data["content"], strict=True))
    with st.expander("修改任务"):
        task_id = st.selectbox("任务", list(labels), format_func=labels.get, key="edit_task")
        with session.database() as db:
            task = tasks.get_task(db, actor, task_id)
        session.flash("edit_task")
        with st.form(f"edit_task_{task_id}", enter_to_submit=False):
            content = st.text_area("重点任务", value=task["content"])
            target = st.text_area("目标要求", value=task["target"])
            codes = list(departments)
            lead = st.selectbox(
                "牵头单位",
                codes,
                index=codes.index(task["lead_department_code"])
                if task["lead_department_code"] in codes
                else 0,
                format_func=departments.get,
            )
            due = st.date_input(  # empty: no deadline (长期坚持)
                "完成时限",
                value=date.fromisoformat(task["due_on"]) if task["due_on"] else None,
            )
            options = [None, *indicators]
            indicator = st.selectbox(
                "指标",
                options,
                index=options.index(task["indicator_code"])
                if task["indicator_code"] in options
                else 0,
                format_func=lambda c: "（未对应）" if c is None else indicators[c],
            )
            if st.form_submit_button("保存修改", type="primary"):
                values = {
                    "content": content,
                    "target": target,
                    "lead_department_code": lead,
                    "due_on": due.isoformat() if due else None,
                    "indicator_code": indicator,
                }
                session.attempt(  # rerun: the task table above shows the change at once
                    lambda db: tasks.update_task(db, actor, task_id, values),
                    "已保存。",
                    rerun="edit_task",
                )
