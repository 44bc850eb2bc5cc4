"""Stripe's `customer.subscription.deleted`: a cancellation, logged once per event id."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select

from feedback.auth.models import User
from feedback.customers.operations import find_customer
from feedback.extensions import db
from feedback.postmortem.models import Customer

log = logging.getLogger(__name__)

#: Stripe's subscription.cancellation_details.reason, as the timeline says it.
STRIPE_REASONS = {
    "cancellation_requested": "Cancelled by the customer",
    "payment_failed": "Payment failed",
    "payment_disputed": "Payment disputed",
}
MONTHS_PER_INTERVAL = {"day": Decimal(12) / Decimal(365), "week": Decimal(12) / Decimal(52), "month": 1, "year": 12}


def _monthly(item: dict[str, Any]) -> Decimal | None:
    """One subscription item's monthly revenue, in the currency's main unit (Stripe counts in cents)."""
    price = item.get("price") or item.get("plan") or {}
    amount = price.get("unit_amount", price.get("amount"))
    recurring = price.get("recurring") or price
    interval = recurring.get("interval", "month")
    count = recurring.get("interval_count") or 1
    if not isinstance(amount, int) or interval not in MONTHS_PER_INTERVAL:
        return None
    quantity = item.get("quantity") or 1
    per_month = Decimal(amount) * quantity / 100 / (Decimal(count) / Decimal(MONTHS_PER_INTERVAL[interval]))
    return per_month.quantize(Decimal("0.01"))


def _plan_name(item: dict[str, Any]) -> str:
    price = item.get("price") or item.get("plan") or {}
    product = price.get("product")
    name = product.get("name") if isinstance(product, dict) else None
    return str(price.get("nickname") or name or price.get("lookup_key") or price.get("id") or "")[:120]


def _day(timestamp: Any) -> date | None:
    return datetime.fromtimestamp(timestamp, UTC).date() if isinstance(timestamp, int) else None


def subscription_facts(subscription: dict[str, Any]) -> dict[str, Any]:
    """Plan, MRR lost and tenure from the subscription object itself."""
    items = (subscription.get("items") or {}).get("data") or []
    amounts = [_monthly(item) for item in items]
    return {
        "plan": ", ".join(filter(None, (_plan_name(item) for item in items)))[:120],
        "mrr": sum(a for a in amounts if a is not None) if any(a is not None for a in amounts) else None,
        "customer_since": _day(subscription.get("start_date")),
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
    customer_id = customer_ref.get("id") if isinstance(customer_ref, dict) else customer_ref
    known = find_customer(customer_id) if isinstance(customer_id, str) and customer_id else None
    stripe_customer = customer_ref if isinstance(customer_ref, dict) and customer_ref.get("email") else None
    if stripe_customer is None and not (known and known.email) and isinstance(customer_id, str):
        stripe_customer = fetch_stripe_customer(customer_id)
    details: dict[str, Any] = {"external_id": customer_id if isinstance(customer_id, str) else None}
    if stripe_customer:
        metadata = stripe_customer.get("metadata") or {}
        details.update(
            name=str(stripe_customer.get("name") or "")[:200],
            email=str(stripe_customer.get("email") or "")[:254],
            company=str(metadata.get("company") or "")[:200],
            owner_email=str(metadata.get("owner_email") or "")[:254],
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


def stripe_reason(subscription: dict[str, Any]) -> str:
    details = subscription.get("cancellation_details") or {}
    return STRIPE_REASONS.get(details.get("reason") or "", "")


def stripe_cancelled_at(subscription: dict[str, Any], event: dict[str, Any]) -> datetime | None:
    for moment in (subscription.get("canceled_at"), subscription.get("ended_at"), event.get("created")):
        if isinstance(moment, int):
            return datetime.fromtimestamp(moment, UTC)
    return None
