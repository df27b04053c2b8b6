"""Bringing a database to the current schema: `migrate` applies the pending migrations of
survey/migrations.py (on PostgreSQL in one transaction under the writers' lock, with a shadow SQLite
database a step behind); `applied_names` and `migration_names` tell the level.
"""

from __future__ import annotations

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.migrations import migrations


def migration_names() -> list[str]:
    return [m.name for m in migrations._migrations]


def applied_names(db: Database) -> list[str]:
    if store.dialect(db) == "postgresql":
        return _applied_postgres(db)
    return [m.name for m in migrations.applied(db)]


def _applied_postgres(db) -> list[str]:
    """PostgreSQL keeps the record in a table of the same name and columns as sqlite-utils'."""
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {migrations.migrations_table} (id INTEGER PRIMARY KEY,"
        " migration_set TEXT NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL,"
        " UNIQUE (migration_set, name))"
    )
    rows = db.execute(
        f"SELECT name FROM {migrations.migrations_table} WHERE migration_set = ? ORDER BY id",
        (migrations.name,),
    ).fetchall()
    return [row[0] for row in rows]


def _migrate_postgres(db) -> list[str]:
    """The same list of migrations, applied in one transaction under the writers' lock."""
    with store.transaction(db):
        done = set(_applied_postgres(db))
        pending = [m for m in migrations._migrations if m.name not in done]
        # A shadow SQLite database runs the same list a step behind, so a migration that edits a
        # table's SQLite definition (_loosen) can say what changed.
        if not pending:
            return []
        db.shadow = Database(memory=True)
        for migration in migrations._migrations:
            if migration in pending:
                migration.fn(db)
                db.execute(
                    f"INSERT INTO {migrations.migrations_table} (migration_set, name, applied_at)"
                    " VALUES (?, ?, ?)",
                    (migrations.name, migration.name, clock.now_iso()),
                )
            migration.fn(db.shadow)
    return [m.name for m in pending]


def migrate(db: Database) -> list[str]:
    """Apply pending migrations; returns their names. Safe to call on every start."""
    if store.dialect(db) == "postgresql":
        return _migrate_postgres(db)
    store.enable_wal(db)
    if not migrations.pending(db):
        return []
    # One IMMEDIATE transaction: two processes starting at once cannot both apply a migration.
    with store.transaction(db):
        pending = [m.name for m in migrations.pending(db)]
        migrations.apply(db)
    return pending
