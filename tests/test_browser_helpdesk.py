"""The help desk's pages in headless Chromium at 375 and 1280 px: axe clean, nothing sideways, nothing remote."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import log, run_jobs
from test_browser import (
    DESKTOP,
    PHONE,
    assert_accessible,
    assert_fits,
    assert_local_only,
    chromium,  # noqa: F401 - test_browser's browser fixture, asked for by name below
    log_in,
    screenshot,
    served,
)
from zendesk_fake import FakeZendesk, settings

from feedback.db import utcnow

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


@pytest.mark.parametrize(("viewport", "suffix"), [(PHONE, "phone"), (DESKTOP, "desktop")], ids=["phone", "desktop"])
def test_the_review_page_with_conversations_passes_axe_and_fits(
    database_url, smtp, request, admin, httpserver, viewport, suffix
):
    browser = request.getfixturevalue("chromium")
    FakeZendesk(httpserver)
    with served(database_url, smtp, MAIL_BACKEND="local", **settings(httpserver)) as app:
        cancellation_id = log(app, admin["email"], cancelled_at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
        run_jobs(app, utcnow())
        context = browser.new_context(viewport=viewport)
        requests: list[str] = []
        context.on("request", lambda request: requests.append(request.url))
        page = context.new_page()
        page.requests = requests
        log_in(page, app.base_url, admin["email"])
        for name, path in {
            "review": f"/cancellations/{cancellation_id}/review",
            "postmortem": f"/cancellations/{cancellation_id}",
            "integrations": "/admin/integrations/",
        }.items():
            response = page.goto(f"{app.base_url}{path}")
            assert response.status == 200, path
            assert_accessible(page, f"the {name} page with conversations at {viewport['width']} px")
            assert_fits(page)
            screenshot(page, f"helpdesk-{name}-{suffix}")
        page.goto(f"{app.base_url}/cancellations/{cancellation_id}/review")
        straw = page.locator(".final-straw")
        assert "Export <b>broken</b> again <script>alert(1)</script>" in straw.inner_text()  # shown as text
        assert page.get_by_role("heading", name="Before they left").is_visible()
        assert_local_only(page, app.base_url)
        context.close()
