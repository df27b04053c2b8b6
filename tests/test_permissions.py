"""Every role x every domain function: allowed or denied as the permission table says, and row
scopes that keep each role to its own visits, problems and feedback."""

from __future__ import annotations

import io
import itertools
from datetime import date

import pytest
from stdnum.cn import uscc as stdnum_uscc

from survey import db as store
from survey import feedback, questionnaires, reference, visits
from survey.access import audit, auth, clients, permissions, users
from survey.access.actor import SYSTEM
from survey.access.permissions import require
from survey.cases import library, selection
from survey.companies import exchange as company_exchange
from survey.companies import registry, transfer
from survey.companyview import links as company_links
from survey.companyview import view as company_view
from survey.errors import NotFoundError, PermissionDeniedError
from survey.notify import messages, webhooks
from survey.plans import aliases as plan_aliases
from survey.plans import importing, tasks
from survey.plans import reports as plan_reports
from survey.problems import inbox, lifecycle, listing, register
from survey.reports import common, exports, overview, periods, problem_list, scorecard, weekly
from survey.xlsform.writer import build_xlsform
from tests.helpers import actor_for, linked_company
from tests.helpers import payload as visit_payload

_VIEW = periods.Filters("2026-01", "2026-06")
ROLES = ("officer", "handler", "monitor", "supervisor", "admin")  # demo users with one role each
ALL = set(ROLES)
_n = itertools.count(1)


def _code() -> str:
    body = f"91321102MA{next(_n):07d}"
    return body + stdnum_uscc.calc_check_digit(body)


def _other_user(db) -> int:
    return actor_for(db, "monitor02").id


def _company_values() -> dict:
    return {
        "name": f"权限测试企业{next(_n)}有限公司",
        "uscc": _code(),
        "district_code": "321102",
        "sector_code": "OTHER",
    }


def _lead(db) -> register.NewProblem:
    return register.NewProblem(
        source="monitor",
        submission_id=f"perm-lead-{next(_n)}",
        category_code=store.scalar(db, "SELECT category_code FROM problems LIMIT 1"),
        nature_code="report",
        description="园区道路破损，企业货车进出困难。",
        raised_on="2026-06-01",
        feedback_id=store.scalar(db, "SELECT id FROM feedback LIMIT 1"),
    )


def _held_by(db, department: str) -> int:
    """A problem the department holds, with a deadline and no extension asked yet."""
    return store.scalar(
        db,
        "SELECT id FROM problems WHERE lead_department_code = ? AND status = 'in_progress'"
        " AND deadline_on IS NOT NULL AND extension_requested_days IS NULL ORDER BY id LIMIT 1",
        (department,),
    )


def _raised_by(db, actor) -> int:
    """A problem this actor raised; for other roles, any problem (the call must then be refused)."""
    mine = store.scalar(db, "SELECT id FROM problems WHERE created_by = ? LIMIT 1", (actor.id,))
    return mine or store.scalar(db, "SELECT id FROM problems LIMIT 1")


def _form_file() -> bytes:
    return build_xlsform(
        [{"type": "text", "name": "q", "label": "问"}],
        [],
        {"form_id": "perm", "version": f"v{next(_n)}"},
    )


def _unused_sector(db) -> str:
    code = f"T{next(_n)}"
    reference.add_entry(
        db, SYSTEM, "sectors", {"code": code, "name": f"测试{code}", "cluster": "测试"}
    )
    return code


