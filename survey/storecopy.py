"""Moving a city from its SQLite file to PostgreSQL:
`python -m survey migrate-store --from data/survey.db --to postgresql://...`.

The target gets its schema from the same migrations. Every table is then copied in the order its
foreign keys need, each in its own transaction and recorded in `_store_copy` when done, so a copy
that is interrupted resumes with the first table not yet recorded. The dashboards' summary tables
are not copied but rebuilt from the problems, and the copy is declared complete only when every
table's count equals the source's and the summary tables agree with the problems.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable

from survey import clock, dataversion, schema
from survey import db as store
from survey.migrations import migrations
from survey.reports import cubes

COPY_TABLE = "_store_copy"
CHUNK = 20_000


class StoreCopyError(Exception):
    pass


def _not_copied() -> set[str]:
    """Tables the target makes itself: the migrations record, the summary tables, our record, the
    data version (the copy's own writes move it)."""
    return {
        migrations.migrations_table,
        COPY_TABLE,
        dataversion.TABLE,
        cubes.COMPANY_TABLE,
        *(c.table for c in cubes.CUBES),
    }


def tables_in_order(source) -> list[str]:
    """The data tables, each after the tables its foreign keys point to (then by name)."""
    tables = sorted(store.table_names(source) - _not_copied())
    needs = {t: set() for t in tables}
    for table, _column, parent in store.foreign_keys(source):
        if table in needs and parent in needs and parent != table:
            needs[table].add(parent)
    ordered: list[str] = []
    while needs:
        ready = sorted(t for t, parents in needs.items() if not parents - set(ordered))
        if not ready:
            raise StoreCopyError(f"外键形成循环，无法排序：{sorted(needs)}")
        ordered += ready
        for t in ready:
            del needs[t]
    return ordered


def _columns(source, table: str) -> tuple[list[str], str]:
    """The table's columns, and the order to read it in: its primary key (parents before
    children in the self-referencing tables), else the rowid."""
    info = source.conn.execute(f"PRAGMA table_info({table})").fetchall()
    key = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
    return [r[1] for r in info], ", ".join(key) or "rowid"


def migrate_store(
    source_path: str | os.PathLike,
    target_url: str,
    *,
    progress: Callable[[str, int], None] | None = None,
) -> dict:
    """Copy the SQLite database at `source_path` into the PostgreSQL database `target_url`.
    Returns {table: rows} and the time taken; StoreCopyError says what stopped it."""
    if store.is_url(source_path) or not store.exists(source_path):
        raise StoreCopyError(f"源数据库文件 {source_path} 不存在。")
    if not store.is_url(target_url):
        raise StoreCopyError("目标须是 PostgreSQL 连接串（postgresql://用户@主机:端口/库名）。")
    if not store.exists(target_url):
        raise StoreCopyError(f"无法连接目标数据库 {target_url}，请先在 PostgreSQL 中建好空库。")
    started = time.perf_counter()
    copied: dict[str, int] = {}
    with store.opened(source_path) as source, store.opened(target_url) as target:
        schema.migrate(target)
        target.execute(
            f"CREATE TABLE IF NOT EXISTS {COPY_TABLE} (table_name TEXT PRIMARY KEY,"
            " rows INTEGER NOT NULL, copied_at TEXT NOT NULL)"
        )
        done = {r[0]: r[1] for r in target.execute(f"SELECT table_name, rows FROM {COPY_TABLE}")}
        order = tables_in_order(source)
        for table in order:
            if table in done or not store.scalar(target, f"SELECT count(*) FROM {table}"):
                continue
            raise StoreCopyError(
                f"目标库的 {table} 表已有数据，且不是本命令上次复制留下的：请换一个空库。"
            )
        with cubes.suspended(target):  # the summary tables are rebuilt once, at the end
            for table in order:
                if table in done:
                    copied[table] = done[table]
                    continue
                columns, order_by = _columns(source, table)
                batches = store.stream(
                    source,
                    f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order_by}",
                    (),
                    CHUNK,
                )
                with store.transaction(target):
                    rows = itertools.chain.from_iterable(batches)
                    count = store.copy_rows(target, table, columns, rows)
                    if "id" in columns:
                        store.ids_taken(target, table)
                    target.execute(
                        f"INSERT INTO {COPY_TABLE} (table_name, rows, copied_at) VALUES (?, ?, ?)",
                        (table, count, clock.now_iso()),
                    )
                copied[table] = count
                if progress:
                    progress(table, count)
        differing = [
            f"{t}（源 {n:,}，目标 {m:,}）"
            for t in order
            if (n := store.scalar(source, f"SELECT count(*) FROM {t}"))
            != (m := store.scalar(target, f"SELECT count(*) FROM {t}"))
        ]
        differing += cubes.mismatches(target)
        if differing:
            raise StoreCopyError("复制后核对不一致：" + "；".join(differing))
    return {"tables": copied, "seconds": round(time.perf_counter() - started, 1)}
