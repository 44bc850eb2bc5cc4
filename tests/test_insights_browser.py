"""The insights page in headless Chromium at 375 and 1280 px: fits, passes axe, asks nothing of other servers."""

# ruff: noqa: F811 - the browser fixtures come from test_browser.py, and tests name them as parameters

from __future__ import annotations

import pytest
from conftest import PASSWORD
from test_browser import DESKTOP, PHONE, assert_fits, assert_local_only, chromium, live, screenshot  # noqa: F401
from test_customer_experience import assert_accessible

from feedback.extensions import db

pytestmark = pytest.mark.browser


def log_in(page, live, email: str) -> None:
    page.goto(f"{live.base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/cancellations/")


def test_empty_insights_help_and_pass_axe(live, chromium, admin):
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    log_in(page, live, admin["email"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insights").click()
    assert page.get_by_role("heading", name="Your insights appear here").is_visible()
    assert_fits(page)
    assert_accessible(page, "the empty insights page")
    screenshot(page, "insights-empty-phone")
    context.close()


#: The headline numbers that wrap onto a second line or run past their card.
KPI_BROKEN = """() => [...document.querySelectorAll('.kpi-value')]
  .filter(e => e.getClientRects().length !== 1
    || e.getBoundingClientRect().height > 1.5 * parseFloat(getComputedStyle(e).lineHeight)
    || e.scrollWidth > e.clientWidth + 1
    || e.getBoundingClientRect().right > e.parentElement.getBoundingClientRect().right)
  .map(e => e.textContent)"""


def test_insights_at_375_and_1280(live, chromium, admin):
    from feedback.insights.bulk import load

    with live.app_context():
        load(3000, seed=7)
        db.session.remove()
    for viewport, suffix in ((PHONE, "phone"), (DESKTOP, "desktop")):
        context = chromium.new_context(viewport=viewport)
        requests: list[str] = []
        context.on("request", lambda request, requests=requests: requests.append(request.url))
        page = context.new_page()
        page.requests = requests
        log_in(page, live, admin["email"])
        page.goto(f"{live.base_url}/insights/")
        assert page.get_by_role("heading", name="Why they left").is_visible()
        assert page.locator("svg.chart").count() >= 12
        assert page.locator("svg.chart title").count() == page.locator("svg.chart").count()
        assert_fits(page)
        broken = page.evaluate(KPI_BROKEN)
        assert not broken, broken  # "€546,636.5" over "0" at 1280 px
        assert_accessible(page, f"insights ({suffix})")
        screenshot(page, f"insights-{suffix}")
        for summary in page.locator("details.numbers > summary").all():
            summary.click()  # every table open: still no sideways scroll, still accessible
        assert_fits(page)
        assert_accessible(page, f"insights with every table open ({suffix})")
        page.goto(f"{live.base_url}/insights/")
        page.get_by_label("Plan", exact=True).select_option("Team")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url("**plan=Team**")
        assert page.get_by_label("Plan", exact=True).input_value() == "Team"
        assert_fits(page)
        screenshot(page, f"insights-team-{suffix}")
        assert_local_only(page, live.base_url)
        context.close()


#: A4 paper's width and height in CSS pixels (210 × 297 mm at 96 to the inch): what Chromium lays a printed page on.
A4 = {"width": 794, "height": 1123}

#: The charts, the tables and their scroll boxes that are wider than their box or run past the page's right edge.
CUT_OFF = """() => {
  const edge = document.documentElement.clientWidth + 0.5;
  return [...document.querySelectorAll('svg.chart, table.data, .data-wrap')]
    .filter(e => e.getBoundingClientRect().right > edge || e.scrollWidth > e.clientWidth + 1)
    .map(e => `${e.tagName.toLowerCase()}.${e.getAttribute('class')}#${e.id || e.closest('[id]')?.id}`);
}"""


def test_insights_print_on_a4(live, chromium, admin):
    """Printed, every chart and every table of numbers is on the paper (closed "The numbers" too), none cut off."""
    from feedback.insights.bulk import load

    with live.app_context():
        load(3000, seed=11)
        db.session.remove()
    context = chromium.new_context(viewport=A4)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.requests = requests
    log_in(page, live, admin["email"])
    page.goto(f"{live.base_url}/insights/")
    closed = page.locator("details.numbers:not([open]) table.data")
    assert closed.count() >= 8 and not closed.first.is_visible()  # on screen the numbers wait behind a click
    page.emulate_media(media="print")
    charts, tables = page.locator("svg.chart"), page.locator("table.data")
    assert charts.count() >= 12 and tables.count() >= 12
    hidden = [
        element.get_attribute("id") or element.locator("caption").text_content()
        for element in [*charts.all(), *tables.all()]
        if not element.is_visible()
    ]
    assert hidden == [], f"not printed: {hidden}"
    assert not page.get_by_role("button", name="Apply").is_visible()  # the filter form stays on screen
    assert_fits(page)
    assert page.evaluate(CUT_OFF) == []
    screenshot(page, "insights-print-a4")
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF-")
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert pages >= 3 and len(pdf) > 100_000, (pages, len(pdf))
    assert_local_only(page, live.base_url)
    context.close()