CASES = {
    "reference.add_entry": (
        {"admin"},
        lambda db, a: reference.add_entry(
            db, a, "sectors", {"code": f"N{next(_n)}", "name": f"新{next(_n)}", "cluster": "c"}
        ),
    ),
    "reference.rename_entry": (
        {"admin"},
        lambda db, a: reference.rename_entry(db, a, "sectors", "OTHER", f"其他{next(_n)}"),
    ),
    "reference.set_active": (
        {"admin"},
        lambda db, a: reference.set_active(db, a, "sectors", "OTHER", True),
    ),
    "reference.delete_entry": (
        {"admin"},
        lambda db, a: reference.delete_entry(db, a, "sectors", _unused_sector(db)),
    ),
    "users.create_user": (
        {"admin"},
        lambda db, a: users.create_user(
            db,
            a,
            username=f"u{next(_n)}",
            display_name="甲",
            password="Abcdefg12",
            roles=["monitor"],
        ),
    ),
    "users.list_users": ({"admin"}, lambda db, a: users.list_users(db, a)),
    "users.get_user(other)": ({"admin"}, lambda db, a: users.get_user(db, a, _other_user(db))),
    "users.update_user": (
        {"admin"},
        lambda db, a: users.update_user(
            db, a, _other_user(db), display_name="乙", roles=["monitor"], department_code=None
        ),
    ),
    "users.set_user_active": (
        {"admin"},
        lambda db, a: users.set_user_active(db, a, _other_user(db), True),
    ),
    "users.reset_password": (
        {"admin"},
        lambda db, a: users.reset_password(db, a, _other_user(db), "Reset2026x"),
    ),
    "users.unlock_user": ({"admin"}, lambda db, a: users.unlock_user(db, a, _other_user(db))),
    "users.set_session_hours": ({"admin"}, lambda db, a: users.set_session_hours(db, a, 12)),
    "auth.list_sessions(other)": (
        {"admin"},
        lambda db, a: auth.list_sessions(db, a, user_id=_other_user(db)),
    ),
    "auth.revoke_session(other)": (
        {"admin"},
        lambda db, a: auth.revoke_session(db, a, auth.sign_in_trusted(db, "monitor02").session_id),
    ),
    "auth.list_sessions(own)": (ALL, lambda db, a: auth.list_sessions(db, a)),
    "audit.list_entries": ({"admin"}, lambda db, a: audit.list_entries(db, a)),
    "audit.distinct_values": ({"admin"}, lambda db, a: audit.distinct_values(db, a, "action")),
    "registry.search_companies": (ALL, lambda db, a: registry.search_companies(db, a, "有限")),
    "registry.create_company": (
        {"officer", "supervisor", "admin"},
        lambda db, a: registry.create_company(
            db, a, _company_values() | {"department_code": a.department_code}
        ),
    ),
    "registry.update_company": (
        {"supervisor", "admin"},
        lambda db, a: registry.update_company(
            db, a, 1, registry.get_company(db, SYSTEM, 1) | {"address": f"改{next(_n)}"}
        ),
    ),
    "transfer.import_companies": (
        {"admin"},
        lambda db, a: transfer.import_companies(db, a, registry.HEADERS, []),
    ),
    "transfer.export_xlsx": (
        {"supervisor", "admin"},
        lambda db, a: transfer.export_xlsx(db, a, io.BytesIO()),
    ),
    "listing.list_problems": (ALL, lambda db, a: listing.list_problems(db, a)),
    "listing.count_problems": (ALL, lambda db, a: listing.count_problems(db, a)),
    "visits.list_visits": (
        {"officer", "supervisor", "admin"},
        lambda db, a: visits.list_visits(db, a),
    ),
    "feedback.list_feedback": (
        {"monitor", "supervisor", "admin"},
        lambda db, a: feedback.list_feedback(db, a),
    ),
    "inbox.waiting_items": (ALL, lambda db, a: inbox.waiting_items(db, a)),
    "messages.list_messages": (ALL, lambda db, a: messages.list_messages(db, a)),
    "auth.change_password": (
        ALL,
        lambda db, a: auth.change_password(db, a, "demo2025", f"新密码Abc{next(_n)}x"),
    ),
    "register.raise_problem": (
        {"officer", "monitor"},
        lambda db, a: register.raise_problem(db, a, _lead(db)),
    ),
    "lifecycle.escalate": (
        {"supervisor", "admin"},
        lambda db, a: lifecycle.escalate(db, a, _held_by(db, "GXJ"), "请本周内答复企业"),
    ),
    "lifecycle.request_extension": (
        {"handler"},
        lambda db, a: lifecycle.request_extension(db, a, _held_by(db, "GXJ"), 3, "需要协调用地"),
    ),
    "visits.annotate_problem": (
        {"officer"},
        lambda db, a: visits.annotate_problem(db, a, _raised_by(db, a), "企业补充了材料"),
    ),
    "feedback.duty_progress": (
        {"supervisor", "admin"},
        lambda db, a: feedback.duty_progress(db, a),
    ),
    "feedback.submit_feedback": (
        {"monitor"},
        lambda db, a: feedback.submit_feedback(
            db,
            a,
            f"perm-f-{next(_n)}",
            {"kind": "suggestion", "body": "建议在园区设立企业服务专窗。"},
        ),
    ),
    "visits.submit_visit": (
        {"officer"},
        lambda db, a: visits.submit_visit(
            db, a, f"perm-{next(_n)}", visit_payload(db, actor_for(db, "officer"))
        ),
    ),
    "questionnaires.list_versions": (ALL, lambda db, a: questionnaires.list_versions(db, a)),
    "questionnaires.current": (ALL, lambda db, a: questionnaires.current(db, a, "visit")),
    "questionnaires.save_version": (
        {"supervisor", "admin"},
        lambda db, a: questionnaires.save_version(db, a, _form_file(), "f.xlsx"),
    ),
    "questionnaires.publish": (
        {"supervisor", "admin"},
        lambda db, a: questionnaires.publish(db, a, questionnaires.current(db, SYSTEM, "visit")[0]),
    ),
    "questionnaires.export_answers": (
        {"supervisor", "admin"},
        lambda db, a: questionnaires.export_answers(db, a, "visit", io.BytesIO()),
    ),
    "scorecard.kpis": ({"supervisor", "admin"}, lambda db, a: scorecard.kpis(db, a, _VIEW)),
    "overview.dashboard_data": (
        {"supervisor", "admin"},
        lambda db, a: overview.dashboard_data(db, a, _VIEW),
    ),
    "problem_list.problem_list": (
        {"supervisor", "admin"},
        lambda db, a: problem_list.problem_list(db, a, _VIEW),
    ),
    "common.common_categories": (
        {"supervisor", "admin"},
        lambda db, a: common.common_categories(db, a, _VIEW),
    ),
    "common.similar_groups": (
        {"supervisor", "admin"},
        lambda db, a: common.similar_groups(db, a, _VIEW),
    ),
    "weekly.kpis": (
        {"supervisor", "admin"},
        lambda db, a: weekly.kpis(db, a, weekly.Week(weekly.last_full_week()), _VIEW),
    ),
    "exports.write_dashboard": (
        {"supervisor", "admin"},
        lambda db, a: exports.write_dashboard(db, a, _VIEW, io.BytesIO()),
    ),
    "clients.list_clients": ({"admin"}, lambda db, a: clients.list_clients(db, a)),
    "library.search": (ALL, lambda db, a: library.search(db, a, "企业")),
    "library.nominate_problem": (
        {"handler", "supervisor", "admin"},
        lambda db, a: library.nominate_problem(db, a, _closed_gxj(db), _WRITE_UP),
    ),
    "selection.create_round": (
        {"supervisor", "admin"},
        lambda db, a: selection.create_round(
            db,
            a,
            year=2026,
            title="",
            criteria=[("成效", 1)],
            panel=[a.id],
            case_ids=[library.nominate_problem(db, _supervisor(db), _closed_gxj(db), _WRITE_UP)],
        ),
    ),
    "importing.import_plan": (
        {"supervisor", "admin"},
        lambda db, a: importing.import_plan(db, a, 2030, *_PLAN),
    ),
    "aliases.list_aliases": (
        {"supervisor", "admin"},
        lambda db, a: plan_aliases.list_aliases(db, a),
    ),
    "tasks.list_tasks": (
        {"handler", "supervisor", "admin"},
        lambda db, a: tasks.list_tasks(db, a, 2030),
    ),
    "reports.submit": (
        {"handler"},
        lambda db, a: plan_reports.submit(
            db, a, _gxj_task(db), "2030-05", done_text="进展", percent=10, today=date(2030, 5, 3)
        ),
    ),
    "exchange.company_by_code": (
        {"admin"},
        lambda db, a: company_exchange.company_by_code(
            db, a, store.scalar(db, "SELECT uscc FROM companies LIMIT 1")
        ),
    ),
    "webhooks.list_webhooks": (set(), lambda db, a: webhooks.list_webhooks(db, a)),  # clients only
    # who reads a company's contact person and phone in the API's answers (exchange._shape)
    "permissions.personal": ({"supervisor", "admin"}, lambda db, a: require(a, "personal.read")),
    # the company's own view (企业端): the company role alone, which no user holds
    "company_view.my_problems": (set(), lambda db, a: company_view.my_problems(db, a)),
    "company_view.rate": (set(), lambda db, a: company_view.rate(db, a, 1, "满意")),
    "company_links.issue_qr": (
        {"officer", "supervisor", "admin"},
        lambda db, a: company_links.issue_qr(db, a, linked_company(db, actor_for(db, "officer"))),
    ),
    "company_links.revoke_all": (
        {"supervisor", "admin"},
        lambda db, a: company_links.revoke_all(db, a, 1),
    ),
}


