"""Creating and upgrading a database file: migrations, then reference lists on first run."""

from __future__ import annotations

import os

from survey import db as store
from survey import questionnaires, reference, schema


def init_db(path: str | os.PathLike | None = None) -> dict:
    """Bring the file to the current schema and load empty reference lists. Idempotent."""
    with store.opened(path) as db:
        applied = schema.migrate(db)
        loaded = reference.load_from_csv(db)
        forms = questionnaires.install_defaults(db)
    return {"applied": applied, "loaded": loaded, "forms": forms, "path": store.target(path)}


def migration_status(path: str | os.PathLike | None = None) -> tuple[list[str], list[str]]:
    """(applied, pending) migration names."""
    with store.opened(path) as db:
        applied = schema.applied_names(db)
    pending = [n for n in schema.migration_names() if n not in applied]
    return applied, pending
