"""The page registry: one list says which page exists, where it lives and who may open it."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from survey import dataversion
from survey.access import permissions
from survey.access.actor import Actor
from survey.problems import inbox


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    url_path: str
    icon: str
    action: str  # the action of survey.permissions.RULES a user needs to open it
    group: str  # the navigation section it is listed under (GROUPS)


# The navigation's sections, named for the work, in this order; a role sees only the sections
# that hold a page it may open. Each section lists its pages in PAGES' order.
GROUPS = ("日常", "问题办理", "走访与企业", "分析报告", "年度抓手", "管理")


# A url_path must differ from its file's stem: on a process's first run Streamlit may route in its
# legacy pages-folder mode, where /<stem> runs the file directly; a distinct url_path then falls
# through to app.py and its gate (and every page also calls session.require_actor(action)).
# Kept as a table, one page per line (hence fmt: skip): the columns line up and read at a glance.
PAGES = (
    PageSpec("pages/home_page.py", "工作台", "home", ":material/home:", "workbench.read", "日常"),
    PageSpec("pages/messages_page.py", "消息", "messages", ":material/notifications:", "messages.read", "日常"),
    PageSpec("pages/visit_page.py", "登记走访", "visit", ":material/add_location_alt:", "visits.create", "日常"),
    PageSpec("pages/triage_page.py", "交办", "triage", ":material/call_split:", "problems.triage", "问题办理"),
    PageSpec("pages/followup_page.py", "督办回访", "followup", ":material/phone_in_talk:", "problems.triage", "问题办理"),
    PageSpec("pages/meetings_page.py", "联审会办", "meetings", ":material/groups:", "problems.triage", "问题办理"),
    PageSpec("pages/department_page.py", "部门办理", "inbox", ":material/inbox:", "problems.handle", "问题办理"),
    PageSpec("pages/feedback_page.py", "监督反馈", "feedback", ":material/campaign:", "feedback.create", "问题办理"),
    PageSpec("pages/dashboard_page.py", "统计看板", "dashboard", ":material/monitoring:", "dashboard.read", "分析报告"),
    PageSpec("pages/report_page.py", "周报", "weekly", ":material/summarize:", "dashboard.read", "分析报告"),
    PageSpec("pages/plan_page.py", "任务清单", "plan", ":material/checklist:", "plans.read", "年度抓手"),
    PageSpec("pages/cases_page.py", "经典案例", "cases", ":material/auto_stories:", "cases.read", "年度抓手"),
    PageSpec("pages/feedback_review_page.py", "反馈汇总", "monitors", ":material/reviews:", "feedback.review", "分析报告"),
    PageSpec("pages/my_visits_page.py", "走访记录", "visits", ":material/event_note:", "visits.read", "走访与企业"),
    PageSpec("pages/problems_page.py", "问题清单", "problems", ":material/assignment:", "problems.read", "问题办理"),
    PageSpec("pages/companies_page.py", "企业名录", "companies", ":material/domain:", "companies.read", "走访与企业"),
    PageSpec("pages/company_page.py", "企业档案", "company", ":material/badge:", "companies.read", "走访与企业"),
    PageSpec("pages/questionnaires_page.py", "问卷管理", "forms", ":material/quiz:", "questionnaires.manage", "管理"),
    PageSpec("pages/users_page.py", "用户管理", "users", ":material/group:", "users.manage", "管理"),
    PageSpec("pages/reference_page.py", "参考列表", "reference", ":material/list:", "reference.edit", "管理"),
    PageSpec("pages/audit_page.py", "操作日志", "audit", ":material/history:", "audit.read", "管理"),
    PageSpec("pages/notify_settings_page.py", "通知设置", "notify-settings", ":material/tune:", "settings.edit", "管理"),
    PageSpec("pages/deliveries_page.py", "通知记录", "deliveries", ":material/outbox:", "settings.edit", "管理"),
    PageSpec("pages/api_clients_page.py", "接口客户端", "api-clients", ":material/api:", "api_clients.manage", "管理"),
    PageSpec("pages/account_page.py", "我的账号", "account", ":material/person:", "account.edit", "日常"),
    PageSpec("pages/company_view_page.py", "我的诉求", "company-view", ":material/storefront:", "company_view.read", "日常"),
)  # fmt: skip


COMPANY_VIEW = "company-view"  # the company's own page (企业端), opened from its link


@st.cache_data(max_entries=64, show_spinner=False)
def _problem_counts(key: tuple, _actor: Actor) -> dict[str, int]:
    """The counts read from `problems` (督办回访's alone took 115 ms at a million problems, on every
    run of every page), kept under the data version: a write shows in them on the next run."""
    from ui import session

    with session.database() as db:
        return inbox.problem_counts(db, _actor)


def pages_for(actor: Actor) -> list[PageSpec]:
    if actor.must_change_password:
        return [p for p in PAGES if p.url_path == "account"]
    return [p for p in PAGES if permissions.can(actor, p.action)]


def build(actor: Actor | None):
    """st.navigation for this user: only the pages their roles may open; sign-in when anonymous."""
    if actor is None:
        # Every address shows the sign-in form, so a bookmarked page opens once signed in.
        from ui import signin

        pages = [
            # The company view's address says its own one message, never asks to sign in.
            st.Page(s.path, title=s.title, url_path=s.url_path, default=(i == 0))
            if s.url_path == COMPANY_VIEW
            else st.Page(signin.render, title="登录", url_path=s.url_path, default=(i == 0))
            for i, s in enumerate(PAGES)
        ]
        return st.navigation(pages, position="hidden")
    specs = pages_for(actor)
    if actor.has_role("company"):  # a company's link: its one page, no menu
        [spec] = specs
        view = st.Page(spec.path, title=spec.title, url_path=spec.url_path)
        # The default page lives at "/", so the view is not the default (at /company-view it
        # would say "Page not found"); "/" sends the company on to it.
        start = st.Page(lambda: st.switch_page(view), title=spec.title, url_path="start")
        return st.navigation([start, view], position="hidden")
    from ui import session  # navigation is built per run; the counts are fresh each time

    with session.database() as db:
        kept = _problem_counts(dataversion.key(db, actor, "navigation"), actor)
        counts = inbox.page_counts(db, actor, problems=kept)

    def title(spec: PageSpec) -> str:
        n = counts.get(spec.url_path)
        return f"{spec.title} {n}" if n else spec.title

    def page(spec: PageSpec):
        return st.Page(
            spec.path,
            title=title(spec),
            url_path=spec.url_path,
            icon=spec.icon,
            default=(spec is specs[0]),
        )

    # An admin's own work is 管理: it comes second, under 日常, in sight at 1366x768 without a
    # scroll (an admin's 22 entries are taller than that screen); other roles keep GROUPS' order.
    first = ("日常", "管理") if actor.has_role("admin") else ()
    order = (*first, *(g for g in GROUPS if g not in first))
    sections = {group: [page(s) for s in specs if s.group == group] for group in order}
    pages = {group: members for group, members in sections.items() if members}
    # In the sidebar, fully expanded: the top bar put what did not fit behind an English "N more"
    # (issue 28, item 1); on a phone the sidebar opens from the 菜单 button (ui/style.py).
    return st.navigation(pages, position="sidebar", expanded=True)
