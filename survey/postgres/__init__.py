"""PostgreSQL behind the small surface survey/ uses of a sqlite-utils Database: `db.execute`,
`db.conn.execute` / `executemany` / `in_transaction`, `db.query`, `db.atomic()`, `db.close()`.

The SQL stays written once, in SQLite's dialect. Each statement is translated once (sqlglot, then
the few rules it leaves to us) and the translation is cached by its text, so the cost
is paid once per statement per process. Where a statement cannot be translated (PRAGMA, triggers,
SQLite's writable_schema), its owner asks `store.dialect(db)` and writes both fragments.

The guarantees SQLite gives by having one writer are kept the same way: BEGIN IMMEDIATE becomes
BEGIN plus a transaction-level advisory lock that every writer takes, so writers queue exactly as
they do on SQLite; UNIQUE constraints keep submissions exactly-once on both. Only survey/db.py
imports this package, and only for a postgresql:// URL, so SQLite users need no driver.

translation: a SQLite statement in PostgreSQL's dialect (sqlglot, cached). connection: the pool, a
pooled connection that translates what it runs, the cursor survey/ reads. database: what survey/ uses
of a sqlite-utils Database, with the PostgreSQL-only paths (COPY, streamed reads, loosening a CHECK).
"""
