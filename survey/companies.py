"""The company registry: 统一社会信用代码 checks (python-stdnum), search that works for Chinese
(2-character substrings, typos through rapidfuzz, code prefixes), add/edit, all-or-nothing import
from .xlsx/.csv keyed by the code, and export in the same columns.
"""

from __future__ import annotations

import csv
import heapq
import io
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from python_calamine import CalamineWorkbook
from rapidfuzz import fuzz, process
from sqlite_utils import Database
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength

from survey import audit, clock, reference, spreadsheets
from survey import db as store
from survey.actor import Actor
from survey.errors import NotFoundError, SurveyError, ValidationError
from survey.permissions import company_detail_scope, company_scope, require
from survey.settings import get_setting

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
SIZES = ("大型", "中型", "小型", "微型")
YES = {"是", "1", "true", "yes", "y", "√"}
NO = {"否", "0", "false", "no", "n", ""}


@dataclass(frozen=True)
class Field:
    column: str  # companies column (reference fields hold the code)
    header: str  # the column header in our export and import files
    required: bool = False
    ref: str | None = None  # reference list whose names the file uses
    kind: str = "text"  # text | size | bool
    synonyms: tuple[str, ...] = ()


FIELDS = (
    Field("name", "企业名称", True, synonyms=("名称", "公司名称", "单位名称", "企业")),
    Field(
        "uscc", "统一社会信用代码", True, synonyms=("信用代码", "社会信用代码", "统一代码", "代码")
    ),
    Field("district_code", "所属区县", True, "districts", synonyms=("区县", "所在区县", "属地")),
    Field("park_code", "所属园区", False, "districts", synonyms=("园区", "功能区")),
    Field("sector_code", "所属行业", True, "sectors", synonyms=("行业", "产业", "所属产业")),
    Field("department_code", "挂钩部门", False, "departments", synonyms=("联系部门", "责任部门")),
    Field("address", "地址", synonyms=("企业地址", "注册地址")),
    Field("contact_name", "联系人"),
    Field("contact_phone", "联系电话", synonyms=("电话", "手机")),
    Field("size", "企业规模", kind="size", synonyms=("规模",)),
    Field("is_above_scale", "规上企业", kind="bool", synonyms=("规模以上",)),
    Field("is_specialized", "专精特新", kind="bool"),
)
FIELD_BY_COLUMN = {f.column: f for f in FIELDS}
HEADERS = [f.header for f in FIELDS]


class ImportRejectedError(SurveyError):
    """An import with bad rows: nothing was written; `problems` lists every bad row."""

    def __init__(self, problems: list[dict]):
        rows = len({p["行号"] for p in problems})
        super().__init__(
            f"导入未执行：{rows} 行有问题（共 {len(problems)} 处），请修改后重新导入。"
        )
        self.problems = problems


# ---- the code ---------------------------------------------------------------------------------


def normalize_uscc(raw: str) -> str:
    """Full-width to half-width, drop spaces and dashes, upper case."""
    text = unicodedata.normalize("NFKC", str(raw or ""))
    return "".join(ch for ch in text if not ch.isspace() and ch != "-").upper()


def validate_uscc(raw: str) -> str:
    """The normalised code, or ValidationError saying in Chinese what is wrong."""
    code = normalize_uscc(raw)
    if not code:
        raise ValidationError("请填写统一社会信用代码。", "uscc")
    try:
        return stdnum_uscc.validate(code)
    except InvalidLength:
        raise ValidationError(
            f"统一社会信用代码应为 18 位，当前为 {len(code)} 位。", "uscc"
        ) from None
    except InvalidFormat:
        bad = next(
            (
                c
                for i, c in enumerate(code)
                if (i < 8 and not c.isdigit()) or c not in USCC_ALPHABET
            ),
            "",
        )
        where = f"“{bad}”" if bad else "某些字符"
        raise ValidationError(
            f"统一社会信用代码含有不允许的字符{where}（前 8 位须为数字，不使用 I、O、Z、S、V）。",
            "uscc",
        ) from None
    except InvalidChecksum:
        expected = stdnum_uscc.calc_check_digit(code[:17])
        raise ValidationError(
            f"统一社会信用代码校验位不正确：最后一位应为“{expected}”，请核对。", "uscc"
        ) from None


