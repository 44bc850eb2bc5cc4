"""The events Farewell tells other systems about, with the version of their payloads."""

from __future__ import annotations

#: Bumped when a payload loses or changes a field; added fields keep the version.
PAYLOAD_VERSION = 1

#: Every event type, with what it means (the OpenAPI document's `webhooks` section and the docs show these).
EVENTS: dict[str, str] = {
    "cancellation.logged": "A cancellation was logged (by hand, the API, Stripe, a webhook or an import).",
    "cancellation.scheduled": (
        "A customer scheduled a cancellation in their billing system (Stripe, Paddle or Chargebee): `ends_at` says "
        "when it takes effect. Sent again, with the new date, when the date moves."
    ),
    "cancellation.stayed": (
        "A customer who had scheduled a cancellation undid it before it took effect: the postmortem ended as "
        "stayed, its unsent mail withdrawn. `billing` names the system."
    ),
    "survey.answered": "The customer answered the exit survey.",
    "review.submitted": "The internal review was submitted.",
    "summary.sent": "The summary (the customer's answers and the review combined) was sent to the owner.",
    "customer.replied": "The customer replied by email about their cancellation.",
    "action_item.created": "An action item was created.",
    "action_item.overdue": "An open action item went past its due date.",
    "action_item.closed": "An action item was closed (done or dropped).",
    "winback.consented": "The customer agreed to be told when what made them leave is fixed.",
    "customer.erased": "A customer's personal data was erased; earlier events about them lost it too.",
}

#: Documented, not yet emitted (none today; the catalogue keeps the word for the next ones).
COMING: frozenset[str] = frozenset()

#: The events that Slack and Teams endpoints get a message for; the others carry nothing a channel needs.
MESSAGE_EVENTS = frozenset({"summary.sent", "action_item.overdue", "customer.replied", "cancellation.stayed"})

KINDS = ("standard", "slack", "teams")


def events_for(kind: str, chosen: list[str] | None) -> list[str]:
    """What an endpoint of `kind` hears: the chosen events, or (none chosen) every event it has a message for."""
    offered = [name for name in EVENTS if kind == "standard" or name in MESSAGE_EVENTS]
    return [name for name in offered if not chosen or name in chosen]
