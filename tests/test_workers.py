"""Several outbox workers, one killed mid-batch, SMTP down for a while: every message arrives exactly once.

The worker tests need PostgreSQL (FOR UPDATE SKIP LOCKED, truly concurrent writers). CI runs the whole suite twice,
on PostgreSQL and then on SQLite, so they run in the PostgreSQL pass and are skipped, with this reason, in the
SQLite one; they never skip when TEST_DATABASE_URL is PostgreSQL. The tests of `flask worker`'s lanes (mail beside
the jobs) and of an SMTP outage run on both databases.
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
from conftest import TEST_DATABASE_URL, SMTPSink, deliver, flask_command, free_port, log, make_config, wait_until
from sqlalchemy import select

from feedback import create_app
from feedback.db import utcnow
from feedback.extensions import db
from feedback.jobs import registered
from feedback.jobs.models import JobRun
from feedback.jobs.stopping import StopFlag
from feedback.mail.models import OutboxMessage
from feedback.worker import mail_pass

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


def test_a_job_holding_the_worker_for_30_s_does_not_hold_back_an_invitation(app, database_url, smtp, owner, tmp_path):
    """`flask worker` delivers mail in a lane of its own: an invitation goes out while a long job is still running."""
    command, env = flask_command(database_url, smtp, "worker", "--interval", "0.2", HELD_JOB_DIR=str(tmp_path))
    command[command.index("wsgi")] = str(ROOT / "tests" / "app_with_a_held_job.py")  # wsgi's app plus the held job
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: (tmp_path / "started").exists(), timeout=60)
        log(app, owner["email"])  # the customer's invitation and the owner's review request, queued meanwhile
        wait_until(lambda: len(smtp.to("casey@client.test")) == 1, timeout=25)
        assert not (tmp_path / "finished").exists()  # delivered while the job still held its lane
        with app.app_context():
            held = db.session.get(JobRun, "test.held")
            assert held is not None and held.locked_by is not None and held.last_finished_at is None
            db.session.remove()
        process.send_signal(signal.SIGTERM)  # both lanes stop: mail at once, the jobs after the job in hand
        (tmp_path / "release").touch()
        output = process.communicate(timeout=30)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    lines = [line for line in output.splitlines() if " INFO feedback.runs [" not in line]
    every_job = len(registered()) + 1  # the app's own periodic jobs, and the held one
    assert lines[0] == f"Worker started: delivering mail and running {every_job} periodic jobs; checking every 0.2s."
    assert "Outbox: sent 2, will retry 0, failed 0." in lines
    assert "Job test.held: held the jobs lane." in lines
    assert lines[-1] == "Worker stopped."
    assert (tmp_path / "finished").exists()  # the job in hand was let finish, not cut off
    with app.app_context():
        assert db.session.get(JobRun, "test.held").last_outcome == "ok"


def test_the_mail_lane_outlives_a_pass_on_which_the_database_fails(smtp, tmp_path, caplog):
    """A database busy past its timeout (SQLite under a long job's write) or away costs a pass, not the worker."""
    away = create_app(make_config(f"sqlite:///{tmp_path}/missing/farewell.sqlite3", smtp))
    with away.app_context():
        mail_pass(100, StopFlag())  # returns: the lane waits for its next pass
        db.session.remove()
    assert "Outbox pass failed on the database (OperationalError); the next pass tries again." in caplog.text
