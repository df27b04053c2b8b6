"""SMS through the local government SMS platform's HTTP gateway, described by an admin: address,
method, headers and a JSON or form body, with ${mobile}, ${text} and ${secret} in any of them.
Off by default. The text carries no personal data beyond the company's name: the message's title
and its first line (problem number, company, category, deadline), never a note or a reason."""

from __future__ import annotations

import json
import re
import string
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import quote, quote_plus, urlsplit

from sqlite_utils import Database

from survey import db as store
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.access.settings import get_setting, set_setting
from survey.errors import ValidationError
from survey.names import one_line
from survey.notify.failures import explain

PREFIX = "sms_"
PLACEHOLDERS = {"mobile": "手机号", "text": "短信内容", "secret": "密钥"}
FORMATS = {"json": "JSON", "form": "表单（key=value&…）"}
METHODS = ("POST", "GET")
MOBILE = re.compile(r"1\d{10}")
MAX_TEXT = 200
TIMEOUT_SECONDS = 10
SAMPLE = {"mobile": "13800000000", "text": "【镇合意】测试", "secret": "x"}


@dataclass(frozen=True)
class SmsSettings:
    enabled: bool
    url: str
    method: str
    format: str
    headers: str
    template: str
    secret: str
    success: str


def load(db: Database) -> SmsSettings:
    def value(key: str, default: str = "") -> str:
        return get_setting(db, PREFIX + key) or default

    return SmsSettings(
        value("enabled") == "1",
        value("url"),
        value("method", "POST"),
        value("format", "json"),
        value("headers"),
        value("template"),
        value("secret"),
        value("success"),
    )


def text_of(title: str, body: str, link: str = "") -> str:
    """The SMS: title and the body's first line (the problem summary) only, with the link; one
    line, whatever the text held (a line break would make a gateway cut the rest)."""
    first = one_line(body.split("\n", 1)[0])
    title = one_line(title)
    text = f"【镇合意】{title}：{first}" if first else f"【镇合意】{title}"
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1] + "…"
    return text + (f" {link}" if link.startswith("http") else "")


def _placeholders(template: str, field: str, label: str) -> None:
    parsed = string.Template(template)
    if not parsed.is_valid():
        raise ValidationError(
            f"{label}中的 $ 用法不正确：占位符写作 ${{mobile}}，$ 本身写作 $$。", field
        )
    unknown = [name for name in parsed.get_identifiers() if name not in PLACEHOLDERS]
    if unknown:
        known = "、".join(f"${{{k}}}（{v}）" for k, v in PLACEHOLDERS.items())
        raise ValidationError(f"{label}中的占位符 ${{{unknown[0]}}} 未知；可用：{known}。", field)


