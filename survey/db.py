"""The one place that opens database connections and runs write transactions.

SQLite is the embedded default (a file; sqlite-utils). SURVEY_DB=postgresql://... selects
PostgreSQL instead (survey/postgres/, imported only then): the same statements, translated.
Every use opens its own connection (cheap, thread-safe by construction); writes run under
BEGIN IMMEDIATE so concurrent writers queue on the busy timeout instead of failing (on
PostgreSQL, on the writers' advisory lock).
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "survey.db"
BUSY_TIMEOUT_MS = 5000


def is_url(target) -> bool:
    """A PostgreSQL connection string rather than a SQLite file."""
    return str(target).startswith(("postgresql://", "postgres://"))


def dialect(db) -> str:
    """'sqlite' or 'postgresql': for the few statements written once per store."""
    return getattr(db, "dialect", "sqlite")


def release(path: str | os.PathLike | None = None) -> None:
    """Let go of a PostgreSQL database's pooled connections (SQLite keeps none)."""
    where = target(path)
    if is_url(where):
        from survey.postgres import connection

        connection.release(where)


def postgres_connection_class():
    """The PostgreSQL store's connection class (a benchmark traces its statements through it)."""
    from survey.postgres import connection

    return connection.Connection


def storable_params(params):
    """Parameters as the PostgreSQL store sends them (for EXPLAIN of a traced statement)."""
    from survey.postgres import connection

    return connection.storable(params)


def split_password(url: str) -> tuple[str, str | None]:
    """A PostgreSQL URL as a connection string without its password, and the password: for
    pg_dump and psql, whose command line every local user can read."""
    from survey.postgres import connection

    return connection.split_password(url)


def in_dialect(db, sql: str) -> str:
    """A statement in the store's own dialect (for SQL that is built into another statement,
    such as a trigger's body); the connection translates everything else itself."""
    if dialect(db) == "postgresql":
        from survey.postgres import translation

        return translation.translate(sql)
    return sql


def target(path: str | os.PathLike | None = None) -> str:
    """The database: an explicit path or URL, else $SURVEY_DB, else data/survey.db."""
    return str(path or os.environ.get("SURVEY_DB") or DEFAULT_DB_PATH)


def shown(path: str | os.PathLike | None = None) -> str:
    """The database as a message may name it: a URL without its password."""
    where = target(path)
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", where) if is_url(where) else where


def exists(path: str | os.PathLike | None = None) -> bool:
    """The SQLite file is there, or the PostgreSQL database answers."""
    where = target(path)
    if not is_url(where):
        return Path(where).exists()
    from survey.postgres import connection

    return connection.reachable(where)


def db_path(path: str | os.PathLike | None = None) -> Path:
    """The database file: an explicit path, else $SURVEY_DB, else data/survey.db."""
    if path:
        return Path(path)
    env = os.environ.get("SURVEY_DB")
    return Path(env) if env else DEFAULT_DB_PATH