# 320 cases, each on its own copy of the demo: on PostgreSQL a copy is a CREATE DATABASE ... TEMPLATE
# and a DROP, 376 s for the matrix, a third of that lane. Who may call what is decided in survey/
# before any statement runs, the same on either store; what each call does on PostgreSQL is tested
# by its own module's tests there.
@pytest.mark.store_independent
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", CASES)
def test_role_by_function(db, role, name):
    allowed, call = CASES[name]
    actor = actor_for(db, role)
    assert actor.roles == {role}
    if role in allowed:
        call(db, actor)
    else:
        with pytest.raises(PermissionDeniedError):
            call(db, actor)


RULE_OF_CASE = {
    "reference.add_entry": "reference.edit",
    "users.create_user": "users.manage",
    "audit.list_entries": "audit.read",
    "users.set_session_hours": "settings.edit",
    "registry.search_companies": "companies.read",
    "registry.create_company": "companies.create",
    "registry.update_company": "companies.edit",
    "transfer.import_companies": "companies.import",
    "transfer.export_xlsx": "companies.export",
    "listing.list_problems": "problems.read",
    "visits.list_visits": "visits.read",
    "feedback.list_feedback": "feedback.read",
    "visits.submit_visit": "visits.create",
    "feedback.submit_feedback": "feedback.create",
    "questionnaires.list_versions": "questionnaires.read",
    "questionnaires.save_version": "questionnaires.manage",
    "scorecard.kpis": "dashboard.read",
    "inbox.waiting_items": "workbench.read",
    "messages.list_messages": "messages.read",
    "auth.change_password": "account.edit",
    "register.raise_problem": "problems.raise",
    "lifecycle.escalate": "problems.triage",
    "lifecycle.request_extension": "problems.handle",
    "visits.annotate_problem": "problems.annotate",
    "feedback.duty_progress": "feedback.review",
    "clients.list_clients": "api_clients.manage",
    "library.search": "cases.read",
    "library.nominate_problem": "cases.nominate",
    "selection.create_round": "cases.manage",
    "importing.import_plan": "plans.manage",
    "aliases.list_aliases": "plans.aliases",
    "tasks.list_tasks": "plans.read",
    "reports.submit": "plans.report",
    "exchange.company_by_code": "companies.sync",
    "webhooks.list_webhooks": "webhooks.manage",
    "permissions.personal": "personal.read",
    "company_view.my_problems": "company_view.read",
    "company_view.rate": "company_view.rate",
    "company_links.issue_qr": "company_links.issue",
    "company_links.revoke_all": "company_links.revoke",
}


