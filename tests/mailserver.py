"""A real SMTP server on loopback (aiosmtpd) for the e-mail tests: it keeps what it receives and
can answer 451 for a while to exercise retries; it accepts any login and keeps the (user, password)
pairs it was given, so a test sees which server a password reached."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.browser import free_port


class Inbox:
    def __init__(self):
        self.received: list[email.message.EmailMessage] = []
        self.failing = 0
        self.logins: list[tuple[str, str]] = []

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)

    async def handle_DATA(self, server, session, envelope):
        if self.failing:
            self.failing -= 1
            return "451 4.3.0 try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(parsed)
        return "250 OK queued"


@contextmanager
def smtp_server(host: str = "127.0.0.1", port: int = 0) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname=host,
        port=port or free_port(),
        authenticator=inbox.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()
