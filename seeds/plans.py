"""The demo's action plan: a year's task list of about 60 tasks in the published shape (some
department names as plans write them, mapped at import like a supervisor would), imported and
reported on month by month (up to the month before "today") through the app's own functions, so the demo shows every state."""

from __future__ import annotations

import random
from datetime import date

from sqlite_utils import Database

from survey import db as store
from survey.access.actor import SYSTEM
from survey.access.auth import load_actor
from survey.cases import library, selection
from survey.plans import importing, reports, tasks
from survey.problems import meetings

# (task, target) per indicator name; the lead and co-departments are drawn from the list below
TASKS = [
    ("推行企业开办“一网通办、一日办结”", "企业开办全流程 1 个工作日内办结", "开办企业"),
    ("深化工程建设项目审批制度改革", "社会投资低风险项目审批 15 个工作日内办结", "办理建筑许可"),
    ("推进水电气网联合报装", "低压小微企业接电“零上门、零审批、零投资”", "获得电力"),
    ("开展惠企政策“免申即享”", "兑现惠企资金 5 亿元以上", "政务服务"),
    ("破解中小企业融资难题", "新增普惠小微贷款 100 亿元", "获得信贷"),
    ("规范涉企行政检查", "“综合查一次”覆盖 80% 以上检查事项", "市场监管"),
    ("清理拖欠企业账款", "无分歧欠款动态清零", "政府采购"),
    ("推进不动产登记“带押过户”", "不动产登记 1 个工作日内办结", "登记财产"),
    ("优化纳税缴费服务", "“非接触式”办税缴费事项占比 95% 以上", "纳税"),
    ("提升跨境贸易便利化水平", "进出口整体通关时间再压缩 10%", "跨境贸易"),
    ("健全企业诉求“直通车”机制", "企业诉求 5 个工作日内响应", "政务服务"),
    ("加强知识产权保护", "专利侵权纠纷行政裁决 3 个月内办结", "知识产权创造、保护和运用"),
]
DEPARTMENTS = ["XZSP", "FGW", "GXJ", "SWJ", "KJJ", "CZJ", "ZRZY", "JRB", "SWU", "SCJG", "ZJJ"]
# names as plans often write them, mapped at import
ALIASES = {"FGW": "市发改委", "XZSP": "市审批局"}


def generate(db: Database, rng: random.Random, today: date, handlers: dict[str, int]) -> dict:
    year = today.year
    names = dict(db.conn.execute("SELECT code, name FROM departments").fetchall())
    indicators = {r[0] for r in db.conn.execute("SELECT name FROM indicators")}
    codes = [c for c in DEPARTMENTS if c in names] or list(names)
    rows = []
    for number in range(1, 61):
        content, target, indicator = TASKS[(number - 1) % len(TASKS)]
        lead = codes[(number * 7) % len(codes)]
        co = rng.sample([c for c in codes if c != lead], rng.randint(0, 2))
        month = rng.choice([3, 6, 6, 9, 10, 12, 12, 12])
        rows.append(
            [
                str(number),
                content if number <= len(TASKS) else f"{content}（第 {number} 项）",
                target,
                ALIASES.get(lead, names[lead]),
                "、".join(ALIASES.get(c, names[c]) for c in co),
                f"{year}年{month}月底",
                indicator if indicator in indicators else "",
            ]
        )
    headers = ["序号", "重点任务", "目标要求", "牵头单位", "配合单位", "完成时限", "指标"]
    mapping = {alias: code for code, alias in ALIASES.items() if code in names}
    importing.import_plan(
        db, SYSTEM, year, headers, rows, mapping, title=f"{year} 年度优化营商环境任务清单"
    )
    reported = 0
    last = today.month - 1  # every month up to the last one
    for task in tasks.list_tasks(db, SYSTEM, year, today):
        handler = handlers.get(task["lead_department_code"])
        actor = load_actor(db, handler) if handler else None
        if actor is None:
            continue
        pace = rng.uniform(0.3, 0.6) if rng.random() < 0.2 else rng.uniform(0.9, 1.3)  # 1 in 5 lags
        for m in range(1, last + 1):
            month = f"{year}-{m:02d}"
            if rng.random() < 0.12:  # a month not reported
                continue
            due_month = int(task["due_on"][5:7])
            percent = min(100, int(100 * pace * m / max(due_month, 1)))
            day = reports.cutoff(month, 25)
            sent = date(year, m, max(1, day.day - rng.randint(0, 6)))
            if rng.random() < 0.1:  # late now and then
                sent = date(year, m + 1, 3) if m < 12 else sent
            report_id = reports.submit(
                db,
                actor,
                task["id"],
                month,
                done_text=f"{month} 推进情况：按计划落实，完成阶段目标。",
                percent=percent,
                issues_text="部分企业材料准备不齐。" if rng.random() < 0.2 else "",
                today=sent,
            )
            if m < last or rng.random() < 0.6:  # this month's may still wait for review
                reports.review(db, SYSTEM, report_id, True)
            reported += 1
            if percent >= 100:
                break
    return {"plan_tasks": len(rows), "task_reports": reported}


