"""`GET /api/v1/events`, for systems that cannot receive webhooks, and the events' place in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from feedback.events.catalogue import COMING, EVENTS
from feedback.events.models import Event
from feedback.events.payload import standard_body
from feedback.extensions import db

MAX_LIMIT = 500

#: One event, as a webhook's body carries it and as the list gives it. `data` varies with the type: ids, links
#: and facts (`cancellation_id`, `customer`, `owner`, `links`…); `answers` only to endpoints that include answers.
EVENT = {
    "type": "object",
    "required": ["id", "type", "version", "timestamp", "data"],
    "properties": {
        "id": {"type": "integer", "description": "Increasing: poll with after=<the last id you have>."},
        "type": {"type": "string", "enum": list(EVENTS)},
        "version": {"type": "integer", "description": "Of the payload's shape; added fields keep it."},
        "timestamp": {"type": "string", "format": "date-time"},
        "data": {"type": "object"},
    },
}

EVENT_PAGE = {
    "type": "object",
    "required": ["data", "next_after"],
    "properties": {
        "data": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
        "next_after": {
            "oneOf": [{"type": "integer"}, {"type": "null"}],
            "description": "Pass as `after` for the next page; null when this page was the last.",
        },
    },
}


def events_after(after: int, limit: int) -> dict[str, Any]:
    """The next `limit` events after `after`, oldest first, without the customer's own words."""
    rows = db.session.scalars(select(Event).where(Event.id > after).order_by(Event.id).limit(limit)).all()
    return {
        "data": [standard_body(event, include_answers=False) for event in rows],
        "next_after": rows[-1].id if len(rows) == limit else None,
    }


def events_path(problems: Any, json_answer: Any, query: Any) -> dict[str, Any]:
    """The path item, built with the document's own helpers (problem answers, JSON answers, query parameters)."""
    return {
        "get": {
            "operationId": "listEvents",
            "description": "Every event in order, the same as webhooks carry, without the customer's own words.",
            "parameters": [
                query("after", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, "Events after this id."),
                query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
            ],
            "responses": {"200": json_answer("Oldest first.", EVENT_PAGE), **problems("400", "401")},
        }
    }


def webhooks_section() -> dict[str, Any]:
    """OpenAPI 3.1's `webhooks`: one POST per event type, as a receiver gets it (Standard Webhooks headers)."""
    headers = [
        {"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "description": about}
        for name, about in (
            ("webhook-id", "The delivery's id (msg_…), the same on every retry: deduplicate on it."),
            ("webhook-timestamp", "Seconds since the epoch, of this attempt."),
            ("webhook-signature", "v1,<base64 HMAC-SHA256> of id.timestamp.body with the endpoint's secret."),
        )
    ]
    return {
        name: {
            "post": {
                "operationId": "event_" + name.replace(".", "_"),
                "summary": name + (" (coming)" if name in COMING else ""),
                "description": meaning,
                "parameters": headers,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}},
                },
                "responses": {
                    "200": {"description": "Any 2xx: delivered."},
                    "410": {"description": "Gone: Farewell disables the endpoint."},
                },
            }
        }
        for name, meaning in EVENTS.items()
    }
