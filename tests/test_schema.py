"""Schema: every table of the data model, constraints, submission ids, dashboard indexes."""

from __future__ import annotations

import sqlite3

import pytest

from survey import bootstrap, schema
from survey import db as store
from survey.migrations import migrations
from survey.reports import periods, scorecard

DATA_MODEL = {
    "districts",
    "sectors",
    "problem_categories",
    "departments",
    "indicators",
    "request_natures",
    "deadline_classes",
    "satisfaction_levels",
    "settings",
    "users",
    "user_roles",
    "sessions",
    "companies",
    "questionnaires",
    "visits",
    "visit_participants",
    "feedback",
    "feedback_ratings",
    "answers",
    "drafts",
    "problems",
    "problem_co_departments",
    "problem_links",
    "problem_events",
    "attachments",
    "audit_log",
}


def test_every_table_exists(empty_db):
    with store.opened(empty_db) as db:
        tables = store.table_names(db)
    assert tables >= DATA_MODEL


def test_migration_level_is_recorded(empty_db):
    applied, pending = bootstrap.migration_status(empty_db)
    assert applied == schema.migration_names()
    assert pending == []


@pytest.mark.sqlite_only  # a SQLite file's own feature (PostgreSQL: issue 18)
@pytest.mark.parametrize("table", ["visits", "feedback", "problems", "drafts"])
def test_submitted_records_have_unique_submission_id(empty_db, table):
    with store.opened(empty_db) as db:
        indexes = db.conn.execute(f"PRAGMA index_list({table})").fetchall()
        unique_columns = [
            [c[2] for c in db.conn.execute(f"PRAGMA index_info({ix[1]})")]
            for ix in indexes
            if ix[2]
        ]
        column = next(
            c for c in db.conn.execute(f"PRAGMA table_info({table})") if c[1] == "submission_id"
        )
    assert ["submission_id"] in unique_columns
    assert column[3] == 1  # NOT NULL


@pytest.mark.sqlite_only  # a SQLite file's own feature (PostgreSQL: issue 18)
def test_no_column_is_untyped(empty_db):
    with store.opened(empty_db) as db:
        for table in DATA_MODEL:
            for column in db.conn.execute(f"PRAGMA table_info({table})"):
                assert column[2], f"{table}.{column[1]} has no type"


def test_problem_checks_reject_bad_rows(db):
    base = store.query(db, "SELECT * FROM problems WHERE source = 'visit' LIMIT 1")[0]
    base.pop("id")
    for change in (
        {"status": "nonsense"},
        {"description": ""},
        {"source": "monitor"},
        {"outcome": "maybe"},
    ):
        row = base | {"submission_id": f"x-{change}"} | change
        columns = ", ".join(row)
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(
                f"INSERT INTO problems ({columns}) VALUES ({', '.join('?' for _ in row)})",
                tuple(row.values()),
            )
    with pytest.raises(sqlite3.IntegrityError):  # the same submission twice
        db.execute(
            f"INSERT INTO problems ({', '.join(base)}) VALUES ({', '.join('?' for _ in base)})",
            tuple(base.values()),
        )


@pytest.mark.sqlite_only  # SQLite's planner output
def test_dashboard_aggregate_uses_a_covering_index(db):
    plan = " ".join(
        row[3]
        for row in db.conn.execute(
            "EXPLAIN QUERY PLAN SELECT sector_code, category_code, count(*) FROM problems"
            " WHERE raised_month BETWEEN '2025-07' AND '2026-06' GROUP BY 1, 2"
        )
    )
    assert "COVERING INDEX" in plan, plan


def test_a_database_at_the_first_level_upgrades_cleanly(tmp_path):
    """Build the file as the first release did (m001, m002), put data in it, then upgrade."""
    path = tmp_path / "old.db"
    with store.opened(path) as db:
        store.enable_wal(db)
        migrations.apply(db, stop_before="m003_session_cookie_handoff")
        assert schema.applied_names(db) == ["m001_reference_lists", "m002_core_tables"]
        db.execute("INSERT INTO departments (code, name) VALUES ('GXJ', '市工业和信息化局')")
        db.execute(
            "INSERT INTO users (username, display_name, password_hash, department_code, created_at, updated_at)"
            " VALUES ('old', '老用户', 'x', 'GXJ', '2025-01-01', '2025-01-01')"
        )
    result = bootstrap.init_db(path)
    assert result["applied"] == schema.migration_names()[2:]
    with store.opened(path) as db:
        assert store.integrity_problems(db) == []
        assert store.scalar(db, "SELECT display_name FROM users WHERE username = 'old'") == "老用户"
        assert "handoff_hash" in db["sessions"].columns_dict
        assert "rating_dimensions" in db.table_names()


def test_the_kept_first_release_file_upgrades_with_its_data(tmp_path):
    """tests/fixtures/schema-level1.sql is the dump of a file written at m001+m002 with users, a company,
    a visit, problems in three states, feedback and audit rows; every later migration must take it as
    it is."""
    from survey.access import auth
    from survey.reports import cubes
    from tests.fixtures import make_level1

    path = tmp_path / "level1.db"
    make_level1.restore(path)
    with store.opened(path) as db:
        assert schema.applied_names(db) == ["m001_reference_lists", "m002_core_tables"]
    result = bootstrap.init_db(path)
    assert result["applied"] == schema.migration_names()[2:]
    with store.opened(path) as db:
        assert store.integrity_problems(db) == []
        assert cubes.mismatches(db) == []
        assert store.scalar(db, "SELECT count(*) FROM problems") == 3
        assert (
            store.scalar(db, "SELECT description FROM problems WHERE id = 3")
            == "老问题 3：新增用地指标未落实。"
        )
        signed = auth.sign_in(db, "super1", make_level1.PASSWORD)  # old accounts still sign in
        supervisor = signed.actor
        kpis = {
            k.key: k.value
            for k in scorecard.kpis(db, supervisor, periods.Filters("2025-03", "2025-03"))
        }
        assert kpis["raised"] == 3 and kpis["satisfaction_rate"] == 1.0
        assert (
            store.scalar(db, "SELECT count(*) FROM rating_dimensions") > 0
        )  # reference lists completed


def test_the_examples_index_is_read_backward_in_the_order_the_examples_ask(db):
    """常见问题's examples ask ORDER BY p.id DESC, which PostgreSQL keeps as its own order (NULLS
    FIRST); their index must give that order scanned backward, so it is made as written there,
    without the translation's id NULLS FIRST (m024, m028)."""
    if store.dialect(db) == "postgresql":
        definition = db.native(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_problems_sector_category_id'"
        ).fetchone()[0]
        assert definition.endswith("(sector_code, category_code, id)"), definition
    else:
        columns = [
            r[2] for r in db.conn.execute("PRAGMA index_info(idx_problems_sector_category_id)")
        ]
        assert columns == ["sector_code", "category_code", "id"]
