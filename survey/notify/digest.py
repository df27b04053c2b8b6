"""The daily digest (每日待办): on working days only (the Chinese calendar, 调休 make-up days
included), from a set time, one message to every user with something waiting: the counts of the
workbench and the five most urgent problems they may see. Once a day, however often it runs."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from survey import clock, workdays
from survey import db as store
from survey.access.auth import load_actor
from survey.access.permissions import problem_scope
from survey.access.settings import get_setting
from survey.names import one_line
from survey.notify.messages import Message, send
from survey.problems.inbox import waiting_items
from survey.problems.register import UNRESOLVED, sql_list

TIME_SETTING = "digest_time"
DEFAULT_TIME = "08:30"
URGENT_ITEMS = 5


def digest_time(db: Database) -> str:
    return get_setting(db, TIME_SETTING) or DEFAULT_TIME


def most_urgent(db: Database, actor, limit: int = URGENT_ITEMS) -> list[dict]:
    """The actor's unresolved problems, soonest deadline first (those without one last)."""
    where, params = problem_scope(actor)
    return store.query(
        db,
        "SELECT p.id, coalesce(c.name, '未指明企业') AS company, pc.name AS category, p.deadline_on"
        " FROM problems p LEFT JOIN companies c ON c.id = p.company_id"
        " JOIN problem_categories pc ON pc.code = p.category_code"
        f" WHERE p.status IN {sql_list(UNRESOLVED)} AND {where}"
        f" ORDER BY p.deadline_on IS NULL, p.deadline_on, p.raised_on, p.id LIMIT {int(limit)}",
        params,
    )


def send_digests(db: Database, moment: datetime | None = None) -> int:
    """Send today's digests if today is a working day and its time has come; returns how many
    users got one (0 on a holiday, before the time, or when already sent today)."""
    moment = moment or clock.now()
    if not workdays.is_workday(moment.date()) or moment.strftime("%H:%M") < digest_time(db):
        return 0
    key = f"digest:{moment.date().isoformat()}"
    users = [
        r[0]
        for r in db.conn.execute(
            "SELECT u.id FROM users u WHERE u.active = 1 AND NOT EXISTS (SELECT 1 FROM messages m"
            " WHERE m.dedupe_key = ? || ':' || u.id) ORDER BY u.id",
            (key,),
        )
    ]  # every run after the time checks this; only those without today's digest are built
    sent = 0
    with store.transaction(db):
        for user_id in users:
            actor = load_actor(db, user_id)
            if actor is None or actor.must_change_password:
                continue
            items = [i for i in waiting_items(db, actor) if i.count]
            if not items:
                continue
            lines = [f"{i.label}：{i.count:,}" for i in items]
            urgent = most_urgent(db, actor)
            if urgent:
                lines.append("最紧急：")
                lines += [
                    f"#{p['id']} {one_line(p['company'])} · {one_line(p['category'])} · 时限"
                    f" {p['deadline_on'] or '长期推进'}"
                    for p in urgent
                ]
            message = Message(
                "digest",
                f"今日待办（{moment.date().isoformat()}）",
                "\n".join(lines),
                urgent[0]["id"] if urgent else None,
                dedupe_key=key,
            )
            sent += send(db, {user_id}, message)
    return sent
