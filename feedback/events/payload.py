"""What one endpoint is sent for one event: the same bytes on every retry, built from the stored event."""

from __future__ import annotations

import json
from typing import Any

from feedback.events.messages import slack_message, teams_message
from feedback.events.models import Event, WebhookEndpoint


def standard_body(event: Event, include_answers: bool) -> dict[str, Any]:
    """The Standard Webhooks shape (type, timestamp, data), with the event's id and payload version beside them."""
    data = dict(event.data)
    if include_answers and event.answers is not None:
        data["answers"] = event.answers
    return {
        "id": event.id,
        "type": event.type,
        "version": event.version,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": data,
    }


def body_for(event: Event, endpoint: WebhookEndpoint) -> bytes:
    """JSON for the endpoint's kind; Slack and Teams get a message only a person reads, not the payload."""
    answers = event.answers if endpoint.include_answers else None
    if endpoint.kind == "slack":
        document = slack_message(event.type, event.data, answers)
    elif endpoint.kind == "teams":
        document = teams_message(event.type, event.data, answers)
    else:
        document = standard_body(event, endpoint.include_answers)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
