"""Paddle Billing's subscription events read as Paddle documents them, turned into feedback.billing's states.

`subscription.updated` carries the whole subscription but not what changed, so an update without a scheduled
cancellation is an undo only for a subscription Farewell knows as scheduled; one never seen is ignored.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from flask import current_app
from sqlalchemy import select

from feedback.billing import operations as billing
from feedback.billing.models import BillingSubscription
from feedback.billing.operations import BillingEvent
from feedback.customers.operations import find_customer
from feedback.extensions import db
from feedback.inputs.text import flattened
from feedback.postmortem.models import Cancellation, Customer
from feedback.webhooks.operations import Departure, billing_report, process_once
from feedback.webhooks.shapes import (
    MalformedEvent,
    as_identifier,
    as_instant,
    as_list,
    as_object,
    as_string,
    as_whole,
    currency_digits,
    fetch_json,
    monthly,
    total,
)

#: The Paddle events Farewell acts on; any other is acknowledged and ignored.
PADDLE_EVENTS = ("subscription.updated", "subscription.canceled", "subscription.past_due")
#: Statuses of a subscription still running, whose update without a scheduled cancellation undoes one.
RUNNING = ("active", "trialing", "past_due", "paused")


def _monthly(item: dict[str, Any], where: str, cycle: dict[str, Any], digits: int) -> Decimal | None:
    """One item's monthly revenue: `unit_price.amount` (a string of minor units) × quantity over its cycle."""
    if item.get("recurring") is False:
        return None
    price = as_object(item.get("price"), f"{where}.price")
    unit_price = as_object(price.get("unit_price"), f"{where}.price.unit_price")
    amount_text = as_string(unit_price.get("amount"), f"{where}.price.unit_price.amount")
    if not amount_text:
        return None
    if not (amount_text.isascii() and amount_text.isdigit() and len(amount_text) <= 15):
        raise MalformedEvent(f"{where}.price.unit_price.amount must be a whole number of minor units, as a string.")
    cycle = as_object(price.get("billing_cycle"), f"{where}.price.billing_cycle") or cycle
    interval = as_string(cycle.get("interval"), f"{where}.price.billing_cycle.interval") or "month"
    frequency = as_whole(cycle.get("frequency"), f"{where}.price.billing_cycle.frequency", 1) or 1
    quantity = as_whole(item.get("quantity"), f"{where}.quantity") or 1
    return monthly(int(amount_text), quantity, interval, frequency, digits)


def _plan(item: dict[str, Any], where: str) -> str:
    product = as_object(item.get("product"), f"{where}.product")
    price = as_object(item.get("price"), f"{where}.price")
    names = (product.get("name"), price.get("name"), price.get("description"), price.get("id"))
    return flattened(next((as_string(n, f"{where}.price") for n in names if n), ""))[:120]


def subscription_facts(subscription: dict[str, Any]) -> dict[str, Any]:
    """Plan, MRR lost (in `currency_code`'s main unit) and tenure from the subscription itself."""
    items = [as_object(item, f"data.items[{n}]") for n, item in enumerate(as_list(subscription.get("items"), "items"))]
    digits = currency_digits(subscription.get("currency_code"), "data.currency_code")
    cycle = as_object(subscription.get("billing_cycle"), "data.billing_cycle")
    since = as_instant(subscription.get("started_at"), "data.started_at")
    return {
        "plan": ", ".join(filter(None, (_plan(item, f"data.items[{n}]") for n, item in enumerate(items))))[:120],
        "mrr": total([_monthly(item, f"data.items[{n}]", cycle, digits) for n, item in enumerate(items)]),
        "currency": subscription["currency_code"].upper(),
        "customer_since": since.date() if since else None,
    }


def fetch_paddle_customer(customer_id: str) -> dict[str, Any] | None:
    """GET /customers/ID with PADDLE_API_KEY; None when Paddle can't tell us (or is unreachable)."""
    key = current_app.config["PADDLE_API_KEY"]
    if not key:
        return None
    url = f"{current_app.config['PADDLE_API_BASE']}/customers/{urllib.parse.quote(customer_id, safe='')}"
    found = fetch_json(url, {"Authorization": f"Bearer {key}"}, f"Paddle customer {customer_id}")
    data = found.get("data") if isinstance(found, dict) else None
    return data if isinstance(data, dict) else None


