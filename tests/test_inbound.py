"""Answer by replying: a customer's reply joins the postmortem, a bounce stops the wait, the pipe command stores."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import deliver, flask_command, log, make_config, text_part
from sqlalchemy import func, select

from feedback.extensions import db
from feedback.inbound.addresses import reply_address_for
from feedback.inbound.models import InboundMessage
from feedback.inbound.operations import process_and_commit, process_stored, store_message
from feedback.mail.models import OutboxMessage, Suppression
from feedback.postmortem.models import Cancellation
from feedback.summaries.models import Summary

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "inbound"
CUSTOMER = "casey@client.test"


@pytest.fixture
def app_config(database_url: str, smtp: Any) -> dict[str, Any]:
    return make_config(database_url, smtp, REPLY_ADDRESS="replies@acme.test", BOUNCE_ADDRESS="bounces@acme.test")


def invited(app, owner) -> tuple[int, str, str]:
    """A cancellation whose invitation went: (its id, its reply address, the invitation's Message-ID)."""
    cancellation_id = log(app, owner["email"])
    deliver(app)
    with app.app_context():
        message_id = db.session.scalar(
            select(OutboxMessage.message_id).where(
                OutboxMessage.cancellation_id == cancellation_id, OutboxMessage.kind == "survey_invitation"
            )
        )
        return cancellation_id, reply_address_for(cancellation_id), message_id.strip("<>")


def shaped(name: str, reply_address: str = "", original_id: str = "", sender: str = "") -> bytes:
    """A fixture addressed as a real one would be: to this reply address, answering this Message-ID."""
    raw = (FIXTURES / name).read_bytes()
    if reply_address:
        raw = raw.replace(b"replies+KEY@acme.test", reply_address.encode())
    if original_id:
        raw = raw.replace(b"ORIGINAL_MESSAGE_ID@acme.test", original_id.encode())
    if sender:
        for someone in (b"jonas@becker.test", b"camille@martin.test", b"sam@northwind.test", b"priya@shah.test"):
            raw = raw.replace(someone, sender.encode())
    return raw


def receive(app, raw: bytes, via: str = "pipe") -> InboundMessage:
    with app.app_context():
        message, _ = store_message(raw, via)
        process_and_commit(message.id)
        db.session.expire_all()
        found = db.session.get(InboundMessage, message.id)
        db.session.expunge(found)
        return found


def test_a_reply_by_its_key_joins_the_postmortem_and_reaches_the_owner(app, owner, smtp, client, auth):
    cancellation_id, address, _ = invited(app, owner)
    invitation = smtp.one(to=CUSTOMER)
    assert invitation["Reply-To"] == address
    assert address.startswith("replies+") and address.endswith("@acme.test")
    assert text_part(invitation).startswith("##- Please type your reply above this line -##")

    message = receive(app, shaped("reply_outlook_en.eml", address, sender=CUSTOMER))
    assert (message.status, message.note) == ("reply", "Matched by its reply address.")
    with app.app_context():
        cancellation = db.session.get(Cancellation, cancellation_id)
        [reply] = cancellation.replies
        assert reply.text.startswith("We moved to another tool. Two things decided it:\n- the dashboards")
        assert cancellation.state == "answered"
        assert "Casey Customer replied by email." in [event.detail for event in cancellation.events]
    deliver(app)
    forwarded = smtp.one(to=owner["email"], subject_contains="replied")
    assert forwarded["Reply-To"] == CUSTOMER
    assert "It counts as their answer in the postmortem." in text_part(forwarded)
    assert "support took days to answer" in text_part(forwarded)

    auth.login(owner["email"])
    page = client.get(f"/cancellations/{cancellation_id}").text
    assert "What the customer wrote back" in page
    assert "the link now thanks them for it" in page


def test_the_survey_link_thanks_a_customer_who_replied_and_no_reminder_goes(app, owner, smtp, client):
    from conftest import link_in, run_jobs

    from feedback.db import utcnow

    _, address, _ = invited(app, owner)
    link = link_in(smtp.one(to=CUSTOMER))
    receive(app, shaped("reply_gmail_en.eml", address))
    page = client.get(link.removeprefix("http://localhost"))
    assert page.status_code == 200
    assert "Thank you for your reply." in page.text
    assert "<form" not in page.text
    from datetime import timedelta

    run_jobs(app, utcnow() + timedelta(days=30))
    deliver(app)
    assert [m for m in smtp.to(CUSTOMER) if "reminder" in str(m["Subject"]).lower()] == []


def test_a_reply_matched_by_in_reply_to_after_the_review_sends_the_summary_with_it(app, owner, smtp):
    from test_summaries import review

    cancellation_id, _, original = invited(app, owner)
    review(app, cancellation_id, owner["id"])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Summary)) == 0  # still waiting for the customer
    # Sent to the team's plain address (a reply-all, say): In-Reply-To still names our invitation.
    raw = shaped("reply_apple_en.eml", "replies@acme.test", original)
    message = receive(app, raw)
    assert message.note == "Matched by the email it answers (In-Reply-To/References)."
    deliver(app)
    summary = text_part(smtp.one(to=owner["email"], subject_contains="Summary: why"))
    assert "WHAT THE CUSTOMER WROTE BACK" in summary
    assert "Honestly we just stopped using it after our analyst left." in summary
    assert "Sent from my iPhone" not in summary


