"""PostgreSQL behind the small surface survey/ uses of a sqlite-utils Database: `db.execute`,
`db.conn.execute` / `executemany` / `in_transaction`, `db.query`, `db.atomic()`, `db.close()`.

The SQL stays written once, in SQLite's dialect. Each statement is translated once (sqlglot, then
the few rules below that it leaves to us) and the translation is cached by its text, so the cost
is paid once per statement per process. Where a statement cannot be translated (PRAGMA, triggers,
SQLite's writable_schema), its owner asks `store.dialect(db)` and writes both fragments.

The guarantees SQLite gives by having one writer are kept the same way: BEGIN IMMEDIATE becomes
BEGIN plus a transaction-level advisory lock that every writer takes, so writers queue exactly as
they do on SQLite; UNIQUE constraints keep submissions exactly-once on both. Only survey/db.py
imports this module, and only for a postgresql:// URL, so SQLite users need no driver.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from contextlib import contextmanager
from functools import lru_cache

import psycopg
import psycopg.adapt
import psycopg.conninfo
import sqlglot
from psycopg import pq
from psycopg_pool import ConnectionPool
from sqlglot import exp

# The advisory lock key of "a write transaction is open": SQLite's single writer, on PostgreSQL.
WRITER_LOCK = 0x5A4859  # "ZHY"
_INSERT_OR_IGNORE = re.compile(r"(?is)^\s*INSERT\s+OR\s+IGNORE\s+")
_INSERT_INTO = re.compile(r"(?is)^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+\"?(\w+)\"?")
_DDL = re.compile(r"(?is)^\s*(CREATE|ALTER)\s+(TABLE|INDEX|UNIQUE\s+INDEX|VIEW)\b")
_NATIVE = re.compile(
    r"(?is)^\s*(CREATE\s+(OR\s+REPLACE\s+)?FUNCTION|CREATE\s+TRIGGER\s+\w+\s+.*EXECUTE\s+FUNCTION"
    r"|DROP\s+TRIGGER\s+IF\s+EXISTS\s+\w+\s+ON\b)"
)
_PASSTHROUGH = re.compile(r"(?is)^\s*(SAVEPOINT|RELEASE|ROLLBACK|COMMIT|BEGIN)\b")


class NotTranslatable(Exception):
    """A statement that has no PostgreSQL form here: its owner must give one (store.dialect)."""


def _escape_percent(node):
    """psycopg reads % as a placeholder: a literal % in a string is written %%."""
    if isinstance(node, exp.Literal) and node.is_string and "%" in node.this:
        return exp.Literal.string(node.this.replace("%", "%%"))
    return node


def _plain_conflict_target(node):
    """sqlglot spells SQLite's NULL ordering out (NULLS FIRST) even in ON CONFLICT (a, b), where
    PostgreSQL refuses it."""
    if isinstance(node, exp.Ordered) and node.find_ancestor(exp.OnConflict) is not None:
        return node.this
    return node


def _qualified_upsert(node):
    """In ON CONFLICT ... DO UPDATE SET n = n + 1 PostgreSQL finds `n` ambiguous (the row or
    EXCLUDED); SQLite means the row: name its table."""
    if isinstance(node, exp.Insert) and node.args.get("conflict") is not None:
        target = node.this.this if isinstance(node.this, exp.Schema) else node.this
        table = target.name
        for assignment in node.args["conflict"].args.get("expressions") or []:
            value = assignment.expression
            for column in value.find_all(exp.Column):
                if not column.table:
                    column.set("table", exp.to_identifier(table))
    return node


def _truth_literals(node):
    """`0 OR x` and `1 AND x`, as clauses built in code write them: PostgreSQL wants booleans."""
    if isinstance(node, exp.And | exp.Or | exp.Not):
        for side in ("this", "expression"):
            operand = node.args.get(side)
            if (
                isinstance(operand, exp.Literal)
                and not operand.is_string
                and operand.this in ("0", "1")
            ):
                node.set(side, exp.Boolean(this=operand.this == "1"))
    return node


def _round_as_sqlite(node):
    """PostgreSQL rounds to a number of places only numerics; SQLite's round gives a float."""
    if isinstance(node, exp.Round) and node.args.get("decimals") is not None:
        inner = exp.Cast(this=node.this, to=exp.DataType.build("DECIMAL"))
        rounded = exp.Round(this=inner, decimals=node.args["decimals"])
        return exp.Cast(this=rounded, to=exp.DataType.build("DOUBLE PRECISION"))
    return node


