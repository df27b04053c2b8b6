"""Backup and restore with SQLite's online backup API: consistent while the app keeps writing."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

from survey import clock, schema
from survey import db as store
from survey.access import audit


class MaintenanceError(Exception):
    pass


def _check_file(path: Path) -> None:
    """A readable SQLite file of this application, sound by integrity_check."""
    if not path.exists():
        raise MaintenanceError(f"文件 {path} 不存在。")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise MaintenanceError(f"{path} 不是有效的 SQLite 数据库（{exc}）。") from None
    if result != "ok":
        raise MaintenanceError(f"{path} 完整性检查未通过：{result}")
    if schema.migrations.migrations_table not in tables or "problems" not in tables:
        raise MaintenanceError(f"{path} 不是本系统的数据库（缺少迁移记录或问题表）。")


def backup(db_file: str | os.PathLike | None, target: str | os.PathLike) -> dict:
    target = Path(target)
    source = store.db_path(db_file)
    if not source.exists():
        raise MaintenanceError(f"数据库文件 {source} 不存在。")
    if target.exists():
        raise MaintenanceError(f"备份文件 {target} 已存在，请换一个文件名。")
    with store.opened(db_file) as db:
        store.backup_to(db, target)
    _check_file(target)
    return {"path": str(target), "bytes": target.stat().st_size}


BACKUP_PATTERN = "survey-*.db"


def backups_in(directory: str | os.PathLike) -> list[Path]:
    """The timestamped backups in `directory`, oldest first. Not by name: a second backup within
    the same second is survey-<time>-2.db, which sorts before survey-<time>.db by name."""

    def order(path: Path) -> tuple[str, int]:
        match = re.fullmatch(r"survey-(\d{8}-\d{6})(?:-(\d+))?", path.stem)
        return (match[1], int(match[2] or 1)) if match else (path.stem, 0)

    return sorted(Path(directory).glob(BACKUP_PATTERN), key=order)


def backup_into(
    db_file: str | os.PathLike | None, directory: str | os.PathLike, *, keep: int | None = None
) -> dict:
    """A timestamped backup in `directory` (survey-YYYYmmdd-HHMMSS.db); with `keep`, only the newest
    `keep` backups there are kept (for a nightly timer)."""
    if keep is not None and keep < 1:
        raise MaintenanceError("保留份数至少为 1。")
    directory = Path(directory)
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    target = directory / f"survey-{stamp}.db"
    n = 1
    while target.exists():  # two backups within one second
        n += 1
        target = directory / f"survey-{stamp}-{n}.db"
    result = backup(db_file, target)
    removed = []
    if keep:
        for old in backups_in(directory)[::-1][keep:]:
            old.unlink()
            removed.append(str(old))
    return result | {"removed": removed}


def restore(source: str | os.PathLike, db_file: str | os.PathLike | None) -> dict:
    """Overwrite the database with `source`; the current one is first saved beside it."""
    source = Path(source)
    _check_file(source)
    target = store.db_path(db_file)
    saved = None
    if target.exists():
        stamp = clock.now().strftime("%Y%m%d-%H%M%S")
        saved = target.with_name(f"{target.stem}.before-restore-{stamp}{target.suffix}")
        backup(db_file, saved)
    with store.opened(db_file) as db:
        store.restore_from(source, db)
        schema.migrate(db)
        with store.transaction(db):
            audit.record(db, None, "restore", "database", note=f"从 {source} 恢复")
    return {"saved_copy": str(saved) if saved else None}
