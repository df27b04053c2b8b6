"""Who may do what: one table of actions and roles, and row scopes for what each role may read.

Every domain function calls `require` (or a scope below) with the acting user, so a page that forgets
to hide a button still cannot read or write what the role may not.
"""

from __future__ import annotations

from survey.actor import Actor
from survey.errors import PermissionDeniedError

ALL_ROLES = frozenset({"officer", "handler", "monitor", "supervisor", "admin"})

RULES: dict[str, frozenset[str]] = {
    "reference.edit": frozenset({"admin"}),
    "users.manage": frozenset({"admin"}),
    "audit.read": frozenset({"admin"}),
    "settings.edit": frozenset({"admin"}),
    "companies.read": ALL_ROLES,
    "companies.create": frozenset({"officer", "supervisor", "admin"}),
    "companies.edit": frozenset({"supervisor", "admin"}),
    "companies.import": frozenset({"admin"}),
    "companies.export": frozenset({"supervisor", "admin"}),
    "problems.read": ALL_ROLES,
    "questionnaires.read": ALL_ROLES,
    "questionnaires.manage": frozenset({"supervisor", "admin"}),
    "visits.read": frozenset({"officer", "supervisor", "admin"}),
    "visits.create": frozenset({"officer"}),
    "feedback.read": frozenset({"monitor", "supervisor", "admin"}),
    "feedback.create": frozenset({"monitor"}),
    "dashboard.read": frozenset({"supervisor", "admin"}),
}

ACTION_LABELS = {
    "reference.edit": "编辑参考列表",
    "users.manage": "管理用户",
    "audit.read": "查看操作日志",
    "settings.edit": "修改系统设置",
    "companies.read": "查看企业",
    "companies.create": "新增企业",
    "companies.edit": "修改企业",
    "companies.import": "导入企业名录",
    "companies.export": "导出企业名录",
    "problems.read": "查看问题",
    "questionnaires.read": "查看问卷",
    "questionnaires.manage": "管理问卷",
    "visits.read": "查看走访记录",
    "visits.create": "登记走访",
    "feedback.read": "查看监督反馈",
    "feedback.create": "提交监督反馈",
    "dashboard.read": "查看统计看板",
}


def can(actor: Actor, action: str) -> bool:
    return actor.has_role(*RULES[action])


def require(actor: Actor, action: str) -> None:
    if not can(actor, action):
        raise PermissionDeniedError(f"您的角色无权{ACTION_LABELS[action]}。")


def sees_everything(actor: Actor) -> bool:
    return actor.has_role("supervisor", "admin")


def problem_scope(actor: Actor, alias: str = "p") -> tuple[str, list]:
    """SQL condition (and parameters) limiting problems to those the actor may see."""
    require(actor, "problems.read")
    if sees_everything(actor):
        return "1 = 1", []
    parts, params = [], []
    if actor.has_role("handler") and actor.department_code:
        parts.append(
            f"({alias}.lead_department_code = ? OR EXISTS (SELECT 1 FROM problem_co_departments c"
            f" WHERE c.problem_id = {alias}.id AND c.department_code = ?))"
        )
        params += [actor.department_code, actor.department_code]
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


def company_detail_scope(actor: Actor, alias: str = "c") -> tuple[str, list]:
    """Companies whose contact person, phone, address and profile the actor may read: as
    company_scope, except that monitors read them only for companies on their own submissions."""
    require(actor, "companies.read")
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
