"""`python -m tests.both_stores [pytest args]`: the whole suite on SQLite and, at the same time in
other processes, every test that touches the store again on PostgreSQL (README's test command).

With no arguments five processes run side by side: SQLite's browser tests in two halves, the rest of
SQLite, and PostgreSQL's browser tests and the rest of PostgreSQL (each of those two with its own
throwaway server). A browser test spends much of its time waiting on a server or a page, and the
other processes use that time; what decides the wall time is the last process to finish, so the
work is split to end together (measured at b29fd9e, quiet: SQLite 771 s without browser tests,
its browser halves 636 and 661 s, PostgreSQL 906 s of which its browser tests ~230 s, the CPU
half idle for the last two minutes). Tests marked `spare_lane` (long ones) have their SQLite
pass in the first browser process instead of with the rest. With arguments (a file, -k, -m ...)
there are two processes, SQLite and PostgreSQL, as a developer expects; `postgres_only` tests (two
app hosts sharing one PostgreSQL) run in the PostgreSQL process.
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
# b29fd9e): these files, and all the others. A browser test mostly waits (for its server's runs,
# for Chromium to draw, for a page to settle), so a process of its own uses time the others leave.
BROWSER_FIRST = [
    "tests/test_browser_offline.py",
    "tests/test_browser_stale.py",
    "tests/test_browser_xss.py",
]


def spare_files() -> list[str]:
    """The test files that mark a test `spare_lane`: the first browser process collects them (read
    from the files, so a newly marked test cannot fall between the processes)."""
    return sorted(
        f"tests/{path.name}"
        for path in (ROOT / "tests").glob("test_*.py")
        if "mark.spare_lane" in path.read_text(encoding="utf-8")
    )


def lanes(argv: list[str]) -> list[tuple[str, dict, list[str]]]:
    """(title, extra environment, pytest arguments) of each process; the first prints live."""
    postgres = {"SURVEY_TEST_STORE": "postgresql"}
    if argv:
        return [("SQLite", {}, argv), ("PostgreSQL (SURVEY_TEST_STORE=postgresql)", postgres, argv)]
    spare = spare_files()
    ignored = [f"--ignore={path}" for path in (*BROWSER_FIRST, *spare)]
    return [
        ("SQLite, all but the browser tests", {}, ["-m", "not browser and not spare_lane"]),
        (
            "SQLite, browser tests (1 of 2) and the spare_lane tests",
            {},
            ["-m", "browser or spare_lane", *BROWSER_FIRST, *spare],
        ),
        ("SQLite, browser tests (2 of 2)", {}, ["-m", "browser", *ignored]),
        ("PostgreSQL, all but the browser tests", postgres, ["-m", "not browser"]),
        ("PostgreSQL, browser tests", postgres, ["-m", "browser"]),
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
