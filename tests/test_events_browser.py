"""Admin → Webhooks in headless Chromium, phone and desktop: axe finds nothing, nothing scrolls sideways."""

# ruff: noqa: F811 - the browser fixtures come from test_browser.py, and tests name them as parameters

from __future__ import annotations

import pytest
from conftest import log
from sqlalchemy import select
from test_browser import DESKTOP, PHONE, assert_fits, chromium, follow, live, open_admin, screenshot  # noqa: F401
from test_customer_experience import assert_accessible

from feedback.db import utcnow
from feedback.events.models import Delivery, DeliveryAttempt, WebhookEndpoint
from feedback.extensions import db

pytestmark = pytest.mark.browser

LONG_URL = "https://hooks.example.com/services/T0000000000/B0000000000/" + "x" * 60


def test_admin_adds_a_webhook_and_reads_its_attempts(live, chromium, smtp, owner, admin):
    for viewport, suffix in ((PHONE, "phone"), (DESKTOP, "desktop")):
        context = chromium.new_context(viewport=viewport)
        page = context.new_page()
        open_admin(page, live, admin)
        follow(page, page.get_by_role("link", name="Webhooks"))
        assert_accessible(page, f"the empty webhooks page at {viewport['width']} px")
        page.get_by_label("URL").fill(LONG_URL + suffix)
        page.get_by_label("cancellation.logged").check()
        follow(page, page.get_by_role("button", name="Add webhook"))
        assert page.locator("#new-secret").inner_text().startswith("whsec_")
        assert_accessible(page, f"the webhooks page with a new secret at {viewport['width']} px")
        assert_fits(page)
        screenshot(page, f"webhooks-{suffix}")

        log(live, owner["email"], customer_email=f"{suffix}@client.test")
        with live.app_context():
            # This width's endpoint's delivery: the phone's endpoint hears of the desktop's cancellation too.
            queued = select(Delivery).join(WebhookEndpoint, WebhookEndpoint.id == Delivery.endpoint_id)
            queued = queued.where(WebhookEndpoint.url == LONG_URL + suffix, Delivery.status == "queued")
            delivery = db.session.scalars(queued).one()
            delivery.status, delivery.failed_at, delivery.attempts = "failed", utcnow(), 1
            db.session.add(
                DeliveryAttempt(
                    delivery=delivery, status_code=503, duration_ms=840, response_body="<h1>" + "busy " * 200
                )
            )
            db.session.commit()
        follow(page, page.get_by_role("link", name=LONG_URL + suffix))
        assert "503" in page.inner_text("main") and page.get_by_role("button", name="Replay").count() == 1
        assert_accessible(page, f"a webhook's page at {viewport['width']} px")
        assert_fits(page)
        screenshot(page, f"webhook-attempts-{suffix}")
        follow(page, page.get_by_role("button", name="Replay"))
        assert "goes again" in page.inner_text("main")
        context.close()
