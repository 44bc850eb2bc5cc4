"""A cancellation as outbound events describe it: the facts every event about it carries, the same everywhere."""

from __future__ import annotations

from typing import Any

from flask import current_app

from feedback.events.emit import emit, emit_all
from feedback.events.models import Event
from feedback.postmortem.models import Cancellation
from feedback.urls import external_url


def cancellation_facts(cancellation: Cancellation) -> dict[str, Any]:
    """Ids, links and facts; the staff's reason is a fact, the customer's own words are `answers` (see `announce`)."""
    owner = cancellation.owner
    return {
        "cancellation_id": cancellation.id,
        "customer": {
            "name": cancellation.customer_name,
            "email": cancellation.customer_email,
            "company": cancellation.company,
        },
        "plan": cancellation.plan,
        "mrr": None if cancellation.mrr is None else str(cancellation.mrr),
        "currency": cancellation.currency or current_app.config.get("CURRENCY", "EUR"),
        "reason": cancellation.reason,
        "source": cancellation.source,
        "state": cancellation.state,
        "cancelled_at": cancellation.cancelled_at.isoformat(),
        "owner": {"id": owner.id, "name": owner.name, "email": owner.email} if owner else None,
        "links": {"cancellation": external_url("cancellations.detail", cancellation_id=cancellation.id)},
    }


def announce(
    event_type: str, cancellation: Cancellation, answers: Any = None, links: dict[str, str] | None = None, **facts: Any
) -> Event:
    """Emits an event about `cancellation` inside the caller's transaction: its facts, more `facts`, more links."""
    data = cancellation_facts(cancellation) | facts
    if links:
        data["links"] = data["links"] | links
    return emit(event_type, data, answers=answers, cancellation_id=cancellation.id)


def logged_answers(cancellation: Cancellation) -> dict[str, str] | None:
    """What the customer typed when cancelling (a complaint, Stripe's comment): their own words."""
    words = {"complaint": cancellation.complaint, "comment": cancellation.comment}
    return {key: value for key, value in words.items() if value} or None


def announce_logged(cancellations: list[Cancellation]) -> None:
    """cancellation.logged for each, in one go: a single cancellation or an import's batch."""
    emit_all([("cancellation.logged", cancellation_facts(c), logged_answers(c), c.id) for c in cancellations])
