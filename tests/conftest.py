"""Fixtures: every test gets its own database file; a seeded template is built once and copied."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import seeds
from survey import bootstrap
from survey import db as store
from tests.helpers import SMALL


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
