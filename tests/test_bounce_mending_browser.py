"""Correct the address and invite again, in headless Chromium at 375 and 1280 px: fits and passes axe."""

# ruff: noqa: F811 - the browser fixtures come from test_browser.py, and tests name them as parameters

from __future__ import annotations

import pytest
from conftest import deliver, log
from test_browser import DESKTOP, PHONE, assert_fits, chromium, follow, screenshot, served  # noqa: F401
from test_customer_experience import assert_accessible
from test_inbound import CUSTOMER, FIXTURES, receive
from test_insights_browser import log_in

from feedback.extensions import db
from feedback.mail.models import OutboxMessage

pytestmark = pytest.mark.browser


def test_the_owner_corrects_a_bounced_address_at_both_widths(database_url, smtp, chromium, owner):
    with served(database_url, smtp, BOUNCE_ADDRESS="bounces@acme.test") as live:
        for width, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            cancellation_id = log(
                live, owner["email"], customer_email=CUSTOMER if width == "phone" else "d@client.test"
            )
            deliver(live)
            with live.app_context():
                original = db.session.scalar(
                    db.select(OutboxMessage.message_id).where(
                        OutboxMessage.cancellation_id == cancellation_id, OutboxMessage.kind == "survey_invitation"
                    )
                )
                db.session.remove()
            raw = (FIXTURES / "bounce_postfix.eml").read_bytes()
            raw = raw.replace(b"ORIGINAL_MESSAGE_ID@acme.test", original.strip("<>").encode())
            raw = raw.replace(b"4Zx1y2z3@mail.acme.test", f"{width}@mail.acme.test".encode())
            assert receive(live, raw).status == "bounce"

            context = chromium.new_context(viewport=viewport)
            page = context.new_page()
            log_in(page, live, owner["email"])
            page.goto(f"{live.base_url}/cancellations/{cancellation_id}")
            form = page.get_by_role("heading", name="Correct the address and invite again")
            assert form.is_visible()
            assert_fits(page)
            assert_accessible(page, f"the correct-and-reinvite form at {viewport['width']} px")
            screenshot(page, f"reinvite-form-{width}")
            page.get_by_label("The customer's correct address").fill(f"{width}@better.test")
            follow(page, page.get_by_role("button", name="Correct and invite again"))
            assert f"Invited again at {width}@better.test" in page.inner_text("main")
            assert_fits(page)
            assert_accessible(page, f"the postmortem after the correction at {viewport['width']} px")
            context.close()
    deliver(live)
    assert smtp.one("phone@better.test") and smtp.one("desktop@better.test")
