"""Who may do what: one table of actions and roles, and row scopes for what each role may read.

Every domain function calls `require` (or a scope below) with the acting user, so a page that forgets
to hide a button still cannot read or write what the role may not.
"""

from __future__ import annotations

from dataclasses import dataclass

from survey.access.actor import Actor
from survey.errors import PermissionDeniedError
from survey.labels import ROLE_LABELS

ALL_ROLES = frozenset(ROLE_LABELS)
SUPERVISING = frozenset({"supervisor", "admin"})
ADMIN = frozenset({"admin"})
# A company following its own problems from a link (企业端): no account, not a user role, so no
# rule that names ALL_ROLES reaches it; it holds only the rules that name it.
COMPANY = frozenset({"company"})
# The scopes an admin grants another system's API client (its Actor holds 'scope:<name>' roles).
SCOPES = {
    "problems.read": "读取问题和变更记录",
    "problems.create": "报送问题",
    "figures.read": "读取统计数据",
    "companies.manage": "查询和更新企业名录",
    "webhooks": "订阅事件推送",
    "personal": "读取个人信息（企业联系人和电话）",
}


def scope(*names: str) -> frozenset[str]:
    return frozenset(f"scope:{name}" for name in names)


@dataclass(frozen=True)
class Rule:
    """Who may do one action: the roles, the Chinese words for the refusal, and which rows of
    those the role reaches: 'all', 'lead_department' (the handler of the problem's lead
    department) or 'raiser' (the user who raised the problem)."""

    roles: frozenset[str]
    label: str
    rows: str = "all"


# The one table of actions. Domain functions call `require`; ui/navigation names one action per
# page and session.require_actor(action) checks it; survey.problems.register names one per move.
RULES: dict[str, Rule] = {
    "workbench.read": Rule(ALL_ROLES, "打开工作台"),
    "account.edit": Rule(ALL_ROLES, "修改自己的账号"),
    "messages.read": Rule(ALL_ROLES, "查看自己的消息"),
    "reference.edit": Rule(ADMIN, "编辑参考列表"),
    "users.manage": Rule(ADMIN, "管理用户"),
    "audit.read": Rule(ADMIN, "查看操作日志"),
    "settings.edit": Rule(ADMIN, "修改系统设置"),
    "companies.read": Rule(ALL_ROLES | scope("companies.manage", "problems.create"), "查看企业"),
    "companies.create": Rule(
        frozenset({"officer", "supervisor", "admin"})
        | scope("companies.manage", "problems.create"),
        "新增企业",
    ),
    "companies.edit": Rule(SUPERVISING, "修改企业"),
    "companies.import": Rule(ADMIN | scope("companies.manage"), "导入企业名录"),
    "companies.sync": Rule(ADMIN | scope("companies.manage"), "按代码查询和同步企业名录"),
    "companies.export": Rule(SUPERVISING, "导出企业名录"),
    "problems.read": Rule(ALL_ROLES | scope("problems.read"), "查看问题"),
    "problems.raise": Rule(
        frozenset({"officer", "monitor"}) | COMPANY | scope("problems.create"), "登记问题"
    ),
    "problems.triage": Rule(SUPERVISING, "交办、督办和回访问题（营商办职责）"),
    "problems.handle": Rule(frozenset({"handler"}), "办理问题", rows="lead_department"),
    "problems.annotate": Rule(frozenset({"officer"}), "为问题添加备注", rows="raiser"),
    "questionnaires.read": Rule(ALL_ROLES, "查看问卷"),
    "questionnaires.manage": Rule(SUPERVISING, "管理问卷"),
    "visits.read": Rule(frozenset({"officer", "supervisor", "admin"}), "查看走访记录"),
    "visits.create": Rule(frozenset({"officer"}), "登记走访"),
    "feedback.read": Rule(frozenset({"monitor", "supervisor", "admin"}), "查看监督反馈"),
    "feedback.create": Rule(frozenset({"monitor"}), "提交监督反馈"),
    "feedback.review": Rule(SUPERVISING, "查看监督反馈汇总和监督员履职"),
    "dashboard.read": Rule(SUPERVISING | scope("figures.read"), "查看统计看板"),
    "plans.manage": Rule(SUPERVISING, "管理年度任务清单"),
    "plans.read": Rule(SUPERVISING | {"handler"}, "查看年度任务清单"),
    "plans.report": Rule(frozenset({"handler"}), "报送任务进展"),
    "plans.aliases": Rule(SUPERVISING, "查看和撤销学到的部门名称"),
    "cases.read": Rule(ALL_ROLES, "查看经典案例"),
    "cases.nominate": Rule(SUPERVISING | {"handler"}, "推荐经典案例"),
    "cases.manage": Rule(SUPERVISING, "组织经典案例评选"),
    "personal.read": Rule(SUPERVISING | scope("personal"), "读取个人信息"),
    "webhooks.manage": Rule(scope("webhooks"), "订阅事件推送"),
    "api_clients.manage": Rule(ADMIN, "管理接口客户端"),
    "company_view.read": Rule(COMPANY, "查看本企业的问题"),
    "company_view.rate": Rule(COMPANY, "评价问题的办理"),
    "company_links.issue": Rule(frozenset({"officer", "supervisor", "admin"}), "出示企业查看码"),
    "company_links.revoke": Rule(SUPERVISING, "撤销企业的查看链接"),
}


