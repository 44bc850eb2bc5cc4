"""A CSV import's progress page in headless Chromium: live with its script, refreshing itself without one."""

# ruff: noqa: F811 - the browser fixtures come from test_browser.py, and tests name them as parameters

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from conftest import deliver, run_jobs
from test_browser import (  # noqa: F401
    DESKTOP,
    PHONE,
    assert_accessible,
    assert_fits,
    assert_local_only,
    chromium,
    live,
    log_in,
    screenshot,
    watch_for_csp_violations,
)

from feedback.db import utcnow
from feedback.imports.operations import SAMPLE_HEADERS

pytestmark = pytest.mark.browser

ROWS = "".join(f"cus_{n},Ann {n},ann{n}@a.test,,,,,olivia@acme.test,,,,,,\n" for n in range(30))
FILE = (SAMPLE_HEADERS["cancellations"] + "\n" + ROWS).encode()
_clock = itertools.count(1)


def work(app) -> None:
    run_jobs(app, utcnow() + timedelta(minutes=next(_clock)))


def upload(page, base_url: str, name: str) -> None:
    page.goto(f"{base_url}/cancellations/import")
    page.set_input_files("input[type=file]", files=[{"name": name, "mimeType": "text/csv", "buffer": FILE}])
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_url("**/cancellations/import/*")


@pytest.mark.parametrize(("viewport", "suffix"), [(PHONE, "phone"), (DESKTOP, "desktop")], ids=["phone", "desktop"])
def test_the_progress_bar_moves_on_by_itself_at_both_widths(live, chromium, owner, smtp, viewport, suffix):
    context = chromium.new_context(viewport=viewport)
    violations = watch_for_csp_violations(context)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.requests = requests
    log_in(page, live.base_url, owner["email"])
    upload(page, live.base_url, f"{suffix}.csv")
    assert page.get_by_role("heading", name="Checking the file").is_visible()
    assert page.locator("progress#import-progress").count() == 1
    assert_accessible(page, f"the import's progress at {viewport['width']} px")
    assert_fits(page)
    screenshot(page, f"import-progress-{suffix}")

    work(live)  # the worker checks the file; the script notices and shows the preview
    page.get_by_role("heading", name="Ready to import").wait_for(timeout=10_000)
    page.get_by_role("button", name="Import 30 cancellations").click()
    page.wait_for_url("**/cancellations/import/*")
    assert page.get_by_role("heading", name="Importing 30 cancellations").is_visible()
    assert_accessible(page, f"the import under way at {viewport['width']} px")
    work(live)
    page.get_by_text("Imported 30 cancellations.").wait_for(timeout=10_000)
    assert_accessible(page, f"the finished import at {viewport['width']} px")
    assert_fits(page)
    screenshot(page, f"import-done-{suffix}")
    assert_local_only(page, live.base_url)
    context.close()
    assert violations == []
    deliver(live)
    done = [m for m in smtp.to(owner["email"]) if "Your CSV import is done" in str(m["Subject"])]
    assert len(done) == 1


def test_without_javascript_the_page_refreshes_itself(live, chromium, owner):
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    log_in(page, live.base_url, owner["email"])
    upload(page, live.base_url, "nojs.csv")
    assert page.get_by_role("heading", name="Checking the file").is_visible()
    work(live)
    page.get_by_role("heading", name="Ready to import").wait_for(timeout=10_000)  # the page reloaded by itself
    context.close()
