"""Opening a company's link (企业端): `GET /company-view?t=<token>` is answered here, before
Streamlit, by an ASGI middleware in ui/server.py.

A good token starts a short session for its company: the browser gets a random session token in
an HttpOnly, SameSite=Strict cookie and is sent on to `/company-view` without the token, so the
link's token does not stay in the address bar, the history or a screenshot. A wrong, expired or
revoked one clears any company cookie and goes on to the same address, where the page shows the
one message (survey.companyview.links.INVALID_MESSAGE). Every answer on that path, and the
static files (whose style sheets load fonts), carries `Referrer-Policy: no-referrer` and
`Cache-Control: no-store` (`Cache-Control` only where the app set none): the page sends no Referer.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse

from survey import db as store
from survey.companyview import links
from ui import cookies

NO_REFERRER = [(b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]


def _address(request: Request) -> str:
    """As ui/session.client_address: the last X-Forwarded-For entry (nginx's), else the peer."""
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded.strip():
        return forwarded.split(",")[-1].strip()
    return request.client.host if request.client else "unknown"


def is_company_view(path: str) -> bool:
    return path.rstrip("/").endswith(links.PATH)


def open_response(request: Request, token: str) -> RedirectResponse:
    with store.opened() as db:
        opened = links.open_link(
            db, token, _address(request), request.headers.get("user-agent", "")
        )
    target = request.url.path.rstrip("/")
    response = RedirectResponse(target, status_code=303)
    if opened is None:
        cookies.drop(response, links.COOKIE)
    else:
        cookie, max_age = opened
        cookies.set_session(response, request, links.COOKIE, cookie, max_age)
    return response


class CompanyLinkMiddleware:
    """Pure ASGI: a GET of the company view's path with a token is answered here; the page and
    the static files get the referrer policy; everything else, the websocket included, passes
    through untouched."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        # The page, and the style sheets it loads (a font's request names its style sheet).
        if not (is_company_view(path) or "/static/" in path):
            return await self.app(scope, receive, send)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        # GET only: a HEAD (a link checker, a preview) opens no session and counts no failure.
        if is_company_view(path) and scope.get("method") == "GET" and "t" in query:
            response = open_response(Request(scope), query["t"][0])
            response.headers.update({k.decode(): v.decode() for k, v in NO_REFERRER})
            return await response(scope, receive, send)

        async def send_with_policy(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in NO_REFERRER if n not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_policy)
