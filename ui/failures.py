"""Unexpected errors: the user sees a short Chinese message with an error number; the log gets the
traceback with that number, the Streamlit session id, the user and the page, so an administrator can
find it (`grep E-1A2B3C4D-9F` in the log).

Logs go to stderr (journald under systemd), or to SURVEY_LOG_FILE when set: a WatchedFileHandler, so
logrotate can move the file away safely.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys

import streamlit as st

LOG = logging.getLogger("zhenheyi")
LOG_FILE_ENV = "SURVEY_LOG_FILE"


def configure_logging() -> None:
    if LOG.handlers:
        return
    path = os.environ.get(LOG_FILE_ENV)
    if path:
        from logging.handlers import WatchedFileHandler

        handler: logging.Handler = WatchedFileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False


def session_id() -> str:
    """Streamlit's id of this browser session (also in Streamlit's own log lines)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    return context.session_id if context else "no-session"


def error_number(session: str) -> str:
    """E-<first 8 of the session id>-<4 random hex>: quotable on the phone, unique in the log."""
    prefix = "".join(c for c in session if c.isalnum())[:8].upper() or "NOSESS"
    return f"E-{prefix}-{secrets.token_hex(2).upper()}"


def run_page(page, actor) -> None:
    """Run the page; an unexpected exception is logged with a number the user can quote."""
    guarded(page.run, actor, getattr(page, "url_path", "?"))


def guarded(run, actor, where: str) -> None:
    """`run()`, its unexpected exception logged with a number and the number shown. Pages call it
    inside an st.fragment: a fragment's own rerun does not pass through run_page."""
    try:
        run()
    except Exception:  # Streamlit's stop/rerun signals are BaseException and pass through
        session = session_id()
        number = error_number(session)
        LOG.exception(
            "unexpected error %s session=%s user=%s page=%s",
            number,
            session,
            actor.username if actor else "-",
            where,
        )
        st.error(
            f"系统出错了，刚才的操作没有完成。请把错误编号 {number} 告诉管理员。已填写的草稿不会丢失。"
        )
