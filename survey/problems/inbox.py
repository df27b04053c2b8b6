"""What waits for each user: counts of open items per role, for the home page and navigation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access.actor import Actor
from survey.access.permissions import can, require
from survey.notify.messages import unread_count
from survey.problems.register import HELD_SQL, WARNING_WORKING_DAYS, warning_cutoff


@dataclass(frozen=True)
class WaitingItem:
    role: str
    label: str
    count: int
    help: str


def _count(db: Database, sql: str, params: tuple = ()) -> int:
    return int(store.scalar(db, sql, params) or 0)


def waiting_items(db: Database, actor: Actor) -> list[WaitingItem]:
    """One list per role the actor holds; each count is limited to what the actor may see."""
    require(actor, "workbench.read")
    today = clock.today().isoformat()
    items: list[WaitingItem] = []
    if actor.has_role("officer"):
        items += [
            WaitingItem(
                "officer",
                "未完成的走访草稿",
                _count(
                    db,
                    "SELECT count(*) FROM drafts WHERE user_id = ? AND kind = 'visit'"
                    " AND submitted_at IS NULL AND discarded_at IS NULL",
                    (actor.id,),
                ),
                "继续填写或放弃",
            ),
            WaitingItem(
                "officer",
                "我提出、尚未办结的问题",
                _count(
                    db,
                    "SELECT count(*) FROM problems WHERE created_by = ? AND status != 'closed'",
                    (actor.id,),
                ),
                "跟踪办理进度",
            ),
        ]
    if actor.has_role("handler") and actor.department_code:
        dept = actor.department_code
        items += [
            WaitingItem(
                "handler",
                "待签收的问题",
                _count(
                    db,
                    "SELECT count(*) FROM problems WHERE lead_department_code = ?"
                    " AND status = 'assigned'",
                    (dept,),
                ),
                "营商办已交办，请签收",
            ),
            WaitingItem(
                "handler",
                "办理中的问题",
                _count(
                    db,
                    "SELECT count(*) FROM problems WHERE lead_department_code = ?"
                    " AND status = 'in_progress'",
                    (dept,),
                ),
                "办结后请答复",
            ),
            WaitingItem(
                "handler",
                "临期或逾期",
                _count(
                    db,
                    "SELECT count(*) FROM problems WHERE lead_department_code = ?"
                    f" AND status IN {HELD_SQL} AND deadline_on <= ?",
                    (dept, warning_cutoff()),
                ),
                f"{WARNING_WORKING_DAYS} 个工作日内到期或已超期",
            ),
        ]
    if actor.has_role("monitor"):
        items += [
            WaitingItem(
                "monitor",
                "未完成的反馈草稿",
                _count(
                    db,
                    "SELECT count(*) FROM drafts WHERE user_id = ? AND kind = 'feedback'"
                    " AND submitted_at IS NULL AND discarded_at IS NULL",
                    (actor.id,),
                ),
                "继续填写或放弃",
            ),
            WaitingItem(
                "monitor",
                "我的线索办理中",
                _count(
                    db,
                    "SELECT count(*) FROM problems p JOIN feedback f ON f.id = p.feedback_id"
                    " WHERE f.monitor_id = ? AND p.status != 'closed'",
                    (actor.id,),
                ),
                "可查看部门答复",
            ),
        ]
    if actor.has_role("supervisor"):
        items += [
            WaitingItem(
                "supervisor",
                "待交办",
                _count(db, "SELECT count(*) FROM problems WHERE status = 'new'"),
                "分派责任部门和时限",
            ),
            WaitingItem(
                "supervisor",
                "已逾期",
                _count(
                    db,
                    f"SELECT count(*) FROM problems WHERE status IN {HELD_SQL} AND deadline_on < ?",
                    (today,),
                ),
                "可督办",
            ),
            WaitingItem(
                "supervisor",
                "待回访",
                _count(db, "SELECT count(*) FROM problems WHERE status = 'replied'"),
                "部门已答复，请回访企业",
            ),
        ]
    if actor.has_role("admin"):
        items += [
            WaitingItem(
                "admin",
                "锁定中的账号",
                _count(
                    db,
                    "SELECT count(*) FROM users WHERE locked_until IS NOT NULL AND locked_until > ?",
                    (clock.now_iso(),),
                ),
                "连续输错密码被锁定",
            ),
            WaitingItem(
                "admin",
                "启用的用户",
                _count(db, "SELECT count(*) FROM users WHERE active = 1"),
                "",
            ),
        ]
    return items


def page_counts(db: Database, actor: Actor, *, problems: dict | None = None) -> dict[str, int]:
    """Items waiting on each work page, shown in the navigation next to its title. `problems`: the
    counts `problem_counts` gives, when the caller kept them (the navigation does, under the data
    version: they read the problems table on every run of every page)."""
    counts: dict[str, int] = {}
    if can(actor, "messages.read"):
        counts["messages"] = unread_count(db, actor)
    counts.update(problem_counts(db, actor) if problems is None else problems)
    if can(actor, "visits.create"):
        counts["visit"] = _count(
            db,
            "SELECT count(*) FROM drafts WHERE user_id = ? AND kind = 'visit' AND submitted_at IS NULL"
            " AND discarded_at IS NULL",
            (actor.id,),
        )
    return counts


def problem_counts(db: Database, actor: Actor) -> dict[str, int]:
    """The navigation's counts that come from `problems`: 交办 (new), 督办回访 (replied, overdue or
    asking for more time) and 部门办理 (the department's held problems). They change with a write
    to `problems` or with the date, so survey.dataversion.key(db, actor) keys them."""
    counts: dict[str, int] = {}
    if can(actor, "problems.triage"):
        counts["triage"] = _count(db, "SELECT count(*) FROM problems WHERE status = 'new'")
        # Three disjoint counts, each an index range (status, deadline_on; the partial index of
        # m022 for the extensions asked): one OR over them read every held problem's row, 0.5 s
        # at a million problems on PostgreSQL.
        counts["followup"] = _count(
            db,
            "SELECT (SELECT count(*) FROM problems WHERE status = 'replied')"
            f" + (SELECT count(*) FROM problems WHERE status IN {HELD_SQL} AND deadline_on < ?)"
            f" + (SELECT count(*) FROM problems WHERE status IN {HELD_SQL}"
            " AND extension_requested_days IS NOT NULL AND (deadline_on >= ? OR deadline_on IS NULL))",
            (clock.today().isoformat(),) * 2,
        )
    if can(actor, "problems.handle") and actor.department_code:
        counts["inbox"] = _count(
            db,
            f"SELECT count(*) FROM problems WHERE lead_department_code = ? AND status IN {HELD_SQL}",
            (actor.department_code,),
        )
    return counts
