"""Government group robots: the WeCom (企业微信) group-robot webhook and the DingTalk (钉钉)
custom-robot webhook, one or more per department and for the supervisors. Both take markdown; a
DingTalk robot with 加签 needs each post signed (HMAC-SHA256 of "timestamp\\nsecret"). Both services
allow 20 posts a minute per robot: posts are reserved under BEGIN IMMEDIATE in `robot_posts`, so
several workers together keep to it, and when more messages are due than the minute allows they
are batched into fewer posts. The webhook address holds the robot's key, so it is a secret too:
shown masked after saving, and never written to the audit log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

from sqlite_utils import Database

from survey import clock, outbound, repeats
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.errors import ValidationError
from survey.labels import CHANNEL_LABELS
from survey.names import one_line

SUPERVISORS = "supervisors"  # the audience of the supervisors' robot; departments use their code
PER_MINUTE = 20  # both services' documented limit per robot
MAX_BYTES = 4000  # WeCom's markdown limit is 4,096 bytes; DingTalk's is larger
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 10
WHERE = "机器人地址"  # how failures name the other end
# platform -> (the query parameter that holds the key, the example address, rate-limit errcodes)
PLATFORMS = {
    "wecom": ("key", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…", {45009}),
    "dingtalk": ("access_token", "https://oapi.dingtalk.com/robot/send?access_token=…", {130101}),
}


class RobotError(Exception):
    """A post the service refused or could not take; `rate_limited` when it said "too fast"."""

    def __init__(self, text: str, rate_limited: bool = False):
        super().__init__(text)
        self.rate_limited = rate_limited


@dataclass(frozen=True)
class Robot:
    id: int
    name: str
    platform: str
    audience: str
    url: str
    secret: str
    active: int


def masked(url: str) -> str:
    """The address with its key shown as ••••1234 (the page shows this after saving)."""
    return re.sub(r"((?:key|access_token)=)([^&]+)", lambda m: m[1] + "••••" + m[2][-4:], url or "")


def _check(db: Database, platform: str, audience: str, url: str | None, secret: str | None):
    if platform not in PLATFORMS:
        raise ValidationError("请选择机器人类型（企业微信或钉钉）。", "platform")
    if audience != SUPERVISORS and not store.scalar(
        db, "SELECT 1 FROM departments WHERE code = ?", (audience,)
    ):
        raise ValidationError("请选择机器人所在的群：督查人员，或一个责任部门。", "audience")
    if url is not None:
        key, example, _ = PLATFORMS[platform]
        parts = urlsplit(url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or " " in url
            or not parse_qs(parts.query).get(key)
        ):
            raise ValidationError(f"Webhook 地址格式不正确，应形如 {example}", "url")
    if secret and (len(secret) > 200 or re.search(r"\s", secret)):
        raise ValidationError(
            "加签密钥不应含空格，请从钉钉机器人设置中完整复制（以 SEC 开头）。", "secret"
        )


def save_robot(
    db: Database,
    actor: Actor,
    *,
    robot_id: int | None = None,
    name: str,
    platform: str,
    audience: str,
    url: str | None,
    secret: str | None = None,
    active: bool = True,
    request_id: str | None = None,
) -> int:
    """Add a robot (robot_id None) or change one. `url=None` / `secret=None` keep the saved ones;
    a bad value names its field and nothing is saved. Audited without the address or secret.
    A repeat of `request_id` (survey.repeats) returns the first save's robot, writing nothing."""
    require(actor, "settings.edit")
    name, url = one_line(name), (url.strip() if url else None)
    secret = secret.strip() if secret else None
    if not name:
        raise ValidationError("请填写机器人名称，例如 工信局工作群。", "name")
    if robot_id is None and not url:
        raise ValidationError("请填写 Webhook 地址。", "url")
    _check(db, platform, audience, url, secret)
    if url:
        outbound.check_address(db, actor, url, "url", WHERE)
    values = {"name": name, "platform": platform, "audience": audience, "active": int(active)}
    shown = dict(values)
    if url:
        values["url"], shown["url"] = url, masked(url)
    if secret is not None:
        values["secret"], shown["secret"] = secret, "（已隐藏）"
    with store.transaction(db):
        if repeat := repeats.first(db, actor, request_id, "robot"):
            return repeat.result
        if url and store.scalar(
            db, "SELECT 1 FROM robots WHERE url = ? AND id IS NOT ?", (url, robot_id)
        ):
            raise ValidationError("这个 Webhook 地址已经登记过。", "url")
        if robot_id is None:
            robot_id = db.execute(
                "INSERT INTO robots (name, platform, audience, url, secret, active, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, platform, audience, url, secret or "", int(active), clock.now_iso()),
            ).lastrowid
            audit.record(db, actor, "insert", "robots", robot_id, after=shown)
        else:
            before = store.query(
                db, "SELECT name, platform, audience, active FROM robots WHERE id = ?", (robot_id,)
            )
            if not before:
                raise ValidationError("没有这个机器人。", "robot")
            sets = ", ".join(f"{k} = ?" for k in values)
            db.execute(f"UPDATE robots SET {sets} WHERE id = ?", [*values.values(), robot_id])
            audit.record(db, actor, "update", "robots", robot_id, before=before[0], after=shown)
        return repeats.record(db, actor, request_id, "robot", int(robot_id))


