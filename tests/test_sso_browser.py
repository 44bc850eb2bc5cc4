"""The login page's single sign-on button in headless Chromium, phone and desktop: axe finds nothing, nothing
scrolls sideways, and the button takes a person through a real provider on loopback and back, signed in."""

# ruff: noqa: F811 - the browser fixtures come from test_browser.py, and tests name them as parameters

from __future__ import annotations

import pytest
from oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from test_browser import DESKTOP, PHONE, assert_fits, chromium, follow, screenshot, served  # noqa: F401
from test_customer_experience import assert_accessible

pytestmark = pytest.mark.browser


def test_the_sso_button_signs_in_at_both_widths(database_url, smtp, chromium, owner):
    with Provider() as provider:
        provider.user = {"email": owner["email"], "name": owner["name"]}
        settings = {"OIDC_ISSUER": provider.issuer, "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET}
        with served(database_url, smtp, OIDC_NAME="Keycloak", **settings) as live:
            provider.redirect_uris = [f"{live.base_url}/login/sso/callback"]
            for viewport, suffix in ((PHONE, "phone"), (DESKTOP, "desktop")):
                context = chromium.new_context(viewport=viewport)
                page = context.new_page()
                page.goto(f"{live.base_url}/login")
                button = page.get_by_role("link", name="Sign in with Keycloak")
                assert button.is_visible()
                assert_accessible(page, f"the login page with single sign-on at {viewport['width']} px")
                assert_fits(page)
                screenshot(page, f"login-sso-{suffix}")
                follow(page, button)
                page.wait_for_url(f"{live.base_url}/cancellations/")
                assert "Log out" in page.inner_text("body")
                context.close()
