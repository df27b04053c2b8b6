"""The names plans use for departments (市住建局 for 市住房和城乡建设局): matching a name to the
department list, suggesting a department only when the match is close, and the aliases learnt at
import, which supervisors and admins can list and undo (参考列表)."""

from __future__ import annotations

import re

from rapidfuzz import fuzz
from rapidfuzz.distance import LCSseq
from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.errors import NotFoundError

# A suggestion needs this share (in %) of the shorter name's core found in order in the other:
# 住建 in 住房和城乡建设 (100), 发展和改革 in 发展改革 (80), 市场监管 in 市场监督管理 (100);
# 水务 against 商务 or 水利 (one character) and 大数据 against 数据 (67) are not suggested.
SUGGEST_CUTOFF = 75
_PREFIX = re.compile(r"^(?:江苏省)?(?:镇江市|镇江|市)")
_SUFFIX = re.compile(r"(?:管委会|委员会|办公室|管理局|公司|分行|局|委|办)$")
_BRACKETS = re.compile(r"[（(][^）)]*[）)]")


def _core(name: str, *, prefix: bool = True) -> str:
    """What tells departments apart: 市住房和城乡建设局 -> 住房和城乡建设."""
    name = _BRACKETS.sub("", name).strip()
    stripped = _PREFIX.sub("", name) if prefix else name
    return _SUFFIX.sub("", stripped) or stripped or name


def similarity(name: str, department: str) -> float:
    """0..100: how much of the shorter core the other holds in order (an abbreviation keeps its
    full name's characters in order: 人社 in 人力资源和社会保障). Under two shared characters: 0."""
    other = _core(department)
    best = 0.0
    for core in {_core(name), _core(name, prefix=False)}:  # 市场监管局: 市 is part of 市场
        common = LCSseq.similarity(core, other)
        if common >= 2:
            best = max(best, 100.0 * common / min(len(core), len(other)))
    return best


def suggest(name: str, departments: list[str]) -> str | None:
    """The department `name` most likely means, or None when nothing is close enough: a wrong
    suggestion pre-filled is worse than none."""
    scored = [
        (similarity(name, d), fuzz.ratio(name, d), d) for d in departments if similarity(name, d)
    ]
    best = max(scored, default=None)
    return best[2] if best and best[0] >= SUGGEST_CUTOFF else None


def known(db: Database) -> tuple[dict[str, str], dict[str, str]]:
    """(active department name -> code, learnt alias -> code)."""
    names = dict(db.conn.execute("SELECT name, code FROM departments WHERE active = 1").fetchall())
    aliases = dict(
        db.conn.execute("SELECT alias, department_code FROM department_aliases").fetchall()
    )
    return names, aliases


def learn(db: Database, actor: Actor, mapping: dict[str, str]) -> None:
    """Record the names a supervisor mapped at import (inside the import's transaction)."""
    now = clock.now_iso()
    db.conn.executemany(
        "INSERT INTO department_aliases (alias, department_code, learnt_by, learnt_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT(alias) DO UPDATE SET"
        " department_code = excluded.department_code, learnt_by = excluded.learnt_by,"
        " learnt_at = excluded.learnt_at",
        [(alias, code, actor.id, now) for alias, code in mapping.items()],
    )


def list_aliases(db: Database, actor: Actor) -> list[dict]:
    """Every learnt alias with its department, who learnt it and when (newest first)."""
    require(actor, "plans.aliases")
    return store.query(
        db,
        "SELECT a.alias, a.department_code, d.name AS department, a.learnt_at,"
        " coalesce(u.display_name, u.username, '') AS learnt_by"
        " FROM department_aliases a JOIN departments d ON d.code = a.department_code"
        " LEFT JOIN users u ON u.id = a.learnt_by"
        " ORDER BY a.learnt_at DESC, a.alias",
    )


def delete_alias(db: Database, actor: Actor, alias: str) -> None:
    """Undo a learnt alias (audited): the next import asks for that name again."""
    require(actor, "plans.aliases")
    with store.transaction(db):
        before = store.query(db, "SELECT * FROM department_aliases WHERE alias = ?", (alias,))
        if not before:
            raise NotFoundError(f"没有学到的部门名称“{alias}”。")
        db.execute("DELETE FROM department_aliases WHERE alias = ?", (alias,))
        audit.record(
            db, actor, "delete", "department_aliases", alias, before=before[0], note="撤销部门别名"
        )
