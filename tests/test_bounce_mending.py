"""A hard bounce tells the owner once, and the owner corrects the address and invites again (issue 30 item 1)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import deliver, link_in, submit_form, text_part
from sqlalchemy import select
from test_inbound import CUSTOMER, FIXTURES, bounce_for, receive

from feedback.audit.models import AuditEvent
from feedback.db import utcnow
from feedback.extensions import db
from feedback.inbound.models import InboundMessage
from feedback.mail.models import OutboxMessage, Suppression
from feedback.postmortem.models import Cancellation


@pytest.fixture
def app_config(database_url, smtp):
    from conftest import make_config

    return make_config(database_url, smtp, REPLY_ADDRESS="replies@acme.test", BOUNCE_ADDRESS="bounces@acme.test")


def bounce_again(app, cancellation_id: int) -> None:
    """The fresh invitation, to the corrected address, bounces too (matched by its Message-ID)."""
    with app.app_context():
        original = db.session.scalars(
            select(OutboxMessage.message_id)
            .where(OutboxMessage.cancellation_id == cancellation_id, OutboxMessage.kind == "survey_invitation")
            .order_by(OutboxMessage.id.desc())
        ).first()
    raw = (
        (FIXTURES / "bounce_postfix.eml")
        .read_bytes()
        .replace(b"ORIGINAL_MESSAGE_ID@acme.test", original.strip("<>").encode())
    )
    raw = raw.replace(b"<20261201100205.4Zx1y2z3@mail.acme.test>", b"<second-bounce@mail.acme.test>")  # a new report
    received = receive(app, raw)
    assert received.status == "bounce" and "bounced for good" in received.note, received.note


def test_the_owner_hears_once_and_corrects_the_address(app, owner, smtp, client, auth):
    cancellation_id, _ = bounce_for(app, owner, "bounce_postfix.eml")
    old_link = link_in(smtp.one(CUSTOMER)).removeprefix("http://localhost")
    deliver(app)
    told = smtp.one(to=owner["email"], subject_contains="bounced")
    assert str(told["Subject"]) == f"Casey Customer's address {CUSTOMER} bounced"
    assert f"Casey Customer's address {CUSTOMER} bounced: 5." in text_part(told)
    assert "correct it on the postmortem" in text_part(told)

    auth.login(owner["email"])
    page = client.get(f"/cancellations/{cancellation_id}").text
    assert "Correct the address and invite again" in page
    path = f"/cancellations/{cancellation_id}/reinvite"
    for wrong, said in ((CUSTOMER, "is the address that bounced"), ("not an address", "not an address Farewell")):
        refused = client.post(path, data={"csrf_token": _token(page), "customer_email": wrong}, follow_redirects=True)
        assert said in refused.text
    corrected = client.post(path, data={"csrf_token": _token(page), "customer_email": "Casey@Better.test"})
    assert corrected.status_code == 302
    deliver(app)
    fresh = smtp.one("casey@better.test")
    assert "Your new link" in str(fresh["Subject"])
    assert client.get(old_link).status_code == 404  # the old link names nothing any more
    assert client.get(link_in(fresh).removeprefix("http://localhost")).status_code == 200
    with app.app_context():
        assert db.session.get(Cancellation, cancellation_id).customer_email == "casey@better.test"
        assert [s.address for s in db.session.scalars(select(Suppression))] == [CUSTOMER]  # it stays suppressed
        timeline = [e.detail for e in db.session.get(Cancellation, cancellation_id).events]
        assert any(f"corrected the address from {CUSTOMER} to casey@better.test" in d for d in timeline), timeline
        audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "survey.reinvite")).one()
        assert audit.actor == owner["email"] and "casey@better.test" in audit.detail
    after = client.get(f"/cancellations/{cancellation_id}").text
    assert "Correct the address and invite again" not in after and "The invitation bounced" not in after

    bounce_again(app, cancellation_id)
    deliver(app)
    again = smtp.one(to=owner["email"], subject_contains="bounced too")
    assert f"This is the second address that bounced for them ({CUSTOMER} bounced before)" in text_part(again)
    page = client.get(f"/cancellations/{cancellation_id}").text
    assert "to the corrected address casey@better.test bounced too" in page
    assert "Correct the address and invite again" not in page  # said, not offered the same again
    assert (
        client.post(path, data={"csrf_token": _token(page), "customer_email": "third@better.test"}).status_code == 302
    )
    with app.app_context():
        assert db.session.get(Cancellation, cancellation_id).customer_email == "casey@better.test"


def test_another_owner_cannot_correct_the_address(app, owner, other_owner, smtp, client, auth):
    cancellation_id, _ = bounce_for(app, owner, "bounce_postfix.eml")
    auth.login(other_owner["email"])
    refused = submit_form(client, f"/cancellations/{cancellation_id}/reinvite", {"customer_email": "x@better.test"})
    assert refused.status_code == 403


def _token(page: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def delayed_report(app, cancellation_id: int, n: int):
    with app.app_context():
        original = db.session.scalar(
            select(OutboxMessage.message_id).where(
                OutboxMessage.cancellation_id == cancellation_id, OutboxMessage.kind == "survey_invitation"
            )
        )
    raw = (FIXTURES / "bounce_postfix_delayed.eml").read_bytes()
    raw = raw.replace(b"ORIGINAL_MESSAGE_ID@acme.test", original.strip("<>").encode())
    raw = re.sub(rb"(?im)^Message-Id: <[^>]+>", f"Message-Id: <delayed-{n}@mail.acme.test>".encode(), raw, count=1)
    return receive(app, raw)


def test_three_soft_bounces_in_a_week_count_as_hard(app, owner, smtp):
    from test_inbound import invited

    cancellation_id, _, _ = invited(app, owner)
    first, second = delayed_report(app, cancellation_id, 1), delayed_report(app, cancellation_id, 2)
    assert "only recorded" in first.note and "only recorded" in second.note
    with app.app_context():
        assert db.session.scalars(select(Suppression)).all() == []
    third = delayed_report(app, cancellation_id, 3)
    assert third.note.startswith(f"{CUSTOMER} bounced for good (3 temporary failures in 7 days, the last 4.")
    with app.app_context():
        assert [s.address for s in db.session.scalars(select(Suppression))] == [CUSTOMER]
    deliver(app)
    assert "3 temporary failures in 7 days" in text_part(smtp.one(to=owner["email"], subject_contains="bounced"))


def test_soft_bounces_older_than_the_window_or_a_limit_of_zero_stay_soft(app, owner, smtp):
    from test_inbound import invited

    cancellation_id, _, _ = invited(app, owner)
    old = [delayed_report(app, cancellation_id, n) for n in (1, 2)]
    with app.app_context():
        for message in old:
            db.session.get(InboundMessage, message.id).received_at = utcnow() - timedelta(days=8)
        db.session.commit()
    assert "only recorded" in delayed_report(app, cancellation_id, 3).note
    app.config["SOFT_BOUNCE_LIMIT"] = 0
    assert "only recorded" in delayed_report(app, cancellation_id, 4).note
    assert "only recorded" in delayed_report(app, cancellation_id, 5).note
