"""The departing customer's pages in headless Chromium: accessible (axe-core), keyboard-only, light, translated."""

# ruff: noqa: F811 - the browser fixtures come from test_browser.py, and tests name them as parameters

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from conftest import PASSWORD, deliver, link_in, log, text_part
from sqlalchemy import select, update
from test_browser import (  # noqa: F401
    PHONE,
    THANKS,
    assert_accessible,
    assert_fits,
    assert_local_only,
    chromium,
    live,
    page,
    screenshot,
)

from feedback.db import utcnow
from feedback.extensions import db
from feedback.surveys.models import Invitation, SurveyResponse

pytestmark = pytest.mark.browser

#: The survey page with its stylesheet and script must weigh less than this, as transferred.
SURVEY_BUDGET = 50 * 1024


def survey_link(live, smtp, owner, email: str, **fields) -> str:
    log(live, owner["email"], customer_name="Maria Lopez", customer_email=email, **fields)
    deliver(live)
    return link_in(smtp.one(email), rf"{live.base_url}/s/\S+")


def expire_all(app) -> None:
    with app.app_context():
        db.session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()


def test_every_customer_page_passes_axe(live, page, smtp, owner):
    link = survey_link(live, smtp, owner, "axe@client.test")
    page.goto(link)
    assert_accessible(page, "the survey")
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_selector("#error-summary")
    assert_accessible(page, "the survey with errors")
    page.get_by_label("It was hard to set up or use").check()
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url(THANKS)
    assert_accessible(page, "the thank-you page")
    page.goto(link)
    assert "already been answered" in page.inner_text("main")
    assert_accessible(page, "the already-answered page")
    screenshot(page, "survey-answered-phone")
    page.goto(f"{live.base_url}/s/not-a-real-link")
    assert_accessible(page, "the invalid-link page")

    expired = survey_link(live, smtp, owner, "late@client.test")
    expire_all(live)
    page.goto(expired)
    assert "expired" in page.inner_text("h1")
    assert_accessible(page, "the expired page")
    screenshot(page, "survey-expired-phone")
    page.get_by_role("button", name="Email me a new link").click()
    page.wait_for_url("**/new-link")
    assert_accessible(page, "the fresh-link page")
    screenshot(page, "survey-new-link-phone")
    assert "Maria" not in page.inner_text("body") and "late@client.test" not in page.content()
    assert_local_only(page, live.base_url)


def test_unsubscribe_pages_pass_axe_and_opt_the_address_out(live, page, smtp, owner):
    from feedback.mail.suppression import suppression_for

    survey_link(live, smtp, owner, "leave-me@client.test", locale="fr")
    unsubscribe = smtp.one("leave-me@client.test")["List-Unsubscribe"].strip("<>")
    page.goto(unsubscribe)
    assert page.get_attribute("html", "lang") == "fr"  # in the customer's language, like the email
    assert_accessible(page, "the unsubscribe page")
    assert_fits(page)
    screenshot(page, "fr-unsubscribe-phone")
    page.get_by_role("button", name="Se désinscrire").click()
    assert "Désinscription confirmée." in page.inner_text("h1")
    assert_accessible(page, "the unsubscribed page")
    assert_local_only(page, live.base_url)
    with live.app_context():
        assert suppression_for("leave-me@client.test") is not None


