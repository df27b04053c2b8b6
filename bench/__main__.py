"""`python -m bench NAME`: run one benchmark (search, import)."""

from __future__ import annotations

import argparse
import sys

from bench import companies_bench, visits_bench

BENCHES = {
    "search": companies_bench.bench_search,
    "import": companies_bench.bench_import,
    "visits": visits_bench.bench_visits,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("name", choices=sorted(BENCHES))
    parser.add_argument("--companies", type=int, default=50_000)
    args = parser.parse_args(argv)
    BENCHES[args.name](args.companies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