def can(actor: Actor, action: str) -> bool:
    return actor.has_role(*RULES[action].roles)


def require(actor: Actor, action: str) -> None:
    if not can(actor, action):
        raise PermissionDeniedError(f"您的角色无权{RULES[action].label}。")


def reaches(actor: Actor, action: str, problem: dict) -> bool:
    """Whether the actor may do `action` on this problem: the role, then the rule's rows."""
    rule = RULES[action]
    if not can(actor, action):
        return False
    if rule.rows == "lead_department":
        return bool(actor.department_code) and actor.department_code == problem.get(
            "lead_department_code"
        )
    if rule.rows == "raiser":
        return actor.id is not None and actor.id == problem.get("created_by")
    return True


def require_on(actor: Actor, action: str, problem: dict) -> None:
    """`require`, and the rule's row condition on one problem."""
    require(actor, action)
    if not reaches(actor, action, problem):
        if RULES[action].rows == "lead_department":
            raise PermissionDeniedError(f"只有牵头部门可以办理问题 #{problem['id']}。")
        raise PermissionDeniedError(
            f"只有登记人可以{RULES[action].label}（问题 #{problem['id']}）。"
        )


def sees_everything(actor: Actor) -> bool:
    return actor.has_role("supervisor", "admin")


def problem_scope(actor: Actor, alias: str = "p") -> tuple[str, list]:
    """SQL condition (and parameters) limiting problems to those the actor may see."""
    require(actor, "problems.read")
    if actor.has_role("client"):
        return client_problems(actor.department_code, actor.district_code, alias)
    if sees_everything(actor):
        return "1 = 1", []
    parts, params = [], []
    if actor.has_role("handler") and actor.department_code:
        where, values = department_problems(actor.department_code, alias)
        parts.append(where)
        params += values
    if actor.has_role("officer"):
        parts.append(f"({alias}.source = 'visit' AND {alias}.created_by = ?)")
        params.append(actor.id)
    if actor.has_role("monitor"):
        parts.append(
            f"({alias}.source = 'monitor' AND EXISTS (SELECT 1 FROM feedback f"
            f" WHERE f.id = {alias}.feedback_id AND f.monitor_id = ?))"
        )
        params.append(actor.id)
    return ("(" + " OR ".join(parts) + ")" if parts else "0 = 1"), params


def company_problems(actor: Actor, alias: str = "p") -> tuple[str, list]:
    """The problems a company sees of itself: raised in a visit, from another system (12345,
    the portal) or by itself; never a monitor's lead about it, never another company's."""
    require(actor, "company_view.read")
    if actor.company_id is None:
        return "0 = 1", []
    return f"({alias}.company_id = ? AND {alias}.source <> 'monitor')", [actor.company_id]


def department_problems(department_code: str, alias: str = "p") -> tuple[str, list]:
    """A department's problems: those it leads and those it helps with (协办). The one rule for
    the department's handlers in the app and for an API client scoped to the department (its
    reads and its webhooks alike)."""
    return (
        f"({alias}.lead_department_code = ? OR EXISTS (SELECT 1 FROM problem_co_departments c"
        f" WHERE c.problem_id = {alias}.id AND c.department_code = ?))",
        [department_code, department_code],
    )


