"""Layer rules: survey/ never imports streamlit; pages hold no SQL and stay thin."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys

import survey
from tests.helpers import ROOT


def test_survey_imports_without_streamlit():
    modules = [
        f"survey.{m.name}" for m in pkgutil.iter_modules(survey.__path__) if m.name != "__main__"
    ]
    code = (
        "import sys, importlib\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "import seeds\n"
        "bad = [m for m in sys.modules if m == 'streamlit' or m.startswith('streamlit.')]\n"
        "print(len(bad)); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(modules) >= 10


def test_pages_hold_no_sql_and_stay_thin():
    for page in (ROOT / "pages").glob("*.py"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(
            r"\.execute\(|\bSELECT\b|\bINSERT\b|\bUPDATE\b|\bDELETE FROM\b", text
        ), page
        assert len(text.splitlines()) <= 200, page


def test_the_api_is_an_adapter_beside_the_pages():
    """api/ sits beside pages/: it calls survey/ and holds no SQL, no Streamlit and nothing of ui/;
    ui/ keeps only the Streamlit pieces (ui/server.py mounts the API, nothing more)."""
    assert not (ROOT / "ui" / "api").exists()
    files = sorted((ROOT / "api").glob("*.py"))
    assert {p.name for p in files} >= {"__init__.py", "app.py", "models.py"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\.execute\(|\bSELECT\b|\bINSERT\b|\bDELETE FROM\b", text), path
        assert not re.search(r"^\s*(import|from) (streamlit|ui|pages)\b", text, re.M), path


def test_no_user_text_as_html():
    for folder in ("pages", "ui"):
        for path in (ROOT / folder).glob("*.py"):
            assert "unsafe_allow_html=True" not in path.read_text(encoding="utf-8"), path


def test_ruff_check_and_format_are_clean():
    ruff = [sys.executable, "-m", "ruff"]
    check = subprocess.run([*ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run(
        [*ruff, "format", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout


def test_no_test_module_imports_another():
    """Shared helpers live in tests/helpers.py (and tests/browser.py for the browser); a test module
    imported by another would run its tests twice and couple unrelated files."""
    pattern = re.compile(r"^\s*(?:from|import)\s+tests\.(test_\w+|conftest)\b", re.MULTILINE)
    offenders = {
        path.name: pattern.findall(path.read_text(encoding="utf-8"))
        for path in (ROOT / "tests").glob("*.py")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_time_comes_from_the_zhenjiang_clock():
    """date.today() and datetime.now() are the machine's zone (UTC on a server): every day and time
    comes from survey.clock, in UTC+8, in code and tests alike."""
    pattern = re.compile(r"\b(?:date\.today|datetime\.now|datetime\.today)\(\)")
    found = []
    for folder in ("pages", "ui", "survey", "seeds", "bench", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "clock.py" or path == ROOT / "tests" / "test_layers.py":
                continue
            found += [f"{path.relative_to(ROOT)}" for _ in pattern.findall(path.read_text("utf-8"))]
    assert found == []


def survey_import_cycles(root=ROOT) -> list[list[str]]:
    """Cycles among survey/ modules, counting imports inside functions too (a lazy import hides a
    cycle from Python, not from a reader)."""
    import ast

    modules = {}
    for path in (root / "survey").rglob("*.py"):
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            graph[name] |= {t for t in targets if t in modules and t != name}
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_no_import_cycles_in_survey():
    assert survey_import_cycles() == []


def test_only_the_store_knows_postgresql():
    """survey/db.py opens every connection: psycopg and sqlglot are used by the survey/postgres
    package alone, and that package is imported by survey/db.py alone (a SQLite user needs neither)."""
    found = []
    package = ROOT / "survey" / "postgres"
    for folder in ("pages", "ui", "survey", "seeds", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text("utf-8")
            if package in path.parents:
                continue
            if re.search(r"^\s*(import|from) (psycopg|sqlglot)\b", text, re.M):
                found.append(f"{path.relative_to(ROOT)} imports the driver")
            if path.name != "db.py" and re.search(
                r"^\s*(from survey import postgres|from survey\.postgres\b|import survey\.postgres)",
                text,
                re.M,
            ):
                found.append(f"{path.relative_to(ROOT)} imports survey.postgres")
    assert found == []
