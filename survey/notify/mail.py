"""E-mail over SMTP (plain, STARTTLS or SSL, with an optional login): the settings admins save,
checked before saving, and sending one delivery. The password is stored but never shown again."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, parseaddr

from sqlite_utils import Database

from survey import db as store
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.access.settings import get_setting, set_setting
from survey.errors import ValidationError
from survey.notify.failures import explain

SECURITY = {"none": "不加密", "starttls": "STARTTLS", "ssl": "SSL/TLS"}
TIMEOUT_SECONDS = 15
PREFIX = "smtp_"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    username: str
    password: str
    sender: str

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.sender)


def load(db: Database) -> SmtpSettings:
    def value(key: str, default: str = "") -> str:
        return get_setting(db, PREFIX + key) or default

    return SmtpSettings(
        value("host"),
        int(value("port", "25")),
        value("security", "none"),
        value("username"),
        value("password"),
        value("sender"),
    )


def valid_address(text: str) -> bool:
    name, address = parseaddr(text or "")
    local, _, domain = address.partition("@")
    return bool(local and "." in domain and " " not in address)


def save(
    db: Database,
    actor: Actor,
    *,
    host: str,
    port: int | str,
    security: str,
    username: str = "",
    password: str | None = None,
    sender: str,
) -> None:
    """All fields or none; an empty host turns e-mail off. `password=None` keeps the saved one."""
    require(actor, "settings.edit")
    host = (host or "").strip()
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise ValidationError("SMTP 端口应为 1–65535 之间的整数。", "smtp_port") from None
    if not 1 <= port <= 65535:
        raise ValidationError("SMTP 端口应为 1–65535 之间的整数。", "smtp_port")
    if host and (" " in host or "/" in host):
        raise ValidationError(
            "SMTP 服务器应为主机名或 IP 地址，例如 smtp.example.gov.cn。", "smtp_host"
        )
    if security not in SECURITY:
        raise ValidationError("请选择 SMTP 加密方式。", "smtp_security")
    if host and not valid_address(sender):
        raise ValidationError("发件地址无效，例如 通知 <notice@example.gov.cn>。", "smtp_sender")
    values = {"host": host, "port": str(port), "security": security}
    values |= {"username": (username or "").strip(), "sender": (sender or "").strip()}
    if password is not None:
        values["password"] = password
    with store.transaction(db):
        for key, value in values.items():
            set_setting(db, actor, PREFIX + key, value, secret=key == "password")


def compose(
    settings: SmtpSettings,
    to: str,
    title: str,
    body: str,
    link: str,
    delivery_id: int | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"【镇合意】{title}"
    name, address = parseaddr(settings.sender)
    message["From"] = formataddr((name or "镇合意·惠企走访", address))
    message["To"] = to
    if delivery_id is not None:  # lets a receiving system drop the rare duplicate (at-least-once)
        message["X-ZHY-Delivery"] = str(delivery_id)
    message.set_content(
        body + (f"\n\n查看：{link}" if link else "") + "\n\n（系统自动发送，请勿回复）"
    )
    return message


class Connection:
    """One SMTP connection reused for a run's e-mails (connecting per e-mail costs more than the
    e-mail); a failure closes it, and the next e-mail connects again."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.client: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            client = smtplib.SMTP_SSL(
                s.host, s.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT_SECONDS)
        if s.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if s.username:
            client.login(s.username, s.password)
        return client

    def send(self, to: str, title: str, body: str, link: str, delivery_id: int | None = None):
        """Send one e-mail; raises on failure (and drops the connection)."""
        message = compose(self.settings, to, title, body, link, delivery_id)
        try:
            if self.client is None:
                self.client = self._open()
            refused = self.client.send_message(message)
        except (OSError, smtplib.SMTPException):
            self.close()
            raise
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.client.quit()
            self.client = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def send(settings: SmtpSettings, to: str, title: str, body: str, link: str) -> str:
    """Send one e-mail on its own connection; returns the server's reply, raises on failure."""
    with Connection(settings) as connection:
        connection.send(to, title, body, link)
        code, reply = connection.client.noop()
    return f"{code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"


def send_test(db: Database, actor: Actor) -> str:
    """Send a test e-mail to the admin's own address now; returns the server's reply, or raises
    ValidationError with the failure in Chinese (nothing is queued)."""
    require(actor, "settings.edit")
    settings = load(db)
    if not settings.enabled:
        raise ValidationError("请先填写并保存 SMTP 服务器和发件地址。", "smtp_host")
    to = store.scalar(db, "SELECT email FROM users WHERE id = ?", (actor.id,)) or ""
    if not to:
        raise ValidationError("请先在“我的账号”中填写您的电子邮箱，测试邮件将发到那里。", "email")
    try:
        return send(settings, to, "测试邮件", "这是一封测试邮件：邮件通知已经可以发出。", "")
    except (OSError, smtplib.SMTPException) as exc:
        where = f"SMTP 服务器 {settings.host}:{settings.port}"
        raise ValidationError(f"发送失败：{explain(exc, where)}", "smtp_host") from None
