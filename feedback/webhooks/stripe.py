"""Stripe's subscription events read as Stripe documents them: who, what they paid, and whether and when they leave."""

from __future__ import annotations

import urllib.parse
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select

from feedback.auth.models import User
from feedback.customers.operations import find_customer
from feedback.extensions import db
from feedback.inputs.text import CONTROLS, flattened
from feedback.postmortem.models import Customer
from feedback.webhooks.shapes import MalformedEvent, currency_digits, fetch_json, monthly, total
from feedback.webhooks.shapes import as_list as _list
from feedback.webhooks.shapes import as_moment as _moment
from feedback.webhooks.shapes import as_object as _object
from feedback.webhooks.shapes import as_string as _string
from feedback.webhooks.shapes import as_whole as _whole

#: Stripe's subscription.cancellation_details.reason, as the timeline says it.
STRIPE_REASONS = {
    "cancellation_requested": "Cancelled by the customer",
    "payment_failed": "Payment failed",
    "payment_disputed": "Payment disputed",
}


def _monthly(item: dict[str, Any], where: str, digits: int) -> Decimal | None:
    """One subscription item's monthly revenue, in the currency's main unit (Stripe counts in its minor units).

    A tiered or metered price has no `unit_amount` the event can tell a month by: unknown, never guessed.
    """
    price = _object(item.get("price") or item.get("plan"), f"{where}.price")
    amount = _whole(price.get("unit_amount", price.get("amount")), f"{where}.price.unit_amount")
    recurring = _object(price.get("recurring"), f"{where}.price.recurring") or price
    interval = _string(recurring.get("interval"), f"{where}.price.recurring.interval") or "month"
    count = _whole(recurring.get("interval_count"), f"{where}.price.recurring.interval_count", 1) or 1
    quantity = _whole(item.get("quantity"), f"{where}.quantity")
    if amount is None or recurring.get("usage_type") == "metered":
        return None
    return monthly(amount, quantity or 1, interval, count, digits)


#: Where a plan's name may be, the first one given winning.
PLAN_NAMES = ("nickname", "lookup_key", "id")


def _plan_name(item: dict[str, Any], where: str) -> str:
    price = _object(item.get("price") or item.get("plan"), f"{where}.price")
    product = price.get("product")  # an id, or the product itself when expanded
    name = _string(product.get("name"), f"{where}.price.product.name") if isinstance(product, dict) else ""
    nickname, lookup_key, price_id = (
        _string(price.get(k), f"{where}.price.{k}") for k in ("nickname", "lookup_key", "id")
    )
    return flattened(nickname or name or lookup_key or price_id)[:120]


def subscription_facts(subscription: dict[str, Any]) -> dict[str, Any]:
    """Plan, MRR lost and tenure from the subscription object itself; MalformedEvent where a type is wrong."""
    items = _list(_object(subscription.get("items"), "items").get("data"), "items.data")
    items = [_object(item, f"items.data[{n}]") for n, item in enumerate(items)]
    code = _string(subscription.get("currency"), "currency")
    for n, item in enumerate(items):
        price = _object(item.get("price") or item.get("plan"), f"items.data[{n}].price")
        code = code or _string(price.get("currency"), f"items.data[{n}].price.currency")
    digits = currency_digits(code, "currency") if code else 2
    amounts = [_monthly(item, f"items.data[{n}]", digits) for n, item in enumerate(items)]
    since = _moment(subscription.get("start_date"), "start_date")
    return {
        "plan": ", ".join(filter(None, (_plan_name(item, f"items.data[{n}]") for n, item in enumerate(items))))[:120],
        "mrr": _less_lasting_discounts(total(amounts), subscription, digits),
        "currency": code.upper() or None,
        "customer_since": since.date() if since else None,
    }


#: A coupon's `duration` that goes on past the next invoice, so the revenue lost is the discounted one.
LASTING = ("forever", "repeating")


