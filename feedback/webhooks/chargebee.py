"""Chargebee's subscription events read as Chargebee documents them (API v2), turned into feedback.billing's states."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from feedback.billing import operations as billing
from feedback.billing.operations import BillingEvent
from feedback.customers.operations import find_customer
from feedback.inputs.schemas import STRIPE_FEEDBACK
from feedback.inputs.text import flattened
from feedback.postmortem.models import Cancellation
from feedback.webhooks.operations import Departure, billing_report, process_once
from feedback.webhooks.shapes import (
    LARGEST_COUNT,
    MalformedEvent,
    as_identifier,
    as_list,
    as_moment,
    as_object,
    as_string,
    as_whole,
    currency_digits,
    monthly,
    total,
)

#: The Chargebee events Farewell acts on, and the state each one means; any other is acknowledged and ignored.
CHARGEBEE_EVENTS = {
    "subscription_cancellation_scheduled": "schedule",
    "subscription_scheduled_cancellation_removed": "stay",
    "subscription_cancelled": "end",
}
#: Chargebee's `cancel_reason` for a subscription the customer did not choose to end, as the timeline says it.
INVOLUNTARY_REASONS = {
    "not_paid": "Not paid",
    "no_card": "No card on file",
    "fraud_review_failed": "Fraud review failed",
    "tax_calculation_failed": "Tax calculation failed",
    "currency_incompatible_with_gateway": "Currency not supported by the payment gateway",
}


def _monthly(item: dict[str, Any], where: str, digits: int, period: tuple[str, int]) -> Decimal | None:
    """A plan or addon's monthly revenue: `amount` (or `unit_price` × `quantity`) in minor units over the period.

    A one-off charge is no recurring revenue; a tiered price without an amount tells none.
    """
    if as_string(item.get("item_type"), f"{where}.item_type") == "charge":
        return None
    amount = as_whole(item.get("amount"), f"{where}.amount", 0, LARGEST_COUNT)
    quantity = as_whole(item.get("quantity"), f"{where}.quantity") or 1
    if amount is None:
        unit_price = as_whole(item.get("unit_price"), f"{where}.unit_price", 0, LARGEST_COUNT)
        if unit_price is None:
            return None
        amount = unit_price * quantity
    return monthly(amount, 1, period[0], period[1], digits)


def subscription_facts(subscription: dict[str, Any]) -> dict[str, Any]:
    """Plan, MRR lost (in `currency_code`'s main unit) and tenure; `subscription_items` on Product Catalog 2.0
    sites, `plan_amount` (or `plan_unit_price` × `plan_quantity`) on older ones."""
    digits = currency_digits(subscription.get("currency_code"), "content.subscription.currency_code")
    unit = as_string(subscription.get("billing_period_unit"), "content.subscription.billing_period_unit") or "month"
    count = as_whole(subscription.get("billing_period"), "content.subscription.billing_period", 1) or 1
    items = as_list(subscription.get("subscription_items"), "content.subscription.subscription_items")
    where = "content.subscription.subscription_items"
    items = [as_object(item, f"{where}[{n}]") for n, item in enumerate(items)]
    if items:
        mrr = total([_monthly(item, f"{where}[{n}]", digits, (unit, count)) for n, item in enumerate(items)])
        plans = [as_string(item.get("item_price_id"), f"{where}[{n}].item_price_id") for n, item in enumerate(items)]
        plans = [plan for plan, item in zip(plans, items, strict=True) if item.get("item_type") in (None, "plan")]
    else:
        old = {
            "amount": subscription.get("plan_amount"),
            "unit_price": subscription.get("plan_unit_price"),
            "quantity": subscription.get("plan_quantity"),
        }
        mrr = _monthly(old, "content.subscription.plan", digits, (unit, count))
        plans = [as_string(subscription.get("plan_id"), "content.subscription.plan_id")]
    started = subscription.get("started_at") or subscription.get("created_at")
    since = as_moment(started, "content.subscription.started_at")
    return {
        "plan": flattened(", ".join(filter(None, plans)))[:120],
        "mrr": mrr,
        "currency": subscription["currency_code"].upper(),
        "customer_since": since.date() if since else None,
    }


def contact_details(customer: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """`content.customer`'s email, first and last name and company; our Customer row fills what it lacks."""
    customer_id = as_identifier(customer.get("id"), "content.customer.id")
    known = find_customer(customer_id)
    keys = ("email", "first_name", "last_name", "company")
    read = {key: as_string(customer.get(key), f"content.customer.{key}") for key in keys}
    details: dict[str, Any] = {
        "external_id": customer_id,
        "name": flattened(f"{read['first_name']} {read['last_name']}".strip())[:200],
        "email": flattened(read["email"])[:254],
        "company": flattened(read["company"])[:200],
    }
    if known:
        for key in ("name", "email", "company"):
            details[key] = details[key] or getattr(known, key)
        details["owner_email"] = known.owner_email
    return details, known


def _feedback(code: str) -> str:
    """`cancel_reason_code` pre-selects the survey's main reason when the site's codes match ours ("Too expensive",
    "too_expensive"); anything else is kept as the comment."""
    choice = code.strip().lower().replace(" ", "_").replace("-", "_")
    return choice if choice in STRIPE_FEEDBACK else ""


def chargebee_event(event: dict[str, Any]) -> tuple[Cancellation | None, bool]:
    """The event's state change, once per event id. Raises MalformedEvent, before anything is written."""
    content = as_object(event.get("content"), "content")
    subscription = as_object(content.get("subscription"), "content.subscription")
    if not subscription:
        raise MalformedEvent("content.subscription must be the subscription.")
    occurred_at = as_moment(event.get("occurred_at"), "occurred_at")
    if occurred_at is None:
        raise MalformedEvent("occurred_at must say when the event happened.")
    subscription_id = as_identifier(subscription.get("id"), "content.subscription.id")
    happened = BillingEvent("chargebee", event["id"], occurred_at, subscription_id, "Chargebee")
    once = partial(process_once, "chargebee", event["id"])
    change = CHARGEBEE_EVENTS[event["event_type"]]
    if change == "stay":
        return once(lambda: billing.stay(happened))
    cancelled_at = as_moment(subscription.get("cancelled_at"), "content.subscription.cancelled_at")
    if cancelled_at is None and change == "schedule":
        raise MalformedEvent("content.subscription.cancelled_at must say when the cancellation takes effect.")
    report = _report(event, content, subscription, occurred_at if change == "schedule" else cancelled_at)
    if change == "schedule":
        ends_at = cancelled_at
        return once(lambda: billing.schedule(happened, ends_at, report))
    ended_at = cancelled_at or occurred_at
    return once(lambda: billing.end(happened, ended_at, report))


def _report(
    event: dict[str, Any], content: dict[str, Any], subscription: dict[str, Any], cancelled_at: datetime | None
) -> Any:
    customer = as_object(content.get("customer"), "content.customer")
    if not customer:
        customer = {"id": subscription.get("customer_id")}
    details, known = contact_details(customer)
    reason = as_string(subscription.get("cancel_reason"), "content.subscription.cancel_reason")
    code = flattened(as_string(subscription.get("cancel_reason_code"), "content.subscription.cancel_reason_code"))
    feedback = _feedback(code)
    return billing_report(
        Departure(
            customer={**details, **subscription_facts(subscription)},
            known=known,
            source="chargebee",
            reference=event["id"],
            reason=INVOLUNTARY_REASONS.get(reason, ""),
            feedback=feedback,
            comment="" if feedback else code,
            cancelled_at=cancelled_at or datetime.now(UTC),
            involuntary=reason in INVOLUNTARY_REASONS,
        )
    )
