"""Backup and restore, consistent while the app keeps writing: SQLite's online backup API for the
file; for a PostgreSQL database, pg_dump's snapshot (a custom-format archive, .dump) and a restore
that replaces the whole schema in one transaction. Continuous archiving (WAL) is the cluster's
own tool, set up beside this (README, 正式部署)."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from survey import clock, dataversion, schema
from survey import db as store
from survey.access import audit
from survey.migrations import migrations


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
    if migrations.migrations_table not in tables or "problems" not in tables:
        raise MaintenanceError(f"{path} 不是本系统的数据库（缺少迁移记录或问题表）。")


def _pg_tool(name: str) -> str:
    """A PostgreSQL client program: on PATH, else the newest in Debian's versioned folders."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3])
    )
    found = shutil.which(name) or (str(debian[-1]) if debian else None)
    if not found:
        raise MaintenanceError(
            f"找不到 {name}：请安装 PostgreSQL 客户端（Debian：postgresql-client）。"
        )
    return found


@contextmanager
def _pg_login(url: str) -> Iterator[tuple[str, dict]]:
    """(connection string, environment) for a client program: the URL's parameters without its
    password, for the command line (readable by every local user in `ps`), and an environment
    whose PGPASSFILE names a private (0600) file holding the password, removed afterwards."""
    conninfo, password = store.split_password(url)
    if password is None:  # the user's own ~/.pgpass or PGPASSWORD, if any
        yield conninfo, dict(os.environ)
        return
    if "\n" in password or "\r" in password:
        raise MaintenanceError("PostgreSQL 密码含换行符，无法交给 pg_dump/psql，请更换密码。")
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}  # it would win over the file
    fd, passfile = tempfile.mkstemp(prefix="zhy-pgpass-")  # mode 0600, only we can read it
    try:
        with os.fdopen(fd, "w") as out:
            out.write("*:*:*:*:" + re.sub(r"([\\:])", r"\\\1", password) + "\n")
        yield conninfo, env | {"PGPASSFILE": passfile}
    finally:
        os.unlink(passfile)


