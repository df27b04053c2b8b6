"""Company search on 50,000 companies and the 50,000-row import, against naive baselines."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from rapidfuzz import fuzz, process

import seeds
from survey import bootstrap, spreadsheets
from survey import db as store
from survey.access.actor import SYSTEM
from survey.companies import registry, transfer


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - start) * 1000


def _naive_search(db, query: str, limit: int = 20) -> list[int]:
    """What one would write first: load the registry on every query, then match."""
    rows = db.conn.execute("SELECT id, name, uscc FROM companies").fetchall()
    hits = [r[0] for r in rows if query in r[1] or r[2].startswith(query.upper())]
    if len(hits) < limit:
        names = [r[1] for r in rows]
        hits += [
            rows[i][0]
            for _n, _s, i in process.extract(
                query, names, scorer=fuzz.partial_ratio, limit=limit, score_cutoff=60
            )
        ]
    return hits[:limit]


def _queries(db, n: int, rng: random.Random) -> list[str]:
    names = [
        r[0] for r in db.conn.execute("SELECT name FROM companies ORDER BY random() LIMIT 200")
    ]
    codes = [r[0] for r in db.conn.execute("SELECT uscc FROM companies LIMIT 50")]
    fixed = ["恒顺", "恒顺醋叶", "电气", "丹阳", "眼镜", "新材料", "913211", codes[0][:12]]
    picks = []
    for _ in range(n - len(fixed)):
        name = rng.choice(names)
        start = rng.randint(2, max(2, len(name) - 4))
        picks.append(name[start : start + rng.choice([2, 3, 4])])
    return fixed + picks


def bench_search(n_companies: int) -> None:
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        seeds.generate(path, companies=n_companies, problems=0, seed=11)
        with store.opened(path) as db:
            queries = _queries(db, 60, rng)
            _, cold = _timed(registry.search_companies, db, SYSTEM, queries[0])
            ours = [_timed(registry.search_companies, db, SYSTEM, q)[1] for q in queries]
            naive = [_timed(_naive_search, db, q)[1] for q in queries]
            typo = registry.search_companies(db, SYSTEM, "恒顺醋叶")[0]["name"]
    p95 = sorted(ours)[int(len(ours) * 0.95) - 1]
    print(
        f"company search on {n_companies:,} companies, {len(queries)} queries (2-4 character fragments, a typo, code prefixes)"
    )
    print(
        f"  ours:  median {statistics.median(ours):.1f} ms, p95 {p95:.1f} ms, max {max(ours):.1f} ms (first query, building the index: {cold:.1f} ms)"
    )
    print(
        f"  naive: median {statistics.median(naive):.1f} ms (load every company per query, then match)"
    )
    print(f"  ratio naive/ours (median): {statistics.median(naive) / statistics.median(ours):.1f}x")
    print(f"  typo check: 恒顺醋叶 -> {typo}")


def bench_import(n_companies: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.db"
        seeds.generate(source, companies=n_companies, problems=0, seed=12)
        xlsx = Path(tmp) / "registry.xlsx"
        with store.opened(source) as db:
            transfer.export_xlsx(db, SYSTEM, xlsx)
        target = Path(tmp) / "target.db"
        bootstrap.init_db(target)
        start = time.perf_counter()
        headers, rows = spreadsheets.read_table(xlsx.read_bytes(), xlsx.name)
        read_s = time.perf_counter() - start
        steps = []
        with store.opened(target) as db:
            result, ms = _timed(
                transfer.import_companies,
                db,
                SYSTEM,
                headers,
                rows,
                progress=lambda f, t: steps.append(f),
            )
            again, again_ms = _timed(transfer.import_companies, db, SYSTEM, headers, rows)
        baseline_rows = rows[:2000]
        naive = Path(tmp) / "naive.db"
        bootstrap.init_db(naive)
        mapping = transfer.suggest_mapping(headers)
        position = {c: headers.index(h) for c, h in mapping.items() if h}
        with store.opened(naive) as db:
            lookups = {
                key: {v: k for k, v in d.items()}
                for key, d in (
                    ("districts", dict(db.conn.execute("SELECT code, name FROM districts"))),
                    ("sectors", dict(db.conn.execute("SELECT code, name FROM sectors"))),
                    ("departments", dict(db.conn.execute("SELECT code, name FROM departments"))),
                )
            }
            refs = {f.column: f.ref for f in registry.FIELDS}
            start = time.perf_counter()
            for row in baseline_rows:
                values = {c: row[i] for c, i in position.items()}
                for column, ref in refs.items():
                    if ref and values.get(column):
                        values[column] = lookups[ref][values[column]]
                registry.create_company(db, SYSTEM, values)  # one transaction per row
            naive_per_row = (time.perf_counter() - start) / len(baseline_rows)
    per_row = ms / 1000 / len(rows)
    print(f"import of a {len(rows):,}-row .xlsx (our export format, no mapping needed)")
    print(
        f"  read {read_s:.1f} s; validate + write {ms / 1000:.1f} s: {result}; {len(steps)} progress updates"
    )
    print(f"  importing the same file again: {again_ms / 1000:.1f} s: {again}")
    print(
        f"  naive (create_company row by row, one transaction each, {len(baseline_rows):,} rows): {naive_per_row * 1000:.2f} ms/row vs ours {per_row * 1000:.3f} ms/row"
    )
    print(f"  ratio naive/ours: {naive_per_row / per_row:.1f}x")