def connect(path: str | os.PathLike | None = None) -> Database:
    """Open a connection with the project's pragmas. The caller closes it (prefer `opened`)."""
    where = target(path)
    if is_url(where):
        from survey.postgres import database  # only a PostgreSQL deployment needs the driver

        return database.Database(where)
    file = db_path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN ourselves; Python must not open hidden transactions.
    conn = sqlite3.connect(str(file), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    db = Database(conn)
    return db


@contextmanager
def opened(path: str | os.PathLike | None = None) -> Iterator[Database]:
    """A connection for one use, closed afterwards."""
    db = connect(path)
    try:
        yield db
    finally:
        db.close()


@contextmanager
def transaction(
    db: Database, *, savepoint: bool = True, row_locks: bool = False
) -> Iterator[Database]:
    """A write transaction: BEGIN IMMEDIATE, or a savepoint when one is already open (or, with
    savepoint=False, simply the open one: for steps that only ever fail as a whole with it).
    row_locks=True: on PostgreSQL, skip the writers' lock; the statements lock their own rows
    (`skip_locked`), so a queue's claims wait behind no other writer. SQLite has one writer
    either way."""
    if db.conn.in_transaction:
        if not savepoint:
            yield db
            return
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN" if row_locks and dialect(db) == "postgresql" else "BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    else:
        db.conn.execute("COMMIT")


def skip_locked(db: Database, alias: str) -> str:
    """The clause that makes a SELECT claim its rows on PostgreSQL (rows another claim holds are
    passed over, not waited for); nothing on SQLite, whose write transaction is already alone."""
    return f" FOR UPDATE OF {alias} SKIP LOCKED" if dialect(db) == "postgresql" else ""


def stream(db: Database, sql: str, params=(), chunk: int = 5000):
    """The rows of a large read in batches, never all in memory: SQLite steps its cursor;
    PostgreSQL reads through a server-side cursor (a client cursor would fetch every row first)."""
    if dialect(db) == "postgresql":
        yield from db.stream(sql, params, chunk)
        return
    cursor = db.conn.execute(sql, params)
    while batch := cursor.fetchmany(chunk):
        yield batch


def enable_wal(db: Database) -> None:
    """WAL is a property of the file: set once, it stays (PostgreSQL has its own WAL)."""
    if dialect(db) == "postgresql":
        return
    mode = db.conn.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":
        db.conn.execute("PRAGMA journal_mode = WAL")


def backup_to(src: Database, target: str | os.PathLike) -> None:
    """Copy a live database to `target` with SQLite's online backup API (consistent under writes)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    dst = sqlite3.connect(str(target))
    try:
        # One step, one read snapshot (WAL lets writers go on). In steps of N pages SQLite restarts
        # the copy whenever another process writes, and under steady writes it never finished: the
        # backup test timed out after 120 s in one of three full runs here.
        src.conn.backup(dst, pages=-1)
    finally:
        dst.close()


def restore_from(source: str | os.PathLike, dst: Database) -> None:
    """Overwrite the open database `dst` with the contents of the file `source`."""
    src = sqlite3.connect(f"file:{Path(source)}?mode=ro", uri=True)
    try:
        src.backup(dst.conn, pages=1024)
    finally:
        src.close()


def integrity_problems(db: Database) -> list[str]:
    """integrity_check and foreign_key_check findings; empty when the file is sound.
    PostgreSQL checks every foreign key on every write, so there is nothing to find that way;
    its pages are checked by the server's own tools (pg_amcheck), outside the app."""
    if dialect(db) == "postgresql":
        return []
    found = [row[0] for row in db.conn.execute("PRAGMA integrity_check") if row[0] != "ok"]
    for table, rowid, parent, _fk in db.conn.execute("PRAGMA foreign_key_check"):
        found.append(f"{table} 第 {rowid} 行引用的 {parent} 不存在")
    return found


def optimize(db: Database) -> None:
    """Refresh the planner's statistics after a bulk load."""
    db.conn.execute("ANALYZE")


def identity(db: Database) -> str:
    """Which database this is (a file's path, a server's URL): a key for per-database caches."""
    if dialect(db) == "postgresql":
        return db.url
    return db.conn.execute("PRAGMA database_list").fetchone()[2]


def table_names(db: Database) -> set[str]:
    """The tables of the data model (and the migrations record), in either store."""
    if dialect(db) == "postgresql":
        rows = db.native(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {r[0] for r in rows.fetchall()}
    rows = db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {r[0] for r in rows if not r[0].startswith("sqlite_")}


def foreign_keys(db: Database) -> list[tuple[str, str, str]]:
    """(table, column, referenced table) of every foreign key, in table order."""
    if dialect(db) == "postgresql":
        rows = db.native(
            "SELECT k.table_name, k.column_name, c.table_name FROM information_schema"
            ".referential_constraints r JOIN information_schema.key_column_usage k"
            " ON k.constraint_name = r.constraint_name JOIN information_schema"
            ".constraint_column_usage c ON c.constraint_name = r.unique_constraint_name"
            " WHERE k.table_schema = current_schema() ORDER BY k.table_name, k.column_name"
        )
        return [tuple(r) for r in rows.fetchall()]
    found = []
    for table in sorted(table_names(db)):
        for fk in db.conn.execute(f"PRAGMA foreign_key_list({table})").fetchall():
            found.append((table, fk[3], fk[2]))
    return found


def secondary_indexes(db: Database, tables) -> list[tuple[str, str]]:
    """(name, the statement that creates it) of the indexes on `tables` that no constraint owns:
    the ones a bulk load can drop and build again."""
    tables = tuple(tables)
    if dialect(db) == "postgresql":
        rows = db.native(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema()"
            " AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
            " WHERE c.conname = i.indexname)",
            (list(tables),),
        )
        return [(r[0], r[1]) for r in rows.fetchall()]
    marks = ", ".join("?" for _ in tables)
    return db.conn.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        f" AND tbl_name IN ({marks})",
        tables,
    ).fetchall()


def copy_rows(db: Database, table: str, columns, rows) -> int:
    """Bulk-insert rows (tuples in `columns` order): COPY on PostgreSQL, executemany on SQLite."""
    if dialect(db) == "postgresql":
        return db.copy_rows(table, columns, rows)
    rows = list(rows)
    marks = ", ".join("?" for _ in columns)
    db.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
    return len(rows)


def run_native(db: Database, sql: str) -> None:
    """A statement the store itself produced (such as an index definition it reported)."""
    if dialect(db) == "postgresql":
        db.native(sql)
    else:
        db.conn.execute(sql)


def ids_taken(db: Database, table: str) -> None:
    """After rows were inserted with explicit ids: new rows must number after them. SQLite's
    rowid does so by itself; PostgreSQL's identity sequence is moved past the largest id."""
    if dialect(db) == "postgresql":
        db.native(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
        )


def query(db: Database, sql: str, params: tuple | dict = ()) -> list[dict]:
    """Rows as dicts."""
    return [dict(row) for row in db.query(sql, params)]


def scalar(db: Database, sql: str, params: tuple | dict = ()):
    row = db.conn.execute(sql, params).fetchone()
    return row[0] if row else None
