"""Zendesk: the customer's tickets by requester address, each with its first comment and its metrics.

Basic auth `{email}/token:{api_token}`; `GET /api/v2/search.json` with `type:ticket requester:"…"` newest first,
following `next_page` (on the same host only); then `GET /api/v2/tickets/{id}/comments.json` (oldest first, one)
and `GET /api/v2/tickets/{id}/metrics.json` (solved time, replies).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx

from feedback.helpdesk.connector import MAX_PAGES, Found, newest, searchable
from feedback.helpdesk.http import TIMEOUT, Endpoint, follows, get_json, parse_time, shape_error
from feedback.helpdesk.models import MAX_KEPT
from feedback.helpdesk.text import html_to_text, tidy


class Zendesk:
    name = "zendesk"
    label = "Zendesk"

    def __init__(self, base_url: str, email: str, api_token: str, max_bytes: int, transport: Any = None) -> None:
        self.endpoint = Endpoint(self.label, base_url, max_bytes, "the API token or email is wrong")
        self.client = httpx.Client(
            base_url=base_url,
            auth=(f"{email}/token", api_token),
            timeout=TIMEOUT,
            headers={"Accept": "application/json"},
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def conversations(self, email: str, since: datetime) -> list[Found]:
        self.endpoint.start()
        return newest(self._tickets(email, since), since)

    def query(self, email: str, since: datetime) -> str:
        """The search, with the address quoted so that nothing in it can add a term."""
        return f'type:ticket requester:"{searchable(self.label, email)}" created>={since.strftime("%Y-%m-%d")}'

    def _tickets(self, email: str, since: datetime) -> Iterator[Found]:
        params: dict[str, Any] | None = {
            "query": self.query(email, since),
            "sort_by": "created_at",
            "sort_order": "desc",
        }
        url = "/api/v2/search.json"
        seen: set[str] = set()
        count = 0
        for _ in range(MAX_PAGES):
            page = get_json(self.client, self.endpoint, url, params=params)
            if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                raise shape_error(self.label, "no results list")
            for ticket in page["results"]:
                if not isinstance(ticket, dict) or ticket.get("result_type", "ticket") != "ticket":
                    continue
                found = self._ticket(ticket)
                if found is not None:
                    count += 1
                    yield found
                if count >= MAX_KEPT:
                    return
            next_page = page.get("next_page")
            if not follows(self.endpoint, next_page, seen):
                return
            url, params = next_page, None

    def _ticket(self, ticket: dict[str, Any]) -> Found | None:
        ticket_id = ticket.get("id")
        opened_at = parse_time(ticket.get("created_at"))
        if not isinstance(ticket_id, int) or opened_at is None:
            return None
        comment = self._first_comment(ticket_id)
        metrics = self._metrics(ticket_id)
        rating = ticket.get("satisfaction_rating")
        score = rating.get("score", "") if isinstance(rating, dict) else ""
        via = ticket.get("via")
        author = comment.get("author_id")
        requester = ticket.get("requester_id")
        return Found(
            external_id=str(ticket_id),
            url=f"{self.endpoint.base_url}/agent/tickets/{ticket_id}",
            subject=str(ticket.get("subject") or ticket.get("raw_subject") or ""),
            status=str(ticket.get("status") or ""),
            channel=str(via.get("channel", "")) if isinstance(via, dict) else "",
            opened_at=opened_at,
            solved_at=parse_time(metrics.get("solved_at")),
            replies=metrics.get("replies") if isinstance(metrics.get("replies"), int) else None,
            satisfaction=score if score in ("good", "bad") else "",
            tags=ticket.get("tags") if isinstance(ticket.get("tags"), list) else [],
            opening_message=_comment_text(comment) or tidy(str(ticket.get("description") or "")),
            opened_by_customer=author is None or requester is None or author == requester,
        )

    def _first_comment(self, ticket_id: int) -> dict[str, Any]:
        page = get_json(
            self.client,
            self.endpoint,
            f"/api/v2/tickets/{ticket_id}/comments.json",
            params={"sort_order": "asc", "per_page": 1},
        )
        comments = page.get("comments") if isinstance(page, dict) else None
        if not isinstance(comments, list):
            raise shape_error(self.label, "no comments list")
        return comments[0] if comments and isinstance(comments[0], dict) else {}

    def _metrics(self, ticket_id: int) -> dict[str, Any]:
        page = get_json(self.client, self.endpoint, f"/api/v2/tickets/{ticket_id}/metrics.json")
        metrics = page.get("ticket_metric") if isinstance(page, dict) else None
        return metrics if isinstance(metrics, dict) else {}


def _comment_text(comment: dict[str, Any]) -> str:
    html = comment.get("html_body")
    if isinstance(html, str) and html:
        return html_to_text(html)
    for key in ("plain_body", "body"):
        if isinstance(comment.get(key), str):
            return tidy(comment[key])
    return ""