def meetings_demo(db: Database, rng: random.Random, today: date, supervisor_id: int) -> dict:
    """Four joint review meetings in the months before `today`: the hard problems on each agenda,
    most decided, some done, the rest carried over to the next."""
    supervisor = load_actor(db, supervisor_id)
    held = 0
    for back in (4, 3, 2, 1):
        month = today.month - back
        year = today.year + (month - 1) // 12
        month = (month - 1) % 12 + 1
        day = date(year, month, 20)
        meeting = meetings.create_meeting(
            db, supervisor, day.isoformat(), f"{year}年{month}月重点问题联审会"
        )
        for candidate in meetings.candidates(db, supervisor, today)[: rng.randint(2, 4)]:
            meetings.add_item(db, supervisor, meeting, candidate["id"], candidate["reasons"])
        for item in meetings.agenda(db, supervisor, meeting, today):
            if item["decision"] or rng.random() < 0.2:
                continue
            lead = store.scalar(
                db, "SELECT lead_department_code FROM problems WHERE id = ?", (item["problem_id"],)
            )
            deadline = date.fromordinal(day.toordinal() + rng.choice([10, 15, 20, 30]))
            meetings.record_decision(
                db,
                supervisor,
                item["id"],
                decision="会议明确由牵头部门会同相关部门现场办公，限期解决企业诉求",
                departments=[lead] if lead else ["FGW"],
                deadline_on=deadline.isoformat(),
                chair=rng.choice(["分管副市长", "市发展改革委主任", "市政府副秘书长"]),
            )
            if rng.random() < 0.5:
                meetings.mark_done(db, supervisor, item["id"])
        held += 1
    return {"meetings": held}


CASE_TEXTS = [
    (
        "“拿地即开工”",
        "新建厂房办理施工许可耗时较长，影响项目开工。",
        "自然资源、住建、审批部门并联审批，提前介入方案审查。",
        "从拿地到开工缩短至 1 个工作日。",
    ),
    (
        "惠企资金“免申即享”",
        "企业不清楚可享受的政策，申报材料繁多。",
        "数据比对主动识别符合条件的企业，资金直接拨付。",
        "兑现资金时间由 3 个月缩短至 15 天。",
    ),
    (
        "“综合查一次”减少重复检查",
        "同一企业一个月内被多个部门检查。",
        "多部门联合检查，一次进门、查多项。",
        "涉企检查次数下降 40%。",
    ),
    (
        "用电报装“零上门”",
        "新上产线需增容，报装流程长。",
        "供电部门线上受理、主动上门勘查。",
        "接电时间压缩至 10 个工作日。",
    ),
    (
        "“带押过户”解融资之困",
        "企业抵押房产过户需先还贷，资金周转困难。",
        "不动产登记与银行协同，带押办理过户。",
        "为企业节约过桥资金 2000 万元。",
    ),
    (
        "人才公寓解用工之忧",
        "新引进技术人员住房难。",
        "人社、住建部门统筹人才公寓，定向配租。",
        "解决 120 名技术人员住房。",
    ),
]


def cases_demo(db: Database, rng: random.Random, today: date, supervisor_id: int) -> dict:
    """A dozen cases from closed problems, one selection round scored by a panel of three and
    closed, the best selected and published (some with the company masked)."""
    supervisor = load_actor(db, supervisor_id)
    closed = [
        r[0]
        for r in db.conn.execute(
            "SELECT id FROM problems WHERE status = 'closed' AND company_id IS NOT NULL"
            " AND solved_on_spot = 0 ORDER BY id LIMIT 12"
        )
    ]
    made = []
    for i, problem_id in enumerate(closed):
        title, background, approach, results = CASE_TEXTS[i % len(CASE_TEXTS)]
        write_up = {
            "title": f"{title}（{i + 1}）",
            "background": background,
            "approach": approach,
            "results": results,
            "figures": "",
        }
        made.append(
            library.nominate_problem(db, supervisor, problem_id, write_up, mask_company=i % 3 == 0)
        )
    if not made:
        return {"cases": 0}
    panel = [
        r[0]
        for r in db.conn.execute(
            "SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id"
            " WHERE r.role IN ('supervisor', 'admin') AND u.active = 1 ORDER BY u.id LIMIT 3"
        )
    ]
    round_id = selection.create_round(
        db,
        supervisor,
        year=today.year,
        title="年度经典案例评选",
        criteria=[("创新性", 3), ("成效", 4), ("可复制性", 3)],
        panel=panel,
        case_ids=made,
    )
    criteria = [
        r[0]
        for r in db.conn.execute("SELECT id FROM case_criteria WHERE round_id = ?", (round_id,))
    ]
    for judge in panel:
        actor = load_actor(db, judge)
        for case_id in made:
            for criterion in criteria:
                selection.score(db, actor, round_id, case_id, criterion, rng.randint(60, 98))
    selection.close_round(db, supervisor, round_id)
    for place, row in enumerate(selection.ranking(db, supervisor, round_id)):
        if place < 5:
            library.set_status(db, supervisor, row["id"], "published")
        elif place < 8:
            library.set_status(db, supervisor, row["id"], "selected")
    return {"cases": len(made)}
