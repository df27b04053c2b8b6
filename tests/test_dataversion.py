"""The data version (survey.dataversion): every write to a table the dashboards read moves it, in
the write's own transaction (a rolled-back write leaves it), on both stores; a restore moves it past
the version it replaced, so nothing a process kept before the restore is served after it."""

from __future__ import annotations

import pytest

from survey import dataversion, maintenance
from survey import db as store
from survey.problems import lifecycle
from tests.helpers import actor_for, new_problems


def test_each_write_moves_the_version_in_its_own_transaction(db):
    start = dataversion.current(db)
    department = store.scalar(db, "SELECT code FROM departments WHERE active = 1 LIMIT 1")
    problem = new_problems(db, 1)[0]
    moved = dataversion.current(db)
    lifecycle.assign(db, actor_for(db, "supervisor"), problem, department, "standard")
    assert dataversion.current(db) > moved >= start
    for sql in (
        "UPDATE visits SET updated_at = updated_at WHERE id = (SELECT min(id) FROM visits)",
        "UPDATE companies SET updated_at = updated_at WHERE id = (SELECT min(id) FROM companies)",
        "UPDATE sectors SET name = name WHERE code = (SELECT min(code) FROM sectors)",
    ):
        before = dataversion.current(db)
        with store.transaction(db):
            db.execute(sql)
        assert dataversion.current(db) > before, sql
    before = dataversion.current(db)
    with pytest.raises(RuntimeError), store.transaction(db):
        db.execute("UPDATE problems SET updated_at = updated_at WHERE id = ?", (problem,))
        raise RuntimeError("rolled back")
    assert dataversion.current(db) == before
    with store.transaction(db):  # a table the dashboards do not read
        db.execute("INSERT INTO settings (key, value) VALUES ('dv-test', 'x')")
    assert dataversion.current(db) == before


@pytest.mark.sqlite_only  # restore on PostgreSQL is pg_restore's, tested in test_postgres
def test_a_restore_moves_the_version_past_the_one_it_replaced(demo_db, tmp_path):
    maintenance.backup(demo_db, tmp_path / "copy.db")
    with store.opened(demo_db) as db:
        problem = new_problems(db, 1)[0]
        for _ in range(3):
            with store.transaction(db):
                db.execute("UPDATE problems SET updated_at = updated_at WHERE id = ?", (problem,))
        live = dataversion.current(db)
    maintenance.restore(tmp_path / "copy.db", demo_db)
    with store.opened(demo_db) as db:
        assert dataversion.current(db) > live
