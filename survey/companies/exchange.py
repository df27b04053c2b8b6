"""The registry as other systems use it (the API's /companies): one company by its 统一社会信用代码,
within the reader's scope, its contact person and phone only with the personal-data scope; and a
batch upsert, all or nothing, every bad item reported, through the same import as the files."""

from __future__ import annotations

from sqlite_utils import Database

from survey import db as store
from survey.access.actor import Actor
from survey.access.permissions import can, require
from survey.companies.codes import validate_uscc
from survey.companies.registry import FIELDS, get_company
from survey.companies.transfer import import_companies
from survey.errors import NotFoundError

CONTACT = ("contact_name", "contact_phone")
SHOWN = tuple(f.column for f in FIELDS) + ("active", "updated_at")
MAX_BATCH = 5000


def company_by_code(db: Database, actor: Actor, uscc: str) -> dict:
    require(actor, "companies.sync")
    code = validate_uscc(uscc)
    company_id = store.scalar(db, "SELECT id FROM companies WHERE uscc = ?", (code,))
    if company_id is None:
        raise NotFoundError(f"没有统一社会信用代码为 {code} 的企业。")
    row = get_company(db, actor, company_id)
    personal = can(actor, "personal.read") and not row["limited"]
    return {k: (row[k] if personal or k not in CONTACT else None) for k in SHOWN}


def upsert(db: Database, actor: Actor, items: list[dict]) -> dict:
    """Items keyed by the companies' columns (reference fields as codes); all or nothing:
    ImportRejectedError lists every bad item by its number (1 = the first)."""
    require(actor, "companies.sync")
    columns = [f.column for f in FIELDS]
    rows = [[item.get(c) for c in columns] for item in items]
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
