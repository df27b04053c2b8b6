"""The app's two cookies (the sign-in session, ui/server.py, and a company's session,
ui/company_link.py) are set and dropped here alike: HttpOnly, SameSite=Strict, the whole site,
Secure when the browser came over https (directly or through the proxy's X-Forwarded-Proto)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response


def came_over_https(request: Request) -> bool:
    return request.headers.get("x-forwarded-proto", request.url.scheme) == "https"


def set_session(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=came_over_https(request),
    )


def drop(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="strict")
