"""Respecting the customer: a visible unsubscribe link, RFC 8058 one-click, and a suppression list that holds."""

from __future__ import annotations

import re

from conftest import deliver, html_part, log, text_part
from sqlalchemy import select

from feedback.extensions import db
from feedback.mail.models import OutboxMessage, Suppression


def unsubscribe_link(message) -> str:
    match = re.search(r"http://localhost/u/\S+", text_part(message))
    assert match, "no unsubscribe link in the text part"
    return match.group(0)


def invited(app, smtp, owner, address="casey@client.test", **fields):
    log(app, owner["email"], customer_email=address, **fields)
    deliver(app)
    return smtp.one(address.lower())


def test_customer_email_carries_a_visible_link_and_the_rfc8058_headers(app, smtp, owner):
    message = invited(app, smtp, owner)
    link = unsubscribe_link(message)
    assert message["List-Unsubscribe"] == f"<{link}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f'href="{link}"' in html_part(message)
    assert "Unsubscribe" in html_part(message)
    # The owner's own mail is not a customer's: no unsubscribe there.
    review_request = smtp.one(owner["email"])
    assert review_request["List-Unsubscribe"] is None


def test_get_only_asks_and_the_confirm_button_unsubscribes(app, client, smtp, owner):
    path = unsubscribe_link(invited(app, smtp, owner)).removeprefix("http://localhost")
    page = client.get(path)
    assert page.status_code == 200
    assert "casey@client.test" in page.text and '<form method="post">' in page.text
    with app.app_context():
        assert db.session.scalars(select(Suppression)).all() == []  # a link scanner's GET changes nothing

    done = client.post(path)  # the page's own button: no CSRF token needed, the signed link is the credential
    assert done.status_code == 200
    assert "You're unsubscribed" in done.text
    with app.app_context():
        suppression = db.session.scalars(select(Suppression)).one()
        assert (suppression.address, suppression.source) == ("casey@client.test", "link")
    assert "already unsubscribed" in client.get(path).text


def test_one_click_post_works_without_cookies_or_token(app, smtp, owner):
    link = unsubscribe_link(invited(app, smtp, owner))
    mail_app = app.test_client(use_cookies=False)
    response = mail_app.post(link.removeprefix("http://localhost"), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with app.app_context():
        suppression = db.session.scalars(select(Suppression)).one()
        assert suppression.source == "one-click"
        timeline = [event.detail for event in suppression.cancellation.events]
    assert any("opted out" in detail for detail in timeline)


def test_a_tampered_link_is_refused_kindly(client):
    response = client.post("/u/not-a-real-token", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 404
    assert "couldn't read that link" in response.text


def test_an_opted_out_address_never_hears_from_us_again(app, client, smtp, owner, auth):
    from datetime import timedelta

    from feedback.db import utcnow

    # Their first departure, months ago: the second is a departure of its own, not the same one reported twice.
    earlier = utcnow() - timedelta(days=120)
    link = unsubscribe_link(invited(app, smtp, owner, "Gone@Client.test", cancelled_at=earlier))
    app.test_client(use_cookies=False).post(link.removeprefix("http://localhost"))
    smtp.clear()

    second = log(app, owner["email"], customer_email="gone@client.test", customer_name="Gone Again")
    deliver(app)
    assert smtp.to("gone@client.test") == []
    assert len(smtp.to(owner["email"])) == 1  # the owner still hears, and reviews as usual
    with app.app_context():
        skipped = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == "skipped")).one()
        assert skipped.recipient == "gone@client.test" and "opted out" in skipped.last_error

    auth.login(owner["email"])
    page = client.get(f"/cancellations/{second}").text
    assert "Not sent:" in page and "suppression list" in page
    assert "Exit survey invitation not sent: gone@client.test opted out" in page  # the timeline says so too


def test_an_opt_out_stops_mail_already_queued(app, smtp, owner):
    """Checked again at send time: an invitation queued before the opt-out does not go."""
    from feedback.mail.suppression import suppress

    log(app, owner["email"], customer_email="early@client.test")
    with app.app_context():
        suppress("early@client.test", source="admin", reason="Asked by phone.")
        db.session.commit()
        # Put it back as if the opt-out had landed between the worker's claim and its send.
        db.session.execute(db.update(OutboxMessage).values(status="queued", last_error=""))
        db.session.commit()
    report = deliver(app)
    assert (report.sent, report.skipped) == (1, 1)
    assert smtp.to("early@client.test") == []
    # The skipped invitation's envelope was dropped (RSET) on the connection the review request then used.
    assert [envelope.rcpt_tos for envelope in smtp.envelopes] == [[owner["email"]]]
