"""Masking a company's names in a case (江苏某某科技有限公司): the registered name, the name without its
place and legal form, the short names a text declares (以下简称“天盛智能”) and the aliases an editor adds
(company_aliases); which companies a reader has no access to.
"""

from __future__ import annotations

import re

from sqlite_utils import Database

from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import can, company_detail_scope, require
from survey.errors import NotFoundError, ValidationError
from survey.names import one_line

SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")
PLACES = ("江苏", "镇江", "京口", "润州", "丹徒", "丹阳", "句容", "扬中", "新区", "高新")
# What a text may call a company besides its registered name: the legal forms and place prefixes
# it drops (with the districts' names from the reference list), and declared short names.
LEGAL_FORMS = (
    "集团股份有限公司",
    "集团有限责任公司",
    "集团有限公司",
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "分公司",
    "集团",
    "公司",
)
PLACE_PREFIXES = ("江苏省", "江苏", "镇江市", "镇江", "镇江新区", "新区", "高新区")
_QUOTES = "“”\"「」『』‘’'《》【】〔〕"
_DECLARED = re.compile(  # 以下简称“天盛智能”, 简称：天盛智能, 以下称「天盛」, 简称天盛智能，
    rf"(?:简称|下称)为?[:：]?\s*(?:[{_QUOTES}](?P<quoted>[^{_QUOTES}\n]{{2,30}})[{_QUOTES}]"
    rf"|(?P<bare>[^\s{_QUOTES}（）()，,。；;、：:]{{2,20}})(?=[\s）)，,。；;、]|$))"
)
_BEFORE_DECLARED = re.compile(r"[\s（(，,：:]*(?:以下)?$")
ALIAS_MAX = 50


def mask_name(name: str) -> str:
    """镇江大全电气设备有限公司 -> 镇江某某设备有限公司: the place and the trade kept, the brand not."""
    suffix = next((s for s in SUFFIXES if name.endswith(s)), "")
    core = name[: len(name) - len(suffix)] if suffix else name
    place = next((p for p in PLACES if core.startswith(p)), "")
    trade = core[-2:] if len(core) - len(place) > 2 else ""
    return f"{place or '某地'}某某{trade}{suffix or '企业'}"


def aliases(db: Database, actor: Actor, case_id: int) -> list[str]:
    """The other names of the case's company that are masked with it (editors)."""
    require(actor, "cases.manage")
    company_id = _company_of(db, case_id)
    return sorted(aliases_of(db, {company_id}).get(company_id, [])) if company_id else []


def save_aliases(db: Database, actor: Actor, case_id: int, names) -> list[str]:
    """Replace the aliases of the case's company (one per line, or a list): names a case's text
    uses for it that masking cannot guess (TS公司, 天盛电气). They are the company's, so every case
    about it masks them. Audited; returns the list saved."""
    require(actor, "cases.manage")
    if isinstance(names, str):
        names = names.splitlines()
    wanted = sorted({one_line(n) for n in names or []} - {""})
    for name in wanted:
        if not 2 <= len(name) <= ALIAS_MAX:
            raise ValidationError(
                f"企业的其他名称“{name}”应为 2–{ALIAS_MAX} 个字（一行一个）。", "aliases"
            )
    company_id = _company_of(db, case_id)
    if not company_id:
        raise ValidationError(f"案例 #{case_id} 没有关联企业，无需隐去其他名称。", "aliases")
    with store.transaction(db):
        before = sorted(aliases_of(db, {company_id}).get(company_id, []))
        if before == wanted:
            return wanted
        db.execute("DELETE FROM company_aliases WHERE company_id = ?", (company_id,))
        db.conn.executemany(
            "INSERT INTO company_aliases (company_id, alias) VALUES (?, ?)",
            [(company_id, name) for name in wanted],
        )
        audit.record(
            db, actor, "update", "company_aliases", company_id, before=before, after=wanted
        )
    return wanted


def _company_of(db: Database, case_id: int) -> int | None:
    rows = store.query(db, "SELECT company_id FROM cases WHERE id = ?", (case_id,))
    if not rows:
        raise NotFoundError(f"没有编号为 {case_id} 的案例。")
    return rows[0]["company_id"]


