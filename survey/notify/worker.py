"""One delivery run: claim the due outbox rows and send each through its channel: e-mail over one
SMTP connection, SMS through the gateway, robot posts per robot within its minute (batched when
more are due than the minute allows). Robot and SMS messages wait out the quiet hours.
`python -m survey notify` calls it after the reminders; several workers may run at once."""

from __future__ import annotations

import os
import socket
from collections import defaultdict
from datetime import datetime, timedelta

from sqlite_utils import Database

from survey import clock
from survey.notify import config, mail, outbox, robots, sms, webhooks
from survey.notify.failures import explain
from survey.notify.outbox import Delivery

OUTCOMES = ("sent", "pending", "parked", "held")


def owner() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Run:
    """The channels of one run, set up once: settings read, the SMTP connection opened on first
    use and reused."""

    def __init__(self, db: Database, me: str):
        self.db, self.me = db, me
        self.mail, self.sms, self.quiet = mail.load(db), sms.load(db), config.current(db)
        self.connection = mail.Connection(self.mail)
        self.totals = dict.fromkeys(OUTCOMES, 0)

    def finish(self, delivery: Delivery, error: str | None) -> None:
        self.totals[outbox.finish(self.db, delivery, self.me, error)] += 1

    def hold(self, delivery: Delivery, until: datetime, reason: str) -> None:
        self.totals[outbox.hold(self.db, delivery, self.me, until, reason)] += 1

    def send(self, batch: list[Delivery]) -> None:
        now = clock.now()
        posts: dict[int, list[Delivery]] = defaultdict(list)
        for delivery in batch:
            if delivery.channel in config.QUIET_CHANNELS:
                until = config.quiet_until(self.quiet, now, delivery.kind)
                if until is not None:
                    self.hold(delivery, until, f"免打扰时段，{until:%m-%d %H:%M} 后发送")
                    continue
            if delivery.channel in robots.PLATFORMS:
                posts[int(delivery.target)].append(delivery)
            else:
                self.finish(delivery, self.attempt(delivery))
        for robot_id, items in posts.items():
            self.post(robot_id, items, now)

    def attempt(self, delivery: Delivery) -> str | None:
        """Send one e-mail or SMS; the error text, or None when it went."""
        try:
            if delivery.channel == "email":
                if not self.mail.enabled:
                    raise RuntimeError("邮件未配置（SMTP 服务器或发件地址为空）")
                self.connection.send(
                    delivery.target, delivery.title, delivery.body, delivery.link, delivery.id
                )
            elif delivery.channel == "webhook":
                webhooks.deliver(self.db, delivery.id, int(delivery.target), delivery.event_id)
            elif delivery.channel == "sms":
                if not self.sms.enabled:
                    raise RuntimeError("短信未开启")
                text = sms.text_of(delivery.title, delivery.body, delivery.link)
                sms.send(self.sms, delivery.target, text)
            else:
                raise RuntimeError(f"未知渠道 {delivery.channel}")
        except Exception as exc:  # noqa: BLE001 - any failure of a channel is recorded, not raised
            where = {"email": f"SMTP 服务器 {self.mail.host}:{self.mail.port}", "sms": "短信网关"}
            where["webhook"] = "订阅地址"
            return explain(exc, where.get(delivery.channel, delivery.channel))
        return None

    def post(self, robot_id: int, items: list[Delivery], now: datetime) -> None:
        """One robot's due messages: as many posts as its minute allows, batched when needed;
        the rest wait for the minute to free up."""
        robot = robots.load(self.db, robot_id)
        if robot is None or not robot.active:
            for delivery in items:
                self.finish(delivery, "机器人已停用或已删除")
            return
        granted, frees = robots.reserve(self.db, robot_id, len(items), now)

        def size(group: list[Delivery]) -> int:
            return len(robots.markdown([(d.title, d.body, d.link) for d in group])[1].encode())

        groups, left = robots.batches(items, granted, size)
        robots.release(self.db, robot_id, granted - len(groups), now)
        for group in groups:
            title, text = robots.markdown([(d.title, d.body, d.link) for d in group])
            try:
                robots.post(robot, title, text)
            except robots.RobotError as exc:
                for delivery in group:
                    if exc.rate_limited:
                        self.hold(delivery, now + timedelta(minutes=1), f"对方限流：{exc}")
                    else:
                        self.finish(delivery, str(exc))
            else:
                for delivery in group:
                    self.finish(delivery, None)
        reason = f"机器人每分钟最多 {robots.PER_MINUTE} 条，{frees:%H:%M:%S} 后发送"
        for delivery in left:
            self.hold(delivery, frees, reason)


def deliver(db: Database, limit: int = 500) -> dict[str, int]:
    """Send up to `limit` due deliveries; counts per outcome (sent, pending retry, parked, held)."""
    run = Run(db, owner())
    with run.connection:
        while limit > 0:
            batch = outbox.claim(db, run.me, min(limit, 100))
            if not batch:
                break
            limit -= len(batch)
            run.send(batch)
    return run.totals
