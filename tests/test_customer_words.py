"""One rule for what customers wrote (feedback.postmortem.access): their owner and admins read it, every other staff
member once the summary is sent; the postmortem, its summary, the insights feed and the referrals list all keep it."""

from __future__ import annotations

import re
from typing import Any

from conftest import log
from sqlalchemy import select

from feedback.auth.models import User
from feedback.extensions import db
from feedback.postmortem.access import customer_words_readable, may_read_customer_words
from feedback.postmortem.models import Cancellation
from feedback.questions.operations import live_version
from feedback.reviews.operations import review_version, submit_review
from feedback.surveys.operations import submit_survey

WORDS = "Our finance team found the invoices confusing"
REFERRAL = "Dana at Bright Bakery"
REVIEW = {"owner_reason": "Too expensive", "icp_fit": "Good fit", "avoidable": "Yes"}


def answered(app: Any, owner_email: str, name: str) -> int:
    """A colleague's customer who answered the survey with words and a referral; no review, so no summary yet."""
    cancellation_id = log(app, owner_email, customer_name=name, customer_email=f"{name.split()[0].lower()}@client.test")
    with app.app_context():
        live_version("exit-survey")
        cancellation = db.session.get(Cancellation, cancellation_id)
        answers = {"main_reason": "It was too expensive for us", "final_straw": WORDS, "better_fit_referral": REFERRAL}
        submit_survey(cancellation.invitation, answers, "test")
        db.session.commit()
    return cancellation_id


def summarize(app: Any, cancellation_id: int) -> None:
    with app.app_context():
        cancellation = db.session.get(Cancellation, cancellation_id)
        submit_review(cancellation, cancellation.owner, REVIEW, review_version(cancellation).id)
        db.session.commit()
        assert db.session.get(Cancellation, cancellation_id).summary is not None


def links(page: str) -> list[str]:
    return [href for href in re.findall(r'href="(/cancellations/[^"]+)"', page) if "export" not in href]


def test_a_colleagues_customers_words_stay_with_their_owner_until_the_summary_is_sent(
    app, client, auth, owner, other_owner
):
    theirs = answered(app, other_owner["email"], "Casey Customer")
    auth.login(owner["email"])
    assert client.get(f"/cancellations/{theirs}").status_code == 403
    assert client.get(f"/cancellations/{theirs}/summary").status_code == 403
    insights = client.get("/insights/").text
    assert WORDS not in insights and "Casey Customer" not in insights
    assert "once the summary is sent" in insights  # the page says what it leaves out
    referrals = client.get("/win-back/referrals").text
    assert REFERRAL not in referrals and "once the summary is sent" in referrals

    summarize(app, theirs)
    assert client.get(f"/cancellations/{theirs}/summary").status_code == 200
    insights = client.get("/insights/").text
    assert WORDS in insights and f'href="/cancellations/{theirs}/summary"' in insights
    assert REFERRAL in client.get("/win-back/referrals").text


def test_the_owner_and_admins_read_them_at_once(app, client, auth, owner, other_owner, admin):
    theirs = answered(app, other_owner["email"], "Casey Customer")
    for reader in (other_owner, admin):
        auth.login(reader["email"])
        assert client.get(f"/cancellations/{theirs}").status_code == 200
        assert WORDS in client.get("/insights/").text
        assert REFERRAL in client.get("/win-back/referrals").text
        auth.logout()


def test_the_feed_never_links_to_a_page_its_reader_may_not_open(app, client, auth, owner, other_owner, admin):
    answered(app, other_owner["email"], "Casey Customer")
    summarize(app, answered(app, other_owner["email"], "Sam Summarized"))
    answered(app, owner["email"], "Olga Own")
    for reader in (owner, other_owner, admin):
        auth.login(reader["email"])
        page = client.get("/insights/").text
        assert links(page), "the feed links its entries"
        for href in links(page):
            assert client.get(href).status_code == 200, (reader["email"], href)
        auth.logout()


def test_the_lists_ask_the_database_the_same_question_as_the_pages(app, owner, other_owner, admin):
    answered(app, other_owner["email"], "Casey Customer")
    summarize(app, answered(app, other_owner["email"], "Sam Summarized"))
    answered(app, owner["email"], "Olga Own")
    with app.app_context():
        everyone = db.session.scalars(select(Cancellation)).all()
        for user in db.session.scalars(select(User)):
            listed = set(db.session.scalars(select(Cancellation.id).where(customer_words_readable(user))))
            assert listed == {c.id for c in everyone if may_read_customer_words(user, c)}, user.email
            assert 0 < len(listed) <= len(everyone)
