"""Problems that arrive from other systems (the 12345 hotline, the government service portal,
another platform) through the API. Each carries the sender's own reference and an idempotency
key: sending the same request again gives the same problem, never a second one, and the same key
with different content is refused. The company is found by its 统一社会信用代码 (the check
character verified) or, when unknown, added to the registry with the name, district and sector
given. The problem is raised through the register like any other, and its photos stored with it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access.actor import Actor
from survey.access.clients import client_id_of
from survey.access.permissions import require
from survey.attachments import add_photo
from survey.companies.codes import validate_uscc
from survey.companies.registry import create_company
from survey.errors import ValidationError
from survey.problems.register import NewProblem, raise_problem

EXTERNAL_SOURCES = ("hotline", "portal", "platform")  # labels in survey.labels.SOURCE_LABELS
MAX_PHOTOS = 5


@dataclass(frozen=True)
class Photo:
    filename: str
    data_base64: str


@dataclass(frozen=True)
class Submission:
    external_ref: str
    source: str
    uscc: str
    category_code: str
    nature_code: str
    description: str
    raised_on: str | None = None
    company_name: str = ""
    district_code: str = ""
    sector_code: str = ""
    photos: list[Photo] = field(default_factory=list)

    def digest(self) -> str:
        """What makes two requests the same request (for the idempotency check)."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Received:
    problem_id: int
    status: str
    replayed: bool  # True when this key was seen before: the first answer again


def _check(db: Database, sub: Submission) -> tuple[str, str]:
    """The normalised code and the day raised, or the first problem found (naming the field)."""
    if not sub.external_ref.strip() or len(sub.external_ref) > 64:
        raise ValidationError("请填写来源系统的编号（1–64 个字符）。", "external_ref")
    if sub.source not in EXTERNAL_SOURCES:
        raise ValidationError(
            "来源应为 hotline（12345热线）、portal（政务服务）或 platform（其他平台）。", "source"
        )
    uscc = validate_uscc(sub.uscc)
    for table, code, name in (
        ("problem_categories", sub.category_code, "category_code"),
        ("request_natures", sub.nature_code, "nature_code"),
    ):
        if not store.scalar(db, f"SELECT 1 FROM {table} WHERE code = ? AND active = 1", (code,)):
            raise ValidationError(f"{name} 不在参考列表中：{code}", name)
    if not sub.description.strip() or len(sub.description) > 5000:
        raise ValidationError("请填写问题描述（不超过 5000 字）。", "description")
    today = clock.today().isoformat()
    raised_on = sub.raised_on or today
    try:
        valid = date.fromisoformat(raised_on).isoformat() == raised_on
    except ValueError:
        valid = False
    if not valid or raised_on > today:
        raise ValidationError("raised_on 应为不晚于今天的日期，格式 YYYY-MM-DD。", "raised_on")
    if len(sub.photos) > MAX_PHOTOS:
        raise ValidationError(f"照片最多 {MAX_PHOTOS} 张。", "photos")
    return uscc, raised_on


def _company(db: Database, actor: Actor, sub: Submission, uscc: str) -> dict:
    rows = store.query(db, "SELECT * FROM companies WHERE uscc = ?", (uscc,))
    if rows:
        return rows[0]
    if not sub.company_name.strip():
        raise ValidationError(
            f"企业 {uscc} 尚未登记：请同时提供 company_name、district_code 和 sector_code。",
            "company_name",
        )
    values = {
        "uscc": uscc,
        "name": sub.company_name,
        "district_code": sub.district_code,
        "sector_code": sub.sector_code,
    }
    company_id = create_company(db, actor, values)
    return store.query(db, "SELECT * FROM companies WHERE id = ?", (company_id,))[0]


def receive(db: Database, actor: Actor, idempotency_key: str, sub: Submission) -> Received:
    """Raise the problem once per (client, key); a repeat returns the first problem."""
    require(actor, "problems.raise")
    key = (idempotency_key or "").strip()
    if not key or len(key) > 128:
        raise ValidationError("请求须带 Idempotency-Key 头（1–128 个字符）。", "Idempotency-Key")
    client_id = client_id_of(db, actor)
    digest = sub.digest()
    with store.transaction(db):
        seen = db.conn.execute(
            "SELECT problem_id, request_hash FROM problem_origins"
            " WHERE client_id = ? AND idempotency_key = ?",
            (client_id, key),
        ).fetchone()
        if seen:
            if seen[1] != digest:
                raise ValidationError(
                    "这个 Idempotency-Key 已用于内容不同的另一请求；新请求请换一个键。",
                    "Idempotency-Key",
                )
            status = store.scalar(db, "SELECT status FROM problems WHERE id = ?", (seen[0],))
            return Received(seen[0], status, True)
        uscc, raised_on = _check(db, sub)
        company = _company(db, actor, sub, uscc)
        problem_id = raise_problem(
            db,
            actor,
            NewProblem(
                source=sub.source,
                submission_id=f"api:{client_id}:{key}",
                category_code=sub.category_code,
                nature_code=sub.nature_code,
                description=sub.description,
                raised_on=raised_on,
                company=company,
                note=f"来源编号 {sub.external_ref.strip()}",
            ),
        )
        for number, photo in enumerate(sub.photos, 1):
            try:
                data = base64.b64decode(photo.data_base64, validate=True)
            except (binascii.Error, ValueError):
                raise ValidationError(f"第 {number} 张照片不是有效的 base64。", "photos") from None
            add_photo(
                db, actor, photo.filename or f"photo-{number}.jpg", data, problem_id=problem_id
            )
        db.execute(
            "INSERT INTO problem_origins (problem_id, client_id, external_ref, idempotency_key,"
            " request_hash, received_at) VALUES (?, ?, ?, ?, ?, ?)",
            (problem_id, client_id, sub.external_ref.strip(), key, digest, clock.now_iso()),
        )
        # a listener may have moved it on already (routing to a department): answer what it is now
        status = store.scalar(db, "SELECT status FROM problems WHERE id = ?", (problem_id,))
    return Received(problem_id, status, False)