def test_replies_from_elsewhere_unmatched_forged_and_automatic_are_kept_aside(app, owner):
    cancellation_id, address, _ = invited(app, owner)
    other = receive(app, shaped("reply_outlook_de.eml", address))  # from jonas@becker.test, not the customer
    assert other.status == "unmatched"
    assert other.cancellation_id == cancellation_id
    assert "not the customer's casey@client.test" in other.note
    forged = receive(app, shaped("reply_gmail_en.eml", "replies+1.aaaaaaaaaaaaaaaa@acme.test").replace(b"In-", b"X-"))
    assert forged.status == "unmatched"
    assert "not genuine" in forged.note
    auto = receive(app, shaped("auto_submitted.eml", address))
    assert auto.status == "auto_reply"
    assert auto.note == "Ignored: written by a machine (Auto-Submitted: auto-replied)."
    with app.app_context():
        assert db.session.get(Cancellation, cancellation_id).replies == []


def test_a_message_is_stored_once_however_often_it_arrives(app, owner):
    _, address, _ = invited(app, owner)
    raw = shaped("reply_gmail_en.eml", address)
    with app.app_context():
        first, stored = store_message(raw, "pipe")
        again, stored_again = store_message(b"Received: by mx2.acme.test; Tue, 1 Dec 2026\r\n" + raw, "imap")
        assert (stored, stored_again, again.id) == (True, False, first.id)
        process_stored()
        process_stored()
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 1
        assert len(db.session.get(InboundMessage, first.id).cancellation.replies) == 1


def test_a_huge_or_malformed_message_is_recorded_never_an_error(app, owner):
    _, address, _ = invited(app, owner)
    huge = shaped("reply_gmail_en.eml", address) + b"\r\n" + b"x" * (3 * 1024 * 1024)
    message = receive(app, huge)
    assert message.truncated and message.size > 3 * 1024 * 1024
    with app.app_context():
        stored = db.session.get(InboundMessage, message.id)
        assert len(stored.raw) == 1024 * 1024
    assert message.status == "reply"  # its start still says who wrote what
    broken = receive(app, (FIXTURES / "malformed.eml").read_bytes())
    assert broken.status == "unmatched"
    assert broken.attachments == ["€%ZZ.bin"]


def bounce_for(app, owner, fixture: str, by: str = "message-id") -> tuple[int, InboundMessage]:
    cancellation_id, _, original = invited(app, owner)
    with app.app_context():
        outbox_id = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.message_id == f"<{original}>"))
    from feedback.inbound.addresses import bounce_address_for

    with app.app_context():
        verp = bounce_address_for(outbox_id)
    raw = (FIXTURES / fixture).read_bytes().replace(b"bounces+KEY@acme.test", verp.encode())
    if by == "message-id":
        raw = raw.replace(b"ORIGINAL_MESSAGE_ID@acme.test", original.encode())
    return cancellation_id, receive(app, raw)


@pytest.mark.parametrize("fixture", ["bounce_postfix.eml", "bounce_exim.eml", "bounce_gmail.eml"])
def test_a_permanent_bounce_suppresses_the_address_and_the_summary_does_not_wait(
    app, owner, smtp, client, auth, fixture
):
    from test_summaries import review

    cancellation_id, message = bounce_for(app, owner, fixture)
    assert message.status == "bounce"
    assert message.note.startswith("casey@client.test bounced for good (5.")
    with app.app_context():
        suppression = db.session.scalars(select(Suppression)).one()
        assert (suppression.address, suppression.source, suppression.reason) == (CUSTOMER, "bounce", "bounced")
        ours = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "survey_invitation")).one()
        assert ours.bounced_at is not None and ours.bounce_detail.startswith("5.")
    review(app, cancellation_id, owner["id"])  # the summary goes at once: no answer can come
    deliver(app)
    summary = smtp.one(to=owner["email"], subject_contains="Summary: why")
    assert "The invitation bounced; the survey never reached them." in text_part(summary)
    auth.login(owner["email"])
    said = "The invitation bounced; the survey never reached them."
    assert said in client.get(f"/cancellations/{cancellation_id}").text
    assert said in client.get(f"/cancellations/{cancellation_id}/summary").text


