"""What admins set for notifications: the time of the daily digest, the site's public address
(for links in messages that leave the app) and the quiet hours, when robot and SMS messages wait
for the morning (逾期 and 督办 may go through). Checked, saved together, audited."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

from sqlite_utils import Database

from survey import db as store
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.access.settings import get_setting, set_setting
from survey.errors import ValidationError
from survey.notify.digest import DEFAULT_TIME, TIME_SETTING
from survey.notify.messages import BASE_URL_SETTING

QUIET_CHANNELS = ("wecom", "dingtalk", "sms")  # e-mail and the app wait for nobody
THROUGH_QUIET = ("overdue", "escalated")  # 逾期 and 督办, when the admin lets them through


def current(db: Database) -> dict[str, str]:
    return {
        "digest_time": get_setting(db, TIME_SETTING) or DEFAULT_TIME,
        "base_url": get_setting(db, BASE_URL_SETTING) or "",
        "quiet_start": get_setting(db, "quiet_start") or "",
        "quiet_end": get_setting(db, "quiet_end") or "",
        "quiet_urgent": get_setting(db, "quiet_urgent") or "0",
    }


def _clock_time(text: str, field: str, label: str, *, optional: bool = False) -> str:
    text = (text or "").strip()
    if optional and not text:
        return ""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValidationError(f"{label}应为 HH:MM，例如 08:30。", field)
    return f"{int(match[1]):02d}:{match[2]}"


def quiet_until(settings: dict[str, str], moment: datetime, kind: str) -> datetime | None:
    """When a robot or SMS message of this kind, due at `moment`, may go; None when now."""
    start, end = settings["quiet_start"], settings["quiet_end"]
    if not start or not end or start == end:
        return None
    if settings["quiet_urgent"] == "1" and kind in THROUGH_QUIET:
        return None
    now = moment.strftime("%H:%M")
    inside = start <= now < end if start < end else (now >= start or now < end)
    if not inside:
        return None
    until = datetime.combine(moment.date(), time.fromisoformat(end))
    return until if until > moment else until + timedelta(days=1)


def save(
    db: Database,
    actor: Actor,
    *,
    digest_time: str,
    base_url: str,
    quiet_start: str = "",
    quiet_end: str = "",
    quiet_urgent: bool = False,
) -> None:
    """All values or none: a bad one names its field and nothing is saved. Quiet hours are both
    times or neither (for example 21:00 and 08:00, across midnight)."""
    require(actor, "settings.edit")
    digest_time = _clock_time(digest_time, "digest_time", "每日待办发送时间")
    quiet_start = _clock_time(quiet_start, "quiet_start", "免打扰开始时间", optional=True)
    quiet_end = _clock_time(quiet_end, "quiet_end", "免打扰结束时间", optional=True)
    if bool(quiet_start) != bool(quiet_end) or (quiet_start and quiet_start == quiet_end):
        raise ValidationError(
            "免打扰时段须同时填写不同的开始和结束时间（例如 21:00 至 08:00），或都留空。",
            "quiet_end" if quiet_start else "quiet_start",
        )
    base_url = (base_url or "").strip().rstrip("/")
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValidationError(
                "系统访问地址应以 http:// 或 https:// 开头，例如 https://zhy.example.gov.cn。",
                "base_url",
            )
    with store.transaction(db):
        set_setting(db, actor, TIME_SETTING, digest_time)
        set_setting(db, actor, BASE_URL_SETTING, base_url)
        set_setting(db, actor, "quiet_start", quiet_start)
        set_setting(db, actor, "quiet_end", quiet_end)
        set_setting(db, actor, "quiet_urgent", "1" if quiet_urgent else "0")