def contact_details(customer_id: str) -> tuple[dict[str, Any], Customer | None]:
    """Name and email from our Customer row, else from Paddle's API; else none (the postmortem needs contact)."""
    known = find_customer(customer_id)
    details: dict[str, Any] = {"external_id": customer_id}
    if known and known.email:
        details.update(name=known.name, email=known.email, company=known.company, owner_email=known.owner_email)
        return details, known
    found = fetch_paddle_customer(customer_id)
    if found:
        custom = found.get("custom_data") if isinstance(found.get("custom_data"), dict) else {}
        details.update(
            name=flattened(as_string(found.get("name"), "customer.name"))[:200],
            email=flattened(as_string(found.get("email"), "customer.email"))[:254],
            company=flattened(as_string(custom.get("company"), "customer.custom_data.company"))[:200],
            owner_email=flattened(as_string(custom.get("owner_email"), "customer.custom_data.owner_email"))[:254],
        )
    return details, known


_UNKNOWN = object()


def _known_state(subscription_id: str) -> object:
    """The subscription's state as Farewell knows it (None: only its payment), or _UNKNOWN if never seen."""
    row = db.session.execute(
        select(BillingSubscription.state).where(
            BillingSubscription.system == "paddle", BillingSubscription.subscription_id == subscription_id
        )
    ).first()
    return _UNKNOWN if row is None else row.state


def paddle_event(event: dict[str, Any]) -> tuple[Cancellation | None, bool] | None:
    """A subscription's cancellation scheduled, undone or ended, or its payment failing or paid again; None when
    the event says nothing about leaving. Raises MalformedEvent, before anything is written, for a wrong shape."""
    data = as_object(event.get("data"), "data")
    subscription_id = as_identifier(data.get("id"), "data.id")
    occurred_at = as_instant(event.get("occurred_at"), "occurred_at")
    if occurred_at is None:
        raise MalformedEvent("occurred_at must say when the event happened.")
    happened = BillingEvent("paddle", event["event_id"], occurred_at, subscription_id, "Paddle")
    status = as_string(data.get("status"), "data.status")
    change = as_object(data.get("scheduled_change"), "data.scheduled_change")
    action = as_string(change.get("action"), "data.scheduled_change.action")
    failing = True if event["event_type"] == "subscription.past_due" or status == "past_due" else None
    if status == "active":
        failing = False

    def then(transition: Callable[[], Cancellation | None]) -> Callable[[], Cancellation | None]:
        def work() -> Cancellation | None:
            if failing is not None:  # first, so that a cancellation in the same event reads it
                billing.payment_failing(happened, failing)
            return transition()

        return work

    once = partial(process_once, "paddle", event["event_id"])
    if event["event_type"] == "subscription.canceled" or status == "canceled":
        ended_at = as_instant(data.get("canceled_at"), "data.canceled_at") or occurred_at
        report = _report(event, data, ended_at)
        return once(then(lambda: billing.end(happened, ended_at, report)))
    if action == "cancel":
        ends_at = as_instant(change.get("effective_at"), "data.scheduled_change.effective_at")
        if ends_at is None:
            raise MalformedEvent("data.scheduled_change.effective_at must say when the cancellation takes effect.")
        report = _report(event, data, occurred_at)
        return once(then(lambda: billing.schedule(happened, ends_at, report)))
    known = _known_state(subscription_id)
    if status in RUNNING and known == "scheduled":
        return once(then(lambda: billing.stay(happened)))
    if failing or (failing is False and known is not _UNKNOWN):
        return once(then(lambda: None))
    return None


def _report(event: dict[str, Any], data: dict[str, Any], cancelled_at: datetime) -> Any:
    customer_id = as_identifier(data.get("customer_id"), "data.customer_id")
    details, known = contact_details(customer_id)
    subscription_id = data["id"]
    return billing_report(
        Departure(
            customer={**details, **subscription_facts(data)},
            known=known,
            source="paddle",
            reference=event["event_id"],
            cancelled_at=cancelled_at,
            involuntary=lambda: billing.was_payment_failing("paddle", subscription_id),
        )
    )
