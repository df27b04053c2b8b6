"""The company registry: its fields, cleaning one record against the reference lists, search that
works for Chinese (2-character substrings, typos through rapidfuzz, code prefixes), and reading,
adding and editing companies within the actor's scope.
"""

from __future__ import annotations

import heapq
import threading
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlite_utils import Database

from survey import clock, reference, repeats
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import company_detail_scope, company_scope, require
from survey.access.settings import get_setting
from survey.companies.codes import normalize_uscc, validate_uscc
from survey.errors import NotFoundError, ValidationError
from survey.names import one_line

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


# ---- cleaning one record -----------------------------------------------------------------------


class Lookups:
    """Reference names and codes, read once per import or form."""

    def __init__(self, db: Database):
        self.names = {
            key: reference.names(db, key) for key in ("districts", "sectors", "departments")
        }
        self.active = {key: reference.options(db, key) for key in self.names}
        self.by_name = {
            key: {name: code for code, name in self.active[key].items()} for key in self.names
        }


def clean_record(
    values: dict, lookups: Lookups, *, by_name: bool
) -> tuple[dict, list[tuple[str, str]]]:
    """A companies row from form values (codes) or file values (names); errors as (header, message)."""
    record: dict = {}
    errors: list[tuple[str, str]] = []
    for field in FIELDS:
        text = one_line(values.get(field.column))  # every registry field is one line
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


def bump_version(db: Database) -> None:
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
    path = store.identity(db)
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


def create_company(
    db: Database, actor: Actor, values: dict, *, request_id: str | None = None
) -> int:
    """Add a company from form values (reference fields as codes); returns its id. A repeat of
    `request_id` (survey.repeats: a second tap) returns the first one's id."""
    require(actor, "companies.create")
    record, errors = clean_record(values, Lookups(db), by_name=False)
    _raise_first(errors)
    now = clock.now_iso()
    with store.transaction(db):
        if repeat := repeats.first(db, actor, request_id, "create_company"):
            return repeat.result
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
        bump_version(db)
        audit.record(db, actor, "insert", "companies", cursor.lastrowid, after=record)
        repeats.record(db, actor, request_id, "create_company", int(cursor.lastrowid))
    return cursor.lastrowid


def update_company(db: Database, actor: Actor, company_id: int, values: dict) -> None:
    """Edit a company; the audit row keeps the changed fields before and after."""
    require(actor, "companies.edit")
    record, errors = clean_record(values, Lookups(db), by_name=False)
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
        bump_version(db)
        audit.record(
            db,
            actor,
            "update",
            "companies",
            company_id,
            before={k: before[k] for k in changed},
            after=changed,
        )
