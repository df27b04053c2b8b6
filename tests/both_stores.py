"""`python -m tests.both_stores [pytest args]`: the whole suite on SQLite and, at the same time in
another process, every test that touches the store again on PostgreSQL (README's test command).

With no arguments the SQLite run is itself split in three processes, its browser tests (in two
halves) and the rest, so four run side by side: a browser test spends much of its time waiting on a
server or a page (measured: the 2 cores were 45% idle while the SQLite run went on alone), and the
other lanes use that time. With arguments (a file, -k, -m ...) there are two processes, as a developer expects. A test
marked `pg_lane` (store-free and long) runs in the PostgreSQL process only, to even the lanes;
`postgres_only` tests (two app hosts sharing one PostgreSQL) run there too.
The SQLite run without browser tests prints as it goes; the others' output follows when all are
done. Exit status: non-zero when any run failed."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# The SQLite browser tests in two processes, about half the time each (durations of a clean run at
# 41f2594): these files, and all the others. A browser test mostly waits (for its server's runs,
# for Chromium to draw, for a page to settle), so a fourth process uses time the others leave.
BROWSER_FIRST = [
    "tests/test_browser_offline.py",
    "tests/test_browser_stale.py",
    "tests/test_browser_xss.py",
    "tests/test_browser_review.py",
]


def lanes(argv: list[str]) -> list[tuple[str, dict, list[str]]]:
    """(title, extra environment, pytest arguments) of each process; the first prints live."""
    postgres = {"SURVEY_TEST_STORE": "postgresql"}
    sqlite = {"SURVEY_TEST_PG_LANE": "1"}  # its pg_lane tests run in the PostgreSQL process
    if argv:
        return [
            ("SQLite", sqlite, argv),
            ("PostgreSQL (SURVEY_TEST_STORE=postgresql)", postgres, argv),
        ]
    ignored = [f"--ignore={path}" for path in BROWSER_FIRST]
    return [
        ("SQLite, all but the browser tests", sqlite, ["-m", "not browser"]),
        ("SQLite, browser tests (1 of 2)", sqlite, ["-m", "browser", *BROWSER_FIRST]),
        ("SQLite, browser tests (2 of 2)", sqlite, ["-m", "browser", *ignored]),
        ("PostgreSQL (SURVEY_TEST_STORE=postgresql)", postgres, []),
    ]


def main(argv: list[str]) -> int:
    started = time.monotonic()
    (first_title, first_env, first_args), *others = lanes(argv)
    running = []
    for title, env, args in others:
        log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed below
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        running.append((title, process, log))
    print(f"== {first_title} ==", flush=True)
    first = subprocess.run(
        [sys.executable, "-m", "pytest", *first_args], cwd=ROOT, env={**os.environ, **first_env}
    ).returncode
    results = [(first_title, first)]
    for title, process, log in running:
        process.wait()
        log.seek(0)
        print(f"\n== {title} ==", flush=True)
        sys.stdout.write(log.read())
        log.close()
        results.append((title, process.returncode))
    summary = "; ".join(
        f"{title}: {'passed' if code == 0 else f'FAILED ({code})'}" for title, code in results
    )
    print(f"\n{summary}; {time.monotonic() - started:.0f} s in all")
    return next((code for _, code in results if code), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
