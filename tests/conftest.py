"""Fixtures: every test gets its own database file; a seeded template is built once and copied."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

import seeds
from survey import auth, bootstrap
from survey import db as store

ROOT = Path(__file__).resolve().parent.parent
SEED_TODAY = date(2026, 6, 15)
SMALL = {"seed": 7, "companies": 120, "problems": 600, "today": SEED_TODAY}


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "demo.db"
    seeds.generate(path, **SMALL)
    with store.opened(path) as db:
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def demo_db(template_db, tmp_path, monkeypatch) -> Path:
    """A private copy of the small seeded database; SURVEY_DB points at it."""
    path = tmp_path / "demo.db"
    shutil.copy(template_db, path)
    monkeypatch.setenv("SURVEY_DB", str(path))
    return path


@pytest.fixture
def empty_db(tmp_path, monkeypatch) -> Path:
    """A migrated database with reference lists and nothing else."""
    path = tmp_path / "empty.db"
    bootstrap.init_db(path)
    monkeypatch.setenv("SURVEY_DB", str(path))
    return path


@pytest.fixture
def db(demo_db):
    with store.opened(demo_db) as conn:
        yield conn


def actor_for(db, username: str) -> auth.Actor:
    user_id = store.scalar(db, "SELECT id FROM users WHERE username = ?", (username,))
    return auth.load_actor(db, user_id)
