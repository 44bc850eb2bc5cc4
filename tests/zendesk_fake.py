"""A Zendesk on loopback (pytest-httpserver) answering the documented endpoints with tests/fixtures/zendesk."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

FIXTURES = Path(__file__).parent / "fixtures" / "zendesk"
EMAIL, TOKEN = "agent@acme.test", "zd-api-token"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def settings(httpserver: Any) -> dict[str, str]:
    return {"ZENDESK_URL": httpserver.url_for("/").rstrip("/"), "ZENDESK_EMAIL": EMAIL, "ZENDESK_API_TOKEN": TOKEN}


class FakeZendesk:
    """Checks Zendesk's basic auth (`email/token:api_token`) on every request and paginates the search."""

    def __init__(self, httpserver: Any) -> None:
        self.server = httpserver
        self.searches: list[dict[str, str]] = []
        expected = base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
        self.authorization = f"Basic {expected}"
        httpserver.expect_request("/api/v2/search.json").respond_with_handler(self.authed(self.search))
        for ticket in (35436, 35102, 34001):
            httpserver.expect_request(f"/api/v2/tickets/{ticket}/comments.json").respond_with_handler(
                self.authed(lambda request, t=ticket: self.json(fixture(f"comments_{t}.json")))
            )
            httpserver.expect_request(f"/api/v2/tickets/{ticket}/metrics.json").respond_with_handler(
                self.authed(lambda request, t=ticket: self.json(fixture(f"metrics_{t}.json")))
            )

    def authed(self, handler: Any) -> Any:
        def respond(request: Request) -> Response:
            if request.headers.get("Authorization") != self.authorization:
                return self.json({"error": "Couldn't authenticate you"}, 401)
            return handler(request)

        return respond

    def search(self, request: Request) -> Response:
        self.searches.append(dict(request.args))
        if request.args.get("page") == "2":
            return self.json(fixture("search_page_2.json"))
        page = fixture("search_page_1.json")
        page["next_page"] = self.server.url_for("/api/v2/search.json") + "?page=2&query=" + request.args["query"]
        return self.json(page)

    @staticmethod
    def json(body: Any, status: int = 200) -> Response:
        return Response(json.dumps(body), status, content_type="application/json")
