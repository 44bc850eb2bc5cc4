"""The inbound.poll-imap job against a real dovecot on loopback: stored first, then marked; two pollers, one copy."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from conftest import make_config, run_jobs
from dovecot import IMAPServer, dovecot_server, imap  # noqa: F401 - the fixtures
from flask import Flask
from sqlalchemy import func, select
from test_inbound import CUSTOMER, invited, shaped

from feedback.extensions import db
from feedback.inbound.imap import BadMailboxURL, mailbox_from_url
from feedback.inbound.models import InboundMessage
from feedback.postmortem.models import Cancellation


@pytest.fixture
def app_config(database_url: str, smtp: Any, imap: IMAPServer) -> dict[str, Any]:  # noqa: F811
    return make_config(database_url, smtp, REPLY_ADDRESS="replies@acme.test", INBOUND_IMAP_URL=imap.url)


def poll_imap(now: Any) -> str:
    """The job itself; imported late, so that the app factory registers the jobs in their usual order."""
    from feedback.inbound.jobs import poll_imap as job

    return job(now)


def count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(InboundMessage)) or 0


def test_the_jobs_store_each_new_message_mark_it_seen_and_make_a_reply_of_it(app, owner, imap):  # noqa: F811
    cancellation_id, address, _ = invited(app, owner)
    imap.deliver(shaped("reply_outlook_fr.eml", address, sender=CUSTOMER), shaped("auto_precedence.eml", address))
    reports = run_jobs(app)
    assert reports["inbound.poll-imap"] == "2 messages stored"
    assert reports["inbound.process"] == "1 auto-reply, 1 reply"  # registered after the poll: the same pass
    with app.app_context():
        assert db.session.get(Cancellation, cancellation_id).replies[0].text == (
            "Le produit était bien, mais trop compliqué pour notre petite équipe."
        )
        vias = db.session.scalars(select(InboundMessage.via)).all()
        assert vias == ["imap", "imap"]
    assert all(b"\\Seen" in flags for flags in imap.flags())
    with app.app_context():
        assert poll_imap(None) == ""  # nothing new: the seen ones are not read again


def test_a_message_is_marked_only_once_it_is_stored(app, owner, imap, monkeypatch):  # noqa: F811
    _, address, _ = invited(app, owner)
    imap.deliver(shaped("reply_gmail_en.eml", address))

    def database_gone(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the database went away")

    monkeypatch.setattr("feedback.inbound.jobs.store_message", database_gone)
    with app.app_context(), pytest.raises(ConnectionError):
        poll_imap(None)
    assert imap.flags() == [()]  # still unseen: the next poll takes it
    monkeypatch.undo()
    with app.app_context():
        assert poll_imap(None) == "1 message stored"
    assert imap.flags() == [(b"\\Seen",)]


def test_two_pollers_at_once_store_one_copy_of_each(app, owner, imap):  # noqa: F811
    _, address, _ = invited(app, owner)
    imap.deliver(*(shaped("reply_gmail_en.eml", address).replace(b"gmail-en", f"n{i}".encode()) for i in range(6)))
    barrier = threading.Barrier(2)
    reports: list[str] = []

    def poller() -> None:
        with app.app_context():
            barrier.wait()
            reports.append(poll_imap(None))
            db.session.remove()

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert count(app) == 6
    assert len(reports) == 2
    assert all(b"\\Seen" in flags for flags in imap.flags())


def test_delete_instead_of_marking_and_a_huge_message_fetched_only_up_to_the_cap(app_config, owner, imap):  # noqa: F811
    from feedback import create_app

    app_config["INBOUND_IMAP_URL"] = imap.url + "?delete=yes"
    app = create_app(app_config)
    huge = b"From: someone@else.test\r\nMessage-ID: <huge@else.test>\r\nSubject: big\r\n\r\n" + b"z" * (1536 * 1024)
    imap.deliver(huge)
    with app.app_context():
        assert poll_imap(None) == "1 message stored"
        message = db.session.scalars(select(InboundMessage)).one()
        assert message.truncated and message.size > 1536 * 1024
        db.session.remove()
    assert imap.flags() == []


def test_the_mailbox_url():
    box = mailbox_from_url("imaps://replies%40acme.test:p%40ss@imap.acme.test/Farewell%20replies")
    assert (box.host, box.port, box.ssl, box.username, box.password) == (
        "imap.acme.test",
        993,
        True,
        "replies@acme.test",
        "p@ss",
    )
    assert box.folder == "Farewell replies" and not box.delete
    assert "p@ss" not in str(box)
    with pytest.raises(BadMailboxURL, match="only on loopback"):
        mailbox_from_url("imap://u:p@imap.acme.test/INBOX")
    assert mailbox_from_url("imap://u:p@127.0.0.1:1143/").port == 1143


def test_flask_inbound_poll_and_process_by_hand(app, runner, owner, imap):  # noqa: F811
    _, address, _ = invited(app, owner)
    imap.deliver(shaped("reply_apple_de.eml", address, sender=CUSTOMER))
    assert runner.invoke(args=["inbound", "poll"]).output == "1 message stored\n"
    assert runner.invoke(args=["inbound", "poll"]).output == "No new message.\n"
    assert runner.invoke(args=["inbound", "process"]).output == "reply 1\n"
