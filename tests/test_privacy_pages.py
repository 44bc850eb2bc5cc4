"""Privacy, audit and password-reset pages in headless Chromium, phone and desktop: axe, no sideways scroll."""

# ruff: noqa: F811 - the browser fixtures come from test_browser.py, and tests name them as parameters

from __future__ import annotations

import pytest
from conftest import log
from test_browser import DESKTOP, PHONE, assert_fits, chromium, live, open_admin, screenshot  # noqa: F401
from test_customer_experience import assert_accessible

pytestmark = pytest.mark.browser


def test_admin_erases_a_customer_and_reads_the_audit_trail(live, chromium, smtp, owner, admin):
    cancellation_id = log(live, owner["email"], customer_name="Pat Private", customer_email="pat@client.test")
    for viewport, suffix in ((PHONE, "phone"), (DESKTOP, "desktop")):
        context = chromium.new_context(viewport=viewport)
        page = context.new_page()
        open_admin(page, live, admin)
        page.goto(f"{live.base_url}/cancellations/{cancellation_id}")
        if suffix == "phone":
            assert page.get_by_role("button", name="Download their data (JSON)").is_visible()
            page.get_by_role("link", name="Erase their data…").click()
            assert_accessible(page, "the erase page")
            assert_fits(page)
            screenshot(page, f"privacy-erase-{suffix}")
            page.get_by_label("Type the customer's email address to confirm").fill("pat@client.test")
            page.get_by_role("button", name="Erase for good").click()
            assert "Erased customer" in page.inner_text("main")
        assert_accessible(page, "a cancellation's page with its personal-data card")
        assert_fits(page)
        screenshot(page, f"privacy-card-{suffix}")
        page.goto(f"{live.base_url}/admin/audit")
        assert "customer.erase" in page.inner_text("main")
        assert_accessible(page, "the audit trail")
        assert_fits(page)
        screenshot(page, f"audit-trail-{suffix}")
        context.close()


def test_password_reset_pages(live, chromium, smtp, owner):
    for viewport, suffix in ((PHONE, "phone"), (DESKTOP, "desktop")):
        context = chromium.new_context(viewport=viewport)
        page = context.new_page()
        page.goto(f"{live.base_url}/login")
        page.get_by_role("link", name="Forgot your password?").click()
        assert_accessible(page, "the reset request page")
        assert_fits(page)
        screenshot(page, f"reset-request-{suffix}")
        page.get_by_label("Email").fill(owner["email"])
        page.get_by_role("button", name="Email me a link").click()
        assert "Check your email" in page.inner_text("main")
        assert_accessible(page, "the reset sent page")
        context.close()
