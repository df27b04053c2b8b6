"""The signed-in user and database access for pages; the sign-in token lives in session_state."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlite_utils import Database

from survey import auth, bootstrap, settings
from survey import db as store
from survey.auth import Actor

TOKEN_KEY = "auth_token"
_seed_lock = threading.Lock()


@contextmanager
def database() -> Iterator[Database]:
    """A connection for this use only (never cached: sqlite3 objects are bound to a thread)."""
    with store.opened() as db:
        yield db


@st.cache_resource(show_spinner=False)
def _prepared(path: str) -> dict:
    """Once per process and file: create a missing database with demo data, else migrate it."""
    with _seed_lock:
        if not store.db_path(path).exists():
            import seeds  # the app layer may use the generator; survey/ never does

            stats = seeds.generate(path)
            return {"seeded": True, "stats": stats}
        bootstrap.init_db(path)
        return {"seeded": False}


def ensure_database() -> dict:
    path = str(store.db_path())
    if not store.db_path().exists():
        _prepared.clear()
    with st.spinner("首次启动：正在生成演示数据库…"):
        return _prepared(path)


def current_actor() -> Actor | None:
    token = st.session_state.get(TOKEN_KEY)
    if not token:
        return None
    with database() as db:
        actor = auth.actor_for_token(db, token)
    if actor is None:
        st.session_state.pop(TOKEN_KEY, None)
    return actor


def sign_in(username: str, password: str) -> Actor:
    user_agent = st.context.headers.get("User-Agent", "") if st.context.headers else ""
    with database() as db:
        actor, token = auth.sign_in(db, username, password, user_agent)
    st.session_state[TOKEN_KEY] = token
    return actor


def sign_out() -> None:
    with database() as db:
        auth.sign_out(db, st.session_state.pop(TOKEN_KEY, None))


def is_demo() -> bool:
    with database() as db:
        return settings.is_demo(db)


def demo_accounts_text() -> str:
    import seeds

    accounts = "、".join(f"{a.username}（{a.display_name}）" for a in seeds.MAIN_ACCOUNTS)
    return f"这是演示库。演示账号的密码均为 {seeds.DEMO_PASSWORD}：{accounts}。"


def require_actor(*roles: str) -> Actor:
    """The signed-in user holding one of `roles` (any role when none given), else stop the page.

    Pages call this first: Streamlit may run a file in pages/ directly (its legacy pages-folder
    mode on a process's first run), so the router alone is not a sufficient gate.
    """
    actor = current_actor()
    if actor is None:
        st.warning("请先登录。")
        st.stop()
    if roles and not actor.has_role(*roles):
        st.error("您的角色无权打开此页面。")
        st.stop()
    return actor
