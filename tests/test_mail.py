"""The outbox: mail is written with what caused it, delivered once, and never lost when SMTP fails."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from datetime import timedelta
from email.utils import getaddresses

from conftest import csrf_token, deliver, free_port, link_in, log, make_config
from sqlalchemy import select

from feedback import create_app
from feedback.db import utcnow
from feedback.extensions import db
from feedback.mail.models import OutboxMessage


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return rows


def test_smtp_down_delays_mail_and_loses_none(database_url, smtp, owner, app):
    down = create_app(make_config(database_url, smtp, MAIL_PORT=free_port()))
    for n in range(5):
        log(down, owner["email"], customer_email=f"patient{n}@client.test")
    report = deliver(down)
    assert (report.sent, report.retrying, report.failed) == (0, 10, 0)
    rows = outbox(down)
    assert {row.status for row in rows} == {"queued"}
    assert all(row.attempts == 0 and "Connection refused" in row.last_error for row in rows)
    assert all(row.due_at > utcnow() for row in rows)  # backed off, not hammered
    assert smtp.messages == []

    # The server is back (the same database, an app pointed at the live sink): everything arrives once.
    assert deliver(app).sent == 0  # nothing is due yet
    report = deliver(app, now=utcnow() + timedelta(hours=1))
    assert report.sent == 10
    deliver(app, now=utcnow() + timedelta(days=2))
    assert len(smtp.messages) == 10
    assert len({m["Message-ID"].strip() for m in smtp.messages}) == 10
    assert {row.status for row in outbox(app)} == {"sent"}
    assert {row.message_id for row in outbox(app)} == {m["Message-ID"].strip() for m in smtp.messages}


def test_a_silent_smtp_server_times_out_instead_of_hanging(database_url, smtp, owner):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    silent = create_app(make_config(database_url, smtp, MAIL_PORT=listener.getsockname()[1], MAIL_TIMEOUT=1))
    log(silent, owner["email"])
    finished = threading.Event()
    reports = []

    def run() -> None:
        reports.append(deliver(silent))
        finished.set()

    threading.Thread(target=run, daemon=True).start()
    try:
        assert finished.wait(timeout=60), "delivery hung on a server that never answered"
    finally:
        listener.close()
    assert reports[0].retrying == 2
    assert all("timed out" in row.last_error for row in outbox(silent))


def test_a_permanently_refused_address_fails_without_blocking_the_rest(app, smtp, owner):
    smtp.rejected.add("gone@client.test")
    log(app, owner["email"], customer_email="gone@client.test")
    report = deliver(app)
    assert (report.sent, report.failed) == (1, 1)
    failed = [row for row in outbox(app) if row.status == "failed"]
    assert len(failed) == 1 and failed[0].recipient == "gone@client.test"
    assert "550" in failed[0].last_error
    assert failed[0].failed_at is not None
    assert len(smtp.messages) == 1  # the owner's review request still went


def test_header_injection_through_user_data_is_neutralised(app, smtp, owner):
    log(
        app,
        owner["email"],
        customer_name="Eve\r\nBcc: attacker@evil.test",
        company="Evil\nX-Injected: yes",
        customer_email="eve@client.test",
    )
    deliver(app)
    assert len(smtp.messages) == 2
    for message in smtp.messages:
        assert message["Bcc"] is None
        assert message["X-Injected"] is None
    recipients = [address for envelope in smtp.envelopes for address in envelope.rcpt_tos]
    assert "attacker@evil.test" not in recipients
    assert sorted(recipients) == sorted(["eve@client.test", owner["email"]])


def test_outbox_cli_prints_counts_and_sends_once(app, runner, smtp, owner):
    log(app, owner["email"])
    first = runner.invoke(args=["outbox", "send"])
    assert first.exit_code == 0
    assert "sent 2, will retry 0, failed 0" in first.output
    second = runner.invoke(args=["outbox", "send"])
    assert "sent 0" in second.output
    assert len(smtp.messages) == 2
    status = runner.invoke(args=["outbox", "status"])
    assert "queued 0, sent 2, failed 0" in status.output


def test_survey_delay_holds_the_invitation_back(database_url, smtp, owner):
    delayed = create_app(make_config(database_url, smtp, SURVEY_DELAY_MINUTES=30))
    log(delayed, owner["email"], customer_email="later@client.test")
    deliver(delayed)
    assert smtp.to("later@client.test") == []
    assert len(smtp.to(owner["email"])) == 1  # the owner hears at once
    deliver(delayed, now=utcnow() + timedelta(minutes=31))
    invitation = smtp.one("later@client.test")
    assert link_in(invitation).startswith("http://localhost/s/")


def test_local_mailbox_keeps_mail_when_no_smtp_is_configured(database_url, smtp, owner, admin):
    local = create_app(make_config(database_url, smtp, MAIL_SERVER="", MAIL_BACKEND="local"))
    log(local, owner["email"], customer_email="box@client.test")
    assert deliver(local).sent == 2
    assert smtp.messages == []
    client = local.test_client()
    from conftest import AuthActions

    AuthActions(client).login(owner["email"])  # an owner reads the mail addressed to them, never the customer's
    own = client.get("/dev/mail/")
    assert own.status_code == 200
    assert "Thank you for your time with Acme Analytics" not in own.text
    customers = next(message for message in outbox(local) if message.recipient == "box@client.test")
    assert client.get(f"/dev/mail/{customers.id}").status_code == 403
    AuthActions(client).logout()
    AuthActions(client).login(admin["email"])
    page = client.get("/dev/mail/")
    assert "Thank you for your time with Acme Analytics" in page.text
    first = outbox(local)[0]
    shown = client.get(f"/dev/mail/{first.id}")
    assert shown.status_code == 200
    assert "http://localhost/s/" in shown.text


def test_local_mailbox_is_absent_when_smtp_is_configured(client, logged_in_owner):
    assert client.get("/dev/mail/").status_code == 404


def test_outbox_work_runs_as_the_readme_says_and_stops_cleanly_on_sigterm(app, database_url, smtp, owner):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from conftest import wait_until

    log(app, owner["email"], customer_email="worker@client.test")
    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "FAREWELL_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "MAIL_SERVER": smtp.host,
        "MAIL_PORT": str(smtp.port),
        "BASE_URL": "http://localhost",
    }
    flask = Path(sys.executable).with_name("flask")
    worker = subprocess.Popen(
        [str(flask), "--app", "wsgi", "outbox", "work", "--interval", "0.2"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(lambda: len(smtp.messages) == 2, timeout=30)
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, output
    assert "Outbox: sent 2" in output
    assert "Outbox worker stopped." in output
    assert len(smtp.to("worker@client.test")) == 1


def test_marking_a_message_sent_writes_its_timeline_in_the_database(app, smtp, owner):
    """The worker's sent mark is one UPDATE; the database's trigger adds the timeline line, with the same labels."""
    from feedback.mail.models import OutboxContent
    from feedback.postmortem.models import Cancellation
    from feedback.postmortem.timeline import EMAIL_LABELS, email_label

    cancellation_id = log(app, owner["email"], customer_email="casey@client.test")
    with app.app_context():
        cancellation = db.session.get(Cancellation, cancellation_id)
        assert (cancellation.state, cancellation.invitation.sent_at) == ("logged", None)
    assert deliver(app).sent == 2  # the invitation, and the owner's review request

    with app.app_context():
        cancellation = db.session.get(Cancellation, cancellation_id)
        invitation_sent = next(row.sent_at for row in outbox(app) if row.kind == "survey_invitation")
        assert cancellation.state == "invited"
        assert cancellation.invitation.sent_at == invitation_sent
        sent_lines = [event.detail for event in cancellation.events if event.kind == "email_sent"]
        assert sorted(sent_lines) == sorted(
            ["Exit survey invitation sent to casey@client.test.", f"Review request sent to {owner['email']}."]
        )

        # Every kind of email the app knows keeps its label; one it does not know yet says "Email".
        kinds = [*EMAIL_LABELS, "something_new"]
        for n, kind in enumerate(kinds):
            db.session.add(
                OutboxMessage(
                    kind=kind,
                    recipient=f"reader{n}@client.test",
                    subject="Hello",
                    message_id=f"<kind-{n}@farewell.test>",
                    cancellation_id=cancellation_id,
                    timeline_label=email_label(kind),  # as email_about queues it
                    status="failed",
                    failed_at=utcnow(),
                    content=OutboxContent(body_text="Hello", body_html="<p>Hello</p>"),
                )
            )
        db.session.commit()
        before = len(cancellation.events)
        for row in db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == "failed")):
            row.status, row.sent_at, row.failed_at = "sent", utcnow(), None  # as a resend that went through
        db.session.commit()
        # Writing 'sent' over 'sent' adds nothing: only the change to 'sent' is recorded.
        db.session.execute(db.update(OutboxMessage).where(OutboxMessage.status == "sent").values(status="sent"))
        db.session.commit()
        db.session.expire_all()
        new_lines = [event.detail for event in cancellation.events[before:]]
        labels = {**EMAIL_LABELS, "something_new": "Email"}
        assert sorted(new_lines) == sorted(
            f"{labels[kind]} sent to reader{n}@client.test." for n, kind in enumerate(kinds)
        )
        assert cancellation.invitation.sent_at == invitation_sent  # a later email does not move the invitation


def queue_plain(app, *recipients: str) -> None:
    """Messages queued in this order, without a cancellation: only the outbox is under test."""
    from feedback.mail.models import OutboxContent

    with app.app_context():
        for n, recipient in enumerate(recipients):
            message_id = f"<plain-{n}-{recipient.replace('@', '.')}@farewell.test>"
            mime = f"Subject: Hello\r\nTo: {recipient}\r\nMessage-ID: {message_id}\r\n\r\nHello\r\n"
            db.session.add(
                OutboxMessage(
                    kind="summary",
                    recipient=recipient,
                    subject="Hello",
                    message_id=message_id,
                    due_at=utcnow() - timedelta(minutes=len(recipients) - n),
                    content=OutboxContent(body_text="Hello", body_html="<p>Hello</p>", mime=mime.encode()),
                )
            )
        db.session.commit()


def test_a_sent_mark_that_fails_stops_the_batch_before_another_message_is_accepted(app, smtp, monkeypatch):
    """The mark of A fails while B is refused at RCPT: C must not be accepted with A's failure unseen."""
    import pytest
    from sqlalchemy.exc import OperationalError

    from feedback.mail import delivery

    queue_plain(app, "a@client.test", "b@client.test", "c@client.test")
    smtp.rejected.add("b@client.test")
    real_mark_sent, marked = delivery.mark_sent, []

    def flaky_mark_sent(connection, row, at):
        marked.append(row.recipient)
        if len(marked) == 1:
            raise OperationalError("UPDATE outbox_messages", {}, Exception("database is locked"))
        real_mark_sent(connection, row, at)

    monkeypatch.setattr(delivery, "mark_sent", flaky_mark_sent)
    with app.app_context(), pytest.raises(delivery.DatabaseWorkFailed, match="database is locked"):
        delivery.deliver_due()
    assert len(smtp.to("a@client.test")) == 1 and smtp.to("c@client.test") == []
    rows = {row.recipient: row for row in outbox(app)}
    assert rows["a@client.test"].status == "queued"  # sent, not marked: taken again when its lease ends, at most once


