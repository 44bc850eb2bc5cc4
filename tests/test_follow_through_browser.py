"""From a review to a closed item and a win-back email, in headless Chromium at 375 and 1280 px: axe-clean,
no sideways scrolling, nothing fetched from elsewhere, with screenshots of every page for a person to look at."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import PASSWORD, deliver, link_in, log, text_part
from test_browser import (  # noqa: F401
    DESKTOP,
    PHONE,
    assert_fits,
    assert_local_only,
    chromium,
    live,  # noqa: F401 - the fixtures, shared
    screenshot,
)
from test_customer_experience import assert_accessible

from feedback.actions.operations import add_item
from feedback.db import utcnow
from feedback.extensions import db
from feedback.postmortem.models import Cancellation

pytestmark = pytest.mark.browser

REASON = "It was too expensive for us"


def staff_page(chromium, live, who, viewport):  # noqa: F811
    context = chromium.new_context(viewport=viewport)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.requests = requests
    page.goto(f"{live.base_url}/login")
    page.get_by_label("Email").fill(who["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/cancellations/")
    return context, page


def look(page, live, name: str) -> None:  # noqa: F811
    assert_fits(page)
    assert_accessible(page, name)
    assert_local_only(page, live.base_url)


def test_before_any_review_the_action_and_win_back_lists_say_they_are_empty(live, chromium, owner):  # noqa: F811
    """The empty states, a test of their own so that a parallel worker can take them beside the long story below."""
    for viewport, suffix in ((PHONE, "phone"), (DESKTOP, "desktop")):
        context, page = staff_page(chromium, live, owner, viewport)
        page.get_by_role("link", name="Actions").click()
        assert "No action items yet" in page.inner_text("main")
        look(page, live, "the empty action list")
        screenshot(page, f"actions-empty-{suffix}")
        page.get_by_role("link", name="Win-back").click()
        assert "Nobody on the list yet" in page.inner_text("main")
        look(page, live, "the empty win-back list")
        screenshot(page, f"winback-empty-{suffix}")
        context.close()


def test_from_review_to_closed_item_and_win_back_email(live, chromium, smtp, owner, other_owner):  # noqa: F811
    cancellation_id = log(live, owner["email"], customer_name="Noah Kim", customer_email="noah@client.test",
                          company="Kim Bakery", plan="Team")  # fmt: skip
    deliver(live)

    # The customer answers, and ticks the separate win-back box.
    customer = chromium.new_context(viewport=PHONE)
    survey = customer.new_page()
    survey.goto(link_in(smtp.one("noah@client.test"), rf"{live.base_url}/s/\S+"))
    consent = survey.get_by_label("You may let me know if you change what made me leave")
    assert not consent.is_checked()
    survey.get_by_label(REASON).check()
    survey.get_by_label("If someone you know might be a better fit for us, we'd be glad to hear.").fill(
        "Ana at Sunrise Café"
    )
    consent.check()
    assert_accessible(survey, "the survey with the consent box")
    survey.locator(".consent").scroll_into_view_if_needed()
    screenshot(survey, "survey-consent-phone")
    survey.get_by_role("button", name="Send my answers").click()
    survey.wait_for_url(re.compile(r"/thanks"))

    # The owner writes the review: two items in rows, no JavaScript needed.
    context, page = staff_page(chromium, live, owner, DESKTOP)
    page.goto(f"{live.base_url}/cancellations/{cancellation_id}/review")
    page.get_by_label("What happened this week?").fill("They found a cheaper tool.")
    page.get_by_label("which warning signs did we miss?").fill("Logins fell after the price change.")
    page.get_by_label("Item 1: what must change").fill("Offer a yearly plan below the Team tier")
    page.locator("#items-rows-0-reason").select_option(REASON)
    page.get_by_label("Item 2: what must change").fill("Call accounts before every price change")
    page.locator("#items-rows-1-owner_email").select_option(other_owner["email"])
    page.get_by_role("group", name="ideal customer profile").get_by_label("Yes, a good fit").check()
    page.get_by_role("group", name="Was this loss avoidable?").get_by_label("Yes").check()
    look(page, live, "the review with its action items")
    screenshot(page, "review-items-desktop")
    page.get_by_role("button", name="Submit review").click()
    page.wait_for_url(f"**/cancellations/{cancellation_id}/summary")
    context.close()

    with live.app_context():
        cancellation = db.session.get(Cancellation, cancellation_id)
        add_item(cancellation, title="Fix the invoice PDF", due_on=utcnow().date() - timedelta(days=4))
        db.session.commit()

    for viewport, suffix in ((PHONE, "phone"), (DESKTOP, "desktop")):
        context, page = staff_page(chromium, live, owner, viewport)
        page.goto(f"{live.base_url}/cancellations/{cancellation_id}")
        assert "Overdue by 4 days" in page.inner_text("#actions")
        look(page, live, "the postmortem with its items")
        screenshot(page, f"postmortem-items-{suffix}")
        page.goto(f"{live.base_url}/cancellations/{cancellation_id}/summary")
        assert REASON in page.inner_text(".headline")
        look(page, live, "the summary")
        screenshot(page, f"summary-items-{suffix}")
        page.get_by_role("link", name="Actions").click()
        assert page.inner_text(".items").index("Fix the invoice PDF") < page.inner_text(".items").index("yearly plan")
        look(page, live, "the action list")
        screenshot(page, f"actions-{suffix}")
        page.locator(".item", has_text="Fix the invoice PDF").get_by_role("link", name="Edit").click()
        page.get_by_label("Ticket").fill("https://linear.app/acme/issue/ACM-12")
        look(page, live, "editing an item")
        screenshot(page, f"action-edit-{suffix}")
        page.get_by_role("button", name="Save").click()
        assert "ACM-12" in page.locator("#actions a.ticket-link").get_attribute("href")
        context.close()

    # Closing the item that addresses the customer's reason, from the list.
    context, page = staff_page(chromium, live, owner, DESKTOP)
    page.goto(f"{live.base_url}/actions/")
    row = page.locator(".item", has_text="Offer a yearly plan")
    row.get_by_text("Close").click()
    row.get_by_label("Note (optional)").fill("Live since Monday: 290 a year.")
    look(page, live, "the action list with the close form open")
    screenshot(page, "actions-closing-desktop")
    row.get_by_role("button", name="Mark done").click()
    page.wait_for_url("**/actions/**")
    assert "Done: Offer a yearly plan below the Team tier." in page.inner_text(".flashes")
    context.close()

    # The win-back list asks the owner; only their click sends the one email.
    smtp.clear()
    for viewport, suffix in ((PHONE, "phone"), (DESKTOP, "desktop")):
        context, page = staff_page(chromium, live, owner, viewport)
        page.get_by_role("link", name="Win-back").click()
        assert "Shall we tell them?" in page.inner_text("main")
        look(page, live, "the win-back list")
        screenshot(page, f"winback-{suffix}")
        page.get_by_role("link", name="Write to Noah").click()
        draft = page.get_by_label("Message").input_value()
        assert "[what changed, in words your customer will recognise" in draft
        assert "Offer a yearly plan below the Team tier" not in draft, "staff shorthand stays out of the draft"
        look(page, live, "the win-back email draft")
        screenshot(page, f"winback-tell-{suffix}")
        if suffix == "desktop":
            page.get_by_label("Message").fill(
                draft.replace(
                    "[what changed, in words your customer will recognise: write it before sending]",
                    "we now offer a yearly plan at 290 a year",
                )
            )
            page.get_by_role("button", name="Send it").click()
            page.wait_for_url("**/win-back/")
            assert "Queued: Noah Kim hears about" in page.inner_text(".flashes")
            page.get_by_role("link", name="Referrals").click()
            assert "Ana at Sunrise Café" in page.inner_text("main")
            look(page, live, "the referrals")
            screenshot(page, "referrals-desktop")
        context.close()
    deliver(live)
    [email] = smtp.to("noah@client.test")
    withdraw = re.search(rf"{re.escape(live.base_url)}/u/consent/\S+", text_part(email)).group(0)

    # The customer takes the consent back from the email's footer.
    page = customer.new_page()
    page.goto(withdraw)
    assert_fits(page)
    assert_accessible(page, "taking consent back")
    screenshot(page, "consent-withdraw-phone")
    page.get_by_role("button", name="Take it back").click()
    assert "Done: no news about changes." in page.inner_text("h1")
    customer.close()