def list_robots(db: Database, actor: Actor) -> list[dict]:
    """Every robot, its address masked and its secret only as set / not set."""
    require(actor, "settings.edit")
    rows = store.query(
        db,
        "SELECT r.id, r.name, r.platform, r.audience, r.url, r.secret != '' AS signed, r.active,"
        " coalesce(d.name, '督查人员') AS audience_name,"
        " (SELECT max(at) FROM robot_posts p WHERE p.robot_id = r.id) AS last_post_at"
        " FROM robots r LEFT JOIN departments d ON d.code = r.audience ORDER BY r.id",
    )
    for row in rows:
        row["url"] = masked(row["url"])
    return rows


def for_audience(db: Database, audience: tuple[str, ...]) -> list[tuple[int, str]]:
    """(robot id, platform) of the active robots of these groups."""
    if not audience:
        return []
    marks = ", ".join("?" for _ in audience)
    return db.conn.execute(
        f"SELECT id, platform FROM robots WHERE active = 1 AND audience IN ({marks}) ORDER BY id",
        list(audience),
    ).fetchall()


def load(db: Database, robot_id: int) -> Robot | None:
    rows = store.query(
        db,
        "SELECT id, name, platform, audience, url, secret, active FROM robots WHERE id = ?",
        (robot_id,),
    )
    return Robot(**rows[0]) if rows else None


# -- posting -----------------------------------------------------------------------------------


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: base64 of HMAC-SHA256(secret, "timestamp\\nsecret"), URL-encoded."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest))


def post_url(robot: Robot, timestamp_ms: int | None = None) -> str:
    if robot.platform != "dingtalk" or not robot.secret:
        return robot.url
    timestamp_ms = timestamp_ms or int(time.time() * 1000)  # DingTalk checks it within an hour
    return f"{robot.url}&timestamp={timestamp_ms}&sign={sign(robot.secret, timestamp_ms)}"


def payload(platform: str, title: str, text: str) -> dict:
    if platform == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": text}}
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}


# What the services make of text. WeCom's markdown: # headings, **bold**, *italic*, [links](),
# `code`, > quotes, <font color>, <@userid> mentions. DingTalk's: the same plus ![images](), lists
# (- + 1.), setext rules, HTML tags, and @mobile. Both clients turn bare URLs and domains into
# links. Neither documents a backslash escape, so user text gets look-alike characters instead:
# everywhere for the inline marks, at a line's start for the block marks, and a one-dot leader
# between letters or digits and a full-width colon before // so nothing reads as an address.
_LOOKALIKES = str.maketrans(
    {
        "\\": "＼",
        "`": "｀",
        "*": "＊",
        "_": "＿",
        "~": "～",
        "[": "［",
        "]": "］",
        "<": "＜",
        ">": "＞",
        "&": "＆",
        "@": "＠",
        "|": "｜",
    }
)
_BLOCK = re.compile(r"^(?:[#=+-]|\d+[.)])")  # after one_line, a line starts with no space
_BLOCK_LOOKALIKES = str.maketrans(
    {"#": "＃", "=": "＝", "+": "＋", "-": "－", ".": "．", ")": "）"}
)
_DOT = re.compile(r"(?<=[A-Za-z0-9])\.(?=[A-Za-z0-9])")
_SCHEME = re.compile(r"(?<=[A-Za-z]):(?=//)")
LINK_SAFE = "/:?#&=%+,;@!$'*~-._"  # our link's characters; the rest are percent-encoded


def plain(line: str) -> str:
    """One line of user text (a company name, a note, a reason) as text in either service's
    markdown: it shows as typed and makes no heading, link, image, mention, style or address."""
    line = one_line(line).translate(_LOOKALIKES)
    line = _BLOCK.sub(lambda m: m[0].translate(_BLOCK_LOOKALIKES), line, count=1)
    return _SCHEME.sub("：", _DOT.sub("\u2024", line))


