"""A real SMTP server on loopback (aiosmtpd) for the e-mail tests: it keeps what it receives and
can answer 451 for a while to exercise retries."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller

from tests.browser import free_port


class Inbox:
    def __init__(self):
        self.received: list[email.message.EmailMessage] = []
        self.failing = 0

    async def handle_DATA(self, server, session, envelope):
        if self.failing:
            self.failing -= 1
            return "451 4.3.0 try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(parsed)
        return "250 OK queued"


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()