def _less_lasting_discounts(mrr: Decimal | None, subscription: dict[str, Any], digits: int) -> Decimal | None:
    """MRR less a lasting percent- or amount-off coupon (`discount`, or expanded `discounts`); a once-off one is
    not subtracted. An amount off is taken as per month (Stripe takes it off each invoice)."""
    if mrr is None:
        return None
    found = [_object(subscription.get("discount"), "discount")]
    found += [d for d in _list(subscription.get("discounts"), "discounts") if isinstance(d, dict)]  # ids: not expanded
    for n, discount in enumerate(d for d in found if d):
        coupon = _object(
            discount.get("coupon") or _object(discount.get("source"), "discount.source").get("coupon"),
            f"discounts[{n}].coupon",
        )
        if _string(coupon.get("duration"), f"discounts[{n}].coupon.duration") not in LASTING:
            continue
        percent = coupon.get("percent_off")
        if percent is not None:
            if isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 <= percent <= 100:
                raise MalformedEvent(f"discounts[{n}].coupon.percent_off must be a number from 0 to 100.")
            mrr = mrr * (Decimal(100) - Decimal(str(percent))) / 100
        amount_off = _whole(coupon.get("amount_off"), f"discounts[{n}].coupon.amount_off")
        if amount_off is not None:
            mrr = max(Decimal(0), mrr - Decimal(amount_off) / Decimal(10) ** digits)
    return mrr.quantize(Decimal("0.01"))


def fetch_stripe_customer(customer_id: str) -> dict[str, Any] | None:
    """GET /v1/customers/ID with STRIPE_API_KEY; None when Stripe can't tell us (or is unreachable)."""
    key = current_app.config["STRIPE_API_KEY"]
    if not key:
        return None
    url = f"{current_app.config['STRIPE_API_BASE']}/v1/customers/{urllib.parse.quote(customer_id, safe='')}"
    found = fetch_json(url, {"Authorization": f"Bearer {key}"}, f"Stripe customer {customer_id}")
    if not isinstance(found, dict) or found.get("deleted"):
        return None
    return found


def contact_details(customer_ref: Any) -> tuple[dict[str, Any], Customer | None]:
    """Name, email and owner from the expanded customer, else our Customer row, else the Stripe API."""
    if not isinstance(customer_ref, str | dict | None):
        raise MalformedEvent("customer must be an id or an object.")
    customer_id = _string(customer_ref.get("id"), "customer.id") if isinstance(customer_ref, dict) else customer_ref
    if customer_id is not None and (len(customer_id) > 255 or CONTROLS.search(customer_id)):
        raise MalformedEvent("customer.id must be at most 255 printable characters.")
    known = find_customer(customer_id) if customer_id else None
    stripe_customer = customer_ref if isinstance(customer_ref, dict) and customer_ref.get("email") else None
    if stripe_customer is None and not (known and known.email) and customer_id:
        stripe_customer = fetch_stripe_customer(customer_id)
    details: dict[str, Any] = {"external_id": customer_id or None}
    if stripe_customer:
        metadata = _object(stripe_customer.get("metadata"), "customer.metadata")
        # Made one line and cut to the columns' lengths: what billing holds ("Acme\tInc", "Jenny Rosen\n") is
        # recorded as it reads, never refused for its formatting, or Stripe would retry a 422 for three days.
        details.update(
            name=flattened(_string(stripe_customer.get("name"), "customer.name"))[:200],
            email=flattened(_string(stripe_customer.get("email"), "customer.email"))[:254],
            company=flattened(_string(metadata.get("company"), "customer.metadata.company"))[:200],
            owner_email=flattened(_string(metadata.get("owner_email"), "customer.metadata.owner_email"))[:254],
        )
    elif known:
        details.update(name=known.name, email=known.email, company=known.company, owner_email=known.owner_email)
    return details, known


