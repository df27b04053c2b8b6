"""A local HTTP server that keeps the WeCom group-robot and DingTalk custom-robot contracts, and an
SMS gateway, for the channel tests (on loopback; nothing leaves the machine).

- WeCom: POST /cgi-bin/webhook/send?key=K with {"msgtype": "markdown", "markdown": {"content"}},
  content at most 4,096 bytes. Unknown key: errcode 93000; bad shape: 40008; too long: 40058.
- DingTalk: POST /robot/send?access_token=T[&timestamp=&sign=] with {"msgtype": "markdown",
  "markdown": {"title", "text"}}. A robot with a secret checks the timestamp (within an hour) and
  the HMAC-SHA256 signature: errcode 310000 otherwise. Unknown token: 300001.
- Both: more than `per_minute` posts in 60 s from one robot answers the service's rate-limit
  errcode (45009, 130101); `failing` > 0 answers HTTP 502 that many times.
- SMS: POST or GET /sms, recorded as (method, path, headers, body); answers `sms_reply`.
- `raw` = (status, text) answers every request with that instead (an unknown service's page);
  `redirect` = a URL answers every request with 302 to it; `hits` counts every request seen.
- `garbage_server(answer)`: a TCP listener that answers `answer` (not HTTP) and hangs up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlsplit


class Robots:
    def __init__(self):
        self.wecom_keys: set[str] = set()
        self.dingtalk: dict[str, str] = {}  # access token -> secret ('' when unsigned)
        self.posts: list[dict] = []  # accepted posts: {"robot", "title", "text"}
        self.sms: list[dict] = []
        self.sms_reply = '{"code": 0, "msg": "提交成功"}'
        self.per_minute = 20
        self.failing = 0
        self.recent: dict[str, list[float]] = defaultdict(list)
        self.lock = threading.Lock()
        self.port = 0
        self.raw: tuple[int, str] | None = None
        self.redirect = ""
        self.hits: list[dict] = []  # every request: {"method", "path", "host"}

    def url(self, platform: str, key: str) -> str:
        if platform == "wecom":
            return f"http://127.0.0.1:{self.port}/cgi-bin/webhook/send?key={key}"
        return f"http://127.0.0.1:{self.port}/robot/send?access_token={key}"

    def too_fast(self, robot: str) -> bool:
        now = time.time()
        recent = [t for t in self.recent[robot] if t > now - 60]
        self.recent[robot] = recent + [now]
        return len(recent) >= self.per_minute

    def answer(self, path: str, query: dict, body: bytes) -> tuple[int, dict]:
        with self.lock:
            if self.failing:
                self.failing -= 1
                return 502, {}
            try:
                data = json.loads(body)
            except ValueError:
                return 200, {"errcode": 40008, "errmsg": "invalid message type"}
            if path == "/cgi-bin/webhook/send":
                key = query.get("key", [""])[0]
                if key not in self.wecom_keys:
                    return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
                content = data.get("markdown", {}).get("content")
                if data.get("msgtype") != "markdown" or not isinstance(content, str):
                    return 200, {"errcode": 40008, "errmsg": "invalid message type"}
                if len(content.encode()) > 4096:
                    return 200, {"errcode": 40058, "errmsg": "content exceed max length 4096"}
                if self.too_fast(key):
                    return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
                self.posts.append({"robot": key, "title": "", "text": content})
                return 200, {"errcode": 0, "errmsg": "ok"}
            token = query.get("access_token", [""])[0]
            if token not in self.dingtalk:
                return 200, {"errcode": 300001, "errmsg": "token is not exist"}
            secret = self.dingtalk[token]
            if secret:
                stamp = query.get("timestamp", ["0"])[0]
                expected = base64.b64encode(
                    hmac.new(
                        secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256
                    ).digest()
                ).decode()
                fresh = stamp.isdigit() and abs(time.time() * 1000 - int(stamp)) < 3600 * 1000
                if not fresh or query.get("sign", [""])[0] != expected:
                    return 200, {"errcode": 310000, "errmsg": "sign not match"}
            markdown = data.get("markdown", {})
            if data.get("msgtype") != "markdown" or not {"title", "text"} <= set(markdown):
                return 200, {"errcode": 40035, "errmsg": "缺少参数 markdown"}
            if self.too_fast(token):
                return 200, {
                    "errcode": 130101,
                    "errmsg": "send too fast, exceed 20 times per minute",
                }
            self.posts.append(
                {"robot": token, "title": markdown["title"], "text": markdown["text"]}
            )
            return 200, {"errcode": 0, "errmsg": "ok"}


def handler_for(robots: Robots):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def reply(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def seen(self) -> bool:
            """Record the request; True when `raw` or `redirect` answered it already."""
            robots.hits.append(
                {"method": self.command, "path": self.path, "host": self.headers.get("Host")}
            )
            if robots.redirect:
                self.send_response(302)
                self.send_header("Location", robots.redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True
            if robots.raw:
                self.reply(*robots.raw)
                return True
            return False

        def handle_sms(self, body: bytes) -> None:
            parts = urlsplit(self.path)
            with robots.lock:
                robots.sms.append(
                    {
                        "method": self.command,
                        "query": unquote_plus(parts.query),
                        "headers": dict(self.headers),
                        "body": body.decode(),
                    }
                )
                if robots.failing:
                    robots.failing -= 1
                    return self.reply(503, '{"code": 503, "msg": "busy"}')
            self.reply(200, robots.sms_reply)

        def do_GET(self):
            if self.seen():
                return None
            if urlsplit(self.path).path == "/sms":
                return self.handle_sms(b"")
            self.reply(404, "{}")

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.seen():
                return None
            parts = urlsplit(self.path)
            if parts.path == "/sms":
                return self.handle_sms(body)
            if parts.path not in ("/cgi-bin/webhook/send", "/robot/send"):
                return self.reply(404, "{}")
            status, answer = robots.answer(parts.path, parse_qs(parts.query), body)
            self.reply(status, json.dumps(answer, ensure_ascii=False) if answer else "bad gateway")

    return Handler


@contextmanager
def robot_server() -> Iterator[Robots]:
    robots = Robots()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(robots))
    robots.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield robots
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def garbage_server(answer: bytes = b"SSH-2.0-OpenSSH_9.6\r\n") -> Iterator[int]:
    """A loopback port where something that is not HTTP answers `answer` (b"" hangs up at once)
    to whatever arrives; yields the port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                continue
            with client:
                client.settimeout(1)
                try:
                    client.recv(65536)
                    client.sendall(answer)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()
