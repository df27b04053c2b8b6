"""Company files: all-or-nothing import from .xlsx/.csv keyed by the code (every bad row
reported), and export in the same columns.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlite_utils import Database

from survey import clock, reference, spreadsheets
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.companies.registry import (
    FIELD_BY_COLUMN,
    FIELDS,
    HEADERS,
    Lookups,
    bump_version,
    clean_record,
)
from survey.errors import SurveyError


class ImportRejectedError(SurveyError):
    """An import with bad rows: nothing was written; `problems` lists every bad row."""

    def __init__(self, problems: list[dict]):
        rows = len({p["行号"] for p in problems})
        super().__init__(
            f"导入未执行：{rows} 行有问题（共 {len(problems)} 处），请修改后重新导入。"
        )
        self.problems = problems


# What marks the header row of a company file (survey.sheets.read_table's `required`): a row that
# holds any of our headers or their synonyms. Only one is needed, so a file whose other columns
# are mapped by hand still finds its header below a title row.
HEADER_ROW_MARKS = (tuple(n for f in FIELDS for n in (f.header, *f.synonyms)),)


def read_file(data: bytes, filename: str) -> spreadsheets.Table:
    """A company file's table (any format survey.sheets reads), its header row found below
    title rows; pass `table.first_row` to import_companies as `first_line`."""
    return spreadsheets.read_table(data, filename, HEADER_ROW_MARKS)


def suggest_mapping(headers: list[str]) -> dict[str, str | None]:
    """column -> file header, matching our own headers exactly and common synonyms."""
    mapping: dict[str, str | None] = {}
    for field in FIELDS:
        candidates = (field.header, *field.synonyms)
        mapping[field.column] = next((h for h in candidates if h in headers), None)
    return mapping


def check_import(
    db: Database,
    headers: list[str],
    rows: list[list],
    mapping: dict[str, str | None],
    progress: Callable[[float, str], None] | None = None,
    *,
    by_name: bool = True,
    first_line: int = 2,
) -> tuple[list[dict], list[dict]]:
    """(records, problems): every bad row with its row number (as in the spreadsheet: row 1
    holds the headers, unless `first_line` says otherwise) and reason. Reference fields are
    names (a file) or, with by_name=False, codes (another system)."""
    problems: list[dict] = []
    missing = [
        FIELD_BY_COLUMN[c].header
        for c, h in mapping.items()
        if h is None and FIELD_BY_COLUMN[c].required
    ]
    if missing:
        return [], [
            {"行号": 1, "字段": "、".join(missing), "问题": "没有对应的列，请在列映射中选择"}
        ]
    position = {c: headers.index(h) for c, h in mapping.items() if h is not None}
    lookups = Lookups(db)
    records: list[dict] = []
    first_row_of: dict[str, int] = {}
    for offset, row in enumerate(rows):
        line = offset + first_line
        if progress and offset % 5000 == 0:
            progress(0.5 * offset / max(1, len(rows)), f"已校验 {offset:,} 行")
        if not any(v not in (None, "") for v in row):
            continue
        values = {c: (row[i] if i < len(row) else None) for c, i in position.items()}
        record, errors = clean_record(values, lookups, by_name=by_name)
        for header, message in errors:
            problems.append({"行号": line, "字段": header, "问题": message})
        code = record.get("uscc")
        if code:
            if code in first_row_of:
                problems.append(
                    {
                        "行号": line,
                        "字段": "统一社会信用代码",
                        "问题": f"代码 {code} 在文件中重复（第 {first_row_of[code]} 行已有）",
                    }
                )
            else:
                first_row_of[code] = line
        if not errors:
            records.append(record)
    return records, problems


def import_companies(
    db: Database,
    actor: Actor,
    headers: list[str],
    rows: list[list],
    mapping: dict[str, str | None] | None = None,
    *,
    source: str = "",
    sha256: str = "",
    progress: Callable[[float, str], None] | None = None,
    by_name: bool = True,
    first_line: int = 2,
) -> dict:
    """All or nothing: any bad row raises ImportRejectedError and nothing is written. Companies are
    keyed by their code, so importing the same file again updates them instead of duplicating."""
    require(actor, "companies.import")
    mapping = mapping or suggest_mapping(headers)
    if progress:
        progress(0.0, "校验中…")
    records, problems = check_import(
        db, headers, rows, mapping, progress, by_name=by_name, first_line=first_line
    )
    if problems:
        raise ImportRejectedError(problems)
    now = clock.now_iso()
    columns = [f.column for f in FIELDS]
    inserted = updated = unchanged = 0
    with store.transaction(db):
        existing = {
            r[0]: r[1:]
            for r in db.conn.execute(f"SELECT uscc, id, {', '.join(columns)} FROM companies")
        }
        new_rows, changes = [], []
        for record in records:
            old = existing.get(record["uscc"])
            values = [record[c] for c in columns]
            if old is None:
                new_rows.append([*values, now, now])
            elif list(old[1:]) != values:
                before = {c: v for c, v in zip(columns, old[1:], strict=True) if record[c] != v}
                changes.append((old[0], record, before))
            else:
                unchanged += 1
        chunk = 2000
        for start in range(0, len(new_rows), chunk):
            db.conn.executemany(
                f"INSERT INTO companies ({', '.join(columns)}, created_at, updated_at)"
                f" VALUES ({', '.join('?' for _ in range(len(columns) + 2))})",
                new_rows[start : start + chunk],
            )
            inserted += len(new_rows[start : start + chunk])
            if progress:
                done = inserted / max(1, len(new_rows) + len(changes))
                progress(0.5 + 0.45 * done, f"已写入 {inserted:,} 家")
        for company_id, record, before in changes:
            db.execute(
                f"UPDATE companies SET {', '.join(f'{k} = ?' for k in before)}, updated_at = ?"
                " WHERE id = ?",
                [*(record[k] for k in before), now, company_id],
            )
            audit.record(
                db,
                actor,
                "update",
                "companies",
                company_id,
                before=before,
                after={k: record[k] for k in before},
                note=f"导入 {source}",
            )
            updated += 1
        bump_version(db)
        audit.record(
            db,
            actor,
            "import",
            "companies",
            after={
                "inserted": inserted,
                "updated": updated,
                "unchanged": unchanged,
                "file": source,
                "sha256": sha256,
            },
            note=f"导入 {source}",
        )
    if progress:
        progress(1.0, "完成")
    return {"inserted": inserted, "updated": updated, "unchanged": unchanged}


def problems_report(problems: list[dict]) -> bytes:
    """The bad rows of a rejected import as an .xlsx to download (their text quoted as text)."""
    buffer = io.BytesIO()
    workbook = spreadsheets.new_workbook(buffer)
    sheet = workbook.add_worksheet("导入问题")
    rows = [["行号", "字段", "问题"], *([p["行号"], p["字段"], p["问题"]] for p in problems)]
    spreadsheets.write_rows(sheet, rows)
    workbook.close()
    return buffer.getvalue()


def export_rows(db: Database, actor: Actor) -> Iterable[list]:
    """Every company as a row of HEADERS values (names, not codes), in the order of the registry."""
    require(actor, "companies.export")
    names = {key: reference.names(db, key) for key in ("districts", "sectors", "departments")}
    columns = [f.column for f in FIELDS]
    for row in db.conn.execute(f"SELECT {', '.join(columns)} FROM companies ORDER BY id"):
        out = []
        for field, value in zip(FIELDS, row, strict=True):
            if field.ref:
                value = names[field.ref].get(value, "") if value else ""
            elif field.kind == "bool":
                value = "是" if value else "否"
            out.append(value)
        yield out


def export_xlsx(db: Database, actor: Actor, target: Path | io.BytesIO) -> int:
    """Write the registry as .xlsx in the columns the import reads back without mapping."""
    require(actor, "companies.export")  # before the workbook exists: a denial leaves nothing open
    workbook = spreadsheets.new_workbook(target)
    sheet = workbook.add_worksheet("企业名录")
    next_row = spreadsheets.write_rows(sheet, [HEADERS])
    count = spreadsheets.write_rows(sheet, export_rows(db, actor), next_row) - next_row
    workbook.close()
    with store.transaction(db):
        audit.record(
            db, actor, "other", "companies", after={"companies": count}, note="导出企业名录"
        )
    return count
