"""Win-back: consent given apart from the answers, withdrawn from any later email, always yielding to an unsubscribe;
the "we changed this" email only after the owner's click, once; referrals followed up."""

from __future__ import annotations

import html
import re
from datetime import date

from conftest import csrf_token, deliver, html_part, link_in, log, text_part
from sqlalchemy import select

from feedback.actions.operations import add_item, close_item
from feedback.extensions import db
from feedback.mail.suppression import suppress
from feedback.postmortem.models import Cancellation
from feedback.surveys.consent import WinbackConsent
from feedback.winback.models import WinbackNotice

REASON = "It was too expensive for us"


def answer_survey(app, client, smtp, address="casey@client.test", consent=True, **answers):
    deliver(app)
    survey = link_in(smtp.one(address))
    page = client.get(survey)
    assert 'id="winback_consent"' in page.text and "checked" not in page.text.split('id="winback_consent"')[1][:40]
    data = {"main_reason": REASON, **answers}
    if consent:
        data["winback_consent"] = "yes"
    assert client.post(survey, data=data).status_code == 303


def done_change(app, cancellation_id, title="A cheaper yearly plan", reason=REASON):
    with app.app_context():
        item = add_item(db.session.get(Cancellation, cancellation_id), title=title, reason=reason)
        close_item(item, "done")
        db.session.commit()
        return item.id


def consents(app):
    with app.app_context():
        return [(c.email, c.wording_version, c.locale, c.withdrawn_at is None) for c in db.session.scalars(
            select(WinbackConsent))]  # fmt: skip


def test_consent_is_its_own_unticked_box_and_is_recorded_with_its_wording(app, smtp, owner):
    cancellation_id = log(app, owner["email"], locale="de")
    client = app.test_client()
    deliver(app)
    survey = link_in(smtp.one("casey@client.test"))
    page = client.get(survey).text
    assert "Sie dürfen mir Bescheid geben, wenn Sie ändern, was mich zum Gehen bewogen hat" in page
    assert not re.search(r'id="winback_consent"[^>]*checked', page)
    assert client.post(survey, data={"main_reason": REASON, "winback_consent": "yes"}).status_code == 303
    assert consents(app) == [("casey@client.test", 1, "de", True)]
    with app.app_context():
        consent = db.session.scalars(select(WinbackConsent)).one()
        assert consent.cancellation_id == cancellation_id and consent.given_at is not None


def test_no_tick_no_consent(app, client, smtp, owner):
    log(app, owner["email"])
    answer_survey(app, client, smtp, consent=False)
    assert consents(app) == []


def test_the_owner_is_asked_and_only_their_click_sends_one_email(app, client, auth, smtp, owner, other_owner):
    cancellation_id = log(app, owner["email"])
    answer_survey(app, app.test_client(), smtp)
    item_id = done_change(app, cancellation_id)
    smtp.clear()
    deliver(app)
    assert smtp.to("casey@client.test") == []  # nothing goes by itself

    auth.login(other_owner["email"])
    page = client.get("/win-back/").text
    assert "A cheaper yearly plan" in page and "Olivia Owner decides" in page
    assert client.get(f"/win-back/{cancellation_id}/tell/{item_id}").status_code == 403
    auth.logout()

    auth.login(owner["email"])
    page = client.get("/win-back/").text
    assert "Shall we tell them?" in page and REASON in page
    draft = client.get(f"/win-back/{cancellation_id}/tell/{item_id}").text
    # The draft starts from words for the customer, never the item's title (staff shorthand) pasted in.
    assert "It has: A cheaper yearly plan." not in draft.split("<textarea")[1]
    assert "It has: [what changed, in words your customer will recognise: write it before sending]." in draft
    token = csrf_token(draft)
    path = f"/win-back/{cancellation_id}/tell/{item_id}"
    unwritten = client.post(path, data={"csrf_token": token, "subject": "S", "body": html.unescape(
        draft.split("<textarea")[1].split(">", 1)[1].split("</textarea>")[0])})  # fmt: skip
    assert unwritten.status_code == 422 and "Say what changed in your own words" in unwritten.text
    body = "Hi Casey,\n\nWe now have a yearly plan at half the price.\n\nOlivia"
    path = f"/win-back/{cancellation_id}/tell/{item_id}"
    sent = client.post(path, data={"csrf_token": token, "subject": "A cheaper plan", "body": body})
    assert sent.status_code == 302
    again = client.post(path, data={"csrf_token": token, "subject": "Again", "body": body})
    assert again.status_code == 302
    assert "already told" in client.get("/win-back/").text
    deliver(app)
    [email] = smtp.to("casey@client.test")
    assert email["Subject"] == "A cheaper plan"
    assert "We now have a yearly plan at half the price." in text_part(email)
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email["Reply-To"] == owner["email"]
    assert "/u/consent/" in text_part(email) and "Take that back" in html_part(email)
    with app.app_context():
        assert db.session.scalars(select(WinbackNotice.decision)).all() == ["sent"]
        events = [e.detail for e in db.session.get(Cancellation, cancellation_id).events]
    assert "“We changed this” email sent to casey@client.test." in events
    assert "Shall we tell them?" not in client.get("/win-back/").text