def test_a_bounce_is_matched_by_its_verp_return_path_when_the_headers_are_gone(app, owner, smtp):
    envelopes = smtp.envelopes
    cancellation_id, message = bounce_for(app, owner, "bounce_postfix.eml", by="verp")
    assert any(e.mail_from.startswith("bounces+") and e.mail_from.endswith("@acme.test") for e in envelopes)
    assert message.status == "bounce"
    assert message.cancellation_id == cancellation_id
    assert "bounced for good" in message.note


def test_a_temporary_failure_is_only_recorded(app, owner):
    cancellation_id, message = bounce_for(app, owner, "bounce_postfix_delayed.eml")
    assert message.status == "bounce"
    assert message.note.startswith("Temporary delivery problem for casey@client.test (4.4.1")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Suppression)) == 0
        assert (
            db.session.scalar(select(OutboxMessage.bounced_at).where(OutboxMessage.kind == "survey_invitation")) is None
        )


# --- flask inbound receive, as Postfix's pipe runs it ------------------------------------------------


def flask_receive(database_url: str, smtp: Any, raw: bytes) -> subprocess.CompletedProcess[bytes]:
    command, env = flask_command(database_url, smtp, "inbound", "receive", REPLY_ADDRESS="replies@acme.test")
    return subprocess.run(command, cwd=ROOT, env=env, input=raw, capture_output=True, timeout=60)


def test_the_pipe_command_exits_0_once_stored_and_75_without_a_database(app, owner, smtp, database_url):
    cancellation_id, address, _ = invited(app, owner)
    raw = shaped("reply_gmail_de.eml", address, sender=CUSTOMER)
    done = flask_receive(database_url, smtp, raw)
    assert done.returncode == 0, done.stderr
    assert b"(reply)" in done.stdout
    again = flask_receive(database_url, smtp, raw)
    assert again.returncode == 0
    assert b"already stored" in again.stdout
    with app.app_context():
        assert db.session.get(Cancellation, cancellation_id).replies[0].text.startswith("Ehrlich gesagt")
    unavailable = flask_receive("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", smtp, raw)
    assert unavailable.returncode == 75, unavailable.stderr
    assert b"could not store the message, try again later" in unavailable.stderr


# --- The admin list: attach by hand, or discard --------------------------------------------------------


def test_an_admin_attaches_a_reply_from_another_address_and_discards_an_unmatched_one(
    app, owner, admin, client, auth, smtp
):
    from conftest import csrf_token

    cancellation_id, address, _ = invited(app, owner)
    colleague = receive(app, shaped("reply_outlook_de.eml", address))  # Jonas writes for Casey
    stray = receive(app, shaped("reply_apple_fr.eml", "replies@acme.test").replace(b"In-Reply-To", b"X-Was"))
    assert (colleague.status, stray.status) == ("unmatched", "unmatched")

    auth.login(admin["email"])
    listing = client.get("/admin/inbound/")
    assert listing.status_code == 200
    assert "Waiting for you (2)" in listing.text and "jonas@becker.test" in listing.text
    page = client.get(f"/admin/inbound/{colleague.id}").text
    assert "Wir haben das Budget für nächstes Jahr gekürzt bekommen." in page
    assert f'<option value="{cancellation_id}">' in page  # the probable postmortem, offered first
    attached = client.post(
        f"/admin/inbound/{colleague.id}/attach",
        data={"csrf_token": csrf_token(page), "cancellation_id": cancellation_id},
    )
    assert attached.status_code == 302
    with app.app_context():
        [reply] = db.session.get(Cancellation, cancellation_id).replies
        assert (reply.from_address, reply.attached_by_id) == ("jonas@becker.test", admin["id"])
        said = "A reply by email from jonas@becker.test was attached by an admin."
        assert said in [event.detail for event in db.session.get(Cancellation, cancellation_id).events]
    again = client.post(
        f"/admin/inbound/{colleague.id}/attach",
        data={"csrf_token": csrf_token(page), "cancellation_id": cancellation_id},
    )
    assert "it can&#39;t be attached" in client.get(again.headers["Location"]).text

    page = client.get(f"/admin/inbound/{stray.id}").text
    client.post(f"/admin/inbound/{stray.id}/discard", data={"csrf_token": csrf_token(page)})
    assert "Nothing waits for you" in client.get("/admin/inbound/").text
    assert "Discarded (1)" in client.get("/admin/inbound/?show=all").text
    deliver(app)
    assert smtp.one(to=owner["email"], subject_contains="replied")["Reply-To"] == CUSTOMER