def test_staff_login_and_review_pages_pass_axe(live, page, smtp, owner):
    cancellation_id = log(live, owner["email"], customer_email="r@client.test")
    page.goto(f"{live.base_url}/login")
    assert_accessible(page, "the staff login")
    page.get_by_role("button", name="Log in").click()  # empty: the login's error state
    assert_accessible(page, "the staff login with errors")
    page.get_by_label("Email").fill(owner["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/cancellations/")
    page.goto(f"{live.base_url}/cancellations/{cancellation_id}/review")
    assert_accessible(page, "the review")
    page.get_by_role("button", name="Submit review").click()
    page.wait_for_selector("#error-summary")
    assert_accessible(page, "the review with errors")


def test_whole_survey_by_keyboard_alone(live, page, smtp, owner):
    """Tab from the top of the page; arrows pick in a radio group, space ticks, typing fills; Enter sends."""
    page.goto(survey_link(live, smtp, owner, "keys@client.test"))
    done: set[str] = set()
    for _ in range(80):
        page.keyboard.press("Tab")
        active = page.evaluate("({name: document.activeElement.name || '', type: document.activeElement.type || ''})")
        name, kind = active["name"], active["type"]
        if kind == "submit":
            break
        if not name or name in done:
            continue
        done.add(name)
        if name == "main_reason":
            page.keyboard.press("ArrowDown")  # moves to, and picks, the second reason
        elif name in ("return_likelihood", "may_follow_up"):
            page.keyboard.press("Space")  # picks the focused (first) option
        elif kind in ("textarea", "text"):
            page.keyboard.type(f"typed into {name}")
    else:
        pytest.fail("never reached the send button by Tab")
    assert page.locator(".survey-progress").inner_text() == "7 of 7 answered"
    page.keyboard.press("Enter")
    page.wait_for_url(THANKS)
    with live.app_context():
        answers = db.session.scalar(select(SurveyResponse.answers))
    assert answers["main_reason"] == "It was missing something we needed"
    assert answers["return_likelihood"] == 0 and answers["may_follow_up"] is True
    assert answers["valued"] == "typed into valued"


def focus_lands_on(page, element_id: str) -> bool:
    """Autofocus applies at the browser's next rendering step, not at load: wait for it, within a bound."""
    page.wait_for_function("id => document.activeElement && document.activeElement.id === id", arg=element_id)
    return page.evaluate("document.activeElement.id") == element_id


def test_error_summary_takes_focus_and_links_to_each_field(live, page, smtp, owner):
    page.goto(survey_link(live, smtp, owner, "errors@client.test"))
    # Over the limit: maxlength stops typing, so as a pasted-in or scripted value would.
    page.eval_on_selector("#better_fit_referral", "field => { field.value = 'x'.repeat(301) }")
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_selector("#error-summary")
    assert focus_lands_on(page, "error-summary")
    links = page.locator("#error-summary a")
    assert links.count() == 2
    links.nth(1).press("Enter")
    assert page.evaluate("document.activeElement.id") == "better_fit_referral"
    described = page.get_attribute("#better_fit_referral", "aria-describedby") or ""
    assert "better_fit_referral-error" in described.split()
    assert "300" in page.inner_text("#better_fit_referral-error")
    assert page.get_attribute("#better_fit_referral", "aria-invalid") == "true"
    assert "main_reason-error" in (page.get_attribute("fieldset:has(#main_reason-0)", "aria-describedby") or "")
    assert_fits(page)


def test_survey_weighs_under_50_kb_with_its_css(live, page, smtp, owner):
    page.goto(survey_link(live, smtp, owner, "weight@client.test"))
    page.wait_for_load_state("networkidle")
    entries = page.evaluate(
        "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".map(e => [e.name, e.transferSize, e.encodedBodySize])"
    )
    sizes = {name: transferred for name, transferred, _body in entries}
    total = sum(sizes.values())
    print(f"survey page transfer: {total} bytes ({json.dumps(sizes)})")
    assert any(name.endswith("style.css") for name in sizes), sizes
    assert 0 < total < SURVEY_BUDGET, f"the survey page transfers {total} bytes: {sizes}"


def test_survey_without_javascript_still_counts_the_questions(live, chromium, smtp, owner):
    link = survey_link(live, smtp, owner, "nojs@client.test")
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(link)
        assert "7 questions, about two minutes." in page.inner_text(".survey-intro")
        assert not page.locator("#survey-progress").is_visible()  # the live count needs the script
        assert page.locator(".question-number").first.text_content() == "1 of 7"
        page.get_by_role("button", name="Send my answers").click()
        summary = page.locator("#error-summary")
        assert summary.is_visible() and summary.get_attribute("role") == "alert"  # announced on arrival
        # Without the script, focus is the browser's autofocus: Chromium applies it at a rendering step it may
        # postpone under load, so the attribute is what is checked here (tests with the script check the focus).
        assert summary.get_attribute("autofocus") is not None
        page.get_by_label("Our business or needs changed").check()
        page.get_by_role("button", name="Send my answers").click()
        page.wait_for_url(THANKS)
    finally:
        context.close()


def test_german_survey_end_to_end_with_its_email(live, chromium, smtp, owner):
    link = survey_link(live, smtp, owner, "greta@client.test", locale="de")
    message = smtp.one("greta@client.test")
    assert "Danke für Ihre Zeit mit Acme Analytics" in str(message["Subject"])
    assert "Hallo Maria," in text_part(message)
    context = chromium.new_context(viewport=PHONE, locale="en-US")  # the cancellation's language wins
    page = context.new_page()
    try:
        page.goto(link)
        assert page.get_attribute("html", "lang") == "de"
        assert page.get_by_role("heading", level=1).inner_text() == "Vielen Dank, Maria."
        assert "7 Fragen, etwa zwei Minuten." in page.inner_text(".survey-intro")
        assert_fits(page)
        assert_accessible(page, "the German survey")
        screenshot(page, "de-survey-phone")
        page.get_by_role("button", name="Antworten senden").click()
        assert "Bitte prüfen Sie diese Antwort" in page.inner_text("#error-summary")
        screenshot(page, "de-survey-errors-phone")
        page.get_by_label("Wir sind zu einem anderen Produkt gewechselt").check()
        page.get_by_role("group", name="Dürfen wir uns").get_by_label("Nein").check()
        assert page.inner_text("#survey-progress") == "2 von 7 beantwortet"
        page.get_by_role("button", name="Antworten senden").click()
        page.wait_for_url(THANKS)
        assert "Ihre Antworten sind bei uns" in page.inner_text("h1")
        assert_accessible(page, "the German thank-you page")
        screenshot(page, "de-survey-thanks-phone")
        expire_all(live)
        page.goto(survey_link(live, smtp, owner, "spaet@client.test", locale="de"))
        expire_all(live)
        page.reload()
        assert page.inner_text("h1") == "Dieser Link zur Umfrage ist abgelaufen."
        screenshot(page, "de-survey-expired-phone")
        page.get_by_role("button", name="Neuen Link per E-Mail senden").click()
        page.wait_for_url("**/new-link")
        assert_accessible(page, "the German fresh-link page")
        screenshot(page, "de-survey-new-link-phone")
        page.goto(f"{live.base_url}/s/kein-echter-link")
        screenshot(page, "de-survey-invalid-phone")  # no cancellation to ask: the browser's language (en-US)
    finally:
        context.close()
    with live.app_context():
        answers = db.session.scalar(select(SurveyResponse.answers))
    assert answers == {"main_reason": "We moved to another product", "may_follow_up": False}


def test_the_axe_check_catches_a_violation(page):
    page.set_content('<!doctype html><html lang="en"><title>t</title><main><input type="text"></main></html>')
    with pytest.raises(AssertionError, match=r"label \(critical\)"):
        assert_accessible(page, "a page with an unlabelled field")
