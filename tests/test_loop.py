"""The whole core loop, read from the real emails: cancellation → survey → review → one summary."""

from __future__ import annotations

import re

from conftest import PASSWORD, csrf_token, deliver, html_part, link_in, submit_form, text_part
from sqlalchemy import func, select

from feedback.extensions import db
from feedback.mail.models import OutboxMessage
from feedback.summaries.models import Summary


def test_cancellation_to_summary_end_to_end(app, client, auth, smtp, owner, runner):
    # Staff log the cancellation in the web form.
    auth.login(owner["email"])
    response = submit_form(
        client,
        "/cancellations/new",
        {
            "customer_name": "Dana Departing",
            "customer_email": "Dana@Client.test",
            "company": "Client & Sons",
            "plan": "Team",
            "mrr": "149.00",
            "customer_since": "2023-01-31",
            "reason": "Too expensive",
            "complaint": "Price rose at renewal",
            "owner_email": owner["email"],
        },
    )
    assert response.status_code == 302
    detail_url = response.headers["Location"]
    assert "Logged" in client.get(detail_url).text

    # Nothing leaves before the worker runs; then both emails arrive, once each.
    assert smtp.messages == []
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 2" in result.output
    invitation = smtp.one("dana@client.test")
    assert invitation["Reply-To"] == owner["email"]
    assert "Acme Analytics" in invitation["From"]
    assert "Thank you" in invitation["Subject"]
    assert "Dana" in text_part(invitation)
    survey_link = link_in(invitation)
    assert survey_link in html_part(invitation)
    assert len(survey_link) < 120  # short enough to look trustworthy
    review_request = smtp.one(owner["email"], "your review")
    review_link = link_in(review_request, r"http://localhost/cancellations/\d+/review")
    assert "Client &amp; Sons" in html_part(review_request)

    # The customer opens the link (twice, as a mail scanner would) and answers.
    path = survey_link.removeprefix("http://localhost")
    customer = app.test_client()
    for _ in range(2):
        page = customer.get(path)
        assert page.status_code == 200
        assert "Thank you, Dana" in page.text
    answered = customer.post(
        path,
        data={
            "main_reason": "It was too expensive for us",
            "final_straw": "The renewal quote <b>doubled</b>",
            "return_likelihood": "6",
            "may_follow_up": "yes",
        },
    )
    assert answered.status_code == 303
    thanks = customer.get(answered.headers["Location"])
    assert "We have your answers" in thanks.text
    assert owner["email"] in thanks.text

    # The owner follows the review link and writes the review.
    review_path = review_link.removeprefix("http://localhost")
    page = client.get(review_path)
    assert page.status_code == 200
    submitted = client.post(
        review_path,
        data={
            "csrf_token": csrf_token(page.text),
            "this_week": "Renewal quote went out with no call.",
            "relationship_history": "Usage halved since March.",
            "action_items": "Call before every price change\nOffer a smaller plan",
            "icp_fit": "Yes, a good fit",
            "avoidable": "Yes",
        },
    )
    assert submitted.status_code == 302
    assert submitted.headers["Location"].endswith("/summary")

    # Exactly one summary reaches the owner, text and HTML, with both sides and user text escaped.
    deliver(app)
    deliver(app)
    summary = smtp.one(owner["email"], "Summary")
    text = text_part(summary)
    html = html_part(summary)
    assert "The renewal quote <b>doubled</b>" in text
    assert "The renewal quote &lt;b&gt;doubled&lt;/b&gt;" in html
    assert "<b>doubled</b>" not in html
    assert "Usage halved since March." in text and "Usage halved since March." in html
    assert "It was too expensive for us" in text
    assert "6 out of 10" in text
    assert "149.00" in text
    assert "MRR lost</th>" in html and "Price rose at renewal" in html
    summary_link = link_in(summary, r"http://localhost/cancellations/\d+/summary")

    # The same summary is a page in the staff UI.
    page = client.get(summary_link.removeprefix("http://localhost"))
    assert page.status_code == 200
    assert "What the customer told us" in page.text
    assert "Call before every price change" in page.text
    assert "The renewal quote &lt;b&gt;doubled&lt;/b&gt;" in page.text
    detail = client.get(detail_url)
    assert "Summary sent" in detail.text
    for step in ("Logged from the web form", "Exit survey invitation sent", "answered the exit survey", "Summary sent"):
        assert step in detail.text

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Summary)) == 1
        statuses = db.session.scalars(select(OutboxMessage.status)).all()
        assert sorted(statuses) == ["sent", "sent", "sent"]


def test_review_first_then_customer_answers(app, client, auth, smtp, owner):
    from conftest import log

    cancellation_id = log(app, owner["email"], customer_email="early@client.test")
    deliver(app)
    survey_path = link_in(smtp.one("early@client.test")).removeprefix("http://localhost")

    auth.login(owner["email"], PASSWORD)
    response = submit_form(
        client,
        f"/cancellations/{cancellation_id}/review",
        {
            "this_week": "Quiet cancellation",
            "relationship_history": "None seen",
            "action_items": "Add a health score",
            "icp_fit": "Partly",
            "avoidable": "Maybe",
        },
    )
    assert response.headers["Location"].endswith(f"/cancellations/{cancellation_id}")
    assert "Reviewed" in client.get(f"/cancellations/{cancellation_id}").text
    deliver(app)
    assert smtp.to(owner["email"]) and not [m for m in smtp.to(owner["email"]) if "Summary" in m["Subject"]]

    customer = app.test_client()
    submit_form(customer, survey_path, {"main_reason": "Something else"})
    deliver(app)
    summary = smtp.one(owner["email"], "Summary")
    assert "Something else" in text_part(summary)
    assert re.search(r"Add a health score", text_part(summary))
