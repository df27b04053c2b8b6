"""`python -m survey` and `python -m seeds` as a user runs them: real processes, real files."""

from __future__ import annotations

import os
import subprocess
import sys

from survey import maintenance
from tests.helpers import ROOT


def run(*args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_help_lists_every_command():
    result = run("-m", "survey", "--help")
    assert result.returncode == 0
    for command in ("init-db", "create-user", "backup", "restore", "check"):
        assert command in result.stdout


def test_first_admin_then_check(tmp_path):
    db = str(tmp_path / "fresh.db")
    result = run("-m", "survey", "init-db", "--db", db)
    assert result.returncode == 0 and "载入参考列表" in result.stdout
    result = run(
        "-m",
        "survey",
        "create-user",
        "boss",
        "--name",
        "局长",
        "--role",
        "admin",
        "--db",
        db,
        stdin="Strong2026pw\n",
    )
    assert result.returncode == 0, result.stderr
    assert "已创建用户 boss" in result.stdout
    result = run("-m", "survey", "check", "--db", db)
    assert result.returncode == 0 and "integrity_check：ok" in result.stdout


def test_errors_are_one_line(tmp_path, demo_db):
    assert_one_line_error(run("-m", "survey", "check", "--db", str(tmp_path / "none.db")), "不存在")
    weak = run(
        "-m",
        "survey",
        "create-user",
        "bob",
        "--name",
        "b",
        "--role",
        "admin",
        "--db",
        str(demo_db),
        stdin="weak\n",
    )
    assert_one_line_error(weak, "密码")
    assert_one_line_error(
        run("-m", "survey", "restore", str(tmp_path / "none.db"), "--db", str(demo_db)), "--yes"
    )
    assert_one_line_error(
        run("-m", "survey", "restore", "pyproject.toml", "--yes", "--db", str(demo_db)), "不是有效"
    )


def test_backup_and_restore_commands(tmp_path, demo_db):
    copy = str(tmp_path / f"copy{maintenance.backup_suffix(demo_db)}")  # .dump on PostgreSQL
    result = run("-m", "survey", "backup", copy, "--db", str(demo_db))
    assert result.returncode == 0 and "已备份" in result.stdout
    assert_one_line_error(run("-m", "survey", "backup", copy, "--db", str(demo_db)), "已存在")
    result = run("-m", "survey", "restore", copy, "--yes", "--db", str(demo_db))
    assert result.returncode == 0 and "before-restore" in result.stdout


def test_seeds_command(tmp_path):
    db = str(tmp_path / "s.db")
    result = run("-m", "seeds", "--db", db, "--companies", "20", "--problems", "40", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert "companies 20" in result.stdout and "problems 40" in result.stdout
    again = run("-m", "seeds", "--db", db, "--companies", "20", "--problems", "40")
    assert_one_line_error(again, "已有企业或用户")


def test_check_names_problems_whose_updated_at_is_behind_their_events(demo_db):
    """`survey check` finds a problem whose updated_at is older than its last event (a mirror
    keyed on it would miss the change) and says so in Chinese, exit 1 (issue 26, item 15)."""
    from survey import db as store

    result = run("-m", "survey", "check", "--db", str(demo_db))
    assert result.returncode == 0, result.stdout + result.stderr
    with store.opened(demo_db) as db:
        pid = store.scalar(db, "SELECT max(problem_id) FROM problem_events WHERE action = 'close'")
        db.execute("UPDATE problems SET updated_at = '2020-01-01 00:00:00' WHERE id = ?", (pid,))
    store.release(demo_db)
    result = run("-m", "survey", "check", "--db", str(demo_db))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 个问题的更新时间（updated_at）早于其最后一次办理记录" in result.stdout
    assert f"#{pid}" in result.stdout
