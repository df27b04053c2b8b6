"""The API end to end, from another process, against the real server (ui/server.py): 1,000
problems with every tenth sent twice make 1,000 problems; the change feed read to the end gives
every event once; the webhooks reach a local subscriber signed, and a restart of the subscriber
while they flow loses none."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter

import pytest

from survey import db as store
from survey.access import clients
from tests.browser import streamlit_server
from tests.helpers import ROOT, actor_for
from tests.hookserver import Hooks

pytestmark = pytest.mark.slow
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
