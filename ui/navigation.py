"""The page registry: one list says which page exists, where it lives and who may open it."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from survey import inbox
from survey.actor import Actor

ALL_ROLES = ("officer", "handler", "monitor", "supervisor", "admin")
SUPERVISING = ("supervisor", "admin")


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    url_path: str
    icon: str
    roles: tuple[str, ...]


# A url_path must differ from its file's stem: on a process's first run Streamlit may route in its
# legacy pages-folder mode, where /<stem> runs the file directly; a distinct url_path then falls
# through to app.py and its gate (and every page also calls session.require_actor).
PAGES = (
    PageSpec("pages/home_page.py", "工作台", "home", ":material/home:", ALL_ROLES),
    PageSpec(
        "pages/visit_page.py", "登记走访", "visit", ":material/add_location_alt:", ("officer",)
    ),
    PageSpec("pages/triage_page.py", "交办", "triage", ":material/call_split:", SUPERVISING),
    PageSpec(
        "pages/followup_page.py", "督办回访", "followup", ":material/phone_in_talk:", SUPERVISING
    ),
    PageSpec("pages/department_page.py", "部门办理", "inbox", ":material/inbox:", ("handler",)),
    PageSpec("pages/feedback_page.py", "监督反馈", "feedback", ":material/campaign:", ("monitor",)),
    PageSpec(
        "pages/dashboard_page.py", "统计看板", "dashboard", ":material/monitoring:", SUPERVISING
    ),
    PageSpec("pages/report_page.py", "周报", "weekly", ":material/summarize:", SUPERVISING),
    PageSpec(
        "pages/feedback_review_page.py", "反馈汇总", "monitors", ":material/reviews:", SUPERVISING
    ),
    PageSpec(
        "pages/my_visits_page.py",
        "走访记录",
        "visits",
        ":material/event_note:",
        ("officer", "supervisor", "admin"),
    ),
    PageSpec("pages/problems_page.py", "问题清单", "problems", ":material/assignment:", ALL_ROLES),
    PageSpec("pages/companies_page.py", "企业名录", "companies", ":material/domain:", ALL_ROLES),
    PageSpec("pages/company_page.py", "企业档案", "company", ":material/badge:", ALL_ROLES),
    PageSpec(
        "pages/questionnaires_page.py",
        "问卷管理",
        "forms",
        ":material/quiz:",
        ("supervisor", "admin"),
    ),
    PageSpec("pages/users_page.py", "用户管理", "users", ":material/group:", ("admin",)),
    PageSpec("pages/reference_page.py", "参考列表", "reference", ":material/list:", ("admin",)),
    PageSpec("pages/audit_page.py", "操作日志", "audit", ":material/history:", ("admin",)),
    PageSpec("pages/account_page.py", "我的账号", "account", ":material/person:", ALL_ROLES),
)


def pages_for(actor: Actor) -> list[PageSpec]:
    if actor.must_change_password:
        return [p for p in PAGES if p.url_path == "account"]
    return [p for p in PAGES if actor.has_role(*p.roles)]


def build(actor: Actor | None):
    """st.navigation for this user: only the pages their roles may open; sign-in when anonymous."""
    if actor is None:
        # Every address shows the sign-in form, so a bookmarked page opens once signed in.
        from ui import signin

        pages = [
            st.Page(signin.render, title="登录", url_path=s.url_path, default=(i == 0))
            for i, s in enumerate(PAGES)
        ]
        return st.navigation(pages, position="hidden")
    specs = pages_for(actor)
    from ui import session  # navigation is built per run; the counts are fresh each time

    with session.database() as db:
        counts = inbox.page_counts(db, actor)

    def title(spec: PageSpec) -> str:
        n = counts.get(spec.url_path)
        return f"{spec.title} {n}" if n else spec.title

    pages = [
        st.Page(s.path, title=title(s), url_path=s.url_path, icon=s.icon, default=(s is specs[0]))
        for s in specs
    ]
    return st.navigation(pages, position="top")
