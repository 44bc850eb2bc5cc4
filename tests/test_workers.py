"""Several outbox workers, one killed mid-batch, SMTP down for a while: every message arrives exactly once.

The worker tests need PostgreSQL (FOR UPDATE SKIP LOCKED, truly concurrent writers). CI runs the whole suite twice,
on PostgreSQL and then on SQLite, so they run in the PostgreSQL pass and are skipped, with this reason, in the
SQLite one; they never skip when TEST_DATABASE_URL is PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_DATABASE_URL, SMTPSink, deliver, free_port, log, make_config, wait_until
from sqlalchemy import select

from feedback import create_app
from feedback.db import utcnow
from feedback.extensions import db
from feedback.mail.models import OutboxMessage

ROOT = Path(__file__).resolve().parent.parent

postgresql_only = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"),
    reason="concurrent workers need PostgreSQL; CI runs this file on PostgreSQL beside the SQLite pass",
)


class PacedSMTPSink(SMTPSink):
    """A sink that takes its time over DATA, and can hold the first messages until two workers are connected."""

    def __init__(self, delay: float = 0.0, wait_for_peers: int = 0) -> None:
        super().__init__()
        self.delay = delay
        self.wait_for_peers = wait_for_peers
        self.peers: set[Any] = set()
        #: True while a message is inside DATA and not yet accepted: a kill now lands mid-message.
        self.in_flight = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.peers.add(session.peer)
        for _ in range(500):
            if len(self.peers) >= self.wait_for_peers:
                break
            await asyncio.sleep(0.01)
        self.in_flight = True
        try:
            await asyncio.sleep(self.delay)
            if server.transport is None or server.transport.is_closing():
                return "421 The client went away"  # a dead client's message was never accepted
            return await super().handle_DATA(server, session, envelope)
        finally:
            self.in_flight = False


@pytest.fixture
def paced_smtp():
    sinks: list[PacedSMTPSink] = []

    def start(**options: Any) -> PacedSMTPSink:
        sink = PacedSMTPSink(**options)
        sink.start()
        sinks.append(sink)
        return sink

    yield start
    for sink in sinks:
        sink.stop()


def worker(database_url: str, sink: SMTPSink, *args: str) -> subprocess.Popen[str]:
    """`flask outbox …` as a process of its own, as it runs in production."""
    env = {
        **os.environ,
        "FAREWELL_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "MAIL_SERVER": sink.host,
        "MAIL_PORT": str(sink.port),
        "BASE_URL": "http://localhost",
    }
    flask = Path(sys.executable).with_name("flask")
    return subprocess.Popen(
        [str(flask), "--app", "wsgi", "outbox", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def queue_cancellations(app, owner, count: int) -> None:
    for n in range(count):
        log(app, owner["email"], customer_email=f"customer{n}@client.test", customer_name=f"Customer {n}")


def assert_each_arrived_once(app, sink: SMTPSink, expected: int) -> None:
    ids = [message["Message-ID"].strip() for message in sink.messages]
    assert len(ids) == expected
    assert len(set(ids)) == expected, "a message arrived twice"
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert {row.message_id for row in rows} == set(ids)
        assert {row.status for row in rows} == {"sent"}
        assert all(row.claimed_by is None for row in rows)


@postgresql_only
def test_two_workers_deliver_200_messages_without_a_duplicate(app, database_url, owner, paced_smtp):
    sink = paced_smtp(wait_for_peers=2)  # holds the first messages until both workers are sending
    queue_cancellations(app, owner, 100)  # an invitation and a review request each
    workers = [worker(database_url, sink, "send", "--batch-size", "10") for _ in range(2)]
    outputs = [process.communicate(timeout=120)[0] for process in workers]
    assert [process.returncode for process in workers] == [0, 0], outputs
    sent = [int(output.split("Outbox: sent ")[1].split(",")[0]) for output in outputs]
    assert sum(sent) == 200 and min(sent) > 0, outputs  # both worked, and between them sent each message once
    assert_each_arrived_once(app, sink, 200)


@postgresql_only
def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_nothing(app, database_url, owner, paced_smtp):
    slow = paced_smtp(delay=0.5)
    queue_cancellations(app, owner, 10)
    process = worker(database_url, slow, "work", "--batch-size", "50", "--interval", "0.2")
    try:
        wait_until(lambda: len(slow.messages) >= 3 and slow.in_flight, timeout=60)
        process.send_signal(signal.SIGKILL)  # lands while the fourth message is in DATA
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    delivered_before = len(slow.messages)
    assert 3 <= delivered_before < 20
    with app.app_context():
        orphans = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == "queued")).all()
        assert len(orphans) == 20 - delivered_before
        assert all(row.claimed_by and row.lease_expires_at for row in orphans)  # still held by the dead worker

    slow.delay = 0
    another = create_app(make_config(database_url, slow))
    assert deliver(another).sent == 0  # the lease is live: another worker leaves them alone
    later = utcnow() + timedelta(seconds=another.config["OUTBOX_LEASE_SECONDS"] + 1)
    report = deliver(another, now=later)
    assert report.sent == 20 - delivered_before
    assert_each_arrived_once(another, slow, 20)
    with another.app_context():
        db.engine.dispose()


def test_smtp_down_while_20_cancellations_are_logged(database_url, smtp, owner, app):
    """On both databases: nothing is lost while SMTP is down, and once it is back each message arrives once."""
    down = create_app(make_config(database_url, smtp, MAIL_PORT=free_port()))
    queue_cancellations(down, owner, 20)
    first = deliver(down)
    assert (first.sent, first.retrying, first.failed) == (0, 40, 0)
    second = deliver(down, now=utcnow() + timedelta(hours=1))  # still down at the first retry
    assert (second.sent, second.retrying) == (0, 40)
    with down.app_context():
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert {(row.status, row.attempts) for row in rows} == {("queued", 0)}  # an outage is no attempt of theirs
        assert all(row.claimed_by is None for row in rows)
    assert smtp.messages == []

    back = deliver(app, now=utcnow() + timedelta(hours=6))
    assert back.sent == 40
    deliver(app, now=utcnow() + timedelta(days=2))  # a later pass finds nothing more to send
    assert_each_arrived_once(app, smtp, 40)


def test_outbox_status_says_what_waits_and_what_failed(app, runner, smtp, owner):
    smtp.rejected.add("gone@client.test")
    log(app, owner["email"], customer_email="gone@client.test")
    log(app, owner["email"], customer_email="later@client.test")
    with app.app_context():
        db.session.execute(
            db.update(OutboxMessage)
            .where(OutboxMessage.recipient == "later@client.test")
            .values(due_at=utcnow() + timedelta(hours=1))
        )
        db.session.commit()
    waiting = runner.invoke(args=["outbox", "status"])
    assert "queued 4, sent 0, failed 0, skipped 0" in waiting.output
    assert "Oldest due message has waited" in waiting.output
    sent = runner.invoke(args=["outbox", "send"])
    assert "Outbox: sent 2, will retry 0, failed 1." in sent.output
    status = runner.invoke(args=["outbox", "status"]).output
    assert "queued 1, sent 2, failed 1, skipped 0" in status
    assert "Oldest due message" not in status  # the one left is not due yet
    assert "survey_invitation to gone@client.test: SMTPRecipientsRefused" in status
