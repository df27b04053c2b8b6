"""The pieces of 经典案例 (pages/cases_page.py): one case as a printable page, the nomination form,
and a selection round (scoring for its panel; ranking, selecting and publishing once closed)."""

from __future__ import annotations

import streamlit as st

from survey.access.actor import Actor
from survey.access.permissions import can
from survey.cases import library, masking, selection
from survey.errors import SurveyError
from ui import session, uploads
from ui.text import md


def show_case(case: dict) -> None:
    """A case as a printable page: title, company (masked when asked), 背景, 做法, 成效."""
    st.header(md(case["title"]))
    st.caption(
        f"{md(case['company'])} · {md(case['category'])} · {md(case['sector'])}"
        f" · {library.STATUS_LABELS[case['status']]}"
    )
    for key, label in (*library.FIELDS.items(), ("figures", "数据")):
        if key != "title" and case[key]:
            st.header(label)
            st.text(case[key])


def aliases_form(actor: Actor, case_id: int) -> None:
    """Editors: the company's other names (short names the text uses that masking cannot guess),
    masked with it in every case about the company."""
    with session.database() as db:
        current = masking.aliases(db, actor, case_id)
    with st.expander("隐去企业的其他名称"), st.form(f"aliases_{case_id}", enter_to_submit=False):
        st.caption(
            "全称、去掉地名和“有限公司”等的名称、文中“以下简称”的名称已自动隐去；"
            "文中对企业的其他称呼（如 TS公司）请逐行填写。对该企业的所有案例有效。"
        )
        text = st.text_area("其他名称（每行一个）", "\n".join(current), key=f"alias_{case_id}")
        if st.form_submit_button("保存"):
            session.attempt(lambda db: masking.save_aliases(db, actor, case_id, text), "已保存。")


def choose_problem(actor: Actor) -> int | None:
    """The closed problem to nominate, found by number or words (only those the actor may
    nominate are offered)."""
    words = st.text_input(
        "查找已办结的问题",
        placeholder="问题编号或关键词，如 61、用地、企业名称",
        key="nominate_find",
    )
    with session.database() as db:
        found = library.nominable(db, actor, words)
    labels = {
        p["id"]: f"#{p['id']} {p['company'] or '（未指明企业）'} · {p['category']} · "
        f"{p['description']}" + ("（已推荐过）" if p["nominated"] else "")
        for p in found
    }
    if not labels:
        st.info("没有符合的已办结问题。" if words else "还没有可推荐的已办结问题。")
        return None
    return st.selectbox(
        "问题",
        list(labels),
        index=None,
        format_func=labels.get,
        placeholder=f"请选择（找到 {len(labels)} 个{'，仅列出最近 30 个' if len(labels) >= 30 else ''}）",
        key="nominate_problem",
    )


def nominate_form(actor: Actor) -> None:
    st.caption("推荐一个已办结的问题为经典案例（部门可推荐本部门牵头办结的问题）。")
    problem_id = choose_problem(actor)
    session.flash("nominate")
    form = session.form_key("nominate")  # new after each 推荐: its fields come back empty
    with st.form(form, enter_to_submit=False):
        values = {
            key: st.text_area(label, key=f"{form}_{key}") for key, label in library.FIELDS.items()
        }
        values["figures"] = st.text_input("成效数据（可留空）", key=f"{form}_figures")
        mask = st.checkbox("发布时隐去企业名称（如 江苏某某科技有限公司）")
        photos = uploads.file_uploader(
            "照片",
            ["jpg", "jpeg", "png"],
            f"{form}_photos",
            multiple=True,
        )
        if st.form_submit_button("推荐", type="primary"):
            if not problem_id:
                st.error("请先在上方选择问题。")
                return
            files = [(f.name, f.getvalue()) for f in photos or []]
            request = session.request_id("nominate")  # a repeat finds its first case
            if session.attempt(
                lambda db: library.nominate_problem(
                    db,
                    actor,
                    int(problem_id),
                    values,
                    mask_company=mask,
                    photos=files,
                    request_id=request,
                ),
                "",
            ):  # the same write-up sent twice is refused
                session.done("nominate", f"已推荐问题 #{problem_id}，等待评选。")


