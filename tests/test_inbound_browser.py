"""Replies by email in headless Chromium at 375 and 1280 px: the admin list, one message, the attached reply, the
customer's thank-you page; each fits and passes axe."""

# ruff: noqa: F811 - the browser fixtures come from test_browser.py, and tests name them as parameters

from __future__ import annotations

import pytest
from conftest import deliver, link_in, log
from test_browser import DESKTOP, PHONE, assert_fits, chromium, follow, screenshot, served  # noqa: F401
from test_customer_experience import assert_accessible
from test_inbound import CUSTOMER, shaped
from test_insights_browser import log_in

from feedback.extensions import db
from feedback.inbound.addresses import reply_address_for
from feedback.inbound.operations import process_stored, store_message

pytestmark = pytest.mark.browser


def test_an_admin_attaches_a_reply_by_hand_at_both_widths(database_url, smtp, chromium, owner, admin):
    with served(database_url, smtp, REPLY_ADDRESS="replies@acme.test") as live:
        cancellation_id = log(live, owner["email"], customer_name="Casey Customer")
        deliver(live)
        link = link_in(smtp.one(to=CUSTOMER), rf"{live.base_url}/s/[^\s]+")
        with live.app_context():
            address = reply_address_for(cancellation_id)
            for name in ("reply_outlook_de.eml", "reply_outlook_fr.eml"):  # from colleagues, not the customer
                store_message(shaped(name, address), "pipe")
            process_stored()
            db.session.remove()
        for viewport, suffix in ((PHONE, "phone"), (DESKTOP, "desktop")):
            context = chromium.new_context(viewport=viewport)
            page = context.new_page()
            log_in(page, live, admin["email"])
            page.get_by_role("link", name="Admin").click()
            follow(page, page.get_by_role("link", name="Replies by email"))
            sender = "jonas@becker.test" if suffix == "phone" else "camille@martin.test"  # one is attached per round
            assert sender in page.inner_text("main")
            assert_fits(page)
            assert_accessible(page, f"the inbound list at {viewport['width']} px")
            screenshot(page, f"inbound-list-{suffix}")
            follow(
                page, page.get_by_role("link", name="AW: Danke, Jonas." if suffix == "phone" else "RE: Merci, Camille.")
            )
            assert_accessible(page, f"an inbound message at {viewport['width']} px")
            assert_fits(page)
            screenshot(page, f"inbound-message-{suffix}")
            follow(page, page.get_by_role("button", name="Attach"))
            assert "Attached to" in page.inner_text("main")
            page.goto(f"{live.base_url}/cancellations/{cancellation_id}")
            assert "What the customer wrote back" in page.inner_text("main")
            assert_accessible(page, f"the postmortem with a reply at {viewport['width']} px")
            assert_fits(page)
            screenshot(page, f"postmortem-reply-{suffix}")
            context.close()

        context = chromium.new_context(viewport=PHONE)  # the customer opens the survey link after replying
        page = context.new_page()
        page.goto(link)
        assert "Thank you for your reply." in page.inner_text("h1")
        assert_accessible(page, "the survey link after a reply")
        assert_fits(page)
        context.close()


def test_the_owner_reviews_a_held_reply_at_both_widths(database_url, smtp, chromium, owner):
    from test_inbound_verdicts import DMARC_FAIL, MX, with_results

    with served(database_url, smtp, REPLY_ADDRESS="replies@acme.test", INBOUND_AUTHSERV_ID=MX) as live:
        cancellation_id = log(live, owner["email"], customer_name="Casey Customer")
        deliver(live)
        with live.app_context():
            address = reply_address_for(cancellation_id)
            for n, name in enumerate(("reply_gmail_en.eml", "reply_apple_en.eml")):  # one reviewed per width
                raw = with_results(shaped(name, address, sender=CUSTOMER), DMARC_FAIL)
                store_message(raw.replace(b"Message-ID: <", f"Message-ID: <held{n}.".encode(), 1), "pipe")
            process_stored()
            db.session.remove()
        for viewport, suffix in ((PHONE, "phone"), (DESKTOP, "desktop")):
            context = chromium.new_context(viewport=viewport)
            page = context.new_page()
            log_in(page, live, owner["email"])
            page.goto(f"{live.base_url}/cancellations/{cancellation_id}#held")
            held = page.locator("#held")
            assert "DMARC failed for client.test." in held.inner_text()
            assert_fits(page)
            assert_accessible(page, f"the postmortem with a held reply at {viewport['width']} px")
            screenshot(page, f"postmortem-held-{suffix}")
            button = "Attach as their answer" if suffix == "phone" else "Discard"
            follow(page, held.get_by_role("button", name=button).first)
            said = "Attached: it counts" if suffix == "phone" else "Discarded: it is not"
            assert said in page.inner_text("main")
            context.close()
