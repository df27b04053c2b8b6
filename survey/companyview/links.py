"""Links that belong to one company (企业端): `/company-view?t=<token>`.

- A token is 192 random bits (secrets.token_urlsafe(24)); only its SHA-256 is stored, with the
  company, how it went out (sms, email, qr), the problem it was about, and when it expires
  (LINK_DAYS_SETTING, 90 days unless an admin sets another number).
- A link sent by SMS or e-mail is minted when the worker sends it (`compose`), never when the
  move is made: the outbox row holds no token, so no copy of the database holds one either.
- Opening a link (`open_link`) starts a short session (SESSION_MINUTES) for that company alone;
  the browser gets its own random session token in an HttpOnly cookie (ui/server.py). A forwarded
  link opens the same company's page until it expires or a supervisor revokes the company's links.
- A wrong, expired or revoked token gets INVALID_MESSAGE, the same words whatever happened; each
  failure is recorded by client address (the rate limit: FAILURE_LIMIT per FAILURE_MINUTES) and
  audited.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.access.settings import get_setting, set_setting
from survey.errors import NotFoundError, ValidationError
from survey.names import one_line

PATH = "/company-view"
COOKIE = "zhy_company"
TOKEN_BYTES = 24  # 192 bits
LINK_DAYS_SETTING = "company_link_days"
DEFAULT_LINK_DAYS = 90
SESSION_MINUTES = 60
FAILURE_LIMIT = 20  # failed openings per client address within FAILURE_MINUTES
FAILURE_MINUTES = 15
SERVICE_USERNAME = "company-view"  # the user row a company's writes are recorded under
SERVICE_NAME = "企业（查看链接）"
INVALID_MESSAGE = (
    "链接无效或已过期。请打开最近收到的短信或邮件中的链接，或请走访人员重新出示二维码。"
)
BASE_URL_SETTING = "public_base_url"  # as survey.notify.messages
# The moves a company hears of, with the words its SMS uses.
NOTIFIED = {
    "raise": "已登记",
    "solve_on_spot": "已现场解决",
    "reply": "已答复，请您评价",
    "close": "已办结",
}
VIA = ("sms", "email", "qr")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_days(db: Database) -> int:
    value = get_setting(db, LINK_DAYS_SETTING)
    return int(value) if value and value.isdigit() else DEFAULT_LINK_DAYS


def set_link_days(db: Database, actor: Actor, days: int) -> None:
    require(actor, "settings.edit")
    if not 1 <= int(days) <= 366:
        raise ValidationError("企业查看链接的有效期应为 1–366 天。", "days")
    set_setting(db, actor, LINK_DAYS_SETTING, str(int(days)))


def service_user(db: Database) -> int:
    """The user row a company's own writes are recorded under (created, problems.created_by,
    events): inactive and marked as no person (api_client = 1), so nobody signs in with it,
    no message goes to it and the user list does not show it. Made on first use, in the caller's
    transaction."""
    found = store.scalar(db, "SELECT id FROM users WHERE username = ?", (SERVICE_USERNAME,))
    if found:
        return int(found)
    now = clock.now_iso()
    return int(
        db.execute(
            "INSERT INTO users (username, display_name, password_hash, active,"
            " must_change_password, api_client, created_at, updated_at)"
            " VALUES (?, ?, '!', 0, 0, 1, ?, ?)",
            (SERVICE_USERNAME, SERVICE_NAME, now, now),
        ).lastrowid
    )


def company_actor(user_id: int, company_id: int) -> Actor:
    return Actor(
        user_id,
        f"company:{company_id}",
        "企业",
        frozenset({"company"}),
        company_id=int(company_id),
    )


# ---- issuing -------------------------------------------------------------------------------------


def _mint(
    db: Database,
    company_id: int,
    via: str,
    *,
    problem_id: int | None = None,
    issued_by: int | None = None,
) -> str:
    """Write one link row and return its token (the caller's transaction)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = clock.now()
    db.execute(
        "INSERT INTO company_links (company_id, token_hash, via, problem_id, issued_by,"
        " issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            company_id,
            token_hash(token),
            via,
            problem_id,
            issued_by,
            clock.iso(now),
            clock.iso(now + timedelta(days=link_days(db))),
        ),
    )
    return token