def default_owner(*candidates: str) -> str:
    """The first known, active staff address; else STRIPE_OWNER_EMAIL; else the first admin."""
    for email in (*candidates, current_app.config["STRIPE_OWNER_EMAIL"]):
        if email and db.session.scalar(select(User.id).where(User.email == email.lower(), User.active)):
            return email
    admin = db.session.scalar(select(User).where(User.role == "admin", User.active).order_by(User.id))
    return admin.email if admin else ""


def cancellation_details(subscription: dict[str, Any]) -> dict[str, str]:
    """Stripe's reason, the customer's feedback choice and their comment, each a string (or MalformedEvent)."""
    details = _object(subscription.get("cancellation_details"), "cancellation_details")
    return {key: _string(details.get(key), f"cancellation_details.{key}") for key in ("reason", "feedback", "comment")}


def stripe_cancelled_at(subscription: dict[str, Any], event: dict[str, Any]) -> datetime | None:
    for where, moment in (
        ("canceled_at", subscription.get("canceled_at")),
        ("ended_at", subscription.get("ended_at")),
        ("created", event.get("created")),
    ):
        if moment is not None:
            return _moment(moment, where)
    return None


#: Stripe's cancellation_details.reason for a subscription the customer did not choose to end.
INVOLUNTARY_REASONS = ("payment_failed", "payment_disputed")


def _scheduled(values: dict[str, Any], where: str) -> bool:
    """Whether these attributes of a subscription schedule its cancellation (at the period's end or at a date)."""
    at_period_end = values.get("cancel_at_period_end")
    if at_period_end is not None and not isinstance(at_period_end, bool):
        raise MalformedEvent(f"{where}cancel_at_period_end must be true or false.")
    return at_period_end is True or _moment(values.get("cancel_at"), f"{where}cancel_at") is not None


def schedule_change(subscription: dict[str, Any], previous: Any) -> str:
    """What a `customer.subscription.updated` did to the cancellation: schedule (or move) it, undo it, or ''.

    `previous` is `data.previous_attributes`: the values of the attributes this update changed.
    """
    previous = _object(previous, "previous_attributes")
    keys = ("cancel_at_period_end", "cancel_at")
    before = {key: previous[key] if key in previous else subscription.get(key) for key in keys}
    now, then = _scheduled(subscription, ""), _scheduled(before, "previous_attributes.")
    if now and not then:
        return "schedule"
    if then and not now:
        return "stay"
    if now and "cancel_at" in previous and previous["cancel_at"] != subscription.get("cancel_at"):
        return "schedule"  # the date moved
    return ""


def scheduled_end(subscription: dict[str, Any]) -> datetime:
    """When the scheduled cancellation takes effect: `cancel_at`, else the current period's end (on the
    subscription, or on its items since API version 2025-03-31)."""
    moment = _moment(subscription.get("cancel_at"), "cancel_at") or _moment(
        subscription.get("current_period_end"), "current_period_end"
    )
    items = _list(_object(subscription.get("items"), "items").get("data"), "items.data")
    for n, item in enumerate(items):
        if moment is None:
            moment = _moment(
                _object(item, f"items.data[{n}]").get("current_period_end"), f"items.data[{n}].current_period_end"
            )
    if moment is None:
        raise MalformedEvent("cancel_at or current_period_end must say when the cancellation takes effect.")
    return moment


def event_time(event: dict[str, Any]) -> datetime:
    """The event's own `created`: which of two events about one subscription is the newer."""
    moment = _moment(event.get("created"), "created")
    if moment is None:
        raise MalformedEvent("created must say when the event happened.")
    return moment


def subscription_id(subscription: dict[str, Any]) -> str:
    value = _string(subscription.get("id"), "data.object.id")
    if not value or len(value) > 255 or CONTROLS.search(value):
        raise MalformedEvent("data.object.id must be the subscription's id, 1 to 255 printable characters.")
    return value
