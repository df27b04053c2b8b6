"""ASGI entry (`streamlit run ui/server.py`): the Streamlit app plus two routes for the sign-in cookie.

The cookie is HttpOnly, so page scripts can never read it; it is set only by exchanging a one-time
code (valid two minutes) that the signed-in Streamlit session hands to its own browser. Both routes
take only same-origin JSON (no login CSRF), and every response forbids framing by other sites.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run ui/server.py` puts ui/ on the path, not the project: make survey/ importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402
from streamlit.runtime.pages_manager import PagesManager  # noqa: E402

from api.app import ApiMount  # noqa: E402
from survey import db as store  # noqa: E402
from survey.access import auth  # noqa: E402
from ui import cookies  # noqa: E402
from ui.company_link import CompanyLinkMiddleware  # noqa: E402

COOKIE = "zhy_session"

# app.py routes with st.navigation. Without this, the first request a fresh process serves runs in
# Streamlit's legacy pages-folder mode (because pages/ exists): a deep link such as /visit shows a
# "Page not found" dialog after every restart. The flag is class-level and read once per process.
PagesManager.uses_pages_directory = False


# Sent on every response, websocket handshakes aside: no other site may frame the app (clickjacking).
FRAME_HEADERS = [
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"content-security-policy", b"frame-ancestors 'self'"),
]


class AntiFramingMiddleware:
    """Pure ASGI, so streamed responses and the websocket pass through untouched."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in FRAME_HEADERS if n not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def is_same_origin_json(request: Request) -> bool:
    """A cookie route answers only our own page's fetch: JSON, from this origin.

    A cross-site form can post text/plain or form data without a preflight, so the content type is
    checked; the browser's Sec-Fetch-Site (or, failing that, Origin against the host the proxy
    forwarded) says who sent it.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return False
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("origin")
    if not origin:
        return False
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    scheme = request.headers.get("x-forwarded-proto", request.url.scheme)
    return origin == f"{scheme}://{host.split(',')[0].strip()}"


async def exchange_code(request: Request) -> Response:
    if not is_same_origin_json(request):
        return Response(status_code=403)
    try:
        body = await request.json()
    except ValueError:
        return Response(status_code=400)
    code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, str):
        return Response(status_code=400)
    with store.opened() as db:
        redeemed = auth.redeem_handoff(db, code)
    if redeemed is None:
        return Response(status_code=403)
    token, max_age = redeemed
    response = Response(status_code=204)
    cookies.set_session(response, request, COOKIE, token, max_age)
    return response


async def clear_cookie(request: Request) -> Response:
    if not is_same_origin_json(request):
        return Response(status_code=403)
    token = request.cookies.get(COOKIE)
    if token:
        with store.opened() as db:
            found = auth.session_for_token(db, token)
            if found:
                auth.sign_out(db, found[1])
    response = Response(status_code=204)
    cookies.drop(response, COOKIE)
    return response


app = st.App(
    "../app.py",
    routes=[
        Route("/auth/session", exchange_code, methods=["POST"]),
        Route("/auth/signout", clear_cookie, methods=["POST"]),
        ApiMount("/api/v1"),  # the API for other systems (api/)
    ],
    # A company's link (/company-view?t=…) becomes its session cookie before Streamlit sees it.
    middleware=[Middleware(AntiFramingMiddleware), Middleware(CompanyLinkMiddleware)],
)