def test_a_stop_while_the_server_takes_a_message_sends_no_other(app, smtp, monkeypatch):
    from feedback.mail import delivery

    queue_plain(app, "a@client.test", "b@client.test")
    stop, accept = threading.Event(), smtp.handle_DATA

    async def accept_and_ask_to_stop(server, session, envelope):
        stop.set()  # SIGTERM arrives while the server takes the first message's final dot
        return await accept(server, session, envelope)

    monkeypatch.setattr(smtp, "handle_DATA", accept_and_ask_to_stop)
    with app.app_context():
        assert delivery.deliver_due(should_stop=stop.is_set).sent == 1
    rows = {row.recipient: row for row in outbox(app)}
    assert rows["b@client.test"].status == "queued" and rows["b@client.test"].claimed_by is None  # given back


def test_a_non_ascii_address_goes_with_smtputf8_and_fails_alone_without_it(database_url, app, smtp):
    """RFC 6531: josé@… needs the server's SMTPUTF8; without it the address fails for good, the next one still goes."""
    from aiosmtpd.controller import Controller
    from conftest import SMTPSink

    ascii_only = SMTPSink()
    ascii_only.controller = Controller(
        ascii_only, hostname=ascii_only.host, port=ascii_only.port, enable_SMTPUTF8=False
    )
    # Built first: CPython 3.11.7 raises "AST constructor recursion depth mismatch" when a finaliser runs in the
    # middle of Werkzeug compiling the routes, and the first delivery below leaves objects for the collector.
    strict = create_app(make_config(database_url, ascii_only))

    queue_plain(app, "josé@client.test")
    assert deliver(app).sent == 1  # the test server offers SMTPUTF8, as most do
    assert [envelope.rcpt_tos for envelope in smtp.envelopes] == [["josé@client.test"]]

    ascii_only.start()
    try:
        queue_plain(strict, "zoë@client.test", "b@client.test")
        report = deliver(strict)
        assert (report.sent, report.failed, report.retrying) == (1, 1, 0)
        assert [envelope.rcpt_tos for envelope in ascii_only.envelopes] == [["b@client.test"]]
        failed = [row for row in outbox(strict) if row.status == "failed"]
        assert [row.recipient for row in failed] == ["zoë@client.test"] and "SMTPUTF8" in failed[0].last_error
    finally:
        ascii_only.stop()