def test_withdrawing_from_the_email_footer_ends_the_offers(app, client, auth, smtp, owner):
    cancellation_id = log(app, owner["email"])
    answer_survey(app, app.test_client(), smtp)
    first = done_change(app, cancellation_id, "First change")
    auth.login(owner["email"])
    path = f"/win-back/{cancellation_id}/tell/{first}"
    token = csrf_token(client.get(path).text)
    client.post(path, data={"csrf_token": token, "subject": "News", "body": "We changed it."})
    deliver(app)
    email = [m for m in smtp.to("casey@client.test") if m["Subject"] == "News"][0]
    withdraw = re.search(r"http://localhost/u/consent/\S+", text_part(email)).group(0)

    customer = app.test_client()
    asked = customer.get(withdraw)
    assert asked.status_code == 200 and "Take it back" in asked.text
    assert consents(app)[0][3] is True  # opening the link (a scanner, a preview) changes nothing
    assert customer.post(withdraw).status_code == 200
    assert consents(app)[0][3] is False
    assert "already taken it back" in customer.get(withdraw).text

    second = done_change(app, cancellation_id, "Second change")
    page = client.get("/win-back/").text
    assert "Nobody on the list yet" in page  # withdrawn, and never said they might return
    token = csrf_token(page)
    refused = client.post(f"/win-back/{cancellation_id}/tell/{second}", data={"csrf_token": token,
                                                                              "subject": "S", "body": "B"})  # fmt: skip
    assert refused.status_code == 302
    assert "no longer agrees" in client.get("/win-back/").text
    with app.app_context():
        events = [e.detail for e in db.session.get(Cancellation, cancellation_id).events]
    assert "casey@client.test withdrew their consent to hear about changes." in events


def test_an_unsubscribe_wins_over_consent(app, client, auth, smtp, owner):
    cancellation_id = log(app, owner["email"])
    answer_survey(app, app.test_client(), smtp)
    item_id = done_change(app, cancellation_id)
    with app.app_context():
        suppress("Casey@Client.test", source="link")
        db.session.commit()
    auth.login(owner["email"])
    page = client.get("/win-back/").text
    assert "Unsubscribed: never emailed" in page and "Shall we tell them?" not in page
    token = csrf_token(page)
    client.post(f"/win-back/{cancellation_id}/tell/{item_id}", data={"csrf_token": token, "subject": "S", "body": "B"})
    assert "unsubscribed from our email" in client.get("/win-back/").text
    with app.app_context():
        assert db.session.scalars(select(WinbackNotice)).all() == []


def test_a_change_done_before_the_consent_is_not_news(app, client, auth, smtp, owner):
    cancellation_id = log(app, owner["email"])
    done_change(app, cancellation_id, "Old change")
    answer_survey(app, app.test_client(), smtp)
    auth.login(owner["email"])
    page = client.get("/win-back/").text
    assert "Old change" in page and "Shall we tell them?" not in page


