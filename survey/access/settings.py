"""Admin-set values kept in the database (session length, demo flag...)."""

from __future__ import annotations

from sqlite_utils import Database

from survey import db as store
from survey.access import audit


def get_setting(db: Database, key: str, default: str | None = None) -> str | None:
    value = store.scalar(db, "SELECT value FROM settings WHERE key = ?", (key,))
    return default if value is None else value


HIDDEN = "（已隐藏）"


def set_setting(db: Database, actor, key: str, value: str, *, secret: bool = False) -> None:
    """Save one setting, audited; a secret (a password, a token) is audited as changed or not,
    never with its value."""
    with store.transaction(db):
        before = get_setting(db, key)
        db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, str(value)),
        )
        if secret:
            before = HIDDEN if before else before
            after = HIDDEN if value else ""
        else:
            after = str(value)
        audit.record(db, actor, "update", "settings", key, before=before, after=after)


def is_demo(db: Database) -> bool:
    return get_setting(db, "demo_data") == "1"