def test_a_claimed_batch_that_sends_nothing_is_warned_about(app, runner, smtp, owner, caplog):
    """A lease that leaves no time to send (here shortened after start) is said on the command line and in the log."""
    log(app, owner["email"])
    app.config["OUTBOX_LEASE_SECONDS"] = 4 * app.config["MAIL_TIMEOUT"]
    result = runner.invoke(args=["outbox", "send"])
    assert "Outbox: sent 0, will retry 0, failed 0." in result.output
    assert "Warning: 2 messages were claimed and handed back unsent" in result.output
    assert "Claimed 2 messages and sent none" in caplog.text
    assert smtp.messages == []
    app.config["OUTBOX_LEASE_SECONDS"] = 300
    again = runner.invoke(args=["outbox", "send"])  # handed back at once, not held until the lease ends
    assert "Outbox: sent 2" in again.output and "Warning" not in again.output


def test_a_long_smtp_outage_keeps_mail_queued_and_all_goes_when_the_server_is_back(database_url, smtp, owner, app):
    """Three days of a server refusing connections, on an injected clock: no attempt counted, nothing failed."""
    down = create_app(make_config(database_url, smtp, MAIL_PORT=free_port()))
    for n in range(3):
        log(down, owner["email"], customer_email=f"patient{n}@client.test")
    start = clock = utcnow()
    gaps = []
    while clock < start + timedelta(days=3):
        report = deliver(down, now=clock)
        assert (report.sent, report.failed) == (0, 0)
        rows = outbox(down)
        assert {(row.status, row.attempts) for row in rows} == {("queued", 0)}
        assert all("SMTP server unavailable (ConnectionRefusedError" in row.last_error for row in rows)
        due = min(row.due_at for row in rows)
        gaps.append(due - clock)
        clock = max(row.due_at for row in rows) + timedelta(seconds=1)  # the next pass that finds them all due
    assert max(gaps) <= timedelta(seconds=down.config["OUTBOX_OUTAGE_RETRY_SECONDS"])  # capped backoff
    assert gaps[-1] > 4 * gaps[0]  # and it did back off
    assert 100 < len(gaps) < 400  # still tried every quarter of an hour or so, for days
    assert smtp.messages == []

    back = deliver(app, now=clock)
    assert (back.sent, back.failed) == (6, 0)
    assert {row.status for row in outbox(app)} == {"sent"}
    assert len(smtp.messages) == 6