def test_not_this_one_is_remembered(app, client, auth, smtp, owner):
    cancellation_id = log(app, owner["email"])
    answer_survey(app, app.test_client(), smtp)
    item_id = done_change(app, cancellation_id)
    auth.login(owner["email"])
    token = csrf_token(client.get("/win-back/").text)
    assert client.post(f"/win-back/{cancellation_id}/skip/{item_id}", data={"csrf_token": token}).status_code == 302
    page = client.get("/win-back/").text
    assert "Shall we tell them?" not in page and "not told" in page


def test_might_return_without_consent_is_listed_but_never_offered(app, client, auth, smtp, owner):
    cancellation_id = log(app, owner["email"])
    answer_survey(app, app.test_client(), smtp, consent=False, return_likelihood="8")
    done_change(app, cancellation_id)
    auth.login(owner["email"])
    page = client.get("/win-back/").text
    assert "Might return: 8/10" in page and "No consent to write" in page and "Shall we tell them?" not in page


def test_nobody_on_the_list_says_how_people_get_there(app, client, logged_in_owner):
    page = client.get("/win-back/").text
    assert "Nobody on the list yet" in page and "You may let me know if you change what made me leave" in page


def test_the_digest_asks_the_owner_too(app, smtp, owner):
    from datetime import UTC, datetime, timedelta

    from feedback.actions.jobs import send_weekly_digests

    cancellation_id = log(app, owner["email"])
    answer_survey(app, app.test_client(), smtp)
    done_change(app, cancellation_id)
    smtp.clear()
    today = date.today()
    monday = today + timedelta(days=7 - today.weekday())
    with app.app_context():
        assert send_weekly_digests(datetime(monday.year, monday.month, monday.day, 8, tzinfo=UTC)) == (
            "1 weekly digest queued"
        )
    deliver(app, now=datetime(monday.year, monday.month, monday.day, 9, tzinfo=UTC))
    digest = smtp.one(owner["email"], "Your week: 1 customer to tell")
    assert "SHALL WE TELL THEM?" in text_part(digest) and "A cheaper yearly plan" in text_part(digest)


def test_referrals_listed_with_who_gave_them_and_marked_contacted(app, client, auth, smtp, owner, other_owner):
    log(app, owner["email"])
    answer_survey(app, app.test_client(), smtp, consent=False, better_fit_referral="Dana at Bright Bakery")
    auth.login(other_owner["email"])  # a colleague's customer's words: not before the summary is sent
    assert "Dana at Bright Bakery" not in client.get("/win-back/referrals").text
    auth.logout()
    auth.login(owner["email"])
    page = client.get("/win-back/referrals").text
    assert "Dana at Bright Bakery" in page and "Casey Customer (Client Co)" in page and "Olivia Owner" in page
    with app.app_context():
        from feedback.surveys.models import SurveyResponse

        response_id = db.session.scalars(select(SurveyResponse.id)).one()
    token = csrf_token(page)
    client.post(f"/win-back/referrals/{response_id}", data={"csrf_token": token, "contacted": "y"})
    assert "by Olivia Owner" in client.get("/win-back/referrals").text
    client.post(f"/win-back/referrals/{response_id}", data={"csrf_token": token})
    assert "Mark contacted" in client.get("/win-back/referrals").text


def test_earlier_cancellations_show_on_the_postmortem(app, client, logged_in_owner):
    from datetime import UTC, datetime

    first = datetime(2025, 3, 1, tzinfo=UTC)
    log(app, logged_in_owner["email"], reason="Budget", complaint="Too slow", cancelled_at=first)
    again = log(app, logged_in_owner["email"], reason="Moved on")
    page = client.get(f"/cancellations/{again}").text
    assert "Earlier cancellations" in page and "1 Mar 2025" in page and "Too slow" in page


def test_the_draft_is_in_the_customers_language_with_their_reason_as_they_read_it(app, client, auth, smtp, owner):
    cancellation_id = log(app, owner["email"], locale="fr", customer_name="Léa Martin")
    answer_survey(app, app.test_client(), smtp)
    item_id = done_change(app, cancellation_id)
    auth.login(owner["email"])
    draft = client.get(f"/win-back/{cancellation_id}/tell/{item_id}").text
    assert "Bonjour Léa" in draft and "« C’était trop cher pour nous »" in draft
