"""The one door out of the server: every connection the app opens to another host (group robots,
the SMS gateway, webhooks, SMTP) is checked and made here, by one rule. http and https only; the
host is resolved once and every address it resolves to must be public (not loopback, link-local,
private, unique-local, multicast, reserved or unspecified; an IPv4-mapped, 6to4 or NAT64 address
counts as its IPv4 address) unless an admin listed that address or a network holding it in
通知设置 → 内网地址白名单; the connection then goes to exactly the checked address (no second
lookup), the host name kept for the Host header and TLS; no redirect is followed; connect and
read time out. Failures read in Chinese and never quote the body of an unknown answer; refused,
timed out and closed ports read the same. Every refusal and every allow-list change is audited."""

from __future__ import annotations

import http.client
import ipaddress
import json
import smtplib
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlite_utils import Database

from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.access.settings import get_setting, set_setting
from survey.errors import ValidationError

ALLOW_SETTING = "outbound_allow"
MAX_ANSWER_BYTES = 64 * 1024  # a robot's or gateway's JSON answer is a few hundred bytes
SCHEMES = {"http": 80, "https": 443}
SHORTEST_PREFIX = {4: 8, 6: 32}  # an allow-list entry wider than this would open everything
NAT64 = ipaddress.ip_network("64:ff9b::/96")
KINDS = (  # (test, how a refusal names it), the first that holds
    (lambda ip: ip.is_unspecified, "未指定地址"),
    (lambda ip: ip.is_loopback, "本机回环地址"),
    (lambda ip: ip.is_link_local, "链路本地地址"),
    (lambda ip: ip.is_multicast, "组播地址"),
    (lambda ip: ip.version == 6 and ip in ipaddress.ip_network("fc00::/7"), "唯一本地地址"),
    (lambda ip: ip.is_private, "内网地址"),
    (lambda ip: ip.is_reserved, "保留地址"),
    (lambda ip: not ip.is_global, "非公网地址"),
)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def connect_failed(where: str) -> str:
    """One message for a refused, timed-out, reset or closed connection and for an answer that is
    not HTTP: which of them it was would tell a prober what listens where."""
    return f"无法连接{where}，或对方没有给出有效答复（连接被拒绝、超时或中断）"


class OutboundError(RuntimeError):
    """A request that got no usable answer; the text is Chinese and names the other end."""


class RefusedError(OutboundError):
    """An address the rule does not allow; raised before any connection is opened."""

    def __init__(self, text: str, host: str = "", address: str = "", kind: str = ""):
        super().__init__(text)
        self.host, self.address, self.kind = host, address, kind


# -- the allow-list ------------------------------------------------------------------------------


def parse_allow_list(text: str, *, strict: bool = True) -> tuple[Network, ...]:
    """One address or network a line (10.20.1.5, 10.20.0.0/16, fd00::/64); `#` starts a comment.
    A bad line is named and nothing is taken; strict=False skips it instead (a stored list is
    checked when saved, and a run must not stop on one edited by hand)."""
    networks = []
    for number, line in enumerate((text or "").splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry)
        except ValueError:
            if not strict:
                continue
            raise ValidationError(
                f"内网地址白名单第 {number} 行“{entry}”不是 IP 地址或网段"
                "（例如 10.20.1.5 或 10.20.0.0/16；网段须写主机位为 0 的网络地址）。",
                ALLOW_SETTING,
            ) from None
        if network.prefixlen < SHORTEST_PREFIX[network.version]:
            if not strict:
                continue
            raise ValidationError(
                f"内网地址白名单第 {number} 行“{entry}”范围过大；请只登记需要访问的地址或小网段。",
                ALLOW_SETTING,
            )
        networks.append(network)
    return tuple(networks)


def allow_list_text(db: Database) -> str:
    return get_setting(db, ALLOW_SETTING) or ""


