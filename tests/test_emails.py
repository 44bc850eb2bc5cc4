"""Customer emails: real HTML with a matching text part, the company as sender, replies to a person, and the
first question as links that pre-select an answer without recording it."""

from __future__ import annotations

import re
from html import unescape

import pytest
from conftest import deliver, html_part, log, submit_form, text_part
from sqlalchemy import func, select

from feedback.extensions import db
from feedback.questions.defaults import MAIN_REASONS
from feedback.surveys.models import SurveyResponse


def invitation(app, smtp, owner, **fields):
    log(app, owner["email"], **fields)
    deliver(app)
    return smtp.one(fields.get("customer_email", "casey@client.test"))


def test_invitation_is_a_real_html_email_with_the_same_text(app, smtp, owner):
    message = invitation(app, smtp, owner)
    html, text = html_part(message), text_part(message)
    assert message["From"] == "Acme Analytics <hello@acme.test>"
    assert message["Reply-To"] == owner["email"]
    assert '<html lang="en">' in html
    assert 'name="viewport"' in html and "@media (max-width" in html  # responsive
    assert 'style="' in html  # CSS inlined for mail clients that drop <style>
    for words in ("Thank you for your time with Acme Analytics", "Olivia Owner", "Unsubscribe"):
        assert words in unescape(html) and words in text
    for reason in MAIN_REASONS:
        assert reason in text and reason in unescape(html)
    # The invitation shows reason links, not a button, and its footer says so.
    assert "If a link doesn't work, copy this one" in unescape(html) and "If the button" not in unescape(html)


def test_each_first_answer_link_opens_the_survey_with_it_selected(app, client, smtp, owner):
    message = invitation(app, smtp, owner)
    links = re.findall(r"- ([^:\n]+): (http://localhost/s/\S+)", text_part(message))
    assert [choice for choice, _ in links] == MAIN_REASONS
    choice, url = links[3]
    assert f'href="{url.replace("&", "&amp;")}"' in html_part(message)
    path = url.removeprefix("http://localhost")
    page = client.get(path)
    assert page.status_code == 200
    checked = re.findall(r'value="([^"]+)" checked', page.text)
    assert [unescape(value) for value in checked] == [choice]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0  # shown, not recorded

    assert submit_form(client, path, {"main_reason": choice}).status_code == 303
    with app.app_context():
        assert db.session.scalars(select(SurveyResponse)).one().answers == {"main_reason": choice}


def test_an_unknown_pre_selection_is_ignored(app, client, smtp, owner):
    message = invitation(app, smtp, owner)
    path = re.search(r"http://localhost/s/\S+", text_part(message)).group(0).removeprefix("http://localhost")
    page = client.get(path + "?main_reason=Because%20I%20said%20so&final_straw=x")
    assert page.status_code == 200
    assert " checked" not in page.text


def test_initial_answers_reads_only_offered_choices(app, smtp, owner):
    from feedback.surveys.models import Invitation
    from feedback.surveys.operations import initial_answers

    log(app, owner["email"])
    with app.app_context():
        invitation_row = db.session.scalars(select(Invitation)).one()
        assert initial_answers(invitation_row, {"main_reason": MAIN_REASONS[0]}) == {"main_reason": MAIN_REASONS[0]}
        assert initial_answers(invitation_row, {"main_reason": "nope", "valued": "hi"}) == {}


def test_header_injection_in_name_subject_and_address_is_neutralised(app, smtp, owner):
    """Line breaks in names and subjects are removed; an address with one is refused outright."""
    from feedback.postmortem.emails import email_about
    from feedback.postmortem.models import Cancellation

    cancellation_id = log(app, owner["email"])
    with app.app_context():
        about = db.session.get(Cancellation, cancellation_id)
        fields = {"template": "review_request", "review_url": "http://localhost/r", "company": "A"}
        for to, reply_to in (("ops@acme.test\r\nBcc: spy@evil.test", None), ("ops@acme.test", "b@acme.test\nBcc: x")):
            with pytest.raises(ValueError, match="line break"):
                email_about(about, "review_request", to=to, subject="Hi", reply_to=reply_to, **fields)
        email_about(
            about,
            "review_request",
            to="ops@acme.test",
            to_name="Ops\nX-Injected: name",
            subject="Hello\r\nX-Injected: subject",
            reply_to="boss@acme.test",
            **fields,
        )
        db.session.commit()
    deliver(app)
    assert len(smtp.messages) == 3
    for message in smtp.messages:
        assert message["X-Injected"] is None and message["Bcc"] is None
    recipients = [address for envelope in smtp.envelopes for address in envelope.rcpt_tos]
    assert "spy@evil.test" not in recipients
    injected = smtp.one("ops@acme.test")
    assert str(injected["Subject"]) == "Hello X-Injected: subject"
    assert str(injected["To"]) == '"Ops X-Injected: name" <ops@acme.test>'


def test_the_review_request_greets_by_first_name_and_its_parts_carry_the_same_facts(app, smtp, owner):
    import datetime as dt
    from decimal import Decimal

    log(app, owner["email"], customer_name="Jonas Weber", plan="Team", mrr=Decimal("49.00"), reason="Budget",
        complaint="Exports were slow", customer_since=dt.date(2023, 2, 1))  # fmt: skip
    deliver(app)
    message = smtp.one(owner["email"], "your review, please")
    html, text = unescape(html_part(message)), text_part(message)
    assert text.startswith("Hi Olivia,") and "Hi Olivia, we've thanked them" in html
    facts = ["Team", "49.00", "Budget", "Exports were slow", "1 Feb 2023"]
    for label in ("Plan", "MRR lost", "Customer since", "Reason given", "Complaint", "Tenure"):
        assert label in html and f"{label}: " in text, label
    for fact in facts:
        assert fact in html and fact in text, fact
    tenure = re.search(r"Tenure: (.+)", text).group(1).strip()
    assert tenure in html
    assert text.rstrip().endswith("Farewell for Acme Analytics")


def test_with_the_default_company_name_emails_never_say_farewell_for_farewell(app_config, app, smtp, owner):
    from feedback.settings.operations import current_settings

    app.config["COMPANY_NAME"] = "Farewell"
    with app.app_context():
        assert current_settings().company_name == "Farewell"
    log(app, owner["email"])
    deliver(app)
    for message in smtp.messages:
        for part in (text_part(message), unescape(html_part(message))):
            assert "Farewell for Farewell" not in part
    review_request = smtp.one(owner["email"], "your review, please")
    assert text_part(review_request).rstrip().endswith("\nFarewell")
    assert "Sent by Farewell." in html_part(review_request)