def _run_pg(args: list[str], what: str, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()
        raise MaintenanceError(f"{what}失败：{detail[-1] if detail else result.returncode}")
    return result


def _check_archive(path: Path) -> None:
    """A pg_dump archive of this application (its table of contents names our tables)."""
    if not path.exists():
        raise MaintenanceError(f"文件 {path} 不存在。")
    listing = subprocess.run(
        [_pg_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True
    )
    if listing.returncode != 0:
        raise MaintenanceError(f"{path} 不是有效的 PostgreSQL 备份（pg_dump 自定义格式）。")
    data = set(re.findall(r"TABLE DATA \S+ (\w+)", listing.stdout))
    if not {migrations.migrations_table, "problems"} <= data:
        raise MaintenanceError(f"{path} 不是本系统的数据库（缺少迁移记录或问题表）。")


def _pg_backup(url: str, target: Path) -> dict:
    if target.exists():
        raise MaintenanceError(f"备份文件 {target} 已存在，请换一个文件名。")
    if not store.exists(url):
        raise MaintenanceError("PostgreSQL 数据库连不上，请检查 SURVEY_DB。")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")  # never a half-written backup by its name
    try:
        with _pg_login(url) as (conninfo, env):
            _run_pg(
                [
                    _pg_tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--file={partial}",
                    f"--dbname={conninfo}",
                ],
                "pg_dump 备份",
                env=env,
            )
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    _check_archive(target)
    return {"path": str(target), "bytes": target.stat().st_size}


def _replace_schema(source: Path, url: str, schema_name: str) -> None:
    """psql runs BEGIN, the old schema dropped, the archive as SQL from pg_restore, and COMMIT only
    once pg_restore has read the whole archive without error (else ROLLBACK): a damaged archive
    or a failed statement leaves the database as it was."""
    with tempfile.TemporaryFile() as said, _pg_login(url) as (conninfo, env):
        # said: both programs' messages, read only on failure
        read_all, applied = _pipe_restore(source, conninfo, env, schema_name, said)
        said.seek(0)
        messages = said.read().decode(errors="replace").strip().splitlines()
    if not (read_all and applied):
        last = messages[-1] if messages else "未知原因"
        raise MaintenanceError(f"恢复失败，数据库未改动：{last}")


def _pipe_restore(
    source: Path, conninfo: str, env: dict, schema_name: str, said
) -> tuple[bool, bool]:
    """(pg_restore read the whole archive, psql committed)."""
    script = subprocess.Popen(
        [_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(source)],
        stdout=subprocess.PIPE,
        stderr=said,
    )
    psql = subprocess.Popen(
        [
            _pg_tool("psql"),
            "--quiet",
            "--no-psqlrc",
            "--set=ON_ERROR_STOP=1",
            f"--dbname={conninfo}",
        ],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=said,
    )
    try:
        psql.stdin.write(b"SET client_min_messages = warning;\nBEGIN;\n")
        psql.stdin.write(
            f"DROP SCHEMA {schema_name} CASCADE; CREATE SCHEMA {schema_name};\n".encode()
        )
        while chunk := script.stdout.read(1 << 16):
            psql.stdin.write(chunk)
        read_all = script.wait() == 0
        psql.stdin.write(b"\nCOMMIT;\n" if read_all else b"\nROLLBACK;\n")
        psql.stdin.close()
    except BrokenPipeError:  # psql stopped at an error: its transaction is rolled back
        read_all = False
        script.kill()
        script.wait()
    return read_all, psql.wait() == 0


def _pg_restore(source: Path, url: str) -> Path | None:
    """Replace the database's schema with the archive's, all or nothing (_replace_schema), after
    saving the current database beside the archive."""
    _check_archive(source)
    saved = None
    with store.opened(url) as db:
        has_data = "problems" in store.table_names(db)
        schema_name = store.scalar(db, "SELECT current_schema()")
    if has_data:
        stamp = clock.now().strftime("%Y%m%d-%H%M%S")
        saved = source.with_name(f"before-restore-{stamp}.dump")
        _pg_backup(url, saved)
    store.release(url)  # pooled connections would hold locks on the tables being replaced
    _replace_schema(source, url, schema_name)
    return saved


def backup(db_file: str | os.PathLike | None, target: str | os.PathLike) -> dict:
    target = Path(target)
    if store.is_url(store.target(db_file)):
        return _pg_backup(store.target(db_file), target)
    source = store.db_path(db_file)
    if not source.exists():
        raise MaintenanceError(f"数据库文件 {source} 不存在。")
    if target.exists():
        raise MaintenanceError(f"备份文件 {target} 已存在，请换一个文件名。")
    with store.opened(db_file) as db:
        store.backup_to(db, target)
    _check_file(target)
    return {"path": str(target), "bytes": target.stat().st_size}


BACKUP_SUFFIXES = (".db", ".dump")  # a SQLite file, a pg_dump archive


def backup_suffix(db_file: str | os.PathLike | None) -> str:
    return ".dump" if store.is_url(store.target(db_file)) else ".db"


def backups_in(directory: str | os.PathLike) -> list[Path]:
    """The timestamped backups in `directory` (.db or .dump), oldest first. Not by name: a second
    backup within the same second is survey-<time>-2.db, which sorts before survey-<time>.db."""

    def order(path: Path) -> tuple[str, int]:
        match = re.fullmatch(r"survey-(\d{8}-\d{6})(?:-(\d+))?", path.stem)
        return (match[1], int(match[2] or 1)) if match else (path.stem, 0)

    found = [p for p in Path(directory).glob("survey-*") if p.suffix in BACKUP_SUFFIXES]
    return sorted(found, key=order)


def backup_into(
    db_file: str | os.PathLike | None, directory: str | os.PathLike, *, keep: int | None = None
) -> dict:
    """A timestamped backup in `directory` (survey-YYYYmmdd-HHMMSS.db, or .dump on PostgreSQL);
    with `keep`, only the newest `keep` backups there are kept (for a nightly timer)."""
    if keep is not None and keep < 1:
        raise MaintenanceError("保留份数至少为 1。")
    directory = Path(directory)
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    suffix = backup_suffix(db_file)
    target = directory / f"survey-{stamp}{suffix}"
    n = 1
    while target.exists():  # two backups within one second
        n += 1
        target = directory / f"survey-{stamp}-{n}{suffix}"
    result = backup(db_file, target)
    removed = []
    if keep:
        for old in backups_in(directory)[::-1][keep:]:
            old.unlink()
            removed.append(str(old))
    return result | {"removed": removed}


def restore(source: str | os.PathLike, db_file: str | os.PathLike | None) -> dict:
    """Overwrite the database with `source`; the current one is first saved beside it (on
    PostgreSQL, beside the backup being restored). Then the migrations a newer release brings
    run on it, and the restore is audited."""
    source = Path(source)
    live = dataversion.last_known(db_file)
    if store.is_url(store.target(db_file)):
        saved = _pg_restore(source, store.target(db_file))
    else:
        saved = _sqlite_restore(source, db_file)
    with store.opened(db_file) as db:
        schema.migrate(db)
        with store.transaction(db):
            # Past any version a running process may have kept results under before the restore.
            dataversion.advance_past(db, live)
            audit.record(db, None, "restore", "database", note=f"从 {source} 恢复")
    return {"saved_copy": str(saved) if saved else None}


def _sqlite_restore(source: Path, db_file: str | os.PathLike | None) -> Path | None:
    _check_file(source)
    target = store.db_path(db_file)
    saved = None
    if target.exists():
        stamp = clock.now().strftime("%Y%m%d-%H%M%S")
        saved = target.with_name(f"{target.stem}.before-restore-{stamp}{target.suffix}")
        backup(db_file, saved)
    with store.opened(db_file) as db:
        store.restore_from(source, db)
    return saved