def markdown(items: list[tuple[str, str, str]]) -> tuple[str, str]:
    """(title, markdown) of one post carrying these (title, body, link) messages. Our heading,
    titles, quote marks and 查看详情 link are the only markup: every body line is `plain`."""

    def body_of(body: str, link: str) -> list[str]:
        lines = [f"> {plain(line)}" for line in body.splitlines() if line.strip()]
        absolute = link.startswith(("http://", "https://"))  # a group has no use for a bare path
        return lines + ([f"[查看详情]({quote(link, safe=LINK_SAFE)})"] if absolute else [])

    if len(items) == 1:
        title = f"【镇合意】{plain(items[0][0])}"
        text = "\n".join([f"### {title}", *body_of(*items[0][1:])])
    else:
        title = f"【镇合意】{len(items)} 条通知"
        parts = ["\n".join([f"**{plain(t)}**", *body_of(b, link)]) for t, b, link in items]
        text = f"### {title}\n" + "\n\n".join(parts)
    if len(text.encode()) > MAX_BYTES:  # one long note: cut it rather than be refused
        text = text.encode()[: MAX_BYTES - 3].decode(errors="ignore") + "…"
    return title, text


def post(robot: Robot, title: str, text: str, guard: outbound.Guard) -> None:
    """One post through the outbound guard; raises RobotError on any failure, with the service's
    own errcode and errmsg when it gave them, never the body of an answer it did not."""
    body = json.dumps(payload(robot.platform, title, text), ensure_ascii=False).encode()
    try:
        answer = guard.request(
            "POST",
            post_url(robot),
            where=WHERE,
            body=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
        )
    except outbound.OutboundError as exc:
        raise RobotError(str(exc)) from None
    reply = answer.json()
    code = reply.get("errcode") if isinstance(reply, dict) else None
    if type(code) is not int:
        if not answer.ok:
            raise RobotError(f"{WHERE}答复 HTTP {answer.status}")
        service = CHANNEL_LABELS.get(robot.platform, robot.platform)
        raise RobotError(
            f"{WHERE}的答复无法识别（HTTP {answer.status}，不是{service}机器人的答复）"
        )
    if code != 0:
        message = str(reply.get("errmsg", ""))[:200]
        service = CHANNEL_LABELS.get(robot.platform, robot.platform)
        raise RobotError(
            f"{service}答复错误 {code}：{message}",
            rate_limited=code in PLATFORMS[robot.platform][2],
        )


def reserve(db: Database, robot_id: int, wanted: int, now: datetime) -> tuple[int, datetime]:
    """Take up to `wanted` of the robot's posts in the current minute; returns how many were
    granted and when the next one frees up."""
    since = clock.iso(now - timedelta(minutes=1))
    with store.transaction(db):
        recent = [
            r[0]
            for r in db.conn.execute(
                "SELECT at FROM robot_posts WHERE robot_id = ? AND at > ? ORDER BY at",
                (robot_id, since),
            )
        ]
        granted = max(0, min(wanted, PER_MINUTE - len(recent)))
        db.conn.executemany(
            "INSERT INTO robot_posts (robot_id, at) VALUES (?, ?)",
            [(robot_id, clock.iso(now))] * granted,
        )
        db.execute("DELETE FROM robot_posts WHERE at < ?", (clock.iso(now - timedelta(days=1)),))
    held = recent + [clock.iso(now)] * granted
    frees = datetime.fromisoformat(held[0]) + timedelta(minutes=1) if held else now
    return granted, max(frees, now + timedelta(seconds=1))


def release(db: Database, robot_id: int, unused: int, now: datetime) -> None:
    """Give back posts reserved at `now` and not made (batching needed fewer)."""
    if unused > 0:
        with store.transaction(db):
            db.execute(
                "DELETE FROM robot_posts WHERE id IN (SELECT id FROM robot_posts"
                " WHERE robot_id = ? AND at = ? ORDER BY id DESC LIMIT ?)",
                (robot_id, clock.iso(now), unused),
            )


def batches(items: list, budget: int, size) -> tuple[list[list], list]:
    """Split due messages into at most `budget` posts: one message a post while the minute
    allows, otherwise several a post up to MAX_BYTES each; returns (posts, left over)."""
    if len(items) <= budget:
        return [[item] for item in items], []
    per = math.ceil(len(items) / max(budget, 1))
    posts: list[list] = [[]]
    for item in items:
        current = posts[-1]
        if current and (len(current) >= per or size(current + [item]) > MAX_BYTES):
            posts.append([])
        posts[-1].append(item)
    return posts[:budget], [item for post in posts[budget:] for item in post]


def send_test(db: Database, actor: Actor, robot_id: int) -> str:
    """Post a test message now; returns 已发送, or raises ValidationError saying what happened
    (refused by the outbound rule, unreachable, or the service's errcode and errmsg)."""
    require(actor, "settings.edit")
    robot = load(db, robot_id)
    if robot is None:
        raise ValidationError("没有这个机器人。", "robot")
    title, text = markdown([("测试消息", "这是一条测试消息：本群可以收到镇合意的通知。", "")])
    try:
        post(robot, title, text, outbound.Guard.of(db, actor))
    except RobotError as exc:
        raise ValidationError(f"发送失败：{exc}", "url") from None
    return "已发送。"