def new_round_form(actor: Actor) -> None:
    with session.database() as db:
        people = selection.panel_candidates(db, actor)
        waiting = {c["id"]: c["title"] for c in library.nominated(db, actor)}
    session.flash("new_round")
    with st.form(session.form_key("new_round"), enter_to_submit=False):
        st.header("发起评选")
        year = st.number_input("年度", 2000, 2100, 2026, step=1)
        title = st.text_input("名称（可留空）", placeholder="年度经典案例评选")
        criteria_text = st.text_area(
            "评分项及权重（每行 名称:权重）", value="创新性:3\n成效:4\n可复制性:3"
        )
        panel = st.multiselect(
            "评审组成员", list(people), format_func=people.get, placeholder="请选择"
        )
        chosen = st.multiselect(
            "参评案例", list(waiting), format_func=waiting.get, placeholder="请选择"
        )
        if st.form_submit_button("发起", type="primary"):
            criteria = []
            for line in criteria_text.splitlines():
                name, _, weight = line.replace("：", ":").partition(":")
                try:
                    criteria.append((name.strip(), float(weight or 1)))
                except ValueError:
                    st.error(f"权重应为数字：{md(line)}")
                    return
            session.attempt(
                lambda db: selection.create_round(
                    db,
                    actor,
                    year=int(year),
                    title=title,
                    criteria=criteria,
                    panel=panel,
                    case_ids=chosen,
                ),
                "已发起评选，见下方列表。",
                rerun="new_round",
            )


def round_view(actor: Actor, round_id: int) -> None:
    with session.database() as db:
        detail = selection.round_detail(db, actor, round_id)
        judging = selection.on_panel(db, actor, round_id)
        mine = selection.my_scores(db, actor, round_id) if judging else {}
    info = detail["round"]
    if info["status"] == "open" and judging:
        st.caption("评分只有您自己可见，评选结束后公布加权排名。")
        for case in detail["cases"]:
            with st.form(f"score_{round_id}_{case['id']}", enter_to_submit=False):
                st.markdown(f"**{md(case['title'])}**")
                given = {
                    k["id"]: st.number_input(
                        f"{md(k['name'])}（权重 {k['weight']:g}）",
                        0,
                        100,
                        mine.get((case["id"], k["id"]), 0),
                        key=f"s_{round_id}_{case['id']}_{k['id']}",
                    )
                    for k in detail["criteria"]
                }
                if st.form_submit_button("保存评分"):
                    session.attempt(
                        lambda db, c=case["id"], g=given: [
                            selection.score(db, actor, round_id, c, k, int(v)) for k, v in g.items()
                        ],
                        "已保存。",
                    )
    closing = info["status"] == "open" and can(actor, "cases.manage")
    if closing and st.button("结束评选并公布排名", key=f"close_{round_id}"):
        session.attempt(
            lambda db: selection.close_round(db, actor, round_id),
            "评选已结束，排名如下。",
            rerun=f"round_{round_id}",
        )
    session.flash(f"round_{round_id}")
    if info["status"] == "closed":
        try:
            with session.database() as db:
                ranked = selection.ranking(db, actor, round_id)
        except SurveyError as exc:
            st.error(md(str(exc)))
            return
        for place, row in enumerate(ranked, 1):
            cols = st.columns([5, 2, 2])
            score = "—" if row["score"] is None else f"{row['score']:.1f}"
            cols[0].markdown(
                f"{place}. **{md(row['title'])}** · {score} 分（{row['judges']} 位评委）"
                f" · {library.STATUS_LABELS.get(row['status'], '')}"
            )
            if not can(actor, "cases.manage"):
                continue
            if row["status"] == "nominated" and cols[1].button(
                "入选", key=f"sel_{round_id}_{row['id']}"
            ):
                session.attempt(
                    lambda db, c=row["id"]: library.set_status(db, actor, c, "selected"),
                    "已入选。",
                    rerun=f"round_{round_id}",
                )
            if row["status"] != "published" and cols[2].button(
                "发布", key=f"pub_{round_id}_{row['id']}"
            ):
                session.attempt(
                    lambda db, c=row["id"]: library.set_status(db, actor, c, "published"),
                    "已发布。",
                    rerun=f"round_{round_id}",
                )
