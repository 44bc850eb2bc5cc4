"""The exit survey link: opening spends nothing, submitting spends it once, bad links get kind pages."""

from __future__ import annotations

import html
import re
import threading
import time
from datetime import timedelta

import pytest
from conftest import deliver, link_in, log, make_config, submit_form
from sqlalchemy import func, select, update

from feedback import create_app
from feedback.db import utcnow
from feedback.extensions import db
from feedback.surveys.models import Invitation, SurveyResponse
from feedback.surveys.operations import AlreadyAnswered, check_link, submit_survey


@pytest.fixture
def survey_path(app, smtp, owner):
    log(app, owner["email"], customer_name="Sam Leaving", customer_email="sam@client.test")
    deliver(app)
    return link_in(smtp.one("sam@client.test")).removeprefix("http://localhost")


def responses(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SurveyResponse))


def test_opening_the_link_spends_nothing(app, client, survey_path):
    for _ in range(3):
        page = client.get(survey_path)
        assert page.status_code == 200
        assert "A few questions before you go" in page.text
    assert responses(app) == 0
    with app.app_context():
        assert db.session.scalar(select(Invitation.answered_at)) is None


def test_survey_page_is_gracious_and_short(client, survey_path):
    page = client.get(survey_path).text
    assert "Thank you, Sam." in page
    assert "about two minutes" in page
    assert "Olivia Owner" in page  # who reads the answers
    assert 1 <= page.count('<div class="question') <= 7
    assert "<fieldset" in page and "<legend" in page


def test_form_error_keeps_every_answer_typed(app, client, survey_path):
    response = submit_form(
        client,
        survey_path,
        {
            "final_straw": "The outage on launch day",
            "could_have_done": "Tell us <sooner>",
            "return_likelihood": "4",
            "may_follow_up": "no",
        },
    )
    assert response.status_code == 422
    assert 'href="#main_reason-0"' in response.text  # the error summary links to the unanswered question
    assert "Please answer “What was the main reason you cancelled?”" in response.text
    assert "The outage on launch day</textarea>" in response.text
    assert "Tell us &lt;sooner&gt;</textarea>" in response.text
    assert 'value="4" checked' in response.text
    assert 'value="no" checked' in response.text
    assert responses(app) == 0


def test_a_browser_that_keeps_no_cookies_can_still_answer(app, survey_path):
    cookieless = app.test_client(use_cookies=False)
    page = cookieless.get(survey_path)
    assert page.status_code == 200 and 'name="csrf_token"' not in page.text
    response = cookieless.post(survey_path, data={"main_reason": "Something else", "valued": "The team"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalars(select(SurveyResponse.answers)).one() == {
            "main_reason": "Something else",
            "valued": "The team",
        }


def test_submitting_spends_the_link_once(app, client, survey_path):
    client.get(survey_path)
    first = client.post(survey_path, data={"main_reason": "Something else"})
    assert first.status_code == 303
    # A second tab, a double click or a replay is refused and changes nothing.
    second = client.post(survey_path, data={"main_reason": "It was too expensive for us"})
    assert second.status_code == 409
    assert "we kept those and changed nothing" in second.text
    with app.app_context():
        assert db.session.scalars(select(SurveyResponse.answers)).all() == [{"main_reason": "Something else"}]
    revisit = client.get(survey_path)
    assert revisit.status_code == 200
    assert "we have your answers" in revisit.text


def test_tampered_link_gets_a_kind_404(client, survey_path):
    token = survey_path.rsplit("/", 1)[1]
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "nonsense", token + "x"):
        response = client.get(f"/s/{bad}")
        assert response.status_code == 404
        assert "We couldn't find this survey" in response.text
        assert "Traceback" not in response.text
        response = client.post(f"/s/{bad}", data={"main_reason": "Something else"})
        assert response.status_code == 404


def test_link_signed_for_another_invitation_is_invalid(app, smtp, owner, client, survey_path):
    from feedback.signing import sign
    from feedback.surveys.operations import SURVEY_SALT

    with app.app_context():
        invitation = db.session.scalars(select(Invitation)).one()
        forged = sign([invitation.id, "not-the-nonce"], SURVEY_SALT)
        other_salt = sign([invitation.id, invitation.nonce], "another-purpose")
    assert client.get(f"/s/{forged}").status_code == 404
    assert client.get(f"/s/{other_salt}").status_code == 404


def test_expired_link_gets_a_kind_410_offering_the_owner(app, client, survey_path, owner):
    with app.app_context():
        db.session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    response = client.get(survey_path)
    assert response.status_code == 410
    assert "This survey link has expired" in response.text
    assert f"mailto:{owner['email']}" in response.text
    assert "Sam" not in response.text.split("<main", 1)[1].split("Reply to", 1)[0]
    post = client.post(survey_path, data={"main_reason": "Something else"})
    assert post.status_code == 410
    assert responses(app) == 0


def test_link_older_than_its_lifetime_is_expired_by_signature(database_url, smtp, owner, survey_path, monkeypatch):
    # The app now allows links to live one day; a link signed two days ago is expired by its signature alone.
    import itsdangerous.timed

    from feedback.signing import sign
    from feedback.surveys.operations import SURVEY_SALT

    app = create_app(make_config(database_url, smtp, SURVEY_LINK_DAYS=1))
    with app.app_context():
        invitation = db.session.scalars(select(Invitation)).one()
        two_days_ago = time.time() - 2 * 86400
        with monkeypatch.context() as patch:
            patch.setattr(itsdangerous.timed.time, "time", lambda: two_days_ago)
            old_token = sign([invitation.id, invitation.nonce], SURVEY_SALT)
        status = check_link(old_token)
        assert status.state == "expired" and status.invitation.id == invitation.id
    response = app.test_client().get(f"/s/{old_token}")
    assert response.status_code == 410
    assert "This survey link has expired" in response.text


def test_concurrent_submissions_record_exactly_one(app, survey_path):
    token = survey_path.rsplit("/", 1)[1]
    with app.app_context():
        invitation_id = check_link(token).invitation.id
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def submit(n: int) -> None:
        with app.app_context():
            invitation = db.session.get(Invitation, invitation_id)
            barrier.wait()
            try:
                submit_survey(invitation, {"main_reason": "Something else", "valued": f"submission {n}"})
                db.session.commit()
                outcomes.append("ok")
            except AlreadyAnswered:
                outcomes.append("refused")

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] + ["refused"] * 7
    assert responses(app) == 1