_PLAN = (
    ["序号", "重点任务", "牵头单位", "完成时限"],
    [["1", "降低企业用电成本", "市工业和信息化局", "年底"]],
)


def _gxj_task(db) -> int:
    """A task led by GXJ (the demo handler's department) in a 2030 plan, imported once."""
    if not store.scalar(db, "SELECT count(*) FROM plans WHERE year = 2030"):
        importing.import_plan(db, SYSTEM, 2030, *_PLAN)
    return store.scalar(
        db,
        "SELECT t.id FROM plan_tasks t JOIN plans p ON p.id = t.plan_id WHERE p.year = 2030",
    )


_WRITE_UP = {"title": "案例", "background": "背景", "approach": "做法", "results": "成效"}


def _closed_gxj(db) -> int:
    return store.scalar(
        db, "SELECT id FROM problems WHERE status = 'closed' AND lead_department_code = 'GXJ'"
    )


def _supervisor(db):
    return actor_for(db, "supervisor")


def test_every_permission_rule_is_exercised():
    """Each rule of the permission table has a case above expecting exactly its roles."""
    assert set(RULE_OF_CASE.values()) == set(permissions.RULES)
    for case, rule in RULE_OF_CASE.items():  # the users' roles (API scopes: tests/test_api.py)
        assert CASES[case][0] == set(permissions.RULES[rule].roles) & set(ROLES), case