def test_a_refusal_of_the_message_still_counts_and_fails_in_the_end(app, smtp, owner):
    """Only the server up and refusing this message counts: a 4xx for the recipient is retried, then failed."""
    from aiosmtpd.smtp import SMTP

    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    log(app, owner["email"], customer_email="busy@client.test")
    original = smtp.handle_RCPT

    async def busy(server: SMTP, session, envelope, address, options):
        if address == "busy@client.test":
            return "451 4.3.0 Try again later"
        return await original(server, session, envelope, address, options)

    smtp.handle_RCPT = busy
    try:
        deliver(app)
        deliver(app, now=utcnow() + timedelta(hours=1))
    finally:
        del smtp.handle_RCPT
    (refused,) = [row for row in outbox(app) if row.recipient == "busy@client.test"]
    assert (refused.status, refused.attempts) == ("failed", 2)


def test_a_relay_refusing_every_recipient_alike_is_waited_out_like_an_outage(app, smtp, owner):
    """A full spool answers 451 4.3.0 to every RCPT: that is the relay's trouble, so no message fails for it."""
    from aiosmtpd.smtp import SMTP

    for n in range(3):
        log(app, owner["email"], customer_email=f"spooled{n}@client.test")  # six messages: invitations and reviews

    async def spool_full(server: SMTP, session, envelope, address, options):
        return f"451 4.3.0 <{address}>: Insufficient system storage, try again later"

    smtp.handle_RCPT = spool_full
    clock = utcnow()
    try:
        for _ in range(3 * app.config["OUTBOX_MAX_ATTEMPTS"]):  # far past what failing every message would take
            clock += timedelta(days=1)
            report = deliver(app, now=clock)
            assert (report.sent, report.retrying, report.failed) == (0, 6, 0)
    finally:
        del smtp.handle_RCPT
    rows = outbox(app)
    assert {(row.status, row.attempts) for row in rows} == {("queued", 0)}
    assert all(row.last_error.startswith("SMTP server refused every message (SMTPRecipientsRefused") for row in rows)
    assert all("451" in row.last_error for row in rows)
    assert smtp.messages == []

    original = smtp.handle_RCPT

    async def one_mailbox_full(server: SMTP, session, envelope, address, options):
        if address == "spooled0@client.test":
            return "451 4.3.0 <spooled0@client.test>: Insufficient system storage, try again later"
        return await original(server, session, envelope, address, options)

    smtp.handle_RCPT = one_mailbox_full  # the spool has room again, but for one mailbox
    try:
        back = deliver(app, now=clock + timedelta(days=1))
    finally:
        del smtp.handle_RCPT
    assert (back.sent, back.retrying, back.failed) == (5, 1, 0)
    (refused,) = [row for row in outbox(app) if row.status == "queued"]
    assert (refused.recipient, refused.attempts) == ("spooled0@client.test", 1)  # that one is the message's own
    assert refused.last_error.startswith("SMTPRecipientsRefused")

    last = deliver(app, now=clock + timedelta(days=2))
    assert (last.sent, last.failed) == (1, 0)
    assert {row.status for row in outbox(app)} == {"sent"}
    assert len({message["Message-ID"] for message in smtp.messages}) == 6


