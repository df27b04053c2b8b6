"""A subscriber's webhook endpoint on loopback: it verifies each POST's signature and timestamp
like a careful subscriber would, keeps what it accepted (by X-ZHY-Delivery), and can answer 503
for a while. It can be stopped and started again on the same port (a restart while events flow).
`Silent` is an address that accepts connections and never answers."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Hooks:
    def __init__(self, port: int = 0):
        self.secret = ""
        self.received: list[dict] = []  # {"delivery", "event", "action"}
        self.refused_signatures = 0
        self.failing = 0
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/zhy"

    def start(self) -> Hooks:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _handler(hooks: Hooks):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            stamp = self.headers.get("X-ZHY-Timestamp", "")
            expected = (
                "sha256="
                + hmac.new(
                    hooks.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256
                ).hexdigest()
            )
            fresh = stamp.isdigit() and abs(time.time() - int(stamp)) < 300
            with hooks.lock:
                if not fresh or not hmac.compare_digest(
                    expected, self.headers.get("X-ZHY-Signature", "")
                ):
                    hooks.refused_signatures += 1
                    status = 401
                elif hooks.failing:
                    hooks.failing -= 1
                    status = 503
                else:
                    event = json.loads(body)
                    hooks.received.append(
                        {
                            "delivery": int(self.headers["X-ZHY-Delivery"]),
                            "event": event["id"],
                            "action": event["action"],
                        }
                    )
                    status = 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


class Silent:
    """An address that never answers: it accepts connections and reads nothing, writes nothing,
    until `release()` closes them all and stops listening (a stalled subscriber)."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/silent"

    @property
    def accepted(self) -> int:
        with self.lock:
            return len(self.held)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # released
                return
            with self.lock:
                self.held.append(conn)

    def release(self) -> None:
        with self.lock:
            sockets = [self.listener, *self.held]
        for sock in sockets:
            with contextlib.suppress(OSError):  # wakes the accept() and the waiting clients
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
