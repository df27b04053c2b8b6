"""Fixtures: every test gets its own database; a seeded template is built once and copied.

SURVEY_TEST_STORE=postgresql runs the same fixtures on a throwaway PostgreSQL server (the
template is a database, each test's copy is CREATE DATABASE ... TEMPLATE); a test that needs a
SQLite file (backups, the file's pragmas) is marked `sqlite_only` and skipped there."""

from __future__ import annotations

import itertools
import os
import shutil

import pytest

import seeds
from survey import bootstrap, outbound
from survey import db as store
from survey.access.actor import SYSTEM
from tests.helpers import SMALL

STORE = os.environ.get("SURVEY_TEST_STORE", "sqlite")
_names = itertools.count(1)


# The tests' receivers (robots, SMS gateway, webhooks, SMTP) listen on loopback, which the outbound
# rule refuses unless an admin lists it: every copy of the template has it listed.
LOOPBACK = "127.0.0.1\n::1"


def _allow_loopback(target) -> None:
    with store.opened(target) as db:
        outbound.save_allow_list(db, SYSTEM, LOOPBACK)


STORE_FIXTURES = {"template_db", "demo_db", "empty_db", "db", "pg_server"}


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, run what touches the store: a test with none of its fixtures has already
    run on SQLite and would only repeat itself. `postgres_only` tests run on PostgreSQL alone."""
    if STORE != "postgresql":
        postgres_only = pytest.mark.skip(reason="needs PostgreSQL: SURVEY_TEST_STORE=postgresql")
        for item in items:
            if item.get_closest_marker("postgres_only"):
                item.add_marker(postgres_only)
        return
    sqlite_only = pytest.mark.skip(reason="needs a SQLite file (SURVEY_TEST_STORE=postgresql)")
    storeless = pytest.mark.skip(reason="does not use the store: run once, on SQLite")
    independent = pytest.mark.skip(
        reason="what it checks does not depend on the store: once, on SQLite"
    )
    for item in items:
        if item.get_closest_marker("postgres_only"):
            continue
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(sqlite_only)
        elif item.get_closest_marker("store_independent"):
            item.add_marker(independent)
        elif not STORE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(storeless)


@pytest.fixture(scope="session")
def pg_server():
    from tests.pgserver import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def template_db(tmp_path_factory, request):
    if STORE == "postgresql":
        from tests.pgserver import fresh_database

        url = fresh_database(request.getfixturevalue("pg_server"), "template_demo")
        seeds.generate(url, **SMALL)
        _allow_loopback(url)
        store.release(url)  # a template must have no connections
        return url
    path = tmp_path_factory.mktemp("template") / "demo.db"
    seeds.generate(path, **SMALL)
    _allow_loopback(path)
    with store.opened(path) as db:
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _drop(url: str) -> None:
    from tests.pgserver import drop_database

    store.release(url)
    drop_database(url)


@pytest.fixture
def demo_db(template_db, tmp_path, monkeypatch, request):
    """A private copy of the small seeded database; SURVEY_DB points at it."""
    if STORE == "postgresql":
        from tests.pgserver import copy_database

        url = copy_database(request.getfixturevalue("pg_server"), "template_demo")
        monkeypatch.setenv("SURVEY_DB", url)
        request.addfinalizer(lambda: _drop(url))
        return url
    path = tmp_path / "demo.db"
    shutil.copy(template_db, path)
    monkeypatch.setenv("SURVEY_DB", str(path))
    return path


@pytest.fixture
def empty_db(tmp_path, monkeypatch, request):
    """A migrated database with reference lists and nothing else."""
    if STORE == "postgresql":
        from tests.pgserver import fresh_database

        target = fresh_database(request.getfixturevalue("pg_server"), f"e{next(_names)}")
        request.addfinalizer(lambda: _drop(target))
    else:
        target = tmp_path / "empty.db"
    bootstrap.init_db(target)
    monkeypatch.setenv("SURVEY_DB", str(target))
    return target


@pytest.fixture
def db(demo_db):
    with store.opened(demo_db) as conn:
        yield conn
