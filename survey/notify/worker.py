"""One delivery run: claim the due outbox rows and send each through its channel: e-mail over one
SMTP connection, SMS through the gateway, robot posts per robot within its minute (batched when
more are due than the minute allows). Robot and SMS messages wait out the quiet hours. Other
systems' webhooks go in a lane of their own (WebhookLane), beside the rest, so a subscriber that
never answers delays no e-mail, SMS or robot post. `python -m survey notify` calls it after the
reminders; several workers may run at once."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlite_utils import Database

from survey import clock, outbound
from survey import db as store
from survey.companyview import links as company_links
from survey.notify import config, mail, outbox, robots, sms, webhooks
from survey.notify.failures import explain
from survey.notify.outbox import Delivery

OUTCOMES = ("sent", "pending", "parked", "held")
LANE_BATCH = 50  # webhook deliveries claimed at a time
LANE_THREADS = 4  # subscriptions served side by side in the webhook lane


def owner() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Run:
    """The channels of one run, set up once: settings read, the SMTP connection opened on first
    use and reused."""

    def __init__(self, db: Database, me: str):
        self.db, self.me = db, me
        self.mail, self.sms, self.quiet = mail.load(db), sms.load(db), config.current(db)
        self.guard = outbound.Guard.of(db)  # the outbound rule and allow-list, read once a run
        self.connection = mail.Connection(self.mail, self.guard)
        self.totals = dict.fromkeys(OUTCOMES, 0)

    def finish(self, delivery: Delivery, error: str | None) -> None:
        self.totals[outbox.finish(self.db, delivery, self.me, error)] += 1

    def hold(self, delivery: Delivery, until: datetime, reason: str) -> None:
        self.totals[outbox.hold(self.db, delivery, self.me, until, reason)] += 1

    def send(self, batch: list[Delivery]) -> None:
        now = clock.now()
        posts: dict[int, list[Delivery]] = defaultdict(list)
        self.minted = self.mint(batch, now)
        for delivery in batch:
            if delivery.channel in config.QUIET_CHANNELS:
                until = config.quiet_until(self.quiet, now, delivery.kind)
                if until is not None:
                    self.hold(delivery, until, f"免打扰时段，{until:%m-%d %H:%M} 后发送")
                    continue
            if delivery.channel in robots.PLATFORMS:
                posts[int(delivery.target)].append(delivery)
            else:
                try:
                    self.finish(delivery, self.attempt(delivery))
                except webhooks.StoppedError as stopped:
                    self.totals[outbox.park(self.db, delivery, self.me, str(stopped))] += 1
        for robot_id, items in posts.items():
            self.post(robot_id, items, now)

    def attempt(self, delivery: Delivery) -> str | None:
        """Send one e-mail or SMS; the error text, or None when it went."""
        try:
            if delivery.channel == "webhook":
                webhooks.deliver(
                    self.db, delivery.id, int(delivery.target), delivery.event_id, self.guard
                )
            elif delivery.channel == "email":
                if not self.mail.enabled:
                    raise RuntimeError("邮件未配置（SMTP 服务器或发件地址为空）")
                title, body, link = self.words(delivery)
                self.connection.send(delivery.target, title, body, link, delivery.id)
            elif delivery.channel == "sms":
                if not self.sms.enabled:
                    raise RuntimeError("短信未开启")
                text = sms.text_of(*self.words(delivery))
                sms.send(self.sms, delivery.target, text, self.guard)
            else:
                raise RuntimeError(f"未知渠道 {delivery.channel}")
        except webhooks.StoppedError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of a channel is recorded, not raised
            where = {"email": f"SMTP 服务器 {self.mail.host}:{self.mail.port}", "sms": "短信网关"}
            where["webhook"] = "订阅地址"
            return explain(exc, where.get(delivery.channel, delivery.channel))
        return None

    def mint(self, batch: list[Delivery], now: datetime) -> dict[int, tuple[str, str, str]]:
        """The links of the batch's company deliveries that go now (企业端), minted in one
        transaction; a failure leaves each to mint its own (and fail with its own reason)."""
        going = [
            d
            for d in batch
            if d.company_id is not None
            and (
                d.channel not in config.QUIET_CHANNELS
                or config.quiet_until(self.quiet, now, d.kind) is None
            )
        ]
        try:
            return company_links.compose_all(self.db, going)
        except Exception:  # noqa: BLE001 - each delivery then records the reason itself
            return {}

    def words(self, delivery: Delivery) -> tuple[str, str, str]:
        """Title, body and link: the message's, or for a company's delivery (企业端) its own
        words with a link minted now (no token waits in the outbox)."""
        if delivery.company_id is not None:
            minted = getattr(self, "minted", {}).get(delivery.id)
            return minted or company_links.compose(self.db, delivery)
        return delivery.title, delivery.body, delivery.link

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
                robots.post(robot, title, text, self.guard)
            except robots.RobotError as exc:
                for delivery in group:
                    if exc.rate_limited:
                        self.hold(delivery, now + timedelta(minutes=1), f"对方限流：{exc}")
                    else:
                        self.finish(delivery, str(exc))
            except Exception as exc:  # noqa: BLE001 - a failed attempt of these deliveries only
                for delivery in group:
                    self.finish(delivery, explain(exc, robots.WHERE))
            else:
                for delivery in group:
                    self.finish(delivery, None)
        reason = f"机器人每分钟最多 {robots.PER_MINUTE} 条，{frees:%H:%M:%S} 后发送"
        for delivery in left:
            self.hold(delivery, frees, reason)


class WebhookLane(threading.Thread):
    """The webhook lane of one run, beside the messages: its own thread and connections, claiming
    only webhook deliveries (outbox.LANES), each subscription's in order, up to LANE_THREADS
    subscriptions side by side. After a failed attempt the subscription's other deliveries are
    not tried again in this run but recorded as failed attempts with that error (the same retry
    schedule, parked after MAX_ATTEMPTS), so a subscriber that never answers costs one timeout
    per run, not one per event. No new attempt starts once half the lease has passed since the claim (the
    rest go back to the queue, due now), so a slow subscriber never outlives the lease."""

    def __init__(self, where: str, me: str, limit: int):
        super().__init__(name="webhook-lane", daemon=True)
        self.where, self.me, self.limit = where, me, limit
        self.totals = dict.fromkeys(OUTCOMES, 0)
        self.failed: dict[str, str] = {}  # subscription (target) -> its failure in this run
        self.lock = threading.Lock()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with store.opened(self.where) as db:
                while self.limit > 0:
                    batch = outbox.claim(db, self.me, min(self.limit, LANE_BATCH), "webhook")
                    if not batch:
                        break
                    self.limit -= len(batch)
                    self.send(batch)
        except BaseException as exc:  # noqa: BLE001 - raised again by the run that waits for it
            self.error = exc

    def send(self, batch: list[Delivery]) -> None:
        claimed = time.monotonic()
        queues: dict[str, list[Delivery]] = defaultdict(list)
        for delivery in batch:
            queues[delivery.target].append(delivery)
        threads = min(LANE_THREADS, len(queues))
        with ThreadPoolExecutor(threads, thread_name_prefix="webhook") as pool:
            for done in [pool.submit(self.subscriber, q, claimed) for q in queues.values()]:
                done.result()

    def subscriber(self, queue: list[Delivery], claimed: float) -> None:
        """One subscription's deliveries, in order, through a connection of this thread."""
        with store.opened(self.where) as db:
            guard = outbound.Guard.of(db)  # the allow-list as saved now; refusals audited here
            for delivery in queue:
                with self.lock:
                    failed = self.failed.get(delivery.target)
                if time.monotonic() - claimed > outbox.LEASE_SECONDS / 2:
                    outcome = outbox.hold(
                        db, delivery, self.me, clock.now(), "本轮时间已到，下轮发送"
                    )
                elif failed is not None:
                    note = f"本轮该订阅已失败一次，此条未再尝试：{failed}"
                    outcome = outbox.finish(db, delivery, self.me, note)
                else:
                    try:
                        webhooks.deliver(
                            db, delivery.id, int(delivery.target), delivery.event_id, guard
                        )
                    except webhooks.StoppedError as stopped:
                        outcome = outbox.park(db, delivery, self.me, str(stopped))
                    except Exception as exc:  # noqa: BLE001 - a failure is this delivery's only
                        error = explain(exc, "订阅地址")
                        with self.lock:
                            self.failed[delivery.target] = error
                        outcome = outbox.finish(db, delivery, self.me, error)
                    else:
                        outcome = outbox.finish(db, delivery, self.me, None)
                with self.lock:
                    self.totals[outcome] += 1


def deliver(db: Database, limit: int = 500) -> dict[str, int]:
    """Send up to `limit` due deliveries of each lane; counts per outcome (sent, pending retry,
    parked, held). E-mail, SMS and robot posts go from this thread while the webhook lane sends
    webhooks beside them: neither waits for the other's answers."""
    run = Run(db, owner())
    lane = WebhookLane(store.identity(db), run.me, limit)
    lane.start()
    try:
        with run.connection:
            while limit > 0:
                batch = outbox.claim(db, run.me, min(limit, 100), "messages")
                if not batch:
                    break
                limit -= len(batch)
                run.send(batch)
    finally:
        lane.join()
    if lane.error is not None:
        raise lane.error
    return {k: run.totals[k] + lane.totals[k] for k in OUTCOMES}
