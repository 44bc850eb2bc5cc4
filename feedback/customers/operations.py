"""Customers: checked the same way whether they arrive by API, webhook or CSV, and matched by `external_id`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from feedback.cancellations.operations import InvalidCancellation
from feedback.extensions import db
from feedback.inputs.schemas import CUSTOMER
from feedback.postmortem.models import Customer

#: The fields, in the order CSV files and JSON documents list them.
FIELDS = tuple(CUSTOMER)


class InvalidCustomer(InvalidCancellation):
    """Field errors about a customer, keyed by the customer's JSON field names."""


def clean_customer(values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields present in `values`, checked by the CUSTOMER schema; raises InvalidCustomer naming every bad one."""
    cleaned, errors = CUSTOMER.check(values, given_only=True)
    if errors:
        raise InvalidCustomer(errors)
    if "external_id" in cleaned and not cleaned["external_id"]:
        cleaned["external_id"] = None  # an empty id is no id: the unique key must not bind every id-less customer
    return cleaned


def find_customer(external_id: str) -> Customer | None:
    return db.session.scalar(select(Customer).where(Customer.external_id == external_id))


def upsert_customer(values: Mapping[str, Any]) -> tuple[Customer, bool]:
    """Creates the customer, or updates the one with the same `external_id`; returns (customer, created).

    Only the fields given are changed. Nothing is committed: the caller's transaction decides.
    """
    cleaned = clean_customer(values)
    external_id = cleaned.get("external_id")
    customer = find_customer(external_id) if external_id else None
    created = customer is None
    if customer is None:
        try:
            with db.session.begin_nested():
                customer = Customer(**cleaned)
                db.session.add(customer)
        except IntegrityError:  # created by a concurrent request a moment ago: update theirs instead
            customer, created = find_customer(external_id), False  # type: ignore[arg-type]
            assert customer is not None
    for name, value in cleaned.items():
        setattr(customer, name, value)
    db.session.flush()
    return customer, created


def customer_json(customer: Customer) -> dict[str, Any]:
    """The customer as the API, webhooks and CSV name it; `mrr` is a number in the currency's main unit."""
    return {
        "id": customer.id,
        "external_id": customer.external_id,
        "name": customer.name,
        "email": customer.email,
        "company": customer.company,
        "plan": customer.plan,
        **mrr_and_since(customer),
        "owner_email": customer.owner_email,
        "locale": customer.locale,
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
    }


def mrr_and_since(record: Any) -> dict[str, Any]:
    """A customer's or a cancellation's `mrr` (a number in the currency's main unit) and `customer_since` (a date)."""
    return {
        "mrr": float(record.mrr) if record.mrr is not None else None,
        # None: the company's currency.
        "currency": record.currency,
        "customer_since": record.customer_since.isoformat() if record.customer_since else None,
    }


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def tenure(since: date | None, until: datetime | date) -> str:
    """How long they stayed, as a person says it: '2 years, 3 months'."""
    if since is None:
        return ""
    end = until.date() if isinstance(until, datetime) else until
    months = (end.year - since.year) * 12 + end.month - since.month - (end.day < since.day)
    if months < 1:
        days = max((end - since).days, 0)
        return f"{days} day{'s' if days != 1 else ''}"
    years, months = divmod(months, 12)
    parts = [f"{years} year{'s' if years != 1 else ''}"] if years else []
    parts += [f"{months} month{'s' if months != 1 else ''}"] if months else []
    return ", ".join(parts)