# ---- cleaning one record -----------------------------------------------------------------------


class _Lookups:
    """Reference names and codes, read once per import or form."""

    def __init__(self, db: Database):
        self.names = {
            key: reference.names(db, key) for key in ("districts", "sectors", "departments")
        }
        self.active = {key: reference.options(db, key) for key in self.names}
        self.by_name = {
            key: {name: code for code, name in self.active[key].items()} for key in self.names
        }


def _clean(values: dict, lookups: _Lookups, *, by_name: bool) -> tuple[dict, list[tuple[str, str]]]:
    """A companies row from form values (codes) or file values (names); errors as (header, message)."""
    record: dict = {}
    errors: list[tuple[str, str]] = []
    for field in FIELDS:
        raw = values.get(field.column)
        text = str(raw).strip() if raw is not None else ""
        if field.required and not text:
            errors.append((field.header, f"缺少{field.header}"))
            continue
        if field.column == "uscc":
            try:
                record["uscc"] = validate_uscc(text)
            except ValidationError as exc:
                errors.append((field.header, str(exc)))
        elif field.ref:
            if not text:
                record[field.column] = None
            elif by_name:
                code = lookups.by_name[field.ref].get(text)
                if code is None:
                    errors.append(
                        (field.header, f"{field.header}“{text}”不在参考列表中（或已停用）")
                    )
                record[field.column] = code
            else:
                if text not in lookups.active[field.ref]:
                    errors.append((field.header, f"{field.header}代码“{text}”无效或已停用"))
                record[field.column] = text
        elif field.kind == "size":
            if text and text not in SIZES:
                errors.append((field.header, f"企业规模须为{'、'.join(SIZES)}之一"))
            record["size"] = text
        elif field.kind == "bool":
            low = text.lower()
            if low not in YES and low not in NO:
                errors.append((field.header, f"{field.header}须填“是”或“否”"))
            record[field.column] = int(low in YES)
        else:
            if len(text) > 200:
                errors.append((field.header, f"{field.header}过长（最多 200 字）"))
            record[field.column] = text
    if record.get("park_code") and record.get("park_code") == record.get("district_code"):
        record["park_code"] = None
    return record, errors


def _raise_first(errors: list[tuple[str, str]]) -> None:
    if errors:
        header, message = errors[0]
        column = next(f.column for f in FIELDS if f.header == header)
        raise ValidationError(message + "。", column)


# ---- registry version and search cache ----------------------------------------------------------


def _bump_version(db: Database) -> None:
    db.execute(
        "INSERT INTO settings (key, value) VALUES ('companies_version', '1') ON CONFLICT(key)"
        " DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
    )


@dataclass
class _Index:
    version: str
    ids: list[int]
    names: list[str]
    codes: list[str]


_index_cache: dict[str, _Index] = {}
_index_lock = threading.Lock()


