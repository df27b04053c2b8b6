"""nginx from Debian's package in front of several app processes, as README's layout runs it
(ip_hash, websocket upgrade), on a free loopback port with everything in a temporary folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from tests.browser import answers_health, free_port, require_program, stop, wait_ready

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONF = """
worker_processes 1;
error_log {base}/error.log warn;
pid {base}/nginx.pid;
{user}
events {{ worker_connections 256; }}
http {{
    access_log {base}/access.log;
    client_body_temp_path {base}/body;
    proxy_temp_path {base}/proxy;
    fastcgi_temp_path {base}/fastcgi;
    uwsgi_temp_path {base}/uwsgi;
    scgi_temp_path {base}/scgi;
    upstream zhenheyi {{
        ip_hash;
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 21m;
        add_header X-Upstream $upstream_addr always;   # which host answered (for the test)
        location / {{
            proxy_pass http://zhenheyi;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 86400;
            proxy_connect_timeout 2s;
{extra}
        }}
    }}
}}
"""


def require_nginx() -> None:
    require_program(NGINX, "nginx")


@contextmanager
def nginx(ports: list[int], set_headers: dict[str, str] | None = None):
    """nginx on a free port proxying to 127.0.0.1:<ports>; yields its URL. `set_headers`: headers
    nginx sets on every request it passes on (name: nginx value, e.g. "$cookie_sso")."""
    require_nginx()
    base = Path(tempfile.mkdtemp(prefix="zhy-nginx-"))
    port = free_port()
    servers = "\n".join(
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;" for p in ports
    )
    user = "user root root;" if os.geteuid() == 0 else ""  # workers keep the folder's owner
    conf = base / "nginx.conf"
    extra = "\n".join(
        f"            proxy_set_header {name} {value};"
        for name, value in (set_headers or {}).items()
    )
    conf.write_text(CONF.format(base=base, port=port, servers=servers, user=user, extra=extra))
    proc = subprocess.Popen(
        [NGINX, "-p", str(base), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=open(base / "stderr.log", "wb"),  # noqa: SIM115 - lives as long as nginx
    )
    url = f"http://127.0.0.1:{port}"

    def logs() -> str:
        return (base / "stderr.log").read_text() + (base / "error.log").read_text()

    try:
        wait_ready(proc, lambda: answers_health(url), 20, logs)
        yield url
    finally:
        stop(proc)
        shutil.rmtree(base, ignore_errors=True)


def upstream_of(url: str) -> int:
    """The port of the app process that answers this client now."""
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as r:
        return int(r.headers["X-Upstream"].rsplit(":", 1)[1])