def _is_truth(node) -> bool:
    while isinstance(node, exp.Paren):
        node = node.this
    return isinstance(node, exp.Predicate | exp.Not | exp.And | exp.Or | exp.Boolean | exp.Exists)


def _truth_as_number(node):
    """SQLite adds comparisons as 0/1 ((a IS NOT NULL) + (b IS NOT NULL) = 1); PostgreSQL needs
    them cast to integers first."""
    if isinstance(node, exp.Sum | exp.Avg | exp.Max | exp.Min) and _is_truth(node.this):
        node.set("this", exp.Cast(this=node.this, to=exp.DataType.build("INT")))
    if isinstance(node, exp.Add | exp.Sub | exp.Mul):
        for side in ("this", "expression"):
            operand = node.args.get(side)
            if operand is not None and _is_truth(operand):
                node.set(side, exp.Cast(this=operand, to=exp.DataType.build("INT")))
    return node


def _ddl_types(node):
    """SQLite's INTEGER is 64-bit and REAL is double: say so, and make INTEGER PRIMARY KEY an
    identity column, as SQLite's rowid alias is."""
    if isinstance(node, exp.DataType) and not isinstance(node.parent, exp.Cast):
        if node.this in (exp.DataType.Type.INT, exp.DataType.Type.BIGINT):
            return exp.DataType.build("BIGINT")
        if node.this in (exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE):
            return exp.DataType.build("DOUBLE PRECISION")
    if isinstance(node, exp.ColumnDef):
        kind = node.args.get("kind")
        constraints = node.args.get("constraints") or []
        is_pk = any(
            isinstance(c.args.get("kind"), exp.PrimaryKeyColumnConstraint) for c in constraints
        )
        if (
            is_pk
            and kind is not None
            and kind.this in (exp.DataType.Type.INT, exp.DataType.Type.BIGINT)
        ):
            identity = exp.ColumnConstraint(
                kind=exp.GeneratedAsIdentityColumnConstraint(this=False)
            )
            node.set("constraints", [identity, *constraints])
    return node


@lru_cache(maxsize=16384)
def translate(sql: str) -> str:
    """The PostgreSQL form of one SQLite statement (placeholders ? and :name become %s and
    %(name)s). NotTranslatable when there is none."""
    text = sql.strip().rstrip(";")
    if re.match(r"(?i)^(PRAGMA|VACUUM|ANALYZE\s+\w|REINDEX)\b", text):
        raise NotTranslatable(text.split()[0])
    if re.search(r"(?i)\bWITHOUT\s+ROWID\b", text):
        text = re.sub(r"(?i)\)\s*WITHOUT\s+ROWID\s*$", ")", text)
    if _NATIVE.match(text):  # written for PostgreSQL by its owner (store.dialect)
        return text
    if _PASSTHROUGH.match(text) and not re.match(r"(?i)^BEGIN\s+IMMEDIATE", text):
        return re.sub(r"(?i)^BEGIN\s+(DEFERRED|EXCLUSIVE)\b", "BEGIN", text)
    ignore = _INSERT_OR_IGNORE.match(text)
    if ignore:
        text = "INSERT " + text[ignore.end() :]
    try:
        tree = sqlglot.parse_one(text, read="sqlite")
    except sqlglot.errors.ParseError as exc:
        raise NotTranslatable(f"{exc}: {text[:200]}") from None
    tree = tree.transform(_escape_percent).transform(_truth_as_number)
    tree = tree.transform(_plain_conflict_target).transform(_round_as_sqlite)
    tree = tree.transform(_qualified_upsert).transform(_truth_literals)
    if _DDL.match(text):
        tree = tree.transform(_ddl_types)
    out = tree.sql(dialect="postgres")
    if ignore:
        out += " ON CONFLICT DO NOTHING"
    return out


def _constraints(create_sql: str) -> dict[str, set[str]]:
    """The CHECK constraints (as SQLite text) and NOT NULL columns of a CREATE TABLE."""
    tree = sqlglot.parse_one(create_sql, read="sqlite")
    checks = {c.sql("sqlite") for c in tree.find_all(exp.CheckColumnConstraint)}
    not_null = {
        n.find_ancestor(exp.ColumnDef).name for n in tree.find_all(exp.NotNullColumnConstraint)
    }
    return {"checks": checks, "not_null": not_null}


def _columns_of(check: str) -> set[str]:
    """The columns a CHECK (...) names."""
    condition = sqlglot.parse_one(f"SELECT 1 WHERE {check[len('CHECK ') :]}", read="sqlite")
    return {c.name for c in condition.find_all(exp.Column)}


