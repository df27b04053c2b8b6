"""What admins set for notifications: the time of the daily digest and the site's public address
(for links in messages that leave the app). Checked, saved together, audited."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlite_utils import Database

from survey import db as store
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.access.settings import get_setting, set_setting
from survey.errors import ValidationError
from survey.notify.digest import DEFAULT_TIME, TIME_SETTING
from survey.notify.messages import BASE_URL_SETTING


def current(db: Database) -> dict[str, str]:
    return {
        "digest_time": get_setting(db, TIME_SETTING) or DEFAULT_TIME,
        "base_url": get_setting(db, BASE_URL_SETTING) or "",
    }


def save(db: Database, actor: Actor, *, digest_time: str, base_url: str) -> None:
    """Both values or neither: a bad one names its field and nothing is saved."""
    require(actor, "settings.edit")
    digest_time = (digest_time or "").strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", digest_time)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValidationError("每日待办发送时间应为 HH:MM，例如 08:30。", "digest_time")
    digest_time = f"{int(match[1]):02d}:{match[2]}"
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