def url_for(token: str, base: str) -> str:
    return f"{base.rstrip('/')}{PATH}?t={token}"


def issue_qr(db: Database, actor: Actor, company_id: int) -> str:
    """A link for the QR code an officer shows after a visit (audited; the token is returned,
    never stored)."""
    require(actor, "company_links.issue")
    from survey.access.permissions import company_detail_scope

    where, params = company_detail_scope(actor)
    with store.transaction(db):
        if not store.scalar(
            db, f"SELECT 1 FROM companies c WHERE c.id = ? AND {where}", [company_id, *params]
        ):
            raise NotFoundError("没有找到该企业，或您无权为其出示查看码。")
        token = _mint(db, company_id, "qr", issued_by=actor.id)
        link_id = store.scalar(
            db, "SELECT id FROM company_links WHERE token_hash = ?", (token_hash(token),)
        )
        audit.record(
            db,
            actor,
            "insert",
            "company_links",
            link_id,
            after={"company_id": company_id},
            note="出示企业查看码",
        )
    return token


def on_event(db: Database, event) -> int:
    """In the move's transaction: queue the company's SMS (and e-mail, when it has an address and
    e-mail is set up) for a registered, answered or closed problem of its own (never a monitor's
    lead, never one it raised itself from its page). No token is written here: `compose` mints
    it when the delivery is sent. Returns the rows queued."""
    if event.action not in NOTIFIED:
        return 0
    problem = event.problem
    company_id = problem.get("company_id")
    if not company_id or problem.get("source") in ("monitor", "company"):
        return 0
    on = dict(
        db.conn.execute(
            "SELECT key, value FROM settings WHERE key IN ('sms_enabled', 'smtp_host',"
            " 'smtp_sender')"
        ).fetchall()
    )
    sms_on = on.get("sms_enabled") == "1"
    mail_on = bool(on.get("smtp_host") and on.get("smtp_sender"))
    if not (sms_on or mail_on):
        return 0
    row = db.conn.execute(
        "SELECT contact_phone, contact_email, active FROM companies WHERE id = ?", (company_id,)
    ).fetchone()
    if not row or not row[2]:
        return 0
    from survey.notify.mail import valid_address
    from survey.notify.sms import MOBILE

    targets = []
    if sms_on and MOBILE.fullmatch((row[0] or "").strip()):
        targets.append(("sms", row[0].strip()))
    if mail_on and row[1] and valid_address(row[1]):
        targets.append(("email", row[1].strip()))
    if not targets:
        return 0
    now = clock.now_iso()
    db.conn.executemany(
        "INSERT INTO deliveries (message_id, event_id, company_id, channel, target, next_at,"
        " created_at) VALUES (NULL, ?, ?, ?, ?, ?, ?)",
        [(event.id, company_id, channel, target, now, now) for channel, target in targets],
    )
    return len(targets)


def compose(db: Database, delivery) -> tuple[str, str, str]:
    """(title, body, link) of one company delivery, its link minted now (compose_all)."""
    found = compose_all(db, [delivery])
    if delivery.id not in found:
        raise RuntimeError("该问题已不存在")
    return found[delivery.id]