class Cursor:
    """The part of sqlite3.Cursor survey/ reads: rows, rowcount, lastrowid."""

    def __init__(self, cursor=None, lastrowid: int | None = None, rows: list | None = None):
        self._cursor = cursor
        self._rows = rows
        self.lastrowid = lastrowid
        self.rowcount = cursor.rowcount if cursor is not None else -1
        self.description = cursor.description if cursor is not None else None

    def fetchone(self):
        if self._rows is not None:
            return self._rows.pop(0) if self._rows else None
        if self._cursor is None or self._cursor.description is None:
            return None
        return self._cursor.fetchone()

    def fetchmany(self, size: int = 1000) -> list:
        if self._rows is not None:
            taken, self._rows = self._rows[:size], self._rows[size:]
            return taken
        if self._cursor is None or self._cursor.description is None:
            return []
        return self._cursor.fetchmany(size)

    def fetchall(self) -> list:
        if self._rows is not None:
            rows, self._rows = self._rows, []
            return rows
        if self._cursor is None or self._cursor.description is None:
            return []
        return self._cursor.fetchall()

    def __iter__(self):
        return iter(self.fetchall())


def _storable(params):
    """PostgreSQL text cannot hold U+0000 (SQLite's can): such a character, which no one types on
    purpose, is kept as U+FFFD instead of failing the whole write."""

    def fix(value):
        return (
            value.replace("\x00", "\ufffd") if isinstance(value, str) and "\x00" in value else value
        )

    if params is None:
        return ()
    if isinstance(params, dict):
        return {k: fix(v) for k, v in params.items()}
    return tuple(fix(v) for v in params)


class _NumericAsSqlite(psycopg.adapt.Loader):
    """sum() and avg() of integers are numeric in PostgreSQL: give int or float, as SQLite does."""

    def load(self, data):
        text = bytes(data).decode()
        return int(text) if text.lstrip("-").isdigit() else float(text)


# Connections are borrowed from one pool per database and process (SURVEY_DB_POOL, default 10;
# 0 opens a connection per use). A page's `store.opened()` then costs no TCP and no login.
POOL_SIZE = int(os.environ.get("SURVEY_DB_POOL", "10"))
_pools: dict[str, ConnectionPool] = {}
_HAS_ID: dict[str, dict[str, bool]] = {}  # url -> table -> has an id column
_pools_lock = threading.Lock()


def _configure(conn) -> None:
    conn.adapters.register_loader("numeric", _NumericAsSqlite)


def _pool(url: str) -> ConnectionPool:
    with _pools_lock:
        pool = _pools.get(url)
        if pool is None:
            pool = ConnectionPool(
                url,
                min_size=1,
                max_size=POOL_SIZE,
                kwargs={"autocommit": True},
                configure=_configure,
                name=f"zhy-{len(_pools)}",
                open=True,
            )
            _pools[url] = pool
        return pool


def reachable(url: str) -> bool:
    """The database answers (a direct connection, so a wrong address fails in seconds)."""
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error:
        return False
    return True


def split_password(url: str) -> tuple[str, str | None]:
    """The URL as a key=value connection string without its password (for a client program's
    command line), and the password (from the URL's userinfo or its query), if any."""
    params = psycopg.conninfo.conninfo_to_dict(url)
    password = params.pop("password", None)
    return psycopg.conninfo.make_conninfo("", **params), password


def release(url: str) -> None:
    """Close the pool of one database (before it is dropped or used as a template)."""
    with _pools_lock:
        pool = _pools.pop(url, None)
    if pool is not None:
        pool.close()


