"""`python -m tests.both_stores [pytest args]`: the whole suite on SQLite and, at the same time in a
second process, every test that touches the store again on PostgreSQL (README's test command). The
SQLite run prints as it goes; the PostgreSQL run's output follows when both are done. Exit status:
non-zero when either run failed. Running them side by side, not one after the other, keeps the
suite near a quarter of an hour on a 2-core machine."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    started = time.monotonic()
    with tempfile.NamedTemporaryFile("w+", suffix=".log", prefix="pytest-postgresql-") as log:
        second = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *argv],
            cwd=ROOT,
            env={**os.environ, "SURVEY_TEST_STORE": "postgresql"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        print("== SQLite ==", flush=True)
        first = subprocess.run([sys.executable, "-m", "pytest", *argv], cwd=ROOT).returncode
        second.wait()
        log.seek(0)
        print("\n== PostgreSQL (SURVEY_TEST_STORE=postgresql) ==", flush=True)
        sys.stdout.write(log.read())
    print(
        f"\nSQLite: {'passed' if first == 0 else f'FAILED ({first})'}; PostgreSQL: "
        f"{'passed' if second.returncode == 0 else f'FAILED ({second.returncode})'};"
        f" {time.monotonic() - started:.0f} s in all"
    )
    return first or second.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
