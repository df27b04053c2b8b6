"""What survey/ uses of a sqlite-utils Database (execute, query, atomic, close), on PostgreSQL, and
the paths only PostgreSQL has: COPY for bulk loads, reads streamed through a server-side cursor, and
a constraint loosened in place (what SQLite does with writable_schema).
"""

from __future__ import annotations

from contextlib import contextmanager

from survey.postgres.connection import Connection, Cursor, storable
from survey.postgres.translation import check_columns, constraints, translate


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
                copy.write_row(storable(row))
                count += 1
        return count

    def stream(self, sql: str, params, chunk: int):
        """Batches of a read through a server-side cursor, in a read-only transaction of its own
        (so the connection is not in the middle of anything else while the caller iterates)."""
        raw = self.conn.raw
        with raw.transaction(), raw.cursor(name="zhy_stream") as cursor:
            raw.execute("SET TRANSACTION READ ONLY")
            cursor.execute(translate(sql), storable(params))
            while batch := cursor.fetchmany(chunk):
                yield batch

    def loosen(self, table: str, before: str, after: str) -> None:
        """Apply to `table` what changed between two SQLite definitions of it (a CHECK widened,
        a NOT NULL dropped: the changes SQLite makes in place with writable_schema)."""
        was, now = constraints(before), constraints(after)
        for column in sorted(was["not_null"] - now["not_null"]):
            self.native(f"ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL")
        dropped: list[str] = []
        for check in sorted(was["checks"] - now["checks"]):
            columns = sorted(check_columns(check))
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
