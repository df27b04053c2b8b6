"""One delivery run: claim the due outbox rows and send each through its channel (e-mail for now).
`python -m survey notify` calls it after the reminders; several workers may run at once."""

from __future__ import annotations

import os
import socket

from sqlite_utils import Database

from survey.notify import mail, outbox


def owner() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def deliver(db: Database, limit: int = 500) -> dict[str, int]:
    """Send up to `limit` due deliveries over one SMTP connection; counts per outcome."""
    settings, me = mail.load(db), owner()
    totals = {"sent": 0, "pending": 0, "parked": 0}
    with mail.Connection(settings) as connection:

        def send(delivery: outbox.Delivery) -> None:
            if delivery.channel != "email":
                raise RuntimeError(f"渠道 {delivery.channel} 尚未接入")
            if not settings.enabled:
                raise RuntimeError("邮件未配置（SMTP 服务器或发件地址为空）")
            connection.send(
                delivery.target, delivery.title, delivery.body, delivery.link, delivery.id
            )

        while limit > 0:
            counts = outbox.deliver_due(db, me, send, limit=min(limit, 100))
            for key, n in counts.items():
                totals[key] += n
            done = sum(counts.values())
            limit -= done
            if done == 0:
                break
    return totals
