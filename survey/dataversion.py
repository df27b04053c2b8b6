"""The data version: one counter that every write to a table the dashboards and the navigation's
counts read moves on, inside the write's own transaction (triggers, in both stores). A result cached
under the version it was read at is never served after a change: the next run reads a new version.

The triggers cover every path that writes those tables (the register's moves, a visit's date moving
its problems, withdrawals, imports, reference edits), not only the ones that remember to say so.
"""

from __future__ import annotations

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access.actor import Actor
from survey.access.permissions import can

TABLE = "data_version"
# What the dashboard, the weekly report and the navigation's counts read. Fixed here, not derived
# from other modules' lists: a migration installs exactly these.
WATCHED = (
    "problems",
    "visits",
    "companies",
    "districts",
    "sectors",
    "problem_categories",
    "departments",
    "satisfaction_levels",
)
_BUMP = f"UPDATE {TABLE} SET version = version + 1 WHERE id = 1"


def install(db: Database, tables: tuple[str, ...] = WATCHED) -> None:
    """The counter's row and its triggers. SQLite: a row trigger per table and write (a one-row
    update, microseconds). PostgreSQL: one statement trigger per table, so a COPY of a million rows
    moves the counter once; writers already queue on the writers' lock, so the row adds no wait."""
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " version INTEGER NOT NULL)"
    )
    if not store.scalar(db, f"SELECT count(*) FROM {TABLE}"):
        db.execute(f"INSERT INTO {TABLE} (id, version) VALUES (1, 0)")
    postgres = store.dialect(db) == "postgresql"
    if postgres:
        db.execute(
            "CREATE OR REPLACE FUNCTION data_version_bump() RETURNS trigger LANGUAGE plpgsql AS"
            f" $body$ BEGIN {_BUMP}; RETURN NULL; END $body$"
        )
    for table in tables:
        if postgres:
            name = f"{table}_data_version"
            db.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            db.execute(
                f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table}"
                " FOR EACH STATEMENT EXECUTE FUNCTION data_version_bump()"
            )
            continue
        for event in ("insert", "update", "delete"):
            db.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_data_version_{event}"
                f" AFTER {event.upper()} ON {table} BEGIN {_BUMP}; END"
            )


def current(db: Database) -> int:
    """The version now. Read it before the data it keys: a write that commits in between then
    leaves newer data under the older version, which no later run asks for."""
    return int(store.scalar(db, f"SELECT version FROM {TABLE} WHERE id = 1"))


def scope(actor: Actor) -> tuple:
    """What limits the actor's reports and counts: the roles that open them and their department."""
    return (
        can(actor, "dashboard.read"),
        can(actor, "problems.triage"),
        actor.department_code if can(actor, "problems.handle") else None,
    )


def last_known(path=None) -> int:
    """The version of the database at `path` (or the configured one), 0 when there is none yet."""
    try:
        if not store.exists(path):
            return 0
        with store.opened(path) as db:
            return current(db) if TABLE in store.table_names(db) else 0
    except Exception:  # a damaged file is what a restore replaces: nothing kept can match it
        return 0


def advance_past(db: Database, version: int) -> None:
    """After a restore: the restored file's counter may be behind the one it replaced, and a new
    write would then reuse a version some process kept other results under. Move it past both."""
    db.execute(
        f"UPDATE {TABLE} SET version = CASE WHEN version > ? THEN version ELSE ? END + 1"
        " WHERE id = 1",
        (int(version), int(version)),
    )


def where(db: Database) -> str:
    """Which database: its URL, or the SQLite file (one process may open several: the tests do)."""
    url = getattr(db, "url", None)
    return url or db.conn.execute("PRAGMA database_list").fetchone()[2]


def key(db: Database, actor: Actor, *parts) -> tuple:
    """A cache key for a result read for `actor`: which database, its data version, today (overdue
    counts move at midnight with no write), the actor's scope, and whatever else it depends on."""
    return (where(db), current(db), clock.today().isoformat(), scope(actor), *parts)