def test_resend_all_failed_from_the_email_log_and_the_command_line(app, client, auth, runner, smtp, owner, admin):
    smtp.rejected.update({"gone1@client.test", "gone2@client.test"})
    log(app, owner["email"], customer_email="gone1@client.test")
    log(app, owner["email"], customer_email="gone2@client.test")
    deliver(app)
    assert [row.status for row in outbox(app)].count("failed") == 2
    smtp.rejected.clear()
    auth.login(admin["email"])
    page = client.get("/admin/email/")
    assert "Resend all 2 failed" in page.text
    done = client.post("/admin/email/resend-failed", data={"csrf_token": csrf_token(page.text)}, follow_redirects=True)
    assert "2 failed messages queued again" in done.text
    assert "failed" not in {row.status for row in outbox(app)}
    deliver(app)
    assert len(smtp.to("gone1@client.test")) == len(smtp.to("gone2@client.test")) == 1

    smtp.rejected.add("gone3@client.test")
    log(app, owner["email"], customer_email="gone3@client.test")
    deliver(app)
    smtp.rejected.clear()
    assert "Queued 1 failed message again." in runner.invoke(args=["outbox", "resend", "--failed"]).output
    deliver(app)
    assert len(smtp.to("gone3@client.test")) == 1


# --- What goes on the wire: the raw bytes the SMTP server received, not what a parser makes of them ----------------


