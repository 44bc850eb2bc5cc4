"""Takes the README's screenshots (docs/img/summary.png, docs/img/insights.png) of a running `make run` app.

Headless Debian Chromium through Playwright, at 1280 × 900, logged in as the demo admin. The summary shown is the
first demo postmortem whose customer answered. Usage: `.venv/bin/python scripts/docs_screenshots.py [BASE_URL]`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "img"


def main(base: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "/login")
        page.fill("input[name=email]", "admin@example.com")
        page.fill("input[name=password]", "farewell-demo")
        page.click("button[type=submit], input[type=submit]")
        page.goto(base + "/cancellations/summaries")
        links = [
            href
            for anchor in page.query_selector_all("a")
            if (href := anchor.get_attribute("href")) and re.search(r"/\d+/summary$", href)
        ]
        for link in links:
            page.goto(base + link)
            if "did not answer" not in page.content():
                break
        page.screenshot(path=str(IMAGES / "summary.png"))
        page.goto(base + "/insights/")
        page.screenshot(path=str(IMAGES / "insights.png"))
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:5000")