def save_allow_list(db: Database, actor: Actor, text: str) -> None:
    """Admins list the intranet services the app may reach (the SMS platform, a mail relay);
    checked line by line, saved and audited whole."""
    require(actor, "settings.edit")
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    parse_allow_list("\n".join(lines))
    with store.transaction(db):
        set_setting(db, actor, ALLOW_SETTING, "\n".join(lines))


# -- the rule ------------------------------------------------------------------------------------


def _embedded(ip) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), which is where it goes."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def forbidden_kind(ip) -> str | None:
    """Why this address may not be reached without the allow-list; None for a public one."""
    inner = _embedded(ip)
    if inner is not None and (kind := forbidden_kind(inner)):
        return kind
    return next((name for test, name in KINDS if test(ip)), None)


@dataclass(frozen=True)
class Target:
    """A host whose every address passed the rule: connections go to these addresses only."""

    host: str  # as written (Host header, TLS server name)
    port: int
    addresses: tuple[tuple[int, Any], ...]  # (family, sockaddr), as resolved once

    def connect(self, timeout: float) -> socket.socket:
        """A TCP connection to the first checked address that answers; never a new lookup."""
        last: OSError | None = None
        for family, sockaddr in self.addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            return sock
        raise last or OSError("no address")


class Guard:
    """The rule with an admin's allow-list, and where to audit refusals (db, actor)."""

    def __init__(
        self,
        allowed: tuple[Network, ...] = (),
        db: Database | None = None,
        actor: Actor | None = None,
    ):
        self.allowed, self.db, self.actor = allowed, db, actor

    @classmethod
    def of(cls, db: Database, actor: Actor | None = None) -> Guard:
        """The guard for a run or a request: the allow-list as saved now."""
        return cls(parse_allow_list(allow_list_text(db), strict=False), db, actor)

    def _allowed(self, ip) -> bool:
        inner = _embedded(ip)
        return any(ip in n or (inner is not None and inner in n) for n in self.allowed)

    def _refuse(self, where: str, host: str, port: int, address: str, kind: str) -> RefusedError:
        if self.db is not None:
            with store.transaction(self.db):
                after = {"where": where, "host": host, "port": port, "address": address}
                audit.record(
                    self.db,
                    self.actor,
                    "other",
                    "outbound",
                    host,
                    after=after | {"kind": kind},
                    note="出站地址被拒绝",
                )
        shown = f"{host}（{address}）" if address and address != host else host
        return RefusedError(
            f"已拒绝（地址不允许）：{where} {shown} 是{kind}。如为本单位内网服务，"
            "请管理员在“通知设置 → 内网地址白名单”中登记该地址后再试。",
            host,
            address,
            kind,
        )

    def resolve(self, host: str, port: int, where: str) -> Target:
        """Resolve `host` once and check every address; raises RefusedError (audited) when one
        is not allowed, OutboundError when the name does not resolve. Opens no connection."""
        host = (host or "").strip().strip("[]")
        if not host:
            raise RefusedError(f"已拒绝（地址不允许）：{where}没有主机名。")
        try:
            name = host.encode("idna").decode("ascii")
            infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except (UnicodeError, socket.gaierror, OSError):
            raise OutboundError(f"找不到{where} {host}：域名无法解析") from None
        addresses = []
        for family, _, _, _, sockaddr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
            kind = forbidden_kind(ip)
            if kind and not self._allowed(ip):
                raise self._refuse(where, host, port, str(ip), kind)
            if (family, sockaddr) not in addresses:
                addresses.append((family, sockaddr))
        if not addresses:
            raise OutboundError(f"找不到{where} {host}：域名无法解析")
        return Target(host, port, tuple(addresses))

    def check_url(self, url: str, where: str) -> tuple[Target, Any]:
        """The URL's scheme (http or https) and host checked; returns its target and parts."""
        parts = urlsplit((url or "").strip())
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise RefusedError(f"已拒绝（地址不允许）：{where}只能是 http:// 或 https:// 地址。")
        try:
            port = parts.port or SCHEMES[parts.scheme]
        except ValueError:
            raise RefusedError(f"已拒绝（地址不允许）：{where}的端口无效。") from None
        return self.resolve(parts.hostname, port, where), parts

    def request(
        self,
        method: str,
        url: str,
        *,
        where: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        connect_timeout: float,
        read_timeout: float,
    ) -> Answer:
        """One HTTP request to a checked address. Any answer but a redirect comes back (the
        caller reads its status and JSON); a redirect, a refused address and every failure to
        get an HTTP answer raise OutboundError."""
        target, parts = self.check_url(url, where)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if parts.scheme == "https":
            connection: http.client.HTTPConnection = _PinnedTLS(
                target, connect_timeout, read_timeout
            )
        else:
            connection = _Pinned(target, connect_timeout, read_timeout)
        try:
            connection.request(
                method, path, body=body, headers={**(headers or {}), "Connection": "close"}
            )
            response = connection.getresponse()
            status = response.status
            if 300 <= status < 400:
                raise OutboundError(f"{where}答复 HTTP {status} 重定向；出站请求不跟随重定向")
            data = response.read(MAX_ANSWER_BYTES)
        except OutboundError:
            raise
        except ssl.SSLError:
            raise OutboundError(f"与{where}建立加密连接失败：证书或加密方式不符") from None
        except (OSError, http.client.HTTPException, ValueError):
            raise OutboundError(connect_failed(where)) from None
        finally:
            connection.close()
        return Answer(status, data)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # at most MAX_ANSWER_BYTES

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The answer as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None


