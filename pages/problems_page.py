"""问题清单: the problems the signed-in user may see (their scope is enforced in survey/), with a
problem's details and timeline."""

import streamlit as st

from survey.access import permissions
from survey.labels import OUTCOME_LABELS, SOURCE_LABELS
from survey.plans import tasks
from survey.problems import columns, lifecycle, listing
from survey.problems.register import STATUS_LABELS
from ui import params, session
from ui.text import md, md_table

actor = session.require_actor("problems.read")
st.title("问题清单")
requested = params.record_id("id", "问题编号")  # read first: a bad one is named at the top
statuses = st.multiselect(
    "状态",
    list(STATUS_LABELS),
    default=[s for s in STATUS_LABELS if s != "closed"],
    format_func=STATUS_LABELS.get,
    key="problem_status",
    placeholder="全部状态",
)
with session.database() as db:
    total = listing.count_problems(db, actor, statuses=statuses or None)
    rows = listing.list_problems(db, actor, statuses=statuses or None, limit=500)
st.caption(f"共 {total:,} 条" + ("，显示最新 500 条" if total > 500 else ""))
if not rows:
    st.info("没有符合条件的问题。")
    st.stop()

keys = ["id", "raised_on", "company", "category", "status", "department", "deadline_on"]
st.dataframe(columns.frame(rows, keys), hide_index=True, width="stretch")

by_id = {r["id"]: r for r in rows}
if requested is not None:  # opened from a link (the dashboard's list, a colleague's message)
    chosen = requested
    st.button("返回列表", on_click=lambda: st.query_params.pop("id", None), icon=":material/list:")
else:
    chosen = st.selectbox(
        "查看问题",
        list(by_id),
        format_func=lambda i: f"#{i} {by_id[i]['company'] or ''} · {by_id[i]['category']}",
        key="problem_open",
    )
problem = session.load_or_stop(lambda db: listing.get_problem(db, actor, chosen))

st.header(f"问题 #{problem['id']} · {STATUS_LABELS[problem['status']]}")
left, right = st.columns(2)
left.write(f"企业：{md(problem['company'] or '（未指明）')}")
if problem["company_id"]:
    left.page_link(
        "pages/company_page.py",
        label="企业档案",
        icon=":material/domain:",
        query_params={"id": problem["company_id"]},
    )
left.write(f"类别：{md(problem['category_group'])} / {md(problem['category'])}")
left.write(f"来源：{SOURCE_LABELS[problem['source']]} · 提出 {problem['raised_on']}")
right.write(f"责任部门：{md(problem['department'] or '待交办')}")
right.write(f"办理时限：{problem['deadline_on'] or '—'}")
if problem["outcome"]:
    right.write(f"办理结果：{OUTCOME_LABELS[problem['outcome']]}")
st.text(problem["description"])
with session.database() as db:
    plan_tasks = tasks.tasks_of_problem(db, actor, problem["id"])
for task in plan_tasks:
    st.page_link(
        "pages/plan_page.py",
        label=f"任务清单 {task['year']} · {md(task['number'])} {md(task['content'])}",
        icon=":material/checklist:",
        query_params={"year": task["year"]},
    )
if problem["reply_text"]:
    st.caption("部门答复")
    st.text(problem["reply_text"])
if problem["events"]:
    st.caption("办理过程")
    keys = ["at", "actor", "from_status", "to_status", "note"]
    timeline = columns.frame(problem["events"], keys, columns.EVENT_COLUMNS)
    # A static table wraps 说明 (a meeting's decision, a reply) in full; a dataframe cut it at 1366 px.
    st.table(md_table(timeline), hide_index=True, border="horizontal")

if permissions.can(actor, "problems.triage"):
    with (
        st.expander("关联其他问题（同一企业再次反映，或多家企业的同一问题）"),
        st.form(f"link_{chosen}", enter_to_submit=False),
    ):
        other = st.number_input("关联的问题编号", min_value=1, step=1, value=None)
        kind = st.radio(
            "关联类型", list(lifecycle.LINK_KINDS), format_func=lifecycle.LINK_KINDS.get
        )
        if st.form_submit_button("关联") and other:
            session.attempt(
                lambda db: lifecycle.link_problems(db, actor, chosen, int(other), kind),
                "已关联。",
            )
if permissions.can(actor, "plans.manage"):
    with (
        st.expander("对应任务清单中的任务"),
        st.form(f"task_link_{chosen}", enter_to_submit=False),
    ):
        task_id = st.number_input(
            "任务编号（任务清单“任务”表中的编号）", min_value=1, step=1, value=None
        )
        if st.form_submit_button("关联任务") and task_id:
            session.attempt(
                lambda db: tasks.link_problem(db, actor, int(task_id), chosen), "已关联任务。"
            )