def raw_head(envelope) -> bytes:
    """The header block exactly as sent, before any unfolding or decoding."""
    return envelope.original_content.split(b"\r\n\r\n", 1)[0]


def raw_header(envelope, name: str) -> bytes:
    """One header's value with its folding kept (continuation lines start with a space or a tab)."""
    match = re.search(rb"^" + name.encode() + rb": ?([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", raw_head(envelope), re.MULTILINE)
    assert match, f"no {name} header in {raw_head(envelope)!r}"
    return match.group(1)


def envelope_to(smtp, address: str):
    found = [e for e in smtp.envelopes if address in e.rcpt_tos]
    assert len(found) == 1, f"expected one message to {address}, got {len(found)}"
    return found[0]


def test_no_whitespace_or_control_character_writes_a_header(app, smtp, owner):
    """A company name stored with VT, FF, FS/GS/RS, NEL or U+2028 (before the input filter refused them, say) is
    one line in every header: Python's folding would otherwise make each of them a line break."""
    from feedback.settings.operations import save_settings

    with app.app_context():
        save_settings(
            {"company_name": "Acme\x0bBcc: spy@evil.test\x0c\x1c\x1d\x1e\x85\u2028\u2029X-Evil: 1\x0b\x0bbody"}
        )
        db.session.commit()
    log(app, owner["email"], customer_name="Casey\x0bBcc: spy2@evil.test", company="Co\x1eX-Injected: yes")
    deliver(app)
    assert len(smtp.envelopes) == 2
    for envelope in smtp.envelopes:
        head = raw_head(envelope)
        assert not re.search(rb"^(Bcc|X-Evil|X-Injected|body)", head, re.MULTILINE | re.IGNORECASE), head
        assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]", head), head
        assert all(line[:1] in b" \t" or b":" in line for line in head.split(b"\r\n")), head
    assert sorted(r for e in smtp.envelopes for r in e.rcpt_tos) == ["casey@client.test", owner["email"]]
    invitation = smtp.one("casey@client.test")
    assert invitation["Subject"].strip() == "Thank you for your time with Acme Bcc: spy@evil.test X-Evil: 1 body, Casey"


def test_display_names_cannot_break_the_to_header(app, smtp, owner):
    name = '"Spy" <spy@evil.test>, Bcc: <spy2@evil.test> ' + "x" * 90 + ' "quoted" <a@b.test> >'
    log(app, owner["email"], customer_name=name, customer_email="casey@client.test")
    deliver(app)
    envelope = envelope_to(smtp, "casey@client.test")
    assert envelope.rcpt_tos == ["casey@client.test"]
    parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    addresses = parsed["To"].addresses
    assert [a.addr_spec for a in addresses] == ["casey@client.test"]
    assert addresses[0].display_name == " ".join(name.split())
    # A strict reader of the raw header sees one address too: the name is quoted or encoded whole.
    unfolded = re.sub(rb"\r\n[ \t]", b" ", raw_header(envelope, "To")).decode("ascii")
    assert [address for _, address in getaddresses([unfolded])] == ["casey@client.test"]


def test_list_unsubscribe_travels_as_a_plain_link_even_past_78_characters(app, smtp, owner):
    log(app, owner["email"], customer_email="a-rather-long-address-for-a-longer-link@client.test")
    deliver(app)
    envelope = envelope_to(smtp, "a-rather-long-address-for-a-longer-link@client.test")
    value = raw_header(envelope, "List-Unsubscribe")
    line = b"List-Unsubscribe: " + value
    assert len(line) > 78 and b"=?" not in value
    assert re.fullmatch(rb"<http://localhost/u/[A-Za-z0-9_.-]+>", value), value
    assert raw_header(envelope, "List-Unsubscribe-Post") == b"List-Unsubscribe=One-Click"
