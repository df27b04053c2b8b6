"""Bulk loading for the demo generator and benchmarks: executemany with explicit columns on SQLite,
COPY on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice

from sqlite_utils import Database

from survey import db as store

CHUNK = 20_000


def _known_tables(db: Database) -> set[str]:
    return store.table_names(db)


def insert_rows(db: Database, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert tuples into `table` in chunks; the caller holds the transaction. Returns the count.
    On PostgreSQL the rows go by COPY (one stream, no statement per row)."""
    if table not in _known_tables(db):
        raise ValueError(f"unknown table {table}")
    if store.dialect(db) == "postgresql":
        total = store.copy_rows(db, table, columns, rows)
        if "id" in columns:
            store.ids_taken(db, table)
        return total
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    total = 0
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK)):
        db.conn.executemany(sql, chunk)
        total += len(chunk)
    if "id" in columns:
        store.ids_taken(db, table)
    return total


def max_id(db: Database, table: str) -> int:
    if table not in _known_tables(db):
        raise ValueError(f"unknown table {table}")
    return db.conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]


def table_counts(db: Database) -> dict[str, int]:
    """Row counts of every table of the data model."""
    return {
        t: db.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in sorted(_known_tables(db))
        if not t.startswith(("_", "sqlite_"))
    }


@contextmanager
def deferred_indexes(db: Database, tables: Sequence[str]) -> Iterator[None]:
    """Drop the secondary indexes of `tables` for a bulk load and rebuild them afterwards
    (building an index once is several times faster than maintaining it row by row)."""
    saved = store.secondary_indexes(db, tables)
    for name, _sql in saved:
        db.conn.execute(f"DROP INDEX {name}")
    try:
        yield
    finally:
        for _name, sql in saved:
            store.run_native(db, sql)


@contextmanager
def deferred_foreign_keys(db: Database, tables: Sequence[str]) -> Iterator[None]:
    """PostgreSQL: drop the foreign keys of `tables` for a bulk load and add them back afterwards,
    when the server checks each one over the whole table in one join instead of a lookup per row
    (11 lookups for each row of problems). Added back validated: a row without its parent fails
    the load. SQLite checks a key with one index probe per row: nothing to do there."""
    if store.dialect(db) != "postgresql":
        yield
        return
    saved = db.native(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE contype = 'f' AND connamespace = current_schema()::regnamespace"
        " AND conrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
        (list(tables),),
    ).fetchall()
    for table, name, _definition in saved:
        db.native(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield  # a load that fails rolls its transaction back, the dropped keys with it
    for table, name, definition in saved:
        db.native(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


@contextmanager
def fast_load(db: Database) -> Iterator[None]:
    """Pragmas for a one-off bulk load into a fresh file: a bigger cache, no fsync per commit.
    (PostgreSQL: the server's own settings decide; nothing to change per connection.)"""
    if store.dialect(db) == "postgresql":
        yield
        return
    db.conn.execute("PRAGMA cache_size = -262144")
    db.conn.execute("PRAGMA temp_store = MEMORY")
    db.conn.execute("PRAGMA synchronous = OFF")
    try:
        yield
    finally:
        db.conn.execute("PRAGMA synchronous = NORMAL")


def in_date_order(db: Database) -> None:
    """PostgreSQL: store the problems in the order of the day they were raised, then VACUUM
    ANALYZE them. The generator writes a year's problems in random date order; a real register
    writes each on the day it is raised, so a week's problems sit together on disk. In random
    order the weekly report's reads of one week at ten million problems touched 117,000 pages
    instead of about 5,000 (周报 rendered in 2.8 s instead of 1.0 s): the demo would measure a
    table no office has. SQLite keeps its rows in id order and is left as it is. Outside a
    transaction (VACUUM cannot run in one)."""
    if store.dialect(db) != "postgresql":
        return
    db.native(
        "SET maintenance_work_mem = '1GB'"
    )  # the sort of the rows (the server's default: 64 MB)
    try:
        db.native("CLUSTER problems USING idx_problems_raised_on")
    finally:
        db.native("RESET maintenance_work_mem")
    db.native("VACUUM (ANALYZE) problems")