def place_prefixes(db: Database) -> tuple[str, ...]:
    """Place prefixes a company name may start with, longest first: the province and city, and
    every district of the reference list with and without 区/市/县."""
    names = [r[0] for r in db.conn.execute("SELECT name FROM districts")]
    short = [n[:-1] for n in names if n[-1:] in ("区", "市", "县") and len(n) > 2]
    return tuple(sorted({*PLACE_PREFIXES, *names, *short}, key=len, reverse=True))


def _without_place(name: str, places: tuple[str, ...]) -> str:
    """江苏省镇江市京口区天盛智能电气有限公司 -> 天盛智能电气有限公司."""
    while True:
        place = next((p for p in places if name.startswith(p) and len(name) > len(p) + 1), "")
        if not place:
            return name
        name = name[len(place) :]


def _without_legal_form(name: str, bracket: bool = True) -> str:
    """天盛智能电气（江苏）有限公司 -> 天盛智能电气 (with bracket=False: 天盛智能电气（江苏）)."""
    form = next((f for f in LEGAL_FORMS if name.endswith(f) and len(name) > len(f) + 1), "")
    name = name[: len(name) - len(form)] if form else name
    return (bracket and re.sub(r"[（(][^（）()]{1,12}[）)]$", "", name)) or name


def _is_subsequence(short: str, name: str) -> bool:
    rest = iter(name)
    return all(ch in rest for ch in short)


def _declared(texts: list[str], name: str, variants: list[str]) -> set[str]:
    """Short names the texts declare for the company: 以下简称/简称/以下称 with or without quote
    marks, right after one of its names, or made of its name's characters in order."""
    found = set()
    for text in texts:
        for match in _DECLARED.finditer(text):
            short = (match["quoted"] or match["bare"]).strip()
            before = _BEFORE_DECLARED.sub("", text[: match.start()])
            if len(short) >= 2 and (
                _is_subsequence(short, name) or any(before.endswith(v) for v in variants)
            ):
                found.add(short)
    return found


def masker(name: str, texts: list[str], aliases: list[str], places: tuple[str, ...]):
    """What replaces each way the texts may call the company `name`, as one function of a text:
    the registered name as mask_name has it; the name without its place or legal form (or both)
    with its brand as 某某; declared short names and the editors' aliases as 某某."""
    core = _without_legal_form(_without_place(name, places))
    brand = f"某某{core[-2:] if len(core) > 2 else ''}"
    variants = {
        _without_legal_form(name),
        _without_legal_form(name, bracket=False),
        _without_place(name, places),
        core,
    }
    instead = {v: v.replace(core, brand) for v in variants if len(v) >= 2}
    instead |= {short: "某某" for short in _declared(texts, name, [name, *instead])}
    instead |= {alias: "某某" for alias in aliases if len(alias) >= 2}
    instead[name] = mask_name(name)
    pattern = re.compile("|".join(re.escape(t) for t in sorted(instead, key=len, reverse=True)))
    return lambda text: pattern.sub(lambda m: instead[m[0]], text or "")


def hidden_companies(db: Database, actor: Actor, company_ids: set[int]) -> set[int]:
    """The companies among these that the actor has no access to."""
    if not company_ids:
        return set()
    if not can(actor, "companies.read"):
        return set(company_ids)
    where, params = company_detail_scope(actor)
    marks = ", ".join("?" for _ in company_ids)
    allowed = {
        r[0]
        for r in db.conn.execute(
            f"SELECT c.id FROM companies c WHERE c.id IN ({marks}) AND {where}",
            [*company_ids, *params],
        )
    }
    return set(company_ids) - allowed


def aliases_of(db: Database, company_ids: set[int]) -> dict[int, list[str]]:
    if not company_ids:
        return {}
    marks = ", ".join("?" for _ in company_ids)
    found: dict[int, list[str]] = {}
    for company_id, alias in db.conn.execute(
        f"SELECT company_id, alias FROM company_aliases WHERE company_id IN ({marks})",
        list(company_ids),
    ):
        found.setdefault(company_id, []).append(alias)
    return found
