"""Customers: checked the same way whether they arrive by API, webhook or CSV, and matched by `external_id`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from feedback.cancellations.operations import InvalidCancellation
from feedback.db import utcnow
from feedback.extensions import db
from feedback.inputs.fields import normalize_email
from feedback.postmortem.models import Customer

#: The fields, in the order CSV files and JSON documents list them.
#: A BCP 47 language tag's shape: a language, then any subtags (de, de-CH, zh-Hant-TW; de_DE is read as de-DE).
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")
FIELDS = ("external_id", "name", "email", "company", "plan", "mrr", "customer_since", "owner_email", "locale")
LIMITS = {"external_id": 255, "name": 200, "email": 254, "company": 200, "plan": 120, "owner_email": 254, "locale": 35}
MAX_MRR = Decimal("1e10")


class InvalidCustomer(InvalidCancellation):
    """Field errors about a customer, keyed by the customer's JSON field names."""


def clean_text(value: Any, limit: int) -> str:
    """A single-line string, trimmed; ValueError for anything else (PostgreSQL refuses NUL characters)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("Must be a string.")
    if "\x00" in value:
        raise ValueError("Must not contain NUL characters.")
    value = value.strip()
    if len(value) > limit:
        raise ValueError(f"Keep this under {limit:,} characters.")
    return value


def parse_money(value: Any) -> Decimal | None:
    """An amount in the currency's main unit (49.5 means 49.50), as JSON numbers or CSV text give it."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("Must be a number, e.g. 49.00.")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("Must be a number, e.g. 49.00.") from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_MRR:
        raise ValueError("Must be a positive amount below 10,000,000,000.")
    return amount.quantize(Decimal("0.01"))


def parse_date(value: Any) -> date | None:
    """A calendar date, YYYY-MM-DD, not in the future."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("Must be a date, YYYY-MM-DD.")
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("Must be a date, YYYY-MM-DD.") from None
    if day > utcnow().date():
        raise ValueError("Must not be in the future.")
    return day


def clean_customer(values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields present in `values`, checked; raises InvalidCustomer naming every bad one."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for name in FIELDS:
        if name not in values:
            continue
        try:
            if name == "mrr":
                cleaned[name] = parse_money(values[name])
            elif name == "customer_since":
                cleaned[name] = parse_date(values[name])
            else:
                cleaned[name] = clean_text(values[name], LIMITS[name])
                if name in ("email", "owner_email") and cleaned[name]:
                    cleaned[name] = normalize_email(cleaned[name])
                if name == "locale" and cleaned[name] and not LANGUAGE_TAG.match(cleaned[name]):
                    raise ValueError("Must be a language tag, e.g. en, de or de-CH.")
        except ValueError as error:
            errors[name] = str(error)
    if "external_id" in cleaned and not cleaned["external_id"]:
        cleaned["external_id"] = None  # an empty id is no id: the unique key must not bind every id-less customer
    if errors:
        raise InvalidCustomer(errors)
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