def _header_lines(headers: str) -> list[tuple[str, str]]:
    pairs = []
    for number, line in enumerate((headers or "").splitlines(), 1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not re.fullmatch(r"[A-Za-z0-9-]+", name.strip()):
            raise ValidationError(
                f"请求头第 {number} 行应写作 名称: 值，例如 Authorization: Bearer ${{secret}}。",
                "sms_headers",
            )
        pairs.append((name.strip(), value.strip()))
    return pairs


def render(settings: SmsSettings, mobile: str, text: str) -> urllib.request.Request:
    """The gateway request for one SMS; the values are escaped for where they go."""
    values = {"mobile": mobile, "text": text, "secret": settings.secret}

    def fill(template: str, escape) -> str:
        return string.Template(template).substitute({k: escape(v) for k, v in values.items()})

    url = fill(settings.url, quote)
    if settings.format == "json":
        body = fill(settings.template, lambda v: json.dumps(v, ensure_ascii=False)[1:-1])
        content_type = "application/json; charset=utf-8"
    else:
        body = fill(settings.template, quote_plus)
        content_type = "application/x-www-form-urlencoded; charset=utf-8"
    headers = {"Content-Type": content_type}
    headers |= {name: fill(value, str) for name, value in _header_lines(settings.headers)}
    if settings.method == "GET":
        url += ("&" if urlsplit(url).query else "?") + body
        return urllib.request.Request(url, headers=headers, method="GET")
    return urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")


def validate(settings: SmsSettings) -> None:
    """Everything that can be checked without the gateway, each naming its field."""
    if settings.method not in METHODS:
        raise ValidationError("请求方法应为 POST 或 GET。", "sms_method")
    if settings.format not in FORMATS:
        raise ValidationError("请求体格式应为 JSON 或表单。", "sms_format")
    if settings.method == "GET" and settings.format != "form":
        raise ValidationError("GET 请求的参数只能写成表单格式（key=value&…）。", "sms_format")
    _placeholders(settings.url, "sms_url", "网关地址")
    _placeholders(settings.headers, "sms_headers", "请求头")
    _placeholders(settings.template, "sms_template", "请求体模板")
    _header_lines(settings.headers)
    parts = urlsplit(string.Template(settings.url).safe_substitute(SAMPLE))
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in settings.url:
        raise ValidationError(
            "网关地址应以 http:// 或 https:// 开头，例如 https://sms.example.gov.cn/send。",
            "sms_url",
        )
    used = set().union(
        *(string.Template(t).get_identifiers() for t in (settings.url, settings.template))
    )
    missing = [name for name in ("mobile", "text") if name not in used]
    if missing:
        name = missing[0]
        raise ValidationError(
            f"网关地址或请求体模板须含 ${{{name}}}（{PLACEHOLDERS[name]}）。", "sms_template"
        )
    if settings.format == "json":
        filled = render(settings, SAMPLE["mobile"], '含"引号"的内容').data.decode()
        try:
            json.loads(filled)
        except ValueError as exc:
            raise ValidationError(
                f"请求体模板不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）；"
                '占位符放在引号内，例如 {"phone": "${mobile}", "content": "${text}"}。',
                "sms_template",
            ) from None


def save(
    db: Database,
    actor: Actor,
    *,
    enabled: bool,
    url: str,
    method: str,
    format: str,
    headers: str,
    template: str,
    secret: str | None,
    success: str,
) -> None:
    """All of it or nothing; `secret=None` keeps the saved one. Turned on only when valid."""
    require(actor, "settings.edit")
    current = load(db)
    settings = SmsSettings(
        bool(enabled),
        (url or "").strip(),
        method,
        format,
        (headers or "").strip(),
        (template or "").strip(),
        current.secret if secret is None else secret.strip(),
        (success or "").strip(),
    )
    if settings.enabled or settings.url:
        validate(settings)
    values = {
        "enabled": "1" if settings.enabled else "0",
        "url": settings.url,
        "method": settings.method,
        "format": settings.format,
        "headers": settings.headers,
        "template": settings.template,
        "success": settings.success,
    }
    if secret is not None:
        values["secret"] = settings.secret
    with store.transaction(db):
        for key, value in values.items():
            set_setting(db, actor, PREFIX + key, value, secret=key == "secret")


def send(settings: SmsSettings, mobile: str, text: str) -> str:
    """Send one SMS; returns the gateway's reply, raises RuntimeError on failure."""
    try:
        with urllib.request.urlopen(  # noqa: S310 - the admin's own gateway
            render(settings, mobile, text), timeout=TIMEOUT_SECONDS
        ) as response:
            reply = response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", errors="replace")[:200]
        raise RuntimeError(f"{explain(exc, '短信网关')} {detail}".strip()) from None
    except (OSError, ValueError) as exc:
        raise RuntimeError(explain(exc, "短信网关")) from None
    if settings.success and settings.success not in reply:
        raise RuntimeError(f"网关答复中没有成功标志“{settings.success}”：{reply[:200]}")
    return reply


def send_test(db: Database, actor: Actor) -> str:
    """A test SMS to the admin's own mobile now; returns the gateway's reply."""
    require(actor, "settings.edit")
    settings = load(db)
    if not settings.url:
        raise ValidationError("请先填写并保存短信网关地址。", "sms_url")
    mobile = store.scalar(db, "SELECT phone FROM users WHERE id = ?", (actor.id,)) or ""
    if not MOBILE.fullmatch(mobile):
        raise ValidationError("请先在“我的账号”中填写您的手机号，测试短信将发到那里。", "phone")
    try:
        return send(settings, mobile, "【镇合意】测试短信：短信通知已经可以发出。")
    except RuntimeError as exc:
        raise ValidationError(f"发送失败：{exc}", "sms_url") from None