def test_handler_sees_only_their_department(db):
    handler = actor_for(db, "handler")
    mine = listing.list_problems(db, handler, limit=10_000)
    assert mine and all(p["lead_department_code"] == "GXJ" for p in mine)
    assert listing.count_problems(db, handler) == store.scalar(
        db, "SELECT count(*) FROM problems WHERE lead_department_code = 'GXJ'"
    )
    other = store.scalar(db, "SELECT id FROM problems WHERE lead_department_code != 'GXJ' LIMIT 1")
    with pytest.raises(NotFoundError, match="无权查看"):
        listing.get_problem(db, handler, other)


def test_officer_sees_own_visits_and_problems(db):
    officer = actor_for(db, "officer")
    own = visits.list_visits(db, officer, limit=10_000)
    expected = store.scalar(
        db,
        "SELECT count(DISTINCT v.id) FROM visits v LEFT JOIN visit_participants p ON p.visit_id = v.id"
        " WHERE v.officer_id = ? OR p.user_id = ?",
        (officer.id, officer.id),
    )
    assert len(own) == expected > 0
    assert all(p["source"] == "visit" for p in listing.list_problems(db, officer, limit=10_000))
    stranger = store.scalar(
        db,
        "SELECT id FROM visits WHERE officer_id != ? AND id NOT IN"
        " (SELECT visit_id FROM visit_participants WHERE user_id = ?) LIMIT 1",
        (officer.id, officer.id),
    )
    with pytest.raises(NotFoundError):
        visits.get_visit(db, officer, stranger)


def test_monitor_sees_only_own_feedback_and_leads(db):
    monitor = actor_for(db, "monitor")
    own = feedback.list_feedback(db, monitor, limit=10_000)
    assert own
    assert len(own) == store.scalar(
        db, "SELECT count(*) FROM feedback WHERE monitor_id = ?", (monitor.id,)
    )
    leads = listing.list_problems(db, monitor, limit=10_000)
    assert all(p["source"] == "monitor" for p in leads)
    foreign = store.scalar(
        db, "SELECT id FROM feedback WHERE monitor_id != ? LIMIT 1", (monitor.id,)
    )
    with pytest.raises(NotFoundError):
        feedback.get_feedback(db, monitor, foreign)


def test_supervisor_sees_everything(db):
    supervisor = actor_for(db, "supervisor")
    assert listing.count_problems(db, supervisor) == store.scalar(
        db, "SELECT count(*) FROM problems"
    )


def _company_actor(db):
    """A company's own view (企业端): the role a link's session holds, for one company."""
    with store.transaction(db):
        user = company_links.service_user(db)
    company = store.scalar(db, "SELECT company_id FROM problems WHERE source = 'visit' LIMIT 1")
    return company_links.company_actor(user, company)


# Its own view; and one's own sign-in sessions, which the company's user row never has.
OWN_VIEW = {"company_view.my_problems", "company_view.rate", "auth.list_sessions(own)"}


def test_the_company_role_reaches_its_own_view_and_nothing_else(db):
    """Every staff function refuses a company's session; its own view takes it. (company_view.rate
    on problem 1, not necessarily the company's, reads as not found: tests/test_company_view.py.)"""
    actor = _company_actor(db)
    for name, (_, call) in CASES.items():
        if name in OWN_VIEW:
            continue
        with pytest.raises(PermissionDeniedError):
            call(db, actor)
    assert company_view.my_problems(db, actor)
    for scope_of in (permissions.problem_scope, permissions.company_scope, permissions.visit_scope):
        with pytest.raises(PermissionDeniedError):
            scope_of(actor)
    lead = _lead(db)  # a monitor's lead raised by a company session: refused
    with pytest.raises(PermissionDeniedError, match="本企业"):
        register.raise_problem(db, actor, lead)
