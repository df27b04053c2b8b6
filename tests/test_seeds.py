"""Demo data: valid codes, every lifecycle state, deterministic, never over real data."""

from __future__ import annotations

import pytest
from stdnum.cn import uscc

import seeds
from seeds.generator import organization_code_check
from survey import bulk
from survey import db as store
from survey.problems.register import STATUSES
from tests.helpers import SMALL


def test_counts_and_states(db):
    counts = bulk.table_counts(db)
    assert counts["companies"] == SMALL["companies"]
    assert counts["problems"] == SMALL["problems"]
    assert counts["visits"] > 0 and counts["feedback"] > 0 and counts["problem_events"] > 0
    statuses = {r["status"] for r in store.query(db, "SELECT DISTINCT status FROM problems")}
    assert statuses == set(STATUSES)
    sources = {r["source"] for r in store.query(db, "SELECT DISTINCT source FROM problems")}
    assert sources == {"visit", "monitor"}
    roles = {r["role"] for r in store.query(db, "SELECT DISTINCT role FROM user_roles")}
    assert roles == {"officer", "handler", "monitor", "supervisor", "admin"}
    assert store.integrity_problems(db) == []


def test_company_codes_are_valid_and_regional(db):
    for row in store.query(db, "SELECT uscc, district_code, park_code FROM companies"):
        code = row["uscc"]
        assert uscc.is_valid(code), code
        assert organization_code_check(code[8:16]) == code[16]
        assert code[2:8] in (row["district_code"], row["park_code"])


def test_problem_rows_are_consistent_with_status(db):
    bad = store.query(
        db,
        """SELECT id, status FROM problems WHERE
             (status = 'new' AND assigned_at IS NOT NULL AND return_count = 0)
          OR (status IN ('assigned', 'in_progress', 'replied') AND lead_department_code IS NULL)
          OR (status = 'replied' AND (replied_at IS NULL OR outcome IS NULL))
          OR (status = 'called_back' AND satisfaction_level IS NULL)
          OR (status = 'closed' AND closed_at IS NULL)""",
    )
    assert bad == []
    # The last event of every problem ends in its current status.
    mismatched = store.scalar(
        db,
        """SELECT count(*) FROM problems p JOIN problem_events e ON e.problem_id = p.id
           WHERE e.id = (SELECT max(id) FROM problem_events WHERE problem_id = p.id)
           AND e.to_status != p.status""",
    )
    assert mismatched == 0


def test_same_seed_same_data(tmp_path):
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    args = SMALL | {"companies": 30, "problems": 80}
    seeds.generate(a, **args)
    seeds.generate(b, **args)
    sql = "SELECT * FROM {} ORDER BY id"
    with store.opened(a) as da, store.opened(b) as dbb:
        for table in ("companies", "visits", "problems", "problem_events", "feedback"):
            assert store.query(da, sql.format(table)) == store.query(dbb, sql.format(table))


def test_refuses_a_database_with_data(demo_db):
    with pytest.raises(seeds.SeedError, match="已有企业或用户"):
        seeds.generate(demo_db, companies=5, problems=5)


def test_updated_at_is_the_time_of_the_last_event(db):
    """A mirror keyed on updated_at misses nothing (issue 26, item 15): each demo problem's
    updated_at is its last event's time, created_at its 'raise' event's, closed_at its close's,
    and `survey check`'s rule finds nothing."""
    from survey.problems import register

    last = "(SELECT max(at) FROM problem_events e WHERE e.problem_id = p.id{})"
    off = store.query(
        db,
        f"""SELECT id, created_at, updated_at, closed_at FROM problems p
            WHERE updated_at != {last.format("")}
               OR created_at != {last.format(" AND action = 'raise'")}
               OR closed_at != {last.format(" AND action IN ('close', 'solve_on_spot')")}
            ORDER BY id LIMIT 5""",
    )
    assert off == []
    assert register.updated_at_behind(db) == []


def test_the_seeded_database_passes_check(db, demo_db, capsys):
    """The demo as seeded passes `survey check` (the summary tables equal a recount, every
    updated_at is its last event's). On PostgreSQL the seed writes by COPY with the big tables'
    indexes and foreign keys set aside (issue 29): every key is back and validated, every index
    rebuilt, and a new problem or event numbers after the seeded ones."""
    from survey import cli

    assert cli.main(["check", "--db", str(demo_db)]) == 0, capsys.readouterr().out
    if store.dialect(db) != "postgresql":
        return
    keys = db.native(
        "SELECT conrelid::regclass::text, confrelid::regclass::text, convalidated"
        " FROM pg_constraint WHERE contype = 'f'"
    ).fetchall()
    for child, parent in (
        ("problems", "visits"),
        ("problems", "companies"),
        ("problem_events", "problems"),
        ("visit_participants", "visits"),
        ("visits", "companies"),
    ):
        assert (child, parent, True) in keys
    indexes = {r[0] for r in db.native("SELECT indexname FROM pg_indexes").fetchall()}
    assert {"idx_problem_events_problem", "idx_problems_visit"} <= indexes
    for table in ("problems", "problem_events", "visits"):
        taken = store.scalar(db, f"SELECT max(id) FROM {table}")
        following = db.native(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))")
        assert following.fetchone()[0] == taken + 1


def test_the_problems_are_stored_in_the_order_they_were_raised(db):
    """As a real register writes them, day by day: on PostgreSQL the generator stores the year's
    problems in date order (bulk.in_date_order), so a week's reads touch that week's pages;
    the planner's statistics say so. SQLite keeps them in id order."""
    if store.dialect(db) != "postgresql":
        pytest.skip("SQLite stores rows in id order")
    correlation = store.scalar(
        db,
        "SELECT correlation FROM pg_stats WHERE tablename = 'problems' AND attname = 'raised_on'",
    )
    assert correlation is not None and correlation > 0.99, correlation
