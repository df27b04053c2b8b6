"""Connections to PostgreSQL: one pool per database and process, a pooled connection in autocommit
that translates every statement on the way in (BEGIN IMMEDIATE as BEGIN plus the writers' advisory
lock), and the part of sqlite3's cursor survey/ reads.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading

import psycopg
import psycopg.adapt
import psycopg.conninfo
from psycopg import pq
from psycopg_pool import ConnectionPool

from survey.postgres.translation import DDL, INSERT_INTO, translate

# The advisory lock key of "a write transaction is open": SQLite's single writer, on PostgreSQL.
WRITER_LOCK = 0x5A4859  # "ZHY"


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


def storable(params):
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
    if not isinstance(params, tuple | list):
        params = tuple(params)
    for value in params:  # the common case, a row without U+0000, is passed on as it is (COPY
        if isinstance(value, str) and "\x00" in value:  # of millions of rows: a third faster)
            return tuple(fix(v) for v in params)
    return params


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
    # No JIT: the planner over-estimates a dashboard count at ten million problems and compiles
    # it, 1-3 s of LLVM for a statement that runs in 0.25 s (issue 29, EXPLAIN ANALYZE).
    conn.execute("SET jit = off")


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
        insert = INSERT_INTO.match(text)
        wants_id = (
            insert is not None
            and " RETURNING " not in statement.upper()
            and self._returns_id(insert.group(1))
        )
        if wants_id:
            statement += " RETURNING id"
        try:
            cursor = self.raw.execute(statement, storable(params))
        except psycopg.IntegrityError as exc:
            # One exception vocabulary for both stores: callers catch sqlite3.IntegrityError.
            raise sqlite3.IntegrityError(str(exc)) from exc
        if DDL.match(text):
            _HAS_ID.pop(self.url, None)
        if wants_id:
            row = cursor.fetchone()
            return Cursor(cursor, lastrowid=row[0] if row else None, rows=[])
        return Cursor(cursor)

    def executemany(self, sql: str, rows) -> Cursor:
        statement = translate(sql)
        try:
            with self.raw.cursor() as cursor:
                cursor.executemany(statement, [storable(r) for r in rows])
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