def compose_all(db: Database, deliveries: list) -> dict[int, tuple[str, str, str]]:
    """Words and a freshly minted link for each company delivery the worker is about to send,
    in one transaction (committed before anything leaves, so every link sent opens): the SMS says
    what happened to which of its problems (number and category, nothing else) and links its
    page. Keyed by delivery id; a delivery whose problem is gone is left out."""
    if not deliveries:
        return {}
    base = get_setting(db, BASE_URL_SETTING) or ""
    if not base.startswith("http"):
        raise RuntimeError("未设置本系统的对外地址（通知设置 → 常规），企业查看链接无法发出")
    events = sorted({d.event_id for d in deliveries})
    marks = ", ".join("?" for _ in events)
    facts = {
        r[0]: r[1:]
        for r in db.conn.execute(
            "SELECT e.id, e.action, p.id, pc.name FROM problem_events e"
            " JOIN problems p ON p.id = e.problem_id"
            f" JOIN problem_categories pc ON pc.code = p.category_code WHERE e.id IN ({marks})",
            events,
        )
    }
    now = clock.now()
    issued, expires = clock.iso(now), clock.iso(now + timedelta(days=link_days(db)))
    words, rows = {}, []
    for delivery in deliveries:
        if delivery.event_id not in facts:
            continue
        action, problem_id, category = facts[delivery.event_id]
        token = secrets.token_urlsafe(TOKEN_BYTES)
        rows.append(
            (delivery.company_id, token_hash(token), delivery.channel, problem_id, issued, expires)
        )
        title = f"贵企业反映的问题{NOTIFIED.get(action, '有新进展')}"
        body = f"问题 #{problem_id} · {one_line(category)}，请点击查看"
        words[delivery.id] = (title, body, url_for(token, base))
    with store.transaction(db):
        db.conn.executemany(
            "INSERT INTO company_links (company_id, token_hash, via, problem_id, issued_at,"
            " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    return words


# ---- opening -------------------------------------------------------------------------------------


def _throttled(db: Database, address: str) -> bool:
    since = clock.iso(clock.now() - timedelta(minutes=FAILURE_MINUTES))
    count = store.scalar(
        db,
        "SELECT count(*) FROM company_link_failures WHERE address = ? AND at > ?",
        (address, since),
    )
    return int(count) >= FAILURE_LIMIT


def _fail(db: Database, address: str, reason: str, link_id=None) -> None:
    now = clock.now()
    db.execute(
        "INSERT INTO company_link_failures (at, address) VALUES (?, ?)", (clock.iso(now), address)
    )
    db.execute(
        "DELETE FROM company_link_failures WHERE at < ?", (clock.iso(now - timedelta(days=1)),)
    )
    audit.record(
        db,
        None,
        "signin",
        "company_links",
        link_id or "",
        after={"address": address, "reason": reason},
        note="企业查看链接无效",
    )


def open_link(
    db: Database, token: str | None, address: str = "", user_agent: str = ""
) -> tuple[str, int] | None:
    """A session for the link's company: (the session's cookie token, its max-age in seconds),
    or None for a wrong, expired or revoked token or a throttled address (the caller shows
    INVALID_MESSAGE for all of them alike). Every refusal is recorded and audited."""
    address = (address or "unknown")[:64]
    now = clock.now()
    with store.transaction(db):
        if _throttled(db, address):
            _fail(db, address, "throttled")
            return None
        if not token or len(token) > 100:
            _fail(db, address, "malformed")
            return None
        row = db.conn.execute(
            "SELECT l.id, l.company_id, l.expires_at, l.revoked_at, c.active FROM company_links l"
            " JOIN companies c ON c.id = l.company_id WHERE l.token_hash = ?",
            (token_hash(token),),
        ).fetchone()
        if row is None:
            _fail(db, address, "unknown")
            return None
        link_id, company_id, expires_at, revoked_at, active = row
        reason = (
            "revoked"
            if revoked_at
            else "expired"
            if expires_at <= clock.iso(now)
            else "inactive"
            if not active
            else None
        )
        if reason:
            _fail(db, address, reason, link_id)
            return None
        session_token = secrets.token_urlsafe(32)
        expires = now + timedelta(minutes=SESSION_MINUTES)
        session_id = db.execute(
            "INSERT INTO company_sessions (company_id, link_id, token_hash, created_at,"
            " expires_at) VALUES (?, ?, ?, ?, ?)",
            (company_id, link_id, token_hash(session_token), clock.iso(now), clock.iso(expires)),
        ).lastrowid
        db.execute(
            "UPDATE company_links SET last_used_at = ? WHERE id = ?", (clock.iso(now), link_id)
        )
        user_id = service_user(db)
        audit.record(
            db,
            company_actor(user_id, company_id),
            "signin",
            "company_sessions",
            session_id,
            after={"link": link_id, "address": address, "user_agent": user_agent[:200]},
            note="企业通过链接查看",
        )
    return session_token, SESSION_MINUTES * 60


def actor_for_cookie(db: Database, token: str | None) -> Actor | None:
    """The company of a live session (not expired, not revoked, the company still active)."""
    if not token or len(token) > 100:
        return None
    row = db.conn.execute(
        "SELECT s.company_id FROM company_sessions s JOIN companies c ON c.id = s.company_id"
        " WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND c.active = 1",
        (token_hash(token), clock.now_iso()),
    ).fetchone()
    if row is None:
        return None
    user_id = store.scalar(db, "SELECT id FROM users WHERE username = ?", (SERVICE_USERNAME,))
    return company_actor(int(user_id), row[0]) if user_id else None


def revoke_all(db: Database, actor: Actor, company_id: int, reason: str = "") -> int:
    """A supervisor ends every link of a company and every session they opened (a phone number
    changed hands, a link was forwarded too far). Audited; returns the links revoked."""
    require(actor, "company_links.revoke")
    now = clock.now_iso()
    with store.transaction(db):
        if not store.scalar(db, "SELECT 1 FROM companies WHERE id = ?", (company_id,)):
            raise NotFoundError(f"没有编号为 {company_id} 的企业。")
        links = db.execute(
            "UPDATE company_links SET revoked_at = ? WHERE company_id = ? AND revoked_at IS NULL",
            (now, company_id),
        ).rowcount
        sessions = db.execute(
            "UPDATE company_sessions SET revoked_at = ? WHERE company_id = ?"
            " AND revoked_at IS NULL",
            (now, company_id),
        ).rowcount
        audit.record(
            db,
            actor,
            "update",
            "company_links",
            f"company:{company_id}",
            after={"links": links, "sessions": sessions},
            note=f"撤销企业全部查看链接：{reason.strip()}"
            if reason.strip()
            else "撤销企业全部查看链接",
        )
    return links


def live_links(db: Database, actor: Actor, company_id: int) -> int:
    """How many of the company's links still open its page (for the revoke button)."""
    require(actor, "company_links.revoke")
    return int(
        store.scalar(
            db,
            "SELECT count(*) FROM company_links WHERE company_id = ? AND revoked_at IS NULL"
            " AND expires_at > ?",
            (company_id, clock.now_iso()),
        )
    )


def contact_email(db: Database, actor: Actor, company_id: int) -> str:
    require(actor, "company_links.revoke")
    return store.scalar(db, "SELECT contact_email FROM companies WHERE id = ?", (company_id,)) or ""


def set_contact_email(db: Database, actor: Actor, company_id: int, email: str) -> None:
    """The address the company's e-mails go to ('' for none); supervisors, audited."""
    require(actor, "companies.edit")
    from survey.notify.mail import valid_address

    email = (email or "").strip()
    if email and (len(email) > 200 or not valid_address(email)):
        raise ValidationError("请填写有效的邮箱地址，例如 office@example.com。", "email")
    with store.transaction(db):
        before = store.scalar(db, "SELECT contact_email FROM companies WHERE id = ?", (company_id,))
        if before is None:
            raise NotFoundError(f"没有编号为 {company_id} 的企业。")
        db.execute(
            "UPDATE companies SET contact_email = ?, updated_at = ? WHERE id = ?",
            (email, clock.now_iso(), company_id),
        )
        audit.record(
            db,
            actor,
            "update",
            "companies",
            company_id,
            before={"contact_email": before},
            after={"contact_email": email},
        )