def test_the_admin_list_is_paged(app, admin, client, auth):
    with app.app_context():
        for number in range(27):
            store_message(f"From: n{number}@else.test\r\nMessage-ID: <{number}@else.test>\r\n\r\nHi".encode(), "pipe")
        process_stored()
    auth.login(admin["email"])
    first = client.get("/admin/inbound/").text
    assert "Page 1 of 2" in first and "n26@else.test" in first and "n1@else.test" not in first
    assert "n0@else.test" in client.get("/admin/inbound/?page=2").text


def test_a_reply_is_in_the_insights_feed_in_their_words(app, owner, client, auth):
    _, address, _ = invited(app, owner)
    receive(app, shaped("reply_gmail_en.eml", address))
    auth.login(owner["email"])
    page = client.get("/insights/").text
    assert "What they wrote back by email" in page
    assert "The price doubled at renewal and nobody told us before the invoice came." in page


def test_a_reply_is_in_the_insights_export(app, owner, client, auth):
    _, address, _ = invited(app, owner)
    receive(app, shaped("reply_gmail_en.eml", address))
    auth.login(owner["email"])
    export = client.get("/insights/export.csv").text
    header, row = export.splitlines()[0].split(","), export.splitlines()[1]
    assert "customer_reply" in header
    assert "The price doubled at renewal" in row


def test_a_key_made_for_another_purpose_matches_nothing(app, owner):
    from feedback.inbound.addresses import BOUNCE_SALT
    from feedback.signing import sign_address_key

    cancellation_id, _, _ = invited(app, owner)
    with app.app_context():
        other_purpose = f"replies+{sign_address_key(cancellation_id, BOUNCE_SALT)}@acme.test"
    message = receive(app, shaped("reply_gmail_en.eml", other_purpose).replace(b"In-Reply-To", b"X-Was"))
    assert message.status == "unmatched"
    assert message.note.startswith("The key in its reply address is not genuine")


def test_a_message_that_fails_to_process_is_kept_with_its_error_and_tried_again(app, owner, admin, client, auth):
    from unittest import mock

    from conftest import csrf_token

    _, address, _ = invited(app, owner)
    with mock.patch("feedback.inbound.operations.parse", side_effect=ValueError("the parser broke")):
        failed = receive(app, shaped("reply_gmail_en.eml", address))
    assert failed.status == "failed"
    assert failed.note == "Processing failed: ValueError"  # its words might quote the message: not kept
    auth.login(admin["email"])
    assert "Failed to process (1)" in client.get("/admin/inbound/").text
    page = client.get(f"/admin/inbound/{failed.id}").text
    client.post(f"/admin/inbound/{failed.id}/retry", data={"csrf_token": csrf_token(page)})
    with app.app_context():
        assert process_stored() == {"reply": 1}


def test_a_reply_after_the_summary_is_added_and_forwarded(app, owner, smtp):
    from test_summaries import answer, review

    cancellation_id, address, _ = invited(app, owner)
    answer(app, cancellation_id, {"main_reason": "Something else"})
    review(app, cancellation_id, owner["id"])
    deliver(app)
    smtp.clear()
    receive(app, shaped("reply_apple_en.eml", address))
    deliver(app)
    forwarded = text_part(smtp.one(to=owner["email"], subject_contains="replied"))
    assert "after the summary went out" in forwarded
    assert "It has been added to the postmortem." in forwarded
    with app.app_context():
        assert db.session.get(Cancellation, cancellation_id).state == "summarized"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("REPLY_ADDRESS", "replies+x@acme.test", "REPLY_ADDRESS must be a plain address"),
        ("BOUNCE_ADDRESS", "Bounces <bounces@acme.test>", "BOUNCE_ADDRESS must be a plain address"),
        ("INBOUND_IMAP_URL", "imap://u:secret@imap.acme.test/INBOX", "imap:// (no TLS) only on loopback"),
        ("INBOUND_IMAP_URL", "pop3://u:secret@mail.acme.test", "must look like imaps://user:password@"),
    ],
)
def test_settings_that_cannot_work_are_refused_at_start(app_config, name, value, says):
    from feedback import create_app
    from feedback.config import ConfigError

    with pytest.raises(ConfigError, match=re.escape(says)) as refused:
        create_app({**app_config, name: value})
    assert "secret" not in str(refused.value)