def client_problems(
    department_code: str | None, district_code: str | None, alias: str = "p"
) -> tuple[str, list]:
    """The problems an API client's row scope reaches: one department's (department_problems),
    one district's, or all. Its reads (problem_scope) and its webhooks
    (survey.notify.webhooks.on_event) both take it from here."""
    if department_code:
        return department_problems(department_code, alias)
    if district_code:
        return f"{alias}.district_code = ?", [district_code]
    return "1 = 1", []


def task_scope(actor: Actor, alias: str = "t") -> tuple[str, list]:
    """Plan tasks the actor may see: all for supervisors; a department's handlers those it leads
    or works on (配合单位)."""
    require(actor, "plans.read")
    if sees_everything(actor):
        return "1 = 1", []
    if actor.has_role("handler") and actor.department_code:
        return (
            f"({alias}.lead_department_code = ? OR EXISTS (SELECT 1 FROM plan_task_departments d"
            f" WHERE d.task_id = {alias}.id AND d.department_code = ?))",
            [actor.department_code, actor.department_code],
        )
    return "0 = 1", []


def visit_scope(actor: Actor, alias: str = "v") -> tuple[str, list]:
    require(actor, "visits.read")
    if sees_everything(actor):
        return "1 = 1", []
    return (
        f"({alias}.officer_id = ? OR EXISTS (SELECT 1 FROM visit_participants vp"
        f" WHERE vp.visit_id = {alias}.id AND vp.user_id = ?))",
        [actor.id, actor.id],
    )


def feedback_scope(actor: Actor, alias: str = "f") -> tuple[str, list]:
    require(actor, "feedback.read")
    if sees_everything(actor):
        return "1 = 1", []
    return f"{alias}.monitor_id = ?", [actor.id]


def company_scope(actor: Actor, alias: str = "c") -> tuple[str, list]:
    """Companies the actor may find and name: officers their department's linked companies and those
    they visited; handlers the companies of problems assigned to them; monitors, supervisors and
    admins the whole registry (monitors name the company a lead is about). What monitors read of
    most of them is limited by company_detail_scope."""
    require(actor, "companies.read")
    if actor.has_role("monitor"):
        return "1 = 1", []
    return company_detail_scope(actor, alias)


def client_company_rows(actor: Actor) -> tuple[str, str] | None:
    """An API client's row scope on the registry: the companies column and the value it holds a
    company to (a department's linked companies, 挂钩部门, or one district's); None when the
    client reaches the whole registry or the actor is no client. Reads (company_detail_scope)
    and writes (survey.companies.exchange.upsert) both take it from here."""
    if not actor.has_role("client"):
        return None
    if actor.department_code:
        return "department_code", actor.department_code
    if actor.district_code:
        return "district_code", actor.district_code
    return None


def company_detail_scope(actor: Actor, alias: str = "c") -> tuple[str, list]:
    """Companies whose contact person, phone, address and profile the actor may read: as
    company_scope, except that monitors read them only for companies on their own submissions."""
    require(actor, "companies.read")
    if actor.has_role("client"):
        limit = client_company_rows(actor)
        return (f"{alias}.{limit[0]} = ?", [limit[1]]) if limit else ("1 = 1", [])
    if sees_everything(actor):
        return "1 = 1", []
    parts, params = [], []
    if actor.has_role("officer"):
        parts.append(
            f"({alias}.department_code = ? OR EXISTS (SELECT 1 FROM visits v"
            f" WHERE v.company_id = {alias}.id AND v.officer_id = ?))"
        )
        params += [actor.department_code, actor.id]
    if actor.has_role("handler") and actor.department_code:
        parts.append(
            f"EXISTS (SELECT 1 FROM problems p WHERE p.company_id = {alias}.id"
            f" AND p.lead_department_code = ?)"
        )
        params.append(actor.department_code)
    if actor.has_role("monitor"):
        parts.append(
            f"EXISTS (SELECT 1 FROM feedback f WHERE f.company_id = {alias}.id"
            f" AND f.monitor_id = ?)"
        )
        params.append(actor.id)
    return ("(" + " OR ".join(parts) + ")" if parts else "0 = 1"), params