class Connection:
    """A psycopg connection in autocommit mode, so BEGIN/COMMIT are ours, as with SQLite's
    isolation_level=None; statements are translated on the way in."""

    def __init__(self, url: str):
        self.url = url
        if POOL_SIZE > 0:
            self.raw = _pool(url).getconn(timeout=15)
        else:
            self.raw = psycopg.connect(url, autocommit=True)
            _configure(self.raw)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    def _returns_id(self, table: str) -> bool:
        """Whether the table has an id column to give back as lastrowid: asked once per database
        and table in this process (every pooled connection shares the answer)."""
        known = _HAS_ID.setdefault(self.url, {})
        if table not in known:
            known[table] = (
                self.raw.execute(
                    "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                    " AND table_name = %s AND column_name = 'id'",
                    (table,),
                ).fetchone()
                is not None
            )
        return known[table]

    def execute(self, sql: str, params=()) -> Cursor:
        text = sql.strip()
        if re.match(r"(?i)^BEGIN\s+IMMEDIATE\b", text):
            self.raw.execute("BEGIN")
            self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
            return Cursor()
        statement = translate(text)
        insert = _INSERT_INTO.match(text)
        wants_id = (
            insert is not None
            and " RETURNING " not in statement.upper()
            and self._returns_id(insert.group(1))
        )
        if wants_id:
            statement += " RETURNING id"
        try:
            cursor = self.raw.execute(statement, _storable(params))
        except psycopg.IntegrityError as exc:
            # One exception vocabulary for both stores: callers catch sqlite3.IntegrityError.
            raise sqlite3.IntegrityError(str(exc)) from exc
        if _DDL.match(text):
            _HAS_ID.pop(self.url, None)
        if wants_id:
            row = cursor.fetchone()
            return Cursor(cursor, lastrowid=row[0] if row else None, rows=[])
        return Cursor(cursor)

    def executemany(self, sql: str, rows) -> Cursor:
        statement = translate(sql)
        try:
            with self.raw.cursor() as cursor:
                cursor.executemany(statement, [_storable(r) for r in rows])
                return Cursor(rows=[], lastrowid=None)
        except psycopg.IntegrityError as exc:
            raise sqlite3.IntegrityError(str(exc)) from exc

    def close(self) -> None:
        if self.raw.closed:
            return
        if self.in_transaction:  # a use that failed mid-transaction: nothing of it is kept
            self.raw.rollback()
        if POOL_SIZE > 0:
            pool = _pools.get(self.url)
            if pool is not None:
                pool.putconn(self.raw)
                return
        self.raw.close()


class Database:
    """What survey/ uses of sqlite_utils.Database, on PostgreSQL."""

    dialect = "postgresql"

    def __init__(self, url: str):
        self.url = url
        self.conn = Connection(url)

    def execute(self, sql: str, params=()) -> Cursor:
        return self.conn.execute(sql, params)

    def native(self, sql: str, params=()) -> Cursor:
        """A statement written for PostgreSQL (catalog queries of a PostgreSQL-only branch)."""
        return Cursor(self.conn.raw.execute(sql, params))

    def copy_rows(self, table: str, columns, rows) -> int:
        """COPY rows into `table` (the fast path of a bulk load); returns how many."""
        count = 0
        names = ", ".join(columns)
        with (
            self.conn.raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(_storable(row))
                count += 1
        return count

    def stream(self, sql: str, params, chunk: int):
        """Batches of a read through a server-side cursor, in a read-only transaction of its own
        (so the connection is not in the middle of anything else while the caller iterates)."""
        raw = self.conn.raw
        with raw.transaction(), raw.cursor(name="zhy_stream") as cursor:
            raw.execute("SET TRANSACTION READ ONLY")
            cursor.execute(translate(sql), _storable(params))
            while batch := cursor.fetchmany(chunk):
                yield batch

    def loosen(self, table: str, before: str, after: str) -> None:
        """Apply to `table` what changed between two SQLite definitions of it (a CHECK widened,
        a NOT NULL dropped: the changes SQLite makes in place with writable_schema)."""
        was, now = _constraints(before), _constraints(after)
        for column in sorted(was["not_null"] - now["not_null"]):
            self.native(f"ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL")
        dropped: list[str] = []
        for check in sorted(was["checks"] - now["checks"]):
            columns = sorted(_columns_of(check))
            row = self.native(
                "SELECT c.conname FROM pg_constraint c WHERE c.conrelid = %s::regclass"
                " AND c.contype = 'c' AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text)"
                " FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey))"
                " = %s::text[]",
                (table, columns),
            ).fetchone()
            if row is None:
                raise RuntimeError(f"{table}: no CHECK on {columns}")
            self.native(f'ALTER TABLE {table} DROP CONSTRAINT "{row[0]}"')
            dropped.append(row[0])
        for i, check in enumerate(sorted(now["checks"] - was["checks"])):
            name = dropped.pop(0) if dropped else f"{table}_check_{i}"
            self.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {check}')

    def query(self, sql: str, params=()):
        cursor = self.conn.execute(sql, params)
        names = [c.name for c in cursor.description or []]
        for row in cursor.fetchall():
            yield dict(zip(names, row, strict=True))

    @contextmanager
    def atomic(self):
        """A savepoint inside the open transaction (sqlite-utils' atomic, nested)."""
        self.conn.raw.execute("SAVEPOINT zhy_atomic")
        try:
            yield self
        except BaseException:
            self.conn.raw.execute("ROLLBACK TO SAVEPOINT zhy_atomic")
            self.conn.raw.execute("RELEASE SAVEPOINT zhy_atomic")
            raise
        else:
            self.conn.raw.execute("RELEASE SAVEPOINT zhy_atomic")

    def close(self) -> None:
        self.conn.close()