def test_an_out_of_office_note_without_its_headers_is_no_answer(app, owner):
    cancellation_id, address, _ = invited(app, owner)
    raw = (
        f"From: Casey Customer <{CUSTOMER}>\r\nTo: {address}\r\nSubject: Re: Thank you, Casey.\r\n"
        "Message-ID: <ooo-1@client.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Hello, I am out of the office until Monday and will answer when I am back.\r\n"
    ).encode()
    message = receive(app, raw)
    assert message.status == "auto_reply"
    assert message.note == "Ignored: written by a machine (an out-of-office note's opening words)."
    with app.app_context():
        cancellation = db.session.get(Cancellation, cancellation_id)
        assert cancellation.replies == [] and cancellation.state != "answered"


def receive_on(app, raw: bytes, days_later: int) -> InboundMessage:
    """`receive`, processed as if this many days had passed since now."""
    from datetime import timedelta

    from feedback.db import utcnow

    with app.app_context():
        message, _ = store_message(raw, "pipe")
        process_and_commit(message.id, utcnow() + timedelta(days=days_later))
        found = db.session.get(InboundMessage, message.id)
        db.session.expunge(found)
        return found


def another(raw: bytes, n: int) -> bytes:
    """The same reply as a new message (its own Message-ID)."""
    return re.sub(rb"Message-ID: <[^>]+>", f"Message-ID: <again-{n}@client.test>".encode(), raw, count=1)


def test_a_reply_address_counts_for_the_surveys_lifetime_plus_the_grace_then_waits_for_an_admin(app, owner):
    cancellation_id, address, original = invited(app, owner)
    key = address.removeprefix("replies+").removesuffix("@acme.test")
    assert key.count(".") == 2  # <cancellation>.<last day>.<signature>
    # SURVEY_LINK_DAYS 30 + REPLY_KEY_GRACE_DAYS 30: the 60th day still counts, the 61st does not.
    raw = shaped("reply_gmail_en.eml", address, sender=CUSTOMER).replace(b"In-Reply-To", b"X-In-Reply-To")
    late = receive_on(app, raw.replace(b"References", b"X-References"), 61)
    assert late.status == "unmatched" and late.cancellation_id == cancellation_id
    assert "reply address stopped counting after" in late.note and "30 days' grace" in late.note
    in_time = receive_on(app, another(raw, 1), 60)
    assert (in_time.status, in_time.note) == ("reply", "Matched by its reply address.")
    # The email it answers ages the same way when the address carries no key.
    answering = shaped("reply_apple_en.eml", "replies@acme.test", original, sender=CUSTOMER)
    stale = receive_on(app, answering, 61)
    assert stale.status == "unmatched" and "email it answers stopped counting" in stale.note
    with app.app_context():
        assert len(db.session.get(Cancellation, cancellation_id).replies) == 1


def test_a_key_sent_before_keys_carried_a_day_works_until_the_same_window_ends(app, owner):
    from feedback.inbound.addresses import REPLY_SALT
    from feedback.signing import sign_address_key

    cancellation_id, _, _ = invited(app, owner)
    with app.app_context():
        old_address = f"replies+{sign_address_key(cancellation_id, REPLY_SALT)}@acme.test"
    raw = shaped("reply_gmail_en.eml", old_address, sender=CUSTOMER).replace(b"In-Reply-To", b"X-In-Reply-To")
    raw = raw.replace(b"References", b"X-References")
    assert receive_on(app, raw, 61).status == "unmatched"
    assert receive_on(app, another(raw, 2), 59).status == "reply"


def test_at_most_n_replies_a_day_are_forwarded_to_the_owner_and_all_are_attached(app, owner, smtp):
    app.config["INBOUND_FORWARDS_PER_DAY"] = 2
    cancellation_id, address, _ = invited(app, owner)
    raw = shaped("reply_gmail_en.eml", address, sender=CUSTOMER)
    notes = [receive(app, another(raw, n)).note for n in range(3)]
    assert notes[:2] == ["Matched by its reply address."] * 2
    assert "Not forwarded to the owner: 2 replies to this postmortem were, in the last 24 hours." in notes[2]
    deliver(app)
    assert len([m for m in smtp.to(owner["email"]) if "replied" in str(m["Subject"])]) == 2
    with app.app_context():
        assert len(db.session.get(Cancellation, cancellation_id).replies) == 3
