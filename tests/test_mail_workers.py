"""Workers killed with SIGKILL at random moments while e-mails and SMS flow: nothing is lost, and
each kill costs at most one duplicate (the message sent but not yet marked sent when it died)."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from survey import db as store
from survey.access import users
from survey.notify import mail, sms
from survey.notify.messages import Message, send
from tests.helpers import ROOT, actor_for
from tests.mailserver import smtp_server
from tests.robotserver import robot_server

pytestmark = [pytest.mark.slow, pytest.mark.spare_lane]  # long: beside the first browser half

# 20 kills at random moments are enough to land in every phase of a send (claimed, sent, marked);
# 50 took a minute and a half of the suite for no case 20 does not reach.
MESSAGES = 1000
KILLS = 20


def test_sigkilled_workers_lose_nothing_and_duplicate_at_most_once_per_kill(demo_db):
    with smtp_server() as (inbox, port), robot_server() as gateway, store.opened(demo_db) as db:
        admin, handler = actor_for(db, "admin"), actor_for(db, "handler")
        mail.save(db, admin, host="127.0.0.1", port=port, security="none", sender="n@zhy.gov.cn")
        sms.save(
            db,
            admin,
            enabled=True,
            url=f"http://127.0.0.1:{gateway.port}/sms",
            method="POST",
            format="json",
            headers="",
            template='{"to": "${mobile}", "text": "${text}"}',
            secret=None,
            success="",
        )
        users.set_own_contact(db, handler, "handler@gxj.zj.gov.cn", "13912345678")
        with store.transaction(db):
            for i in range(MESSAGES):
                send(db, {handler.id}, Message("test", f"测试 {i}", f"第 {i} 条"))
        rng, kills, runs = random.Random(15), 0, 0
        # A looping worker sending 40 messages a second, so that kills land while they flow.
        command = [sys.executable, "-m", "survey", "notify", "--db", str(demo_db)]
        command += ["--limit", "40", "--interval", "1"]
        while kills < KILLS:
            worker = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.5, 2.0))
            runs += 1
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                kills += 1
            worker.wait()
            # The killed worker's lease would run out after LEASE_SECONDS; let that time pass.
            db.execute("UPDATE deliveries SET lease_until = NULL WHERE status = 'pending'")
            if not store.scalar(db, "SELECT count(*) FROM deliveries WHERE status = 'pending'"):
                break
        drain = [*command[:6], "--once", "--limit", "5000"]
        while store.scalar(db, "SELECT count(*) FROM deliveries WHERE status = 'pending'"):
            subprocess.run(drain, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        ids = {r[0] for r in db.conn.execute("SELECT id FROM deliveries WHERE channel = 'email'")}
        texts = {
            sms.text_of(r[0], r[1])
            for r in db.conn.execute(
                "SELECT m.title, m.body FROM deliveries d JOIN messages m ON m.id = d.message_id"
                " WHERE d.channel = 'sms'"
            )
        }
        assert store.scalar(db, "SELECT count(*) FROM deliveries WHERE status != 'sent'") == 0
    got = Counter(int(m["X-ZHY-Delivery"]) for m in inbox.received)
    texted = Counter(json.loads(r["body"])["text"] for r in gateway.sms)
    duplicates = sum(n - 1 for n in got.values()) + sum(n - 1 for n in texted.values())
    print(
        f"{len(ids)} e-mails and {len(texts)} SMS, {runs} worker runs, {kills} killed,"
        f" {duplicates} duplicates"
    )
    assert set(got) == ids and set(texted) == texts  # none lost
    assert len(ids) >= MESSAGES and len(texts) >= MESSAGES
    assert kills == KILLS  # every kill landed while e-mails were still waiting
    assert duplicates <= kills
