"""The registry as other systems use it (the API's /companies): one company by its 统一社会信用代码,
within the reader's scope, its contact person and phone only with the personal-data scope; and a
batch upsert, all or nothing, every bad item reported, through the same import as the files. An
upsert writes only inside the client's row scope and keeps the stored values of fields not sent."""

from __future__ import annotations

from sqlite_utils import Database

from survey import db as store
from survey import reference
from survey.access.actor import Actor
from survey.access.permissions import can, client_company_rows, company_scope, require
from survey.companies.codes import validate_uscc
from survey.companies.registry import FIELD_BY_COLUMN, FIELDS, get_company
from survey.companies.transfer import import_companies
from survey.errors import NotFoundError, PermissionDeniedError, ValidationError

CONTACT = ("contact_name", "contact_phone")
SHOWN = tuple(f.column for f in FIELDS) + ("active", "updated_at")
MAX_BATCH = 5000


class OutsideScopeError(PermissionDeniedError):
    """A batch with items outside the client's row scope: nothing was written; `problems` lists
    each such item as the import lists bad rows (行号 = the item's number, 字段, 问题)."""

    def __init__(self, problems: list[dict], scope: str):
        super().__init__(
            f"未写入：{len(problems)} 项不在本客户端的数据范围内（{scope}），"
            "本客户端只能新增或更新这个范围内的企业。"
        )
        self.problems = problems


def company_by_code(db: Database, actor: Actor, uscc: str) -> dict:
    """One company by its code. An unknown code and a company outside the reader's scope get one
    and the same answer, which names neither the company nor its internal id."""
    require(actor, "companies.sync")
    code = validate_uscc(uscc)
    where, params = company_scope(actor)
    company_id = store.scalar(
        db, f"SELECT c.id FROM companies c WHERE c.uscc = ? AND {where}", [code, *params]
    )
    if company_id is None:
        raise NotFoundError(f"没有统一社会信用代码为 {code} 的企业，或它不在您的数据范围内。")
    row = get_company(db, actor, company_id)
    personal = can(actor, "personal.read") and not row["limited"]
    return {k: (row[k] if personal or k not in CONTACT else None) for k in SHOWN}


def _code(item: dict) -> str | None:
    try:
        return validate_uscc(str(item.get("uscc") or ""))
    except ValidationError:
        return None  # the import names a bad code with its item


def _stored(db: Database, codes: list[str]) -> dict[str, dict]:
    """code -> the stored company, for the codes of a batch."""
    found: dict[str, dict] = {}
    unique = sorted(set(codes))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        rows = store.query(
            db,
            f"SELECT * FROM companies WHERE uscc IN ({', '.join('?' for _ in chunk)})",
            chunk,
        )
        found |= {r["uscc"]: r for r in rows}
    return found


def _text(value) -> str:
    return str(value).strip() if value is not None else ""


def _outside(db: Database, actor: Actor, items: list[tuple], stored: dict) -> None:
    """OutsideScopeError naming every item outside the client's row scope, as stored (taking over
    another department's or district's company) or as sent (moving one out of its own). `items`
    are (item, its normalised code or None)."""
    limit = client_company_rows(actor)
    if limit is None:
        return
    column, value = limit
    header = FIELD_BY_COLUMN[column].header
    ref = FIELD_BY_COLUMN[column].ref
    name = reference.names(db, ref).get(value, value)
    scope = f"{header}为“{name}”（{value}）"
    problems = []
    for number, (item, code) in enumerate(items, start=1):
        old = stored.get(code) if code else None
        if old is not None and old[column] != value:
            problems.append(
                {
                    "行号": number,
                    "字段": FIELD_BY_COLUMN["uscc"].header,
                    "问题": f"统一社会信用代码 {code} 的企业不在本客户端的数据范围内，不能更新",
                }
            )
            continue
        sent = _text(item[column] if column in item else (old or {}).get(column))
        if sent != value:
            problems.append(
                {
                    "行号": number,
                    "字段": header,
                    "问题": f"{header}须为“{name}”（{value}），所填为“{sent or '空'}”",
                }
            )
    if problems:
        raise OutsideScopeError(problems, scope)


def upsert(db: Database, actor: Actor, items: list[dict]) -> dict:
    """Items keyed by the companies' columns (reference fields as codes), each holding only the
    fields the caller sent: a field left out keeps the stored company's value (a new company's is
    empty). All or nothing: OutsideScopeError names every item outside a client's row scope,
    ImportRejectedError every bad item, by its number (1 = the first)."""
    require(actor, "companies.sync")
    columns = [f.column for f in FIELDS]
    coded = [(item, _code(item)) for item in items]
    with store.transaction(db):  # the scope is checked against the rows the import then writes
        stored = _stored(db, [code for _, code in coded if code])
        _outside(db, actor, coded, stored)
        rows = [
            [item[c] if c in item else (stored.get(code) or {}).get(c) for c in columns]
            for item, code in coded
        ]
        return import_companies(
            db,
            actor,
            columns,
            rows,
            {c: c for c in columns},
            source="接口",
            by_name=False,
            first_line=1,
        )
