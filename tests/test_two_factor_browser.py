"""Two-factor enrolment in headless Chromium, phone and desktop: axe finds nothing, nothing scrolls sideways, the
QR code is drawn in the page (no request leaves the server), and the code page follows."""

# ruff: noqa: F811 - the browser fixtures come from test_browser.py, and tests name them as parameters

from __future__ import annotations

import time

import pyotp
import pytest
from conftest import PASSWORD
from test_browser import DESKTOP, PHONE, assert_fits, chromium, follow, screenshot, served  # noqa: F401
from test_customer_experience import assert_accessible

pytestmark = pytest.mark.browser


def test_an_admin_enrols_then_signs_in_with_a_code_at_both_widths(database_url, smtp, chromium, admin):
    secret = ""
    with served(database_url, smtp, REQUIRE_2FA="admins") as live:
        for viewport, suffix in ((PHONE, "phone"), (DESKTOP, "desktop")):
            context = chromium.new_context(viewport=viewport)
            page = context.new_page()
            requested: list[str] = []
            page.on("request", lambda request, seen=requested: seen.append(request.url))
            page.goto(f"{live.base_url}/login")
            page.get_by_label("Email").fill(admin["email"])
            page.get_by_label("Password").fill(PASSWORD)
            follow(page, page.get_by_role("button", name="Log in"))
            if suffix == "phone":
                assert page.url.endswith("/login/enrol")
                assert page.locator("figure.qr svg").is_visible()
                box = page.locator("figure.qr svg").bounding_box()
                assert box is not None and box["width"] >= 120  # big enough to scan
                assert_accessible(page, f"the enrolment page at {viewport['width']} px")
                assert_fits(page)
                assert [url for url in requested if not url.startswith((live.base_url, "data:"))] == []
                screenshot(page, f"two-factor-enrol-{suffix}")
                secret = page.locator("#totp-secret").inner_text()
                page.get_by_label("Code").fill("123 456")
                follow(page, page.get_by_role("button", name="Turn on and sign in"))
                assert "does not match" in page.inner_text("main")
                assert_accessible(page, f"the enrolment page with an error at {viewport['width']} px")
                page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
                follow(page, page.get_by_role("button", name="Turn on and sign in"))
                assert page.locator("#recovery-codes li").count() == 10
                assert_accessible(page, f"the recovery codes at {viewport['width']} px")
                assert_fits(page)
                screenshot(page, f"two-factor-codes-{suffix}")
                follow(page, page.get_by_role("link", name="I have saved them: continue"))
                assert "/cancellations/" in page.url
            else:
                assert page.url.endswith("/login/code")
                assert_accessible(page, f"the code page at {viewport['width']} px")
                assert_fits(page)
                screenshot(page, f"two-factor-code-{suffix}")
                page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
                follow(page, page.get_by_role("button", name="Continue"))
                assert "/cancellations/" in page.url
            context.close()
