"""E-mail over SMTP (plain, STARTTLS or SSL, with an optional login): the settings admins save,
checked before saving, and sending one delivery. The password is stored but never shown again,
and it does not follow a changed server: a new host, port, encryption or user name clears it.
Connections go through the outbound guard (the checked address; the host name kept for TLS)."""

from __future__ import annotations

import contextlib
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, parseaddr

from sqlite_utils import Database

from survey import db as store
from survey import outbound
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.access.settings import get_setting, set_setting
from survey.errors import ValidationError
from survey.notify.failures import explain

SECURITY = {"none": "不加密", "starttls": "STARTTLS", "ssl": "SSL/TLS"}
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 15
PREFIX = "smtp_"
ASK_AGAIN = "请重新填写登录密码"  # the password field's placeholder once the password was cleared
CLEARED = "SMTP 服务器、端口、加密方式或登录用户名已更改，原登录密码已清除，请重新填写登录密码。"
NO_PASSWORD = "已填写登录用户名但没有登录密码：请在邮件设置中重新填写登录密码。"


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

    @property
    def account(self) -> tuple[str, int, str, str]:
        """What a password belongs to: it is kept only while all of these stay the same."""
        return (self.host.lower(), self.port, self.security, self.username)

    def where(self) -> str:
        return f"SMTP 服务器 {self.host}:{self.port}"


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
) -> str | None:
    """All fields or none; an empty host turns e-mail off. `password=None` keeps the saved one
    while the server, port, encryption and user name stay the same; otherwise the saved password
    is cleared and the returned note asks for it again."""
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
    current = load(db)
    moved = (host.lower(), port, security, values["username"]) != current.account
    cleared = password is None and moved and bool(current.password)
    if cleared:
        password = ""
    if password is not None:
        values["password"] = password
    with store.transaction(db):
        for key, value in values.items():
            set_setting(db, actor, PREFIX + key, value, secret=key == "password")
    return CLEARED if cleared and values["username"] else None


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

    def __init__(self, settings: SmtpSettings, guard: outbound.Guard):
        self.settings, self.guard = settings, guard
        self.client: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        if s.username and not s.password:
            raise RuntimeError(NO_PASSWORD)
        target = self.guard.resolve(s.host, s.port, s.where())
        client = outbound.smtp_client(
            target,
            s.security,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
        )
        try:
            if s.username:
                client.login(s.username, s.password)
        except (OSError, smtplib.SMTPException):
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.close()
            raise
        return client

    def send(self, to: str, title: str, body: str, link: str, delivery_id: int | None = None):
        """Send one e-mail; raises on failure (and drops the connection)."""
        message = compose(self.settings, to, title, body, link, delivery_id)
        try:
            if self.client is None:
                self.client = self._open()
            refused = self.client.send_message(message)
        except (OSError, smtplib.SMTPException, RuntimeError):
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


def send(
    settings: SmtpSettings, to: str, title: str, body: str, link: str, guard: outbound.Guard
) -> None:
    """Send one e-mail on its own connection; raises on failure."""
    with Connection(settings, guard) as connection:
        connection.send(to, title, body, link)


def send_test(db: Database, actor: Actor) -> str:
    """Send a test e-mail to the admin's own address now; returns 已发送, or raises
    ValidationError with the failure in Chinese (nothing is queued)."""
    require(actor, "settings.edit")
    settings = load(db)
    if not settings.enabled:
        raise ValidationError("请先填写并保存 SMTP 服务器和发件地址。", "smtp_host")
    to = store.scalar(db, "SELECT email FROM users WHERE id = ?", (actor.id,)) or ""
    if not to:
        raise ValidationError("请先在“我的账号”中填写您的电子邮箱，测试邮件将发到那里。", "email")
    if settings.username and not settings.password:
        raise ValidationError(NO_PASSWORD, "smtp_password")
    guard = outbound.Guard.of(db, actor)
    try:
        send(settings, to, "测试邮件", "这是一封测试邮件：邮件通知已经可以发出。", "", guard)
    except (OSError, smtplib.SMTPException, RuntimeError) as exc:
        raise ValidationError(f"发送失败：{explain(exc, settings.where())}", "smtp_host") from None
    return "已发送。"
