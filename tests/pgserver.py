"""A real PostgreSQL server for the tests: a throwaway cluster (initdb) in a temporary folder, on a
free loopback port, run as a non-root user (PostgreSQL refuses root). Debian's `postgresql`
package provides the binaries; without them the PostgreSQL tests skip with a clear reason, except
under CI=true, where a missing server is a failure (.ci/run installs it)."""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.browser import free_port, stop, wait_ready

USER = "zhy"  # the database role the app connects as
_copies = itertools.count(1)


def binaries() -> Path | None:
    """The folder holding initdb and postgres: PG_BIN, else Debian's newest, else PATH."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if debian:
        return debian[-1]
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def require_postgres() -> Path:
    folder = binaries()
    if folder is None or not (folder / "postgres").exists():
        message = "PostgreSQL 未安装（Debian：apt-get install postgresql）：跳过 PostgreSQL 测试"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "；CI 中必须有 PostgreSQL")
        pytest.skip(message)
    return folder


def _fast_shutdown(data: Path) -> None:
    """SIGINT to the postmaster itself (its pid heads postmaster.pid): `runuser`, in front of it
    when we are root, does not pass SIGINT on."""
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGINT)
    except (OSError, ValueError, IndexError):
        pass  # not started or already gone: stop() below ends what is left


def _as_owner(folder: Path) -> list[str]:
    """Run as the folder's owner: `postgres` (or nobody) when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        owner = pwd.getpwnam("nobody")
    os.chown(folder, owner.pw_uid, owner.pw_gid)
    return ["runuser", "-u", owner.pw_name, "--"]


@contextmanager
def postgres_server(
    durable: bool = False, settings: dict | None = None, passwords: bool = False
) -> Iterator[str]:
    """A running server; yields the URL of its `postgres` database (the maintenance one).
    Tests skip the disk flushes; a benchmark asks for a durable server (every commit flushed, as in
    production) and may add settings such as shared_buffers. With `passwords`, every role but
    USER must give its password (scram-sha-256) over TCP, as on a real server."""
    folder_bin = require_postgres()
    base = Path(tempfile.mkdtemp(prefix="zhy-pg-"))
    runner = _as_owner(base)
    data = base / "data"
    subprocess.run(
        [
            *runner,
            str(folder_bin / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            USER,
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    if passwords:  # USER (the yielded URL) stays trusted; the roles a test creates are not
        (data / "pg_hba.conf").write_text(
            f"local all all trust\nhost all {USER} 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )
    port = free_port()
    log = open(base / "server.log", "wb")  # noqa: SIM115 - closed with the server
    server = subprocess.Popen(
        [
            *runner,
            str(folder_bin / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(base),
            "-c",
            "listen_addresses=127.0.0.1",
            *_settings(durable, settings),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    try:
        wait_ready(server, lambda: _answers(url), 30, (base / "server.log").read_text)
        yield url
    finally:
        # SIGINT is PostgreSQL's fast shutdown: it ends open sessions (pools the tests left open)
        # instead of waiting for them, as SIGTERM's smart shutdown does.
        _fast_shutdown(data)
        stop(server, timeout=20)
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def _answers(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


def _settings(durable: bool, extra: dict | None) -> list[str]:
    chosen = {"max_connections": "200"}
    if not durable:
        chosen |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    chosen |= extra or {}
    return [arg for key, value in chosen.items() for arg in ("-c", f"{key}={value}")]


def copy_database(any_url: str, template: str) -> str:
    """A new database on the same server, copied from `template`; returns its URL."""
    import psycopg

    name = f"c{os.getpid()}_{next(_copies)}"
    server = any_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return server.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    """Drop a test's database once the test is done: each copy of the seeded template takes
    ~15 MB, and a run that kept them all left ~9 GB for the last teardown to delete. FORCE ends
    any connection a pool or a stopped server left behind."""
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database(server_url: str, name: str) -> str:
    """An empty database on the server; returns its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"
