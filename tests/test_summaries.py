"""The combined summary goes to the owner exactly once, with the review alone if the customer never answered."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

from conftest import deliver, html_part, log, run_jobs, text_part
from sqlalchemy import func, select

from feedback.auth.models import User
from feedback.db import utcnow
from feedback.extensions import db
from feedback.postmortem.models import Cancellation
from feedback.reviews.operations import review_version, submit_review
from feedback.summaries.models import Summary
from feedback.surveys.models import Invitation
from feedback.surveys.operations import submit_survey

REVIEW = {
    "this_week": "Cancelled via billing <script>alert(1)</script>",
    "relationship_history": "Champion left in May.",
    "action_items": "Track champion changes",
    "icp_fit": "Partly",
    "avoidable": "Yes",
}


def review(app, cancellation_id: int, owner_id: int, answers=REVIEW) -> None:
    with app.app_context():
        cancellation = db.session.get(Cancellation, cancellation_id)
        author = db.session.get(User, owner_id)
        submit_review(cancellation, author, answers, review_version(cancellation).id)
        db.session.commit()


def answer(app, cancellation_id: int, answers) -> None:
    with app.app_context():
        invitation = db.session.scalars(select(Invitation).where(Invitation.cancellation_id == cancellation_id)).one()
        submit_survey(invitation, answers)
        db.session.commit()


def summaries(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Summary))


def test_expired_link_with_review_sends_the_review_alone(app, smtp, owner):
    cancellation_id = log(app, owner["email"], customer_name="Quiet Quinn")
    review(app, cancellation_id, owner["id"])
    deliver(app)
    assert summaries(app) == 0

    later = utcnow() + timedelta(days=31)
    run_jobs(app, now=later)
    deliver(app, now=later)
    summary = smtp.one(owner["email"], "Summary")
    assert "The customer did not answer; their survey link expired." in text_part(summary)
    assert "The customer did not answer" in html_part(summary)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_part(summary)
    assert "<script>" not in html_part(summary)
    run_jobs(app, now=later + timedelta(days=1))
    deliver(app, now=later + timedelta(days=1))
    assert len([m for m in smtp.to(owner["email"]) if "Summary" in m["Subject"]]) == 1
    with app.app_context():
        cancellation = db.session.get(Cancellation, cancellation_id)
        assert cancellation.state == "summarized"
        assert cancellation.summary.customer_answered is False
        assert any(e.kind == "link_expired" for e in cancellation.events)


def test_expired_link_without_review_waits_for_the_review(app, smtp, client, auth, owner):
    cancellation_id = log(app, owner["email"])
    run_jobs(app, now=utcnow() + timedelta(days=31))
    deliver(app, now=utcnow() + timedelta(days=31))
    assert summaries(app) == 0
    review(app, cancellation_id, owner["id"])
    deliver(app)
    assert "did not answer" in text_part(smtp.one(owner["email"], "Summary"))


def test_summary_is_composed_once_when_both_sides_race(app, owner):
    for attempt in range(5):
        cancellation_id = log(app, owner["email"], customer_email=f"race{attempt}@client.test")
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def run(step, barrier=barrier, errors=errors) -> None:
            try:
                barrier.wait()
                step()
            except BaseException as error:  # surfaced below
                errors.append(error)

        steps = [
            lambda cid=cancellation_id: answer(app, cid, {"main_reason": "Something else"}),
            lambda cid=cancellation_id: review(app, cid, owner["id"]),
        ]
        threads = [threading.Thread(target=run, args=(step,)) for step in steps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert summaries(app) == attempt + 1
    with app.app_context():
        assert set(db.session.scalars(select(Cancellation.state))) == {"summarized"}


def test_summary_page_before_anything_is_in(app, client, logged_in_owner):
    cancellation_id = log(app, logged_in_owner["email"])
    page = client.get(f"/cancellations/{cancellation_id}/summary")
    assert page.status_code == 200
    assert "Waiting for the customer" in page.text
    assert "Waiting for the internal review" in page.text


def test_summary_renders_the_questions_that_were_answered(app, client, logged_in_owner):
    """Answers keep the wording they were given under, even after a new version is published."""
    from feedback.questions.defaults import EXIT_SURVEY
    from feedback.questions.operations import publish

    cancellation_id = log(app, logged_in_owner["email"])
    answer(app, cancellation_id, {"main_reason": "Something else", "valued": "Kind support"})
    with app.app_context():
        changed = [dict(q, prompt=q["prompt"].upper()) for q in EXIT_SURVEY]
        publish("exit-survey", changed)
        db.session.commit()
    page = client.get(f"/cancellations/{cancellation_id}/summary")
    assert "What, if anything, did you value while you were with us?" in page.text
    assert "WHAT, IF ANYTHING" not in page.text
    assert "Kind support" in page.text


def test_every_owner_reads_the_team_summaries(app, client, auth, owner, other_owner):
    theirs = log(app, other_owner["email"], customer_name="Their Customer", customer_email="theirs@client.test")
    answer(app, theirs, {"main_reason": "Something else"})
    review(app, theirs, other_owner["id"])
    log(app, owner["email"], customer_name="Still Open", customer_email="open@client.test")
    unfinished = log(app, other_owner["email"], customer_name="Under Way", customer_email="underway@client.test")

    auth.login(owner["email"])
    page = client.get("/cancellations/summaries").text
    assert "Their Customer" in page and "Still Open" not in page  # only what is summarised, the team's too
    assert f'href="/cancellations/{theirs}/summary"' in page
    assert client.get(f"/cancellations/{theirs}/summary").status_code == 200
    assert client.get(f"/cancellations/{unfinished}/summary").status_code == 403  # a colleague's, not sent yet
    mine = client.get("/cancellations/summaries?owner=me").text
    assert "Their Customer" not in mine and "None of yours yet" in mine


def test_a_customer_who_opted_out_is_not_waited_for(app, smtp, owner):
    from feedback.mail.suppression import suppress

    with app.app_context():
        suppress("gone@client.test", source="link")
        db.session.commit()
    cancellation_id = log(app, owner["email"], customer_email="gone@client.test")
    review(app, cancellation_id, owner["id"])
    deliver(app)
    assert smtp.to("gone@client.test") == []
    summary = text_part(smtp.one(owner["email"], "Summary"))
    assert "asked us not to email them, so no survey went out" in summary
    assert "link expired" not in summary


def test_a_multi_line_answer_is_indented_on_every_line_of_the_text_summary(app, smtp, owner):
    cancellation_id = log(app, owner["email"], customer_email="lines@client.test")
    deliver(app)
    answer(app, cancellation_id, {"main_reason": "Something else", "final_straw": "First line\r\nSecond line\nThird"})
    review(app, cancellation_id, owner["id"], {**REVIEW, "relationship_history": "Call sooner\nPrice notice"})
    deliver(app)
    text = text_part(smtp.one(owner["email"], "Summary")).replace("\r\n", "\n")
    assert "\n  First line\n  Second line\n  Third\n" in text
    assert "\n  Call sooner\n  Price notice\n" in text


def test_the_headline_speaks_staff_words_and_says_they_agreed_to_hear_back(app, client, logged_in_owner):
    from feedback.surveys.consent import give_consent

    cancellation_id = log(app, logged_in_owner["email"], customer_email="kim@client.test")
    answer(app, cancellation_id, {"main_reason": "Something else"})

    def headline() -> str:
        page = client.get(f"/cancellations/{cancellation_id}/summary").text
        return page.split('aria-label="In one line"')[1].split("</section>")[0]

    first = headline()
    assert "The customer's main reason" in first and "Avoidable, in our view?" in first
    labels = re.findall(r"<dt>(.*?)</dt>", first)
    assert not any("you" in label.lower() for label in labels), labels  # staff labels, not the customer's question
    assert "(asked as “" in first  # which stays beside the answer, as it was asked
    assert "Hear about changes?</dt><dd>No" in first
    with app.app_context():
        give_consent(cancellation_id, "kim@client.test", "en")
        db.session.commit()
    assert "Hear about changes?</dt><dd>Yes: they agreed" in headline()
