"""Stripe's `customer.subscription.deleted`: a cancellation, logged once per event id."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select

from feedback.auth.models import User
from feedback.customers.operations import find_customer
from feedback.extensions import db
from feedback.inputs.text import CONTROLS
from feedback.postmortem.models import Customer

log = logging.getLogger(__name__)

#: Stripe's subscription.cancellation_details.reason, as the timeline says it.
STRIPE_REASONS = {
    "cancellation_requested": "Cancelled by the customer",
    "payment_failed": "Payment failed",
    "payment_disputed": "Payment disputed",
}
MONTHS_PER_INTERVAL = {"day": Decimal(12) / Decimal(365), "week": Decimal(12) / Decimal(52), "month": 1, "year": 12}


#: The timestamps Stripe sends are seconds since 1970; beyond the year 9999 none is real, and datetime can't hold it.
LAST_TIMESTAMP = 253402300799
#: Far above any real price or quantity, well inside what the arithmetic and the checks below handle.
LARGEST_COUNT = 10**15


class MalformedEvent(ValueError):
    """A signed event not shaped as Stripe documents it (a quantity of 1.5, items that are not a list): a 400 that
    names the place, never a guess and never a 500."""


def _object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedEvent(f"{where} must be an object.")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedEvent(f"{where} must be a list.")
    return value


def _string(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedEvent(f"{where} must be a string.")
    return value


def _whole(value: Any, where: str, low: int = 0, high: int = LARGEST_COUNT) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MalformedEvent(f"{where} must be a whole number from {low} to {high}.")
    return value


def _moment(value: Any, where: str) -> datetime | None:
    seconds = _whole(value, where, 0, LAST_TIMESTAMP)
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def _monthly(item: dict[str, Any], where: str) -> Decimal | None:
    """One subscription item's monthly revenue, in the currency's main unit (Stripe counts in cents)."""
    price = _object(item.get("price") or item.get("plan"), f"{where}.price")
    amount = _whole(price.get("unit_amount", price.get("amount")), f"{where}.price.unit_amount")
    recurring = _object(price.get("recurring"), f"{where}.price.recurring") or price
    interval = _string(recurring.get("interval"), f"{where}.price.recurring.interval") or "month"
    count = _whole(recurring.get("interval_count"), f"{where}.price.recurring.interval_count", 1) or 1
    quantity = _whole(item.get("quantity"), f"{where}.quantity")
    if amount is None or interval not in MONTHS_PER_INTERVAL:
        return None
    quantity = quantity or 1
    per_month = Decimal(amount) * quantity / 100 / (Decimal(count) / Decimal(MONTHS_PER_INTERVAL[interval]))
    return per_month.quantize(Decimal("0.01"))


#: Where a plan's name may be, the first one given winning.
PLAN_NAMES = ("nickname", "lookup_key", "id")


def _plan_name(item: dict[str, Any], where: str) -> str:
    price = _object(item.get("price") or item.get("plan"), f"{where}.price")
    product = price.get("product")  # an id, or the product itself when expanded
    name = _string(product.get("name"), f"{where}.price.product.name") if isinstance(product, dict) else ""
    nickname, lookup_key, price_id = (
        _string(price.get(k), f"{where}.price.{k}") for k in ("nickname", "lookup_key", "id")
    )
    return (nickname or name or lookup_key or price_id)[:120]


def subscription_facts(subscription: dict[str, Any]) -> dict[str, Any]:
    """Plan, MRR lost and tenure from the subscription object itself; MalformedEvent where a type is wrong."""
    items = _list(_object(subscription.get("items"), "items").get("data"), "items.data")
    items = [_object(item, f"items.data[{n}]") for n, item in enumerate(items)]
    amounts = [_monthly(item, f"items.data[{n}]") for n, item in enumerate(items)]
    since = _moment(subscription.get("start_date"), "start_date")
    return {
        "plan": ", ".join(filter(None, (_plan_name(item, f"items.data[{n}]") for n, item in enumerate(items))))[:120],
        "mrr": sum(a for a in amounts if a is not None) if any(a is not None for a in amounts) else None,
        "customer_since": since.date() if since else None,
    }


def fetch_stripe_customer(customer_id: str) -> dict[str, Any] | None:
    """GET /v1/customers/ID with STRIPE_API_KEY; None when Stripe can't tell us (or is unreachable)."""
    key = current_app.config["STRIPE_API_KEY"]
    if not key:
        return None
    url = f"{current_app.config['STRIPE_API_BASE']}/v1/customers/{urllib.parse.quote(customer_id, safe='')}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})  # noqa: S310 - https or a test server
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            found = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as error:
        log.warning("Stripe customer %s could not be fetched: %s", customer_id, error)
        return None
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
        # Cut to the columns' lengths: a billing system's long name must not cost the cancellation. Control
        # characters are not cut: the customer check refuses them, like any way in.
        details.update(
            name=_string(stripe_customer.get("name"), "customer.name")[:200],
            email=_string(stripe_customer.get("email"), "customer.email")[:254],
            company=_string(metadata.get("company"), "customer.metadata.company")[:200],
            owner_email=_string(metadata.get("owner_email"), "customer.metadata.owner_email")[:254],
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
