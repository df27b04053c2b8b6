"""`python -m survey`: database set-up, the first admin, backup/restore and health checks.

Errors are one Chinese line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import sqlite3
import sys
import time
from pathlib import Path

from survey import bootstrap, clock, maintenance, questionnaires
from survey import db as store
from survey.access.actor import SYSTEM
from survey.access.users import create_user
from survey.companies import transfer
from survey.errors import SurveyError
from survey.labels import ROLE_LABELS
from survey.notify import outbox
from survey.problems import register
from survey.reports import cubes
from survey.storecopy import StoreCopyError, migrate_store
from survey.xlsform.choice_files import file_of
from survey.xlsform.loader import FormLoadError, load_xlsform


class CliError(Exception):
    """A failure to report in one line (exit code 2)."""


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="数据库文件或 PostgreSQL 连接串（默认 $SURVEY_DB 或 data/survey.db）",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m survey", description="镇合意·惠企走访 管理命令"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init-db", help="创建或升级数据库，首次运行时载入参考列表")
    _add_db(p)

    p = sub.add_parser("create-user", help="创建用户（第一个管理员就用它创建）")
    _add_db(p)
    p.add_argument("username", help="登录名，3–32 位字母数字")
    p.add_argument("--name", required=True, help="姓名")
    p.add_argument(
        "--role",
        action="append",
        required=True,
        choices=list(ROLE_LABELS),
        help="角色，可重复：" + "，".join(f"{k}={v}" for k, v in ROLE_LABELS.items()),
    )
    p.add_argument("--department", help="所属部门代码（责任部门用户必填）")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="从标准输入读取密码（脚本用），否则交互输入两次",
    )
    p.add_argument("--must-change", action="store_true", help="首次登录须修改密码")

    p = sub.add_parser("backup", help="在线备份到 PATH（应用写入时也一致）")
    _add_db(p)
    p.add_argument(
        "path",
        help="备份文件路径（不得已存在）；或一个目录：在其中写 survey-时间.db（PostgreSQL 为 .dump）",
    )
    p.add_argument("--keep", type=int, help="PATH 为目录时只保留最新的 N 份备份（定时备份用）")

    p = sub.add_parser("restore", help="用备份文件覆盖数据库（先自动留存当前库）")
    _add_db(p)
    p.add_argument("path", help="备份文件路径")
    p.add_argument("--yes", action="store_true", help="不再询问确认")

    p = sub.add_parser(
        "migrate-store", help="把 SQLite 数据库整库复制到一个空的 PostgreSQL 库（中断后可续）"
    )
    p.add_argument("--from", dest="source", required=True, help="SQLite 数据库文件")
    p.add_argument("--to", dest="target", required=True, help="postgresql://用户@主机:端口/库名")

    p = sub.add_parser(
        "import-companies", help="从 .xlsx/.csv 导入企业名录（全部成功或全部不导入）"
    )
    _add_db(p)
    p.add_argument("file", help="企业名录文件；列名与导出文件相同即可免映射")
    p.add_argument("--report", help="有问题时把问题清单另存为此 .xlsx")

    p = sub.add_parser("export-companies", help="导出企业名录为 .xlsx")
    _add_db(p)
    p.add_argument("file", help="目标 .xlsx 文件")

    p = sub.add_parser("load-form", help="检查一个 XLSForm 问卷文件并打印摘要（不写入数据库）")
    p.add_argument("file", help="XLSForm .xlsx 文件")

    p = sub.add_parser("check", help="完整性检查、外键检查和迁移版本")
    _add_db(p)

    p = sub.add_parser(
        "notify", help="发送时限提醒（预警、逾期）和每日待办；默认每隔一段时间运行一次"
    )
    p.add_argument("--once", action="store_true", help="只运行一次（适合 cron 或 systemd 定时器）")
    p.add_argument("--interval", type=float, default=300, help="两次运行之间的秒数（默认 300）")
    p.add_argument(
        "--limit", type=int, default=500, help="每次运行最多发送的外发消息数（默认 500）"
    )
    _add_db(p)
    return parser


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise CliError("标准输入没有密码。")
        return line.rstrip("\n")
    first = getpass.getpass("密码：")
    second = getpass.getpass("再输入一次：")
    if first != second:
        raise CliError("两次输入的密码不一致。")
    return first


def cmd_init_db(args) -> int:
    result = bootstrap.init_db(args.db)
    applied = "、".join(result["applied"]) or "无（已是最新）"
    print(f"数据库 {result['path']} 就绪；本次迁移：{applied}")
    for key, n in result["loaded"].items():
        print(f"  载入参考列表 {key}：{n} 条")
    for form_id in result["forms"]:
        print(f"  安装并发布内置问卷 {form_id}")
    return 0


def cmd_create_user(args) -> int:
    bootstrap.init_db(args.db)
    password = _read_password(args.password_stdin)
    with store.opened(args.db) as db:
        user_id = create_user(
            db,
            SYSTEM,
            username=args.username,
            display_name=args.name,
            password=password,
            roles=args.role,
            department_code=args.department,
            must_change_password=args.must_change,
        )
    roles = "、".join(ROLE_LABELS[r] for r in args.role)
    print(f"已创建用户 {args.username}（编号 {user_id}，角色：{roles}）")
    return 0


def cmd_backup(args) -> int:
    if Path(args.path).is_dir():
        result = maintenance.backup_into(args.db, args.path, keep=args.keep)
    elif args.keep is not None:
        raise CliError("--keep 只用于备份到目录。")
    else:
        result = maintenance.backup(args.db, args.path)
    print(f"已备份到 {result['path']}（{result['bytes'] / 1e6:.1f} MB，完整性检查通过）")
    for old in result.get("removed", []):
        print(f"按保留份数删除旧备份 {old}")
    return 0


def cmd_restore(args) -> int:
    source = Path(args.path)
    target = store.shown(args.db)
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("恢复会覆盖当前数据库；非交互运行时请加 --yes。")
        answer = input(f"将用 {source} 覆盖 {target}，当前库会先另存。输入 yes 确认：")
        if answer.strip().lower() != "yes":
            print("已取消。")
            return 1
    result = maintenance.restore(args.path, args.db)
    print(f"已从 {source} 恢复到 {target}；恢复前的数据库已另存为 {result['saved_copy']}")
    return 0


def cmd_migrate_store(args) -> int:
    def said(table: str, rows: int) -> None:
        print(f"已复制 {table}：{rows:,} 行", flush=True)

    result = migrate_store(args.source, args.target, progress=said)
    total = sum(result["tables"].values())
    print(
        f"完成：{len(result['tables'])} 张表、{total:,} 行，用时 {result['seconds']} 秒；"
        "各表行数与汇总表均已核对一致。"
    )
    return 0


def _updated_at_findings(behind: list[int]) -> list[str]:
    if not behind:
        return []
    shown = "、".join(f"#{i}" for i in behind[:20]) + ("等" if len(behind) > 20 else "")
    return [
        f"问题表：{len(behind)} 个问题的更新时间（updated_at）早于其最后一次办理记录或办结、答复等"
        f"时间，按更新时间同步的系统会漏掉这些变更：{shown}"
    ]


def cmd_check(args) -> int:
    path = store.target(args.db)
    if not store.exists(path):
        raise CliError(f"数据库 {path} 不存在或无法连接。")
    applied, pending = bootstrap.migration_status(args.db)
    late = 0
    with store.opened(args.db) as db:
        problems = store.integrity_problems(db)
        if not problems and not pending:
            problems = cubes.mismatches(db)  # the dashboards' summary tables against a recount
            problems += _updated_at_findings(register.updated_at_behind(db))
            late = outbox.stuck(db)
    print(f"数据库：{path}")
    print(
        f"迁移：已应用 {len(applied)} 个，待应用 {len(pending)} 个"
        + (f"（{', '.join(pending)}）" if pending else "")
    )
    if problems:
        print("完整性检查发现问题：")
        for line in problems[:50]:
            print(f"  {line}")
        return 1
    checked = (
        "外键由 PostgreSQL 在每次写入时检查"
        if store.is_url(path)
        else "integrity_check：ok；foreign_key_check：ok"
    )
    print(f"{checked}；看板汇总表与问题表一致；问题的更新时间不早于其办理记录")
    if late:
        print(f"通知：{late} 条外发消息超过 1 小时仍未发出（通知记录页可查看原因）")
        return 1
    return 1 if pending else 0


def cmd_import_companies(args) -> int:
    path = Path(args.file)
    if not path.exists():
        raise CliError(f"文件 {path} 不存在。")
    bootstrap.init_db(args.db)
    data = path.read_bytes()
    table = transfer.read_file(data, path.name)
    with store.opened(args.db) as db:
        try:
            result = transfer.import_companies(
                db,
                SYSTEM,
                table.headers,
                table.rows,
                source=path.name,
                sha256=hashlib.sha256(data).hexdigest(),
                first_line=table.first_row,
            )
        except transfer.ImportRejectedError as exc:
            print(f"错误：{exc}", file=sys.stderr)
            for p in exc.problems:
                print(f"  第 {p['行号']} 行 [{p['字段']}] {p['问题']}", file=sys.stderr)
            if args.report:
                Path(args.report).write_bytes(transfer.problems_report(exc.problems))
                print(f"问题清单已保存到 {args.report}", file=sys.stderr)
            return 1
    print(
        f"已导入 {path.name}：新增 {result['inserted']:,} 家，更新 {result['updated']:,} 家，"
        f"未变 {result['unchanged']:,} 家"
    )
    return 0


def cmd_export_companies(args) -> int:
    with store.opened(args.db) as db:
        count = transfer.export_xlsx(db, SYSTEM, Path(args.file))
    print(f"已导出 {count:,} 家企业到 {args.file}")
    return 0


def cmd_load_form(args) -> int:
    path = Path(args.file)
    if not path.exists():
        raise CliError(f"文件 {path} 不存在。")
    try:
        form = load_xlsform(path.read_bytes(), path.name, questionnaires.media_files(path))
    except FormLoadError as exc:
        print(f"错误：{path.name} 有 {len(exc.problems)} 处问题，无法使用：", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    print(f"问卷 {form.form_id}「{form.title}」版本 {form.version}")
    print(
        "语言：" + ("、".join(form.languages) or "（未标注）") + f"；默认 {form.default_language}"
    )
    print("题型：" + "，".join(f"{t} {n}" for t, n in sorted(form.counts_by_type().items())))
    print(f"选项列表：{len(form.choices)} 个")
    for name in form.files:
        rows = max(len(v) for k, v in form.choices.items() if file_of(k) == name)
        print(f"选项文件：{name}（{rows:,} 项）")
    for warning in form.warnings:
        print(f"提示：{warning}")
    return 0


def cmd_notify(args) -> int:
    """The reminder scan and the daily digest; each run sends only what is new (a reminder goes
    once per deadline, a digest once per working day from its time)."""
    from survey.notify import digest, reminders
    from survey.notify.worker import deliver

    if not store.exists(args.db):
        raise CliError(f"数据库 {store.target(args.db)} 不存在，请先运行 init-db。")
    while True:
        with store.opened(args.db) as db:
            sent = reminders.scan(db)
            digests = digest.send_digests(db)
            mailed = deliver(db, max(1, args.limit))
        print(
            f"{clock.now_iso()} 预警 {sent['warning']} 条，逾期 {sent['overdue']} 条，"
            f"每日待办 {digests} 条；外发 已发 {mailed['sent']}，待重试 {mailed['pending']}，"
            f"搁置 {mailed['parked']}，暂缓 {mailed['held']}",
            flush=True,
        )
        if args.once:
            return 0
        time.sleep(max(1.0, args.interval))


COMMANDS = {
    "load-form": cmd_load_form,
    "import-companies": cmd_import_companies,
    "export-companies": cmd_export_companies,
    "init-db": cmd_init_db,
    "create-user": cmd_create_user,
    "backup": cmd_backup,
    "restore": cmd_restore,
    "check": cmd_check,
    "notify": cmd_notify,
    "migrate-store": cmd_migrate_store,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (CliError, SurveyError, maintenance.MaintenanceError, StoreCopyError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
    except sqlite3.DatabaseError as exc:
        print(f"错误：数据库操作失败（{exc}）。", file=sys.stderr)
    except OSError as exc:
        print(
            f"错误：文件操作失败（{exc.strerror or exc}：{exc.filename or ''}）。", file=sys.stderr
        )
    except KeyboardInterrupt:
        print("\n已中断。", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's promise: one line, never a traceback
        print(f"错误：意外错误 {type(exc).__name__}：{exc}（{clock.now_iso()}）", file=sys.stderr)
        return 1
    return 2
