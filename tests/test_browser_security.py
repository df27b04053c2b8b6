"""Attacks that show in a browser: a cross-site page posting a sign-in code (login CSRF) or a sign-out,
and another site framing the app. Each runs in real Chromium against a real server."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.request
from contextlib import contextmanager

import pytest

from survey import db as store
from survey.access import auth
from tests.browser import chromium, demo_server, free_port, wait_idle
from tests.helpers import wait_until

# What this browser test sees (pages, widgets, the session) does not depend on the store: it runs
# once, on SQLite. Its reads and writes run on PostgreSQL in the in-process tests, and the whole
# loop and the visit's submit and restart run in the browser on both (test_browser_loop/_visit).
pytestmark = [pytest.mark.browser, pytest.mark.store_independent]


@pytest.fixture(scope="module")
def server(template_db, tmp_path_factory):
    with demo_server(template_db, tmp_path_factory.mktemp("security")) as served:
        yield served


@contextmanager
def attacker_site(html: str):
    """Another origin (another port) serving one page."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        httpd.shutdown()


def handoff_code(path, username: str) -> str:
    """What an attacker gets by signing in to their own account: a fresh one-time code."""
    with store.opened(path) as db:
        return auth.sign_in(db, username, "demo2025").handoff_code


def test_cross_site_form_cannot_plant_a_session(server):
    url, path = server
    code = handoff_code(path, "monitor")
    # The classic login-CSRF form: text/plain whose body reads as JSON.
    form = (
        f'<form id=f method=POST enctype="text/plain" action="{url}/auth/session">'
        f'<input name=\'{{"code": "{code}", "x": "\' value=\'"}}\'></form>'
        "<script>document.getElementById('f').submit()</script>"
    )
    with attacker_site(form) as evil, chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        with page.expect_response(lambda r: "/auth/session" in r.url) as answer:
            page.goto(evil, wait_until="commit")
        assert answer.value.status == 403
        assert not [c for c in context.cookies() if c["name"] == "zhy_session"]
    # The code is still unredeemed: the rejected post did not consume it, and our own page's
    # same-origin JSON fetch still works.
    request = urllib.request.Request(
        f"{url}/auth/session",
        data=json.dumps({"code": code}).encode(),
        headers={"Content-Type": "application/json", "Origin": url},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 204
        assert "zhy_session=" in response.headers["set-cookie"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/json"},  # no Origin, no Sec-Fetch-Site
        {"Content-Type": "application/json", "Origin": "http://evil.example"},
        {"Content-Type": "application/json", "Sec-Fetch-Site": "same-site"},
        {"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"},
    ],
)
def test_cookie_routes_refuse_anything_but_same_origin_json(server, headers):
    url, path = server
    code = handoff_code(path, "officer")
    for route, body in (("session", {"code": code}), ("signout", {})):
        request = urllib.request.Request(
            f"{url}/auth/{route}", data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request)
        assert refused.value.code == 403, (route, headers)


def test_proxy_forwarded_origin_is_accepted(server):
    url, path = server
    request = urllib.request.Request(
        f"{url}/auth/session",
        data=json.dumps({"code": handoff_code(path, "officer")}).encode(),
        headers={
            "Content-Type": "application/json",
            "Origin": "https://zhy.example.gov.cn",
            "X-Forwarded-Host": "zhy.example.gov.cn",
            "X-Forwarded-Proto": "https",
        },
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 204
        assert "Secure" in response.headers["set-cookie"]


def test_other_sites_cannot_frame_the_app(server):
    url, _path = server
    with urllib.request.urlopen(url + "/") as response:
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    frame = f'<iframe id=app src="{url}/" width=800 height=600></iframe>'
    with attacker_site(frame) as evil, chromium() as browser:
        page = browser.new_page()
        page.goto(evil)
        page.wait_for_timeout(3000)
        frame_page = page.frame_locator("#app")
        # A blocked frame shows Chromium's error page instead of the app.
        assert frame_page.locator("[data-testid=stApp]").count() == 0


def test_sign_in_and_out_still_set_and_drop_the_cookie(server):
    url, _path = server
    from tests.browser import sign_in

    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        sign_in(page, url, "officer")

        def session_cookie() -> bool:
            page.wait_for_timeout(100)  # lets the page's own fetches run between looks
            return any(c["name"] == "zhy_session" for c in context.cookies())

        # waited for, not a fixed pause: a loaded machine sets and drops it later, not never
        wait_until(session_cookie, "the session cookie", timeout=60)
        page.goto(url + "/account")
        wait_idle(page)
        page.get_by_role("button", name="退出登录").click()
        wait_idle(page)
        wait_until(lambda: not session_cookie(), "the cookie to be dropped", timeout=60)


def _put_upload(url: str, headers: dict, size: int) -> int:
    """PUT a multipart file of `size` bytes to Streamlit's upload endpoint; the answer's status.
    Sent with http.client: 25 MB through the browser driver's request API took two minutes of
    base64 under load; here it takes a moment, and a server that answers before reading it all is
    seen as such (the rest of the body then meets a closed connection)."""
    import http.client
    import urllib.parse

    target = urllib.parse.urlsplit(url)
    boundary = "zhy-upload-limit"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    try:
        connection.putrequest("PUT", target.path + (f"?{target.query}" if target.query else ""))
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Content-Length", str(len(head) + size + len(tail)))
        connection.endheaders()
        try:
            connection.send(head)
            chunk = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                connection.send(chunk)
            connection.send(tail)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before the body was read: the status says why
        return connection.getresponse().status
    finally:
        connection.close()


def test_upload_endpoint_refuses_files_over_our_limit(server):
    """Streamlit's upload endpoint took 200 MB per file from any session; ours stops at 20 MB. A
    real upload from the monitor's feedback form (a photo picker on first sight) gives the address
    and headers; the same PUT with 25 MB is refused before the body is read."""
    import io

    from PIL import Image

    from tests.browser import sign_in, wait_idle

    url, _path = server
    small = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 120, 200)).save(small, "PNG")
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 768, "height": 1024})
        page = context.new_page()
        sign_in(page, url, "monitor")
        page.goto(url + "/feedback")
        wait_idle(page)
        with page.expect_request(lambda r: "/_stcore/upload_file/" in r.url) as sent:
            page.locator("[data-testid=stFileUploaderDropzoneInput]").first.set_input_files(
                files=[{"name": "p.png", "mimeType": "image/png", "buffer": small.getvalue()}]
            )
        request = sent.value
        assert request.response().status in (200, 204)
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-")}
        cookies = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
        assert _put_upload(request.url, {**headers, "Cookie": cookies}, 25 << 20) == 413
        fine = {"file": {"name": "ok.png", "mimeType": "image/png", "buffer": small.getvalue()}}
        assert context.request.put(request.url, headers=headers, multipart=fine).status in (
            200,
            204,
        )
        context.close()
