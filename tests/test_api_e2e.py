"""The API end to end, from another process, against the real server (ui/server.py): 1,000
problems with every tenth sent twice make 1,000 problems; the change feed read to the end gives
every event once; the webhooks reach a local subscriber signed, and a restart of the subscriber
while they flow loses none."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from collections import Counter

import pytest

from api.app import MAX_BODY
from survey import db as store
from survey.access import clients
from tests.browser import streamlit_server
from tests.helpers import ROOT, actor_for
from tests.hookserver import Hooks

pytestmark = [pytest.mark.slow, pytest.mark.spare_lane]  # long: beside the first browser half
N = 1000


def test_a_thousand_problems_from_another_system(demo_db):
    with store.opened(demo_db) as db:
        _, token = clients.create_client(
            db,
            actor_for(db, "admin"),
            name="12345热线平台",
            scopes=["problems.create", "problems.read", "webhooks"],
            per_minute=6000,
        )
        uscc = store.scalar(db, "SELECT uscc FROM companies ORDER BY id LIMIT 1")
    hooks = Hooks().start()
    worker = None
    with streamlit_server(demo_db) as url:
        subscribe = subprocess.run(
            [
                sys.executable,
                "-c",
                (
                    "import json, sys; sys.path.insert(0, 'tests'); from apiclient import call;"
                    f"print(json.dumps(call('{url}/api/v1/webhooks', '{token}', 'POST',"
                    f" {{'url': '{hooks.url}', 'actions': ['raise']}})))"
                ),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        hooks.secret = json.loads(subscribe.stdout)["secret"]
        worker = subprocess.Popen(
            [sys.executable, "-m", "survey", "notify", "--db", str(demo_db), "--interval", "1"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        client = subprocess.Popen(
            [sys.executable, "tests/apiclient.py", url, token, str(N), uscc],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        while len(hooks.received) < N // 3 and client.poll() is None:
            time.sleep(0.2)
        hooks.stop()  # the subscriber restarts while the webhooks flow
        time.sleep(2)
        hooks.start()
        out, _ = client.communicate(timeout=600)
        assert client.returncode == 0
        result = json.loads(out)
        with store.opened(demo_db) as db:
            deadline = time.monotonic() + 120
            while store.scalar(db, "SELECT count(*) FROM deliveries WHERE status != 'sent'"):
                assert time.monotonic() < deadline, "webhooks still waiting"
                # time passes: the retries after the restart are due now
                db.execute("UPDATE deliveries SET next_at = created_at WHERE status = 'pending'")
                time.sleep(0.5)
            origins = store.scalar(db, "SELECT count(*) FROM problem_origins")
            retried = store.scalar(db, "SELECT count(*) FROM deliveries WHERE attempts > 1")
            events_then = store.query(db, "SELECT id FROM problem_events ORDER BY id")
            raised = {
                r[0]
                for r in db.conn.execute(
                    "SELECT e.id FROM problem_events e JOIN problem_origins o"
                    " ON o.problem_id = e.problem_id WHERE e.action = 'raise'"
                )
            }
    worker.terminate()
    worker.wait(timeout=10)
    hooks.stop()
    given = result["given"]
    repeats = [ids for ids in given.values() if len(ids) == 2]
    assert len(given) == N and len(repeats) == N // 10
    assert all(a == b for a, b in repeats)  # the same answer twice
    assert origins == N and len({ids[0] for ids in given.values()}) == N  # 0 duplicates
    assert result["events"] == sorted(set(result["events"]))  # each event once, in order
    assert result["events"] == [e["id"] for e in events_then]  # every event, none missing
    received = Counter(r["delivery"] for r in hooks.received)
    duplicates = sum(n - 1 for n in received.values())
    print(
        f"{N} problems, {len(result['events'])} events read, {len(received)} webhooks,"
        f" {duplicates} duplicates, {retried} retried after the restart,"
        f" {hooks.refused_signatures} bad signatures"
    )
    assert {r["event"] for r in hooks.received} == raised  # none lost
    assert hooks.refused_signatures == 0


def _raw(url: str, path: str, headers: dict, chunks=None) -> tuple[int, dict, bytes]:
    """One request as the wire carries it (http.client leaves an encoded %0A alone); `chunks`
    makes it a chunked POST, all of it sent before the answer is read, as a naive client does."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.putrequest("POST" if chunks is not None else "GET", path)
    for name, value in headers.items():
        connection.putheader(name, value)
    if chunks is not None:
        connection.putheader("Transfer-Encoding", "chunked")
        connection.putheader("Content-Type", "application/json")
    connection.endheaders()
    try:
        for chunk in chunks or ():
            connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        if chunks is not None:
            connection.send(b"0\r\n\r\n")
    except OSError:
        pass  # the server may answer and stop reading before all of it is sent
    answer = connection.getresponse()
    result = answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    connection.close()
    return result


def test_the_real_server_answers_odd_requests_with_problem_documents(demo_db):
    """Issue 26 item 9 through ui/server.py: a path holding an encoded newline reaches the API
    (it got the outer app's plain-text 404), a chunked body over 8 MB gets 413 (was 400), and a
    401 names the Bearer scheme."""
    with store.opened(demo_db) as db:
        _, token = clients.create_client(
            db, actor_for(db, "admin"), name="探测", scopes=["problems.read", "problems.create"]
        )
    auth = {"Authorization": f"Bearer {token}"}
    with streamlit_server(demo_db) as url:
        answers = {
            path: _raw(url, path, auth)
            for path in ("/api/v1/prob%0Alems", "/api/v1/%0A", "/api/v1/problems/1%0A2")
        }
        big = _raw(
            url,
            "/api/v1/problems",
            auth | {"Idempotency-Key": "big"},
            [b" " * 65536] * (MAX_BODY // 65536 + 2),
        )
        anonymous = _raw(url, "/api/v1/problems", {})
    for path, (status, headers, body) in answers.items():
        assert headers["content-type"] == "application/problem+json", (path, body)
        assert status == (422 if path.endswith("1%0A2") else 404), (path, body)
    assert big[0] == 413 and big[1]["content-type"] == "application/problem+json", big
    assert json.loads(big[2])["title"] == "请求内容过大"
    assert anonymous[0] == 401 and anonymous[1]["www-authenticate"] == "Bearer"