class _Pinned(http.client.HTTPConnection):
    """HTTP to a Target: the socket goes to the checked address; Host stays the name."""

    def __init__(self, target: Target, connect_timeout: float, read_timeout: float):
        super().__init__(target.host, target.port, timeout=connect_timeout)
        self.target, self.read_timeout = target, read_timeout

    def connect(self) -> None:
        self.sock = self.target.connect(self.timeout)
        self.sock.settimeout(self.read_timeout)


class _PinnedTLS(_Pinned):
    default_port = 443

    def connect(self) -> None:
        super().connect()
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)


def check_address(db: Database, actor: Actor, url: str, field: str, where: str) -> None:
    """An address an admin is saving, as the rule sees it now: a refusal (audited) or a host
    that does not resolve raises ValidationError naming the field. Opens no connection."""
    try:
        Guard.of(db, actor).check_url(url, where)
    except OutboundError as exc:
        raise ValidationError(str(exc), field) from None


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of an address: where a secret sent with it ends up."""
    parts = urlsplit((url or "").strip())
    try:
        port = parts.port or SCHEMES.get(parts.scheme)
    except ValueError:
        port = None
    return parts.scheme, (parts.hostname or "").lower(), port


# -- SMTP ----------------------------------------------------------------------------------------


class _PinnedSMTP(smtplib.SMTP):
    def __init__(self, target: Target, read_timeout: float, connect_timeout: float):
        self.target, self.connect_timeout = target, connect_timeout
        super().__init__(timeout=read_timeout)

    def _get_socket(self, host, port, timeout):
        sock = self.target.connect(self.connect_timeout)
        sock.settimeout(timeout)
        return sock


class _PinnedSMTPS(_PinnedSMTP):
    default_port = smtplib.SMTP_SSL_PORT

    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, timeout)
        return ssl.create_default_context().wrap_socket(sock, server_hostname=self._host)


def smtp_client(
    target: Target, security: str, *, connect_timeout: float, read_timeout: float
) -> smtplib.SMTP:
    """An SMTP session with the checked address (greeting read); SSL and STARTTLS check the
    certificate against the host name as written."""
    kind = _PinnedSMTPS if security == "ssl" else _PinnedSMTP
    client = kind(target, read_timeout, connect_timeout)
    client.connect(target.host, target.port)
    if security == "starttls":
        client.starttls(context=ssl.create_default_context())
    return client
