"""The signed-in user and database access for pages.

Who is signed in is kept server-side (the session row id in session_state); a new Streamlit session
(a reload, a tablet back from sleep) finds it again through the HttpOnly cookie set by ui/server.py,
or through a trusted proxy header when single sign-on is configured.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import streamlit as st
from sqlite_utils import Database
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.runtime.scriptrunner import StopException

from survey import bootstrap
from survey import db as store
from survey.access import auth, permissions, settings
from survey.access.actor import Actor
from survey.companyview import links as company_links
from survey.errors import SurveyError
from ui import text

SESSION_KEY = "auth_session_id"
_HANDOFF_KEY = "auth_handoff_code"
_CLEAR_COOKIE_KEY = "auth_clear_cookie"
COOKIE = "zhy_session"  # the same name ui/server.py sets
TRUSTED_HEADER_ENV = "SURVEY_TRUSTED_USER_HEADER"
_seed_lock = threading.Lock()
T = TypeVar("T")


@contextmanager
def database() -> Iterator[Database]:
    """A connection for this use only (never cached: sqlite3 objects are bound to a thread)."""
    with store.opened() as db:
        yield db


def side_by_side(reads: dict[str, Callable[[Database], T]]) -> dict[str, T]:
    """Independent reads of one render run at once, each in a thread on a connection of its own:
    PostgreSQL runs each in a server process of its own and SQLite's reads let go of the GIL, so a
    page's slow reads take about the time of the longest instead of their sum (周报 at ten million
    problems: a dozen reads of the week's rows, 0.9 s one after another). Results by name; the
    first read that fails raises here."""
    with ThreadPoolExecutor(max_workers=len(reads) or 1) as pool:
        running = {name: pool.submit(_on_own_connection, read) for name, read in reads.items()}
    return {name: future.result() for name, future in running.items()}


def _on_own_connection(read: Callable[[Database], T]) -> T:
    with store.opened() as db:  # sqlite3 objects are bound to the thread that made them
        return read(db)


@st.cache_resource(show_spinner=False)
def _prepared(path: str) -> dict:
    """Once per process and file: create a missing database with demo data, else migrate it."""
    with _seed_lock:
        if not store.exists(path):
            import seeds  # the app layer may use the generator; survey/ never does

            stats = seeds.generate(path)
            return {"seeded": True, "stats": stats}
        bootstrap.init_db(path)
        return {"seeded": False}


DEMO_ENV = "SURVEY_DEMO"


def may_seed_demo(path) -> bool:
    """Demo data goes only into the default data/survey.db or where SURVEY_DEMO=1 asks for it: a
    configured SURVEY_DB that is missing is a mistake (a wrong path, an unmounted disk), and
    seeding it would show demo sign-ins on a real server."""
    if os.environ.get(DEMO_ENV) == "1":
        return True
    return not store.is_url(path) and Path(path).resolve() == store.DEFAULT_DB_PATH.resolve()


_reached: set[str] = set()  # PostgreSQL databases this process has prepared


def ensure_database() -> dict:
    """Create (demo) or migrate the database once per process; stop the page on a missing file.
    (A file is looked for on every run, a stat; a server is asked only until it has answered.)"""
    path = store.target()
    if path not in _reached and not store.exists(path):
        _prepared.clear()
        if not may_seed_demo(path):
            st.error(
                f"找不到数据库文件 {text.md(path)}（环境变量 SURVEY_DB）。请确认路径；新库请先运行"
                " `python -m survey init-db` 创建，再用 `python -m survey create-user` 建立管理员。"
                f"只想看演示，请设置 {DEMO_ENV}=1。"
            )
            st.stop()
    with st.spinner("首次启动：正在生成演示数据库…"):
        prepared = _prepared(str(path))
    if store.is_url(path):
        _reached.add(path)
    return prepared


def _user_agent() -> str:
    return (st.context.headers or {}).get("User-Agent", "")


def current_actor() -> Actor | None:
    """The signed-in user: this session's row, else the browser's cookie, else a company's link
    session (its own cookie, ui/company_link.py), else a trusted header."""
    session_id = st.session_state.get(SESSION_KEY)
    with database() as db:
        if session_id:
            actor = auth.actor_for_session(db, session_id)
            if actor:
                return actor
            st.session_state.pop(SESSION_KEY, None)
        token = (st.context.cookies or {}).get(COOKIE)
        found = auth.session_for_token(db, token)
        if found:
            st.session_state[SESSION_KEY] = found[1]
            return found[0]
        company = company_links.actor_for_cookie(
            db, (st.context.cookies or {}).get(company_links.COOKIE)
        )
        if company:  # a company's own view (企业端), opened from its link
            return company
        header = os.environ.get(TRUSTED_HEADER_ENV)
        username = (st.context.headers or {}).get(header) if header else None
        if username:
            signed = auth.sign_in_trusted(db, username, _user_agent())
            if signed:
                st.session_state[SESSION_KEY] = signed.session_id
                return signed.actor
    return None


def client_address() -> str:
    """The client's address as the proxy gives it: Streamlit reports a loopback peer as None, and
    behind nginx the peer is nginx, so the last X-Forwarded-For entry (the one nginx appended,
    not one the client sent) names the client. Without a proxy, the peer itself."""
    peer = st.context.ip_address
    if isinstance(peer, str) and peer:
        return peer
    forwarded = (st.context.headers or {}).get("X-Forwarded-For")
    if isinstance(forwarded, str) and forwarded.strip():
        return forwarded.split(",")[-1].strip()
    return "127.0.0.1"


def sign_in(username: str, password: str) -> Actor:
    with database() as db:
        result = auth.sign_in(db, username, password, _user_agent(), client_address())
    st.session_state[SESSION_KEY] = result.session_id
    st.session_state[_HANDOFF_KEY] = result.handoff_code
    return result.actor


def sign_out() -> None:
    with database() as db:
        auth.sign_out(db, st.session_state.pop(SESSION_KEY, None))
    st.session_state[_CLEAR_COOKIE_KEY] = True


def _endpoint(name: str) -> str:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/auth/{name}" if base else f"/auth/{name}"


def sync_cookie() -> None:
    """After sign-in, let the browser trade the one-time code for its HttpOnly cookie; after
    sign-out, have it drop the cookie. The script holds no user text, only a random code."""
    code = st.session_state.pop(_HANDOFF_KEY, None)
    if code and code.replace("-", "").replace("_", "").isalnum():
        st.html(
            f"<script>fetch('{_endpoint('session')}', {{method: 'POST', credentials: 'same-origin',"
            f" headers: {{'Content-Type': 'application/json'}}, body: JSON.stringify({{code: '{code}'}})}})"
            "</script>",
            unsafe_allow_javascript=True,
        )
    if st.session_state.pop(_CLEAR_COOKIE_KEY, False):
        st.html(
            f"<script>fetch('{_endpoint('signout')}', {{method: 'POST', credentials: 'same-origin',"
            " headers: {'Content-Type': 'application/json'}, body: '{}'})"
            "</script>",
            unsafe_allow_javascript=True,
        )


def is_demo() -> bool:
    with database() as db:
        return settings.is_demo(db)


def demo_accounts_text() -> str:
    import seeds
    from survey.labels import ROLE_LABELS

    accounts = "；".join(
        f"{a.username}（{'、'.join(ROLE_LABELS[r] for r in a.roles)}）" for a in seeds.MAIN_ACCOUNTS
    )
    return f"这是演示库。演示账号的密码均为 {seeds.DEMO_PASSWORD}：{accounts}。"


def require_actor(action: str) -> Actor:
    """The signed-in user allowed to do `action` (survey.permissions.RULES), else stop the page.

    Pages call this first, naming the same action as their ui/navigation entry: Streamlit may run
    a file in pages/ directly (its legacy pages-folder mode on a process's first run), so the
    router alone is not a sufficient gate.
    """
    actor = current_actor()
    if actor is None:
        if action == "company_view.read":  # a company without a live link: one message for all
            st.warning(company_links.INVALID_MESSAGE)
        else:
            st.warning("请先登录。")
        st.stop()
    if not permissions.can(actor, action):
        st.error("您的角色无权打开此页面。")
        st.stop()
    return actor


def attempt(action, success: str, *, rerun: str | None = None) -> bool:
    """Run `action(db)`; show the domain's Chinese message on failure, `success` otherwise.

    With `rerun` (a form's name) a success starts the page again at once, so what the page read
    before the action (lists, tables, the round's state) shows the result; the form comes back
    empty (form_key changes) and `success` is shown where the page calls flash(name)."""
    try:
        with database() as db:
            action(db)
    except SurveyError as exc:
        st.error(text.md(str(exc)))
        return False
    if rerun is None:
        if success:  # "": the caller says what happened
            st.success(success)
        return True
    done(rerun, success)


def done(name: str, success: str, *notes: str) -> None:
    """After a successful write: keep the message (and any warnings) for flash(name), give the
    form `name` a fresh key (its fields empty, a new request_id) and start the run again. The
    message is kept first: a tap that cuts this run off after it sends the old request id again,
    whose write survey/ answers with the first result, and the message shows."""
    if success or notes:
        keep(f"_flash_{name}", (success, notes), made_by=form_key(name))
    old = f"_request_{form_key(name)}"
    renew(name)
    st.session_state.pop(old, None)
    st.rerun()


def renew(name: str) -> None:
    """Give `name` a new form_key. Also a widget's on_change (交办's search: its picker's key takes
    the search's form_key, so the browser draws the picker anew with the first found)."""
    st.session_state[f"_form_{name}"] = st.session_state.get(f"_form_{name}", 0) + 1


def form_key(name: str) -> str:
    """The key of form `name`: a new one after each success through attempt(rerun=name)."""
    return f"{name}_{st.session_state.get(f'_form_{name}', 0)}"


def request_id(name: str) -> str:
    """The request id of form (or button) `name`, for its survey/ write (survey.repeats): the same
    in every run until done(name) has recorded a success, so a double tap that cut the first run
    off after its write sends the same id again and gets the first result, not an error or a
    second record; a new one after done(name). Take it before the write, never inside it."""
    key = f"_request_{form_key(name)}"
    if key not in st.session_state:
        st.session_state[key] = secrets.token_urlsafe(18)
    return st.session_state[key]


def flash(name: str) -> None:
    """The message of the last success of form `name`, after the rerun it started: shown in
    every run until one that showed it has completed (see kept)."""
    shown = kept(f"_flash_{name}")
    if shown:
        if shown[0]:
            st.success(shown[0])
        for note in shown[1]:
            st.warning(text.md(note))


_SHOWN = "_kept_shown"  # the kept keys shown in this run
_SEEN = "_kept_seen"  # the kept keys a completed run showed: they go when the next run starts
_FROM = "_kept_from"  # kept key -> the form key of the screen whose button made it


def keep(key: str, value, made_by: str | None = None) -> None:
    """Keep `value` (a one-time message, a new token) for kept(key) in the runs that follow;
    `made_by` is the form key (session.form_key before done) of the screen whose tap made it."""
    st.session_state[key] = value
    if made_by:
        st.session_state.setdefault(_FROM, {})[key] = made_by


def kept(key: str):
    """The value keep(key) kept, or None. It stays until a run that showed it has completed, and
    the run after that no longer shows it, unless that run's request came from the screen
    before the success (see one_time_values).

    A second tap can cut off the run that shows it (Streamlit raises its RerunException at the
    next widget or session-state call): that tap's run shows it again. Or its request can
    arrive just after that run completed: it still carries the old form's pressed button, so it
    is that tap's run and shows it again. The run of the next interaction no longer shows it."""
    value = st.session_state.get(key)
    if value is not None:
        shown = st.session_state.get(_SHOWN)
        if shown is None:
            shown = st.session_state[_SHOWN] = set()
        shown.add(key)
    return value


@contextmanager
def one_time_values() -> Iterator[None]:
    """Around the page's run (app.py). First, what a completed run showed goes, unless this run's
    request presses a button of the form that made it (a second tap sent from the screen before
    the success, after the run that showed it had completed). Then the page runs; when it
    completes (returns, or ends with st.stop()) what it showed is marked to go at the next
    run. A run cut off by a new tap (RerunException) marks nothing: the next run shows it again."""
    made_by = st.session_state.get(_FROM, {})
    for key in st.session_state.get(_SEEN, ()):
        if not _pressed_on(made_by.get(key)):
            st.session_state.pop(key, None)
            made_by.pop(key, None)
    st.session_state[_SEEN] = set()
    st.session_state[_SHOWN] = set()
    try:
        yield
    except StopException:
        st.session_state[_SEEN] = st.session_state.get(_SHOWN, set())
        raise
    st.session_state[_SEEN] = st.session_state.get(_SHOWN, set())


def _pressed_on(form: str | None) -> bool:
    """Does this run's request press a button of form `form` (its submit button, or a button whose
    key holds the form key), which this screen no longer draws? Streamlit keeps the request's
    widget states by element id, which ends with the widget's key. There is no public way to read
    the state of a widget this run has not drawn: this reads Streamlit's session state (1.67),
    and answers False (the value goes, as before) when that changes."""
    if not form:
        return False
    named = re.compile(rf"(?:^|[:_-]){re.escape(form)}(?:$|[_-])")
    try:
        from streamlit.runtime.state import get_session_state

        widgets = get_session_state()._state._new_widget_state
        for widget_id, state in widgets.states.items():
            if not named.search(widget_id):
                continue
            value = state.value  # a proto until the widget is drawn again, else its value
            if isinstance(value, WidgetState):
                pressed = value.WhichOneof("value") == "trigger_value" and value.trigger_value
            else:
                meta = widgets.widget_metadata.get(widget_id)
                pressed = meta is not None and meta.value_type == "trigger_value" and value is True
            if pressed:
                return True
    except Exception:  # Streamlit's internals changed
        return False
    return False


def load_or_stop(read):
    """`read(db)`, or the domain's Chinese message (a record missing or out of scope) and the page
    stops there."""
    try:
        with database() as db:
            return read(db)
    except SurveyError as exc:
        st.error(text.md(str(exc)))
        st.stop()


def keep_draft(actor: Actor, kind: str, sid: str, payload: dict, saved_at: str) -> str:
    """Save the draft when it changed since the last run; returns the time shown as "草稿已保存 HH:MM"."""
    from survey import drafts

    last, when = f"draft|{sid}|payload", f"draft|{sid}|at"
    if st.session_state.get(last) != payload:
        with database() as db:
            st.session_state[when] = drafts.save_draft(db, actor, kind, sid, payload)
        st.session_state[last] = payload
    return st.session_state.get(when, saved_at)[:5]