def _search_index(db: Database) -> _Index:
    """Names and codes of every company, kept in memory until the registry changes."""
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    version = get_setting(db, "companies_version", "0")
    cached = _index_cache.get(path)
    if cached and cached.version == version:
        return cached
    rows = db.conn.execute("SELECT id, name, uscc FROM companies WHERE active = 1").fetchall()
    index = _Index(version, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    with _index_lock:
        _index_cache[path] = index
    return index


def search_companies(db: Database, actor: Actor, query: str, *, limit: int = 20) -> list[dict]:
    """Companies matching a name fragment (2 Chinese characters are enough), a code prefix, or a
    name with a typo; best matches first, each with `match` saying how it matched."""
    require(actor, "companies.read")
    q = unicodedata.normalize("NFKC", query or "").strip()
    if not q:
        return []
    index = _search_index(db)
    ranked: dict[int, tuple[int, str]] = {}  # position -> (rank, how)
    code_q = normalize_uscc(q)
    if code_q.isalnum() and code_q.isascii():
        for i, code in enumerate(index.codes):
            if code.startswith(code_q):
                ranked[i] = (0 if code == code_q else 1, "代码")
    for i, name in enumerate(index.names):
        if q in name and i not in ranked:
            ranked[i] = (2 if name.startswith(q) else 3, "名称")
    if len(ranked) < limit and len(q) >= 2 and not q.isascii():
        for _name, score, i in process.extract(
            q, index.names, scorer=fuzz.partial_ratio, limit=limit, score_cutoff=60
        ):
            ranked.setdefault(i, (4, f"相近（{score:.0f}）"))
    if not ranked:
        return []
    where, params = company_scope(actor)
    if where != "1 = 1":  # a scoped role: keep only companies it may see
        visible = {
            r[0] for r in db.conn.execute(f"SELECT c.id FROM companies c WHERE {where}", params)
        }
        ranked = {i: v for i, v in ranked.items() if index.ids[i] in visible}
    best = heapq.nsmallest(
        limit, ranked, key=lambda i: (ranked[i][0], len(index.names[i]), index.names[i])
    )
    ids = [index.ids[i] for i in best]
    found = {
        row["id"]: row
        for row in store.query(
            db,
            "SELECT c.id, c.name, c.uscc, c.district_code, d.name AS district, c.sector_code,"
            " s.name AS sector, c.department_code, dep.name AS department FROM companies c"
            " JOIN districts d ON d.code = c.district_code JOIN sectors s ON s.code = c.sector_code"
            " LEFT JOIN departments dep ON dep.code = c.department_code"
            f" WHERE c.id IN ({', '.join('?' for _ in ids)})",
            ids,
        )
    }
    return [found[index.ids[i]] | {"match": ranked[i][1]} for i in best]


# ---- read, create, edit ----------------------------------------------------------------------------


# What every role that may name a company reads of it; the rest only within company_detail_scope.
PUBLIC_COLUMNS = ("id", "name", "uscc", "district_code", "park_code", "sector_code", "active")


def get_company(db: Database, actor: Actor, company_id: int) -> dict:
    """One company; `limited` is True when the actor reads only PUBLIC_COLUMNS of it (the other
    columns are None), as a monitor does for companies not on their own submissions."""
    where, params = company_scope(actor)
    rows = store.query(
        db, f"SELECT c.* FROM companies c WHERE c.id = ? AND {where}", [company_id, *params]
    )
    if not rows:
        raise NotFoundError(f"没有编号为 {company_id} 的企业，或您无权查看。")
    detail, detail_params = company_detail_scope(actor)
    if detail == where or store.scalar(
        db, f"SELECT 1 FROM companies c WHERE c.id = ? AND {detail}", [company_id, *detail_params]
    ):
        return rows[0] | {"limited": False}
    return {k: (v if k in PUBLIC_COLUMNS else None) for k, v in rows[0].items()} | {"limited": True}


def count_companies(db: Database) -> int:
    return store.scalar(db, "SELECT count(*) FROM companies WHERE active = 1")


def create_company(db: Database, actor: Actor, values: dict) -> int:
    """Add a company from form values (reference fields as codes); returns its id."""
    require(actor, "companies.create")
    record, errors = _clean(values, _Lookups(db), by_name=False)
    _raise_first(errors)
    now = clock.now_iso()
    with store.transaction(db):
        existing = store.scalar(db, "SELECT name FROM companies WHERE uscc = ?", (record["uscc"],))
        if existing:
            raise ValidationError(
                f"统一社会信用代码 {record['uscc']} 已登记为“{existing}”。", "uscc"
            )
        columns = [*record, "created_at", "updated_at"]
        cursor = db.execute(
            f"INSERT INTO companies ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
            [*record.values(), now, now],
        )
        _bump_version(db)
        audit.record(db, actor, "insert", "companies", cursor.lastrowid, after=record)
    return cursor.lastrowid


def update_company(db: Database, actor: Actor, company_id: int, values: dict) -> None:
    """Edit a company; the audit row keeps the changed fields before and after."""
    require(actor, "companies.edit")
    record, errors = _clean(values, _Lookups(db), by_name=False)
    _raise_first(errors)
    with store.transaction(db):
        before = get_company(db, actor, company_id)
        clash = store.scalar(
            db,
            "SELECT name FROM companies WHERE uscc = ? AND id != ?",
            (record["uscc"], company_id),
        )
        if clash:
            raise ValidationError(f"统一社会信用代码 {record['uscc']} 已登记为“{clash}”。", "uscc")
        changed = {k: v for k, v in record.items() if before.get(k) != v}
        if not changed:
            return
        db.execute(
            f"UPDATE companies SET {', '.join(f'{k} = ?' for k in changed)}, updated_at = ?"
            " WHERE id = ?",
            [*changed.values(), clock.now_iso(), company_id],
        )
        _bump_version(db)
        audit.record(
            db, actor, "update", "companies", company_id,
            before={k: before[k] for k in changed}, after=changed,
        )  # fmt: skip


# ---- files ---------------------------------------------------------------------------------------


def _cell(value):
    """Spreadsheet cells as the text a person typed: 123.0 -> "123", empty -> None."""
    if value == "" or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def read_table(data: bytes, filename: str) -> tuple[list[str], list[list]]:
    """Headers and rows of the first sheet of an .xlsx, or of a .csv (UTF-8 or GBK)."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        spreadsheets.check_xlsx(data, filename)  # before calamine allocates the declared size
        try:  # calamine reads a 50,000-row sheet several times faster than openpyxl
            workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
            rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same message
            raise ValidationError(f"无法读取 Excel 文件“{filename}”：{exc}", "file") from None
        rows = [[_cell(v) for v in r] for r in rows]
    elif name.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValidationError("CSV 文件编码无法识别，请另存为 UTF-8。", "file")
        rows = list(csv.reader(io.StringIO(text)))
        spreadsheets.check_table(rows, filename)
    else:
        raise ValidationError("只支持 .xlsx 或 .csv 文件。", "file")
    while rows and not any(v not in (None, "") for v in rows[-1]):
        rows.pop()
    if not rows:
        raise ValidationError("文件是空的。", "file")
    headers = [str(h).strip() if h is not None else "" for h in rows[0]]
    return headers, rows[1:]


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
) -> tuple[list[dict], list[dict]]:
    """(records, problems): every bad row with its row number (as in the spreadsheet) and reason."""
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
    lookups = _Lookups(db)
    records: list[dict] = []
    first_row_of: dict[str, int] = {}
    for offset, row in enumerate(rows):
        line = offset + 2  # row 1 holds the headers
        if progress and offset % 5000 == 0:
            progress(0.5 * offset / max(1, len(rows)), f"已校验 {offset:,} 行")
        if not any(v not in (None, "") for v in row):
            continue
        values = {c: (row[i] if i < len(row) else None) for c, i in position.items()}
        record, errors = _clean(values, lookups, by_name=True)
        for header, message in errors:
            problems.append({"行号": line, "字段": header, "问题": message})
        code = record.get("uscc")
        if code:
            if code in first_row_of:
                problems.append(
                    {"行号": line, "字段": "统一社会信用代码",
                     "问题": f"代码 {code} 在文件中重复（第 {first_row_of[code]} 行已有）"}
                )  # fmt: skip
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
) -> dict:
    """All or nothing: any bad row raises ImportRejectedError and nothing is written. Companies are
    keyed by their code, so importing the same file again updates them instead of duplicating."""
    require(actor, "companies.import")
    mapping = mapping or suggest_mapping(headers)
    if progress:
        progress(0.0, "校验中…")
    records, problems = check_import(db, headers, rows, mapping, progress)
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
                db, actor, "update", "companies", company_id, before=before,
                after={k: record[k] for k in before}, note=f"导入 {source}",
            )  # fmt: skip
            updated += 1
        _bump_version(db)
        audit.record(
            db, actor, "import", "companies",
            after={"inserted": inserted, "updated": updated, "unchanged": unchanged,
                   "file": source, "sha256": sha256},
            note=f"导入 {source}",
        )  # fmt: skip
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
