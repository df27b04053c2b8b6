"""Storage: connection pragmas, transactions, concurrency and the online backup."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from survey import bootstrap, maintenance
from survey import db as store


@pytest.mark.sqlite_only  # a SQLite file's own feature (PostgreSQL: issue 18)
def test_connection_pragmas(empty_db):
    with store.opened(empty_db) as db:
        assert store.scalar(db, "PRAGMA foreign_keys") == 1
        assert store.scalar(db, "PRAGMA busy_timeout") == store.BUSY_TIMEOUT_MS
        assert store.scalar(db, "PRAGMA journal_mode") == "wal"


def test_db_path_follows_env_and_argument(tmp_path, monkeypatch):
    monkeypatch.setenv("SURVEY_DB", str(tmp_path / "env.db"))
    assert store.db_path() == tmp_path / "env.db"
    assert store.db_path(tmp_path / "x.db") == tmp_path / "x.db"
    monkeypatch.delenv("SURVEY_DB")
    assert store.db_path() == store.DEFAULT_DB_PATH


def test_transaction_rolls_back_everything_on_error(empty_db):
    with store.opened(empty_db) as db:
        with pytest.raises(RuntimeError), store.transaction(db):
            db.execute("INSERT INTO settings (key, value) VALUES ('a', '1')")
            with store.transaction(db):  # nested: a savepoint
                db.execute("INSERT INTO settings (key, value) VALUES ('b', '2')")
            raise RuntimeError("boom")
        assert store.query(db, "SELECT * FROM settings") == []
        assert not db.conn.in_transaction


def test_foreign_keys_are_enforced(empty_db):
    with store.opened(empty_db) as db, pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO companies (uscc, name, district_code, sector_code, created_at,"
            " updated_at) VALUES ('91321102MA1XXXXX0X', 'x', 'nowhere', 'EQ-POWER', '', '')"
        )


def test_concurrent_read_then_write_loses_nothing(empty_db):
    """8 threads x 50 read-modify-write transactions under BEGIN IMMEDIATE: no lock errors."""
    with store.opened(empty_db) as db:
        db.execute("INSERT INTO settings (key, value) VALUES ('counter', '0')")
    errors = []

    def work():
        try:
            for _ in range(50):
                with store.opened(empty_db) as db, store.transaction(db):
                    value = int(store.scalar(db, "SELECT value FROM settings WHERE key='counter'"))
                    db.execute(
                        "UPDATE settings SET value = ? WHERE key = 'counter'", (str(value + 1),)
                    )
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.opened(empty_db) as db:
        assert store.scalar(db, "SELECT value FROM settings WHERE key='counter'") == "400"


@pytest.mark.sqlite_only  # a SQLite file's own feature (PostgreSQL: issue 18)
def test_backup_while_writing_is_consistent_and_restores(demo_db, tmp_path):
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            with store.opened(demo_db) as db, store.transaction(db):
                db.execute("INSERT INTO settings (key, value) VALUES (?, ?)", (f"w{i}", "x" * 2000))
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = maintenance.backup(demo_db, tmp_path / "copy.db")
    finally:
        stop.set()
        thread.join()
    with store.opened(tmp_path / "copy.db") as copy:
        assert store.integrity_problems(copy) == []
        copied = store.scalar(copy, "SELECT count(*) FROM problems")
    assert result["bytes"] > 0
    # Damage the live database's data, then restore the copy.
    with store.opened(demo_db) as db:
        db.execute("DELETE FROM messages")
        db.execute("DELETE FROM problem_events")
    maintenance.restore(tmp_path / "copy.db", demo_db)
    with store.opened(demo_db) as db:
        assert store.scalar(db, "SELECT count(*) FROM problems") == copied
        assert store.scalar(db, "SELECT count(*) FROM problem_events") > 0
        assert store.scalar(db, "SELECT count(*) FROM audit_log WHERE action = 'restore'") == 1


@pytest.mark.sqlite_only  # a SQLite file's own feature (PostgreSQL: issue 18)
def test_backup_refuses_to_overwrite(demo_db, tmp_path):
    (tmp_path / "exists.db").write_bytes(b"")
    with pytest.raises(maintenance.MaintenanceError, match="已存在"):
        maintenance.backup(demo_db, tmp_path / "exists.db")


@pytest.mark.sqlite_only  # a SQLite file's own feature (PostgreSQL: issue 18)
def test_restore_refuses_foreign_files(demo_db, tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(maintenance.MaintenanceError, match="不是本系统"):
        maintenance.restore(other, demo_db)
    junk = tmp_path / "junk.db"
    junk.write_text("not a database at all" * 100)
    with pytest.raises(maintenance.MaintenanceError, match="不是有效"):
        maintenance.restore(junk, demo_db)


def test_init_db_is_idempotent(tmp_path):
    first = bootstrap.init_db(tmp_path / "a.db")
    second = bootstrap.init_db(tmp_path / "a.db")
    assert first["applied"] and second["applied"] == []
    assert second["loaded"] == {}


def test_rotation_keeps_the_newest_backups_of_one_second(tmp_path):
    """Two backups within one second are survey-<t>.db then survey-<t>-2.db; by name the second
    sorted first, so --keep could delete the newest copy (seen once in the load test)."""
    for name in (
        "survey-20261127-101010.db",
        "survey-20261127-101010-2.db",
        "survey-20261127-101009.db",
    ):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in maintenance.backups_in(tmp_path)] == [
        "survey-20261127-101009.db",
        "survey-20261127-101010.db",
        "survey-20261127-101010-2.db",
    ]