def test_concurrent_posts_through_the_web_record_exactly_one(app, survey_path):
    clients = [app.test_client() for _ in range(6)]
    for c in clients:
        assert c.get(survey_path).status_code == 200
    statuses: list[int] = []
    barrier = threading.Barrier(len(clients))

    def post(c):
        barrier.wait()
        statuses.append(c.post(survey_path, data={"main_reason": "Something else"}).status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [303] + [409] * (len(clients) - 1)
    assert responses(app) == 1


@pytest.mark.parametrize(
    "locale, message",
    [
        ("en", "Please answer “What was the main reason you cancelled?”"),
        ("de", "Bitte beantworten Sie „Was war der Hauptgrund für Ihre Kündigung?“"),
        ("fr", "Merci de répondre à «\u00a0Quelle est la principale raison de votre résiliation ?\u00a0»"),
    ],
)
def test_the_error_summary_says_what_the_field_says(app, client, smtp, owner, locale, message):
    """GOV.UK's pattern: one message, beside the question and in the summary; never "résiliation ?: Please answer"."""
    log(app, owner["email"], customer_email=f"{locale}@client.test", locale=locale)
    deliver(app)
    path = link_in(smtp.one(f"{locale}@client.test")).removeprefix("http://localhost")
    page = client.post(path, data={}).text
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S).group(0)
    items = [html.unescape(text).strip() for text in re.findall(r"<li><a [^>]*>(.*?)</a></li>", summary, re.S)]
    beside = [html.unescape(text) for text in re.findall(r'<p class="field-error"[^>]*>(.*?)</p>', page, re.S)]
    assert items == beside == [message]
    assert "?:" not in summary and "? :" not in summary


def test_a_staff_form_keeps_its_label_before_a_short_message(app, client, auth, admin):
    auth.login(admin["email"])
    page = submit_form(client, "/admin/settings/", {"survey_link_days": "900"}).text
    assert "Link lifetime (days): Between 1 and 365 days." in page


def test_who_reads_the_answers_is_said_only_where_there_are_answers(app, client, smtp, owner):
    log(app, owner["email"], customer_email="footer@client.test")
    deliver(app)
    invitation = smtp.one("footer@client.test")
    survey = link_in(invitation).removeprefix("http://localhost")
    unsubscribe = link_in(invitation, r"http://localhost/u/\S+").removeprefix("http://localhost")
    note = "Your answers go only to the Acme Analytics team."

    def footer(path: str) -> str:
        return re.search(r'<footer class="customer-footer">(.*?)</footer>', client.get(path).text, re.S).group(1)

    assert html.unescape(footer(survey)) == note
    for path in (unsubscribe, "/s/not-a-real-link", "/u/not-a-real-link"):
        assert footer(path) == "Acme Analytics", path
    client.post(survey, data={"main_reason": "Something else"})
    assert html.unescape(footer(survey + "/thanks")) == note
    log(app, owner["email"], customer_email="late@client.test")
    deliver(app)
    expire_all(app)
    late = link_in(smtp.one("late@client.test")).removeprefix("http://localhost")
    assert footer(late) == "Acme Analytics"  # the expired page: there is nothing to answer any more


def expire_all(app) -> None:
    with app.app_context():
        db.session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()


def test_the_referral_question_is_a_gentle_optional_offer_in_every_language():
    from feedback.questions.defaults import EXIT_SURVEY

    referral = EXIT_SURVEY[6]
    assert referral["key"] == "better_fit_referral" and not referral.get("required")
    wordings = [referral["prompt"], *(w["prompt"] for w in referral["translations"].values())]
    assert wordings == [
        "If someone you know might be a better fit for us, we'd be glad to hear.",
        "Falls Ihnen jemand einfällt, zu dem wir besser passen könnten, freuen wir uns über einen Hinweis.",
        "Si vous pensez à quelqu’un à qui nous conviendrions mieux, nous serions heureux de le savoir.",
    ]
    assert not any(w.rstrip().endswith("?") for w in wordings)  # no longer a question put to someone leaving
