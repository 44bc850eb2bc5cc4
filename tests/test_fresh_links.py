"""A customer whose survey link expired asks for a fresh one with a button, and learns nothing they shouldn't."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import deliver, link_in, log, run_jobs
from sqlalchemy import func, select, update

from feedback.db import utcnow
from feedback.extensions import db
from feedback.surveys.models import Invitation, LinkRenewal
from feedback.surveys.operations import renew_link

SAME_PAGE = "If this survey can still be answered, a new link is on its way"


@pytest.fixture
def expired_path(app, smtp, owner):
    log(app, owner["email"], customer_name="Sam Leaving", customer_email="sam@client.test", company="Leaving Ltd")
    deliver(app)
    path = link_in(smtp.one("sam@client.test")).removeprefix("http://localhost")
    expire(app)
    smtp.clear()
    return path


def expire(app) -> None:
    with app.app_context():
        db.session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()


def ask(client, path: str):
    """Presses the button on the expired page, following the redirect as a browser does."""
    expired = client.get(path)
    assert expired.status_code == 410
    assert f'action="{path}/new-link"' in expired.text
    response = client.post(f"{path}/new-link", follow_redirects=True)
    assert response.status_code == 200
    assert SAME_PAGE in response.text
    return response


def reveals_nothing(html: str) -> None:
    main = html.split("<main", 1)[1]
    for secret in ("Sam", "Leaving", "sam@client.test", "client.test"):
        assert secret not in main, f"{secret!r} shown to whoever holds the link"


def test_expired_page_and_its_answer_reveal_nothing_about_the_customer(client, expired_path):
    reveals_nothing(client.get(expired_path).text)
    reveals_nothing(ask(client, expired_path).text)


def test_pressing_the_button_mails_a_fresh_link_that_works(app, client, smtp, expired_path):
    ask(client, expired_path)
    deliver(app)
    message = smtp.one("sam@client.test", "new link")
    fresh = link_in(message).removeprefix("http://localhost")
    assert fresh != expired_path
    assert "Here is the new link to the survey that you asked for." in message.get_body(("plain",)).get_content()
    page = client.get(fresh)
    assert page.status_code == 200 and "Thank you, Sam." in page.text
    # The old link keeps saying "expired", not "not found", and offers the button again.
    assert client.get(expired_path).status_code == 410
    with app.app_context():
        invitation = db.session.scalar(select(Invitation))
        assert invitation.expired_at is None and invitation.expires_at > utcnow()
        kinds = [event.kind for event in invitation.cancellation.events]
        assert "link_renewed" in kinds


def test_requests_are_rate_limited_and_the_page_says_the_same(app, client, smtp, expired_path):
    first = ask(client, expired_path).text
    second = ask(client, expired_path).text  # within ten minutes: nothing more is sent
    assert first == second
    deliver(app)
    assert len(smtp.to("sam@client.test")) == 1
    with app.app_context():
        invitation = db.session.scalar(select(Invitation))
        start = utcnow()
        assert renew_link(invitation, now=start + timedelta(minutes=9)) is False
        assert renew_link(invitation, now=start + timedelta(minutes=11))
        assert renew_link(invitation, now=start + timedelta(hours=2))
        assert renew_link(invitation, now=start + timedelta(hours=3)) is False  # three in a day is the most
        assert db.session.scalar(select(func.count()).select_from(LinkRenewal)) == 3
        assert renew_link(invitation, now=start + timedelta(hours=25))  # a day after the first, one more


def test_no_fresh_link_once_the_survey_was_answered(app, client, smtp, expired_path):
    with app.app_context():
        db.session.execute(update(Invitation).values(answered_at=utcnow()))
        db.session.commit()
    response = client.post(f"{expired_path}/new-link", follow_redirects=True)
    assert SAME_PAGE in response.text
    deliver(app)
    assert smtp.to("sam@client.test") == []


def test_a_link_still_open_is_not_renewed(app, client, smtp, owner):
    log(app, owner["email"], customer_email="open@client.test")
    deliver(app)
    path = link_in(smtp.one("open@client.test")).removeprefix("http://localhost")
    response = client.post(f"{path}/new-link", follow_redirects=True)
    assert SAME_PAGE in response.text
    deliver(app)
    assert len(smtp.to("open@client.test")) == 1  # only the original invitation


def test_a_made_up_link_cannot_ask(client):
    assert client.post("/s/not-a-real-link/new-link").status_code == 404
    assert client.get("/s/not-a-real-link/new-link").status_code == 404


def test_no_fresh_link_once_the_summary_has_gone(app, client, smtp, owner, expired_path):
    from feedback.auth.models import User
    from feedback.postmortem.models import Cancellation
    from feedback.reviews.operations import review_version, submit_review

    with app.app_context():
        cancellation = db.session.scalars(select(Cancellation)).one()
        author = db.session.get(User, owner["id"])
        submit_review(cancellation, author, {"this_week": "Quiet churn."}, review_version(cancellation).id)
        db.session.commit()
    run_jobs(app, now=utcnow() + timedelta(minutes=5))  # expires the link: the summary goes with the review alone
    deliver(app, now=utcnow() + timedelta(minutes=5))
    assert smtp.one(owner["email"], "Summary")
    smtp.clear()
    closed = client.get(expired_path)
    assert closed.status_code == 410
    assert "Email me a new link" not in closed.text and "new-link" not in closed.text  # it would send nothing
    assert "This survey has closed, so there is no new link to send." in closed.text
    assert f'href="mailto:{owner["email"]}"' in closed.text  # how to reach the owner instead
    reveals_nothing(closed.text)
    client.post(f"{expired_path}/new-link")  # a page left open from before: still nothing is sent
    run_jobs(app, now=utcnow() + timedelta(minutes=10))
    deliver(app, now=utcnow() + timedelta(minutes=10))
    assert smtp.to("sam@client.test") == []
