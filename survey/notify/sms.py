"""SMS through the local government SMS platform's HTTP gateway, described by an admin: address,
method, headers and a JSON or form body, with ${mobile}, ${text} and ${secret} in any of them.
Off by default. The text carries no personal data beyond the company's name: the message's title
and its first line (problem number, company, category, deadline), never a note or a reason.
Requests go through the outbound guard; a failure names the gateway's own code and message (the
answer's JSON fields the admin names), never the body. A changed gateway host clears the secret."""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from urllib.parse import quote, quote_plus, urlsplit

from sqlite_utils import Database

from survey import db as store
from survey import outbound
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.access.settings import get_setting, set_setting
from survey.errors import ValidationError
from survey.names import one_line

PREFIX = "sms_"
PLACEHOLDERS = {"mobile": "手机号", "text": "短信内容", "secret": "密钥"}
FORMATS = {"json": "JSON", "form": "表单（key=value&…）"}
METHODS = ("POST", "GET")
MOBILE = re.compile(r"1\d{10}")
FIELD_PATH = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")
MAX_TEXT = 200
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 10
WHERE = "短信网关"
ASK_AGAIN = "网关地址已更改，原密钥已清除，请重新填写密钥。"
NO_SECRET = "密钥为空：模板用到 ${secret}，请填写密钥（更改网关地址后须重新填写）。"
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
    code_field: str = ""  # where the answer's JSON holds the gateway's status code (a.b for nested)
    message_field: str = ""  # and its message


@dataclass(frozen=True)
class SmsRequest:
    method: str
    url: str
    body: bytes | None
    headers: dict[str, str]


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
        value("code_field"),
        value("message_field"),
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


def render(settings: SmsSettings, mobile: str, text: str) -> SmsRequest:
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
        return SmsRequest("GET", url, None, headers)
    return SmsRequest("POST", url, body.encode(), headers)


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
    for value, field in (
        (settings.code_field, "sms_code_field"),
        (settings.message_field, "sms_message_field"),
    ):
        if value and not FIELD_PATH.fullmatch(value):
            raise ValidationError(
                "答复字段应为答复 JSON 中的字段名，例如 code、msg 或 result.code。", field
            )
    if settings.format == "json":
        filled = render(settings, SAMPLE["mobile"], '含"引号"的内容').body.decode()
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
    code_field: str = "",
    message_field: str = "",
) -> str | None:
    """All of it or nothing; `secret=None` keeps the saved one, unless the gateway's host
    changed: then the secret is cleared and the returned note asks for it again. Turned on only
    when valid; the address must pass the outbound rule."""
    require(actor, "settings.edit")
    current = load(db)
    moved = secret is None and bool(current.secret) and _origin(url) != _origin(current.url)
    if moved:
        secret = ""  # the secret does not follow the address to another host
    settings = SmsSettings(
        bool(enabled),
        (url or "").strip(),
        method,
        format,
        (headers or "").strip(),
        (template or "").strip(),
        current.secret if secret is None else secret.strip(),
        (success or "").strip(),
        (code_field or "").strip(),
        (message_field or "").strip(),
    )
    if settings.enabled or settings.url:
        validate(settings)
        outbound.check_address(db, actor, _sample_url(settings.url), "sms_url", WHERE)
    values = {
        "enabled": "1" if settings.enabled else "0",
        "url": settings.url,
        "method": settings.method,
        "format": settings.format,
        "headers": settings.headers,
        "template": settings.template,
        "success": settings.success,
        "code_field": settings.code_field,
        "message_field": settings.message_field,
    }
    if secret is not None:
        values["secret"] = settings.secret
    with store.transaction(db):
        for key, value in values.items():
            set_setting(db, actor, PREFIX + key, value, secret=key == "secret")
    return ASK_AGAIN if moved and uses_secret(settings) else None


def _sample_url(url: str) -> str:
    return string.Template(url or "").safe_substitute(SAMPLE)


def _origin(url: str):
    return outbound.origin(_sample_url(url))


def uses_secret(settings: SmsSettings) -> bool:
    templates = (settings.url, settings.headers, settings.template)
    return any("secret" in string.Template(t).get_identifiers() for t in templates)


def _field(answer, path: str) -> str:
    value = answer
    for key in path.split(".") if path else ():
        value = value.get(key) if isinstance(value, dict) else None
    return "" if value is None or isinstance(value, dict | list) else str(value)[:200]


def _gateway_says(settings: SmsSettings, answer: outbound.Answer) -> str:
    """The gateway's own code and message, from the fields the admin named; never the body."""
    data = answer.json()
    said = " ".join(
        v for v in (_field(data, settings.code_field), _field(data, settings.message_field)) if v
    )
    return f"：{said}" if said else ""


def send(settings: SmsSettings, mobile: str, text: str, guard: outbound.Guard) -> None:
    """Send one SMS through the outbound guard; raises RuntimeError (in Chinese) on failure."""
    if not settings.secret and uses_secret(settings):
        raise RuntimeError(NO_SECRET)
    request = render(settings, mobile, text)
    answer = guard.request(
        request.method,
        request.url,
        where=WHERE,
        body=request.body,
        headers=request.headers,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    )
    if not answer.ok:
        raise RuntimeError(f"{WHERE}答复 HTTP {answer.status}{_gateway_says(settings, answer)}")
    reply = answer.body.decode("utf-8", errors="replace")
    if settings.success and settings.success not in reply:
        raise RuntimeError(
            f"{WHERE}答复中没有成功标志“{settings.success}”{_gateway_says(settings, answer)}"
        )


def send_test(db: Database, actor: Actor) -> str:
    """A test SMS to the admin's own mobile now; returns 已发送, or raises ValidationError saying
    what happened (refused, unreachable, or the gateway's own code and message)."""
    require(actor, "settings.edit")
    settings = load(db)
    if not settings.url:
        raise ValidationError("请先填写并保存短信网关地址。", "sms_url")
    mobile = store.scalar(db, "SELECT phone FROM users WHERE id = ?", (actor.id,)) or ""
    if not MOBILE.fullmatch(mobile):
        raise ValidationError("请先在“我的账号”中填写您的手机号，测试短信将发到那里。", "phone")
    if not settings.secret and uses_secret(settings):
        raise ValidationError(NO_SECRET, "sms_secret")
    try:
        send(
            settings,
            mobile,
            "【镇合意】测试短信：短信通知已经可以发出。",
            outbound.Guard.of(db, actor),
        )
    except RuntimeError as exc:
        raise ValidationError(f"发送失败：{exc}", "sms_url") from None
    return "已发送。"
