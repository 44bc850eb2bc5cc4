"""Freshdesk: the customer's tickets by requester address, updated since the look-back, with their description.

Basic auth `{api_key}:X`; `GET /api/v2/tickets?email=…&updated_since=…&include=description,stats`, newest first,
100 a page, following the `Link: <…>; rel="next"` header (on the same host only).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx

from feedback.helpdesk.connector import MAX_PAGES, Found, newest, searchable
from feedback.helpdesk.http import TIMEOUT, Endpoint, follows, parse_time, request_json_with_headers, shape_error
from feedback.helpdesk.models import MAX_KEPT
from feedback.helpdesk.text import html_to_text, tidy

#: Freshdesk's documented ticket statuses and sources (numbers in the API).
STATUSES = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
SOURCES = {1: "email", 2: "portal", 3: "phone", 7: "chat", 9: "feedback widget", 10: "outbound email"}
OUTBOUND = 10


class Freshdesk:
    name = "freshdesk"
    label = "Freshdesk"

    def __init__(self, base_url: str, api_key: str, max_bytes: int, transport: Any = None) -> None:
        self.endpoint = Endpoint(self.label, base_url, max_bytes, "the API key is wrong")
        self.client = httpx.Client(
            base_url=base_url,
            auth=(api_key, "X"),
            timeout=TIMEOUT,
            headers={"Accept": "application/json"},
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def conversations(self, email: str, since: datetime) -> list[Found]:
        self.endpoint.start()
        return newest(self._tickets(email, since), since)

    def _tickets(self, email: str, since: datetime) -> Iterator[Found]:
        params: dict[str, Any] | None = {
            "email": searchable(self.label, email),
            "updated_since": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "include": "description,stats",
            "order_by": "created_at",
            "order_type": "desc",
            "per_page": 100,
        }
        url, seen, count = "/api/v2/tickets", set[str](), 0
        for _ in range(MAX_PAGES):
            page, headers = request_json_with_headers(self.client, self.endpoint, "GET", url, params=params)
            if not isinstance(page, list):
                raise shape_error(self.label, "no list of tickets")
            for ticket in page:
                found = self._ticket(ticket) if isinstance(ticket, dict) else None
                if found is not None:
                    count += 1
                    yield found
                if count >= MAX_KEPT:
                    return
            following = httpx.Response(200, headers=headers).links.get("next", {}).get("url")
            if not follows(self.endpoint, following, seen):
                return
            url, params = following, None

    def _ticket(self, ticket: dict[str, Any]) -> Found | None:
        ticket_id, opened_at = ticket.get("id"), parse_time(ticket.get("created_at"))
        if not isinstance(ticket_id, int) or opened_at is None:
            return None
        stats = ticket.get("stats") if isinstance(ticket.get("stats"), dict) else {}
        html = ticket.get("description")
        text = html_to_text(html) if isinstance(html, str) and html else tidy(str(ticket.get("description_text") or ""))
        source = ticket.get("source")
        return Found(
            external_id=str(ticket_id),
            url=f"{self.endpoint.base_url}/a/tickets/{ticket_id}",
            subject=str(ticket.get("subject") or ""),
            status=STATUSES.get(ticket.get("status"), str(ticket.get("status") or "")),  # type: ignore[arg-type]
            channel=SOURCES.get(source, "") if isinstance(source, int) else "",
            opened_at=opened_at,
            solved_at=parse_time(stats.get("resolved_at")) or parse_time(stats.get("closed_at")),
            tags=ticket.get("tags") if isinstance(ticket.get("tags"), list) else [],
            opening_message=text,
            opened_by_customer=source != OUTBOUND,
        )
