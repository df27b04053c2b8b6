"""`python -m bench NAME`: run one benchmark (search, import, visits, dashboard,
dashboard-browser, concurrency, notify, api, plans, postgres, files, company-view)."""

from __future__ import annotations

import argparse
import sys

from bench import (
    api_bench,
    companies_bench,
    company_view_bench,
    concurrency_bench,
    dashboard_bench,
    dashboard_browser_bench,
    files_bench,
    notify_bench,
    plans_bench,
    postgres_bench,
    visits_bench,
)

BENCHES = {
    "search": companies_bench.bench_search,
    "import": companies_bench.bench_import,
    "visits": visits_bench.bench_visits,
    "dashboard": None,  # takes a database instead of a company count
    "dashboard-browser": None,  # a database and an optional baseline checkout
    "concurrency": None,  # takes a duration
    "notify": None,  # the scan reads --db or the dashboard's database
    "api": None,  # reads --db or the dashboard's database
    "plans": None,  # builds its own ten years
    "postgres": None,  # both stores: migrate-store, the dashboard, 8 writers
    "files": files_bench.bench_files,
    "company-view": None,  # builds its own databases: 10,000 events' links, a 500-problem page
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("name", choices=sorted(BENCHES))
    parser.add_argument("--companies", type=int, default=50_000)
    parser.add_argument("--problems", type=int, default=1_000_000, help="dashboard: demo size")
    parser.add_argument(
        "--db",
        help="dashboard: an existing database to read (postgres: a seeded postgresql:// one)",
    )
    parser.add_argument(
        "--pg",
        help="postgres: a server's URL (its databases are created here), else a throwaway one",
    )
    parser.add_argument(
        "--copy",
        action="store_true",
        help="postgres: seed --problems straight into PostgreSQL by COPY, time its dashboard there",
    )
    parser.add_argument("--seconds", type=float, default=180, help="concurrency: how long to run")
    parser.add_argument(
        "--baseline", help="dashboard-browser: a checkout of older code to run beside ours"
    )
    parser.add_argument("--rounds", type=int, default=3, help="dashboard-browser: rounds")
    parser.add_argument("--checkout", help="dashboard-browser: run this checkout's code as ours")
    parser.add_argument(
        "--baseline-db",
        help="dashboard-browser: the baseline's own copy of the database (without our migrations)",
    )
    args = parser.parse_args(argv)
    if args.name == "dashboard":
        dashboard_bench.bench_dashboard(args.problems, args.db)
    elif args.name == "dashboard-browser":
        dashboard_browser_bench.bench_dashboard_browser(
            args.problems, args.db, args.baseline, args.rounds, args.checkout, args.baseline_db
        )
    elif args.name == "notify":
        notify_bench.bench_moves()
        notify_bench.bench_mail()
        notify_bench.bench_lane()
        notify_bench.bench_scan(args.db)
    elif args.name == "company-view":
        company_view_bench.bench_company_view()
    elif args.name == "plans":
        plans_bench.bench_plans()
        plans_bench.bench_cases()
    elif args.name == "api":
        api_bench.bench_api(args.problems, args.db)
    elif args.name == "postgres" and args.copy:
        postgres_bench.bench_postgres_copy(args.problems, args.pg)
    elif args.name == "postgres" and (args.db or "").startswith("postgresql://"):
        postgres_bench.bench_statements(args.db)
    elif args.name == "postgres":
        postgres_bench.bench_postgres(args.problems, args.db, args.pg)
    elif args.name == "concurrency":
        concurrency_bench.bench_concurrency(args.seconds)
    else:
        BENCHES[args.name](args.companies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
