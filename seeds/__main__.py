"""Command line for the demo generator."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from seeds.generator import SeedError, generate
from survey import db as store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m seeds", description="生成镇江演示数据（确定性）"
    )
    parser.add_argument(
        "--db",
        help="数据库文件或 postgresql:// 连接串（PostgreSQL 用 COPY 写入；默认 $SURVEY_DB 或 data/survey.db）",
    )
    parser.add_argument("--seed", type=int, default=2025, help="随机种子（默认 2025）")
    parser.add_argument("--companies", type=int, default=2000, help="企业数（默认 2000）")
    parser.add_argument("--problems", type=int, default=5000, help="问题数（默认 5000）")
    parser.add_argument("--today", type=date.fromisoformat, help="以此日期为“今天”（YYYY-MM-DD）")
    args = parser.parse_args(argv)
    if args.companies < 1 or args.problems < 0:
        print("错误：企业数须 ≥ 1，问题数须 ≥ 0。", file=sys.stderr)
        return 2
    started = time.perf_counter()

    def progress(fraction: float, text: str) -> None:
        print(f"\r{fraction:6.1%} {text}", end="", file=sys.stderr, flush=True)

    try:
        stats = generate(
            args.db,
            seed=args.seed,
            companies=args.companies,
            problems=args.problems,
            today=args.today,
            progress=progress,
        )
    except SeedError as exc:
        print(f"\n错误：{exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    if store.is_url(store.target(args.db)):  # PostgreSQL: loaded by COPY; the database's size
        with store.opened(args.db) as db:
            size_mb = store.scalar(db, "SELECT pg_database_size(current_database())") / 1e6
        where, what = store.shown(args.db), "数据库"
    else:
        where = store.db_path(args.db)
        size_mb, what = where.stat().st_size / 1e6, "文件"
    print(file=sys.stderr)
    print(f"已生成演示数据 {where}：" + "，".join(f"{k} {v:,}" for k, v in stats.items()))
    print(f"用时 {elapsed:.1f} 秒，{what} {size_mb:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
