"""One cancellation body for the API, Standard Webhooks and CSV: checked here, then logged by `log_cancellation`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from feedback.cancellations.operations import InvalidCancellation, NewCancellation, log_cancellation
from feedback.customers.operations import FIELDS, InvalidCustomer, clean_text, find_customer, upsert_customer
from feedback.db import utcnow
from feedback.extensions import db
from feedback.postmortem.models import Cancellation

#: Stripe's `cancellation_details.feedback` values; the API accepts the same.
STRIPE_FEEDBACK = (
    "too_expensive",
    "missing_features",
    "switched_service",
    "unused",
    "customer_service",
    "too_complex",
    "low_quality",
    "other",
)
BODY_FIELDS = (
    "customer",
    "customer_external_id",
    "owner_email",
    "reason",
    "complaint",
    "cancelled_at",
    "feedback",
    "comment",
)
#: `log_cancellation`'s field names, as the body names them.
BODY_NAMES = {
    "customer_name": "customer.name",
    "customer_email": "customer.email",
    "company": "customer.company",
    "plan": "customer.plan",
    "mrr": "customer.mrr",
    "customer_since": "customer.customer_since",
}


def parse_moment(value: Any) -> datetime:
    """An RFC 3339 date-time; one without an offset is taken as UTC."""
    if not isinstance(value, str):
        raise ValueError("Must be a date-time, e.g. 2026-11-24T09:30:00Z.")
    try:
        moment = datetime.fromisoformat(value.strip())
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError("Must be a date-time, e.g. 2026-11-24T09:30:00Z.") from None
    if moment > utcnow():
        raise ValueError("Must not be in the future.")
    return moment


def check_fields(body: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in body:
        if name not in BODY_FIELDS:
            errors[name] = "Unknown field."
    for name, limit in (("owner_email", 254), ("reason", 5000), ("complaint", 5000), ("comment", 5000)):
        try:
            values[name] = clean_text(body.get(name), limit)
        except ValueError as error:
            errors[name] = str(error)
    feedback = body.get("feedback")
    if feedback not in (None, "", *STRIPE_FEEDBACK):
        errors["feedback"] = f"Must be one of {', '.join(STRIPE_FEEDBACK)}."
    values["feedback"] = feedback or ""
    if body.get("cancelled_at") not in (None, ""):
        try:
            values["cancelled_at"] = parse_moment(body["cancelled_at"])
        except ValueError as error:
            errors["cancelled_at"] = str(error)
    return errors, values


def record_cancellation(body: Mapping[str, Any], source: str) -> Cancellation:
    """Upserts the customer and logs the cancellation; raises InvalidCancellation keyed by the body's field names.

    On an error the transaction is rolled back, so that nothing of it (a customer upserted first) can be committed.
    """
    try:
        return _record(body, source)
    except InvalidCancellation:
        db.session.rollback()
        raise


def _record(body: Mapping[str, Any], source: str) -> Cancellation:
    errors, values = check_fields(body)
    customer_body = body.get("customer")
    external_id = body.get("customer_external_id")
    customer = None
    if customer_body is not None and external_id is not None:
        errors["customer_external_id"] = "Give either customer or customer_external_id, not both."
    elif isinstance(customer_body, Mapping):
        errors.update({f"customer.{name}": "Unknown field." for name in customer_body if name not in FIELDS})
        if not errors:
            try:
                customer, _ = upsert_customer(customer_body)
            except InvalidCustomer as invalid:
                errors.update({f"customer.{name}": message for name, message in invalid.errors.items()})
    elif customer_body is not None:
        errors["customer"] = "Must be an object with the customer's fields."
    elif not isinstance(external_id, str) or not external_id.strip() or "\x00" in external_id:
        errors["customer"] = "Give the customer, or the customer_external_id of a known customer."
    else:
        customer = find_customer(external_id.strip())
        if customer is None:
            errors["customer_external_id"] = f"No customer has the external_id {external_id.strip()!r}."
    if errors:
        raise InvalidCancellation(errors)
    assert customer is not None
    data = NewCancellation(
        customer_name=customer.name,
        customer_email=customer.email,
        owner_email=values["owner_email"] or customer.owner_email,
        company=customer.company,
        plan=customer.plan,
        mrr=customer.mrr,
        customer_since=customer.customer_since,
        reason=values["reason"],
        complaint=values["complaint"],
        cancelled_at=values.get("cancelled_at"),
        feedback=values["feedback"],
        comment=values["comment"],
        source=source,
        customer=customer,
    )
    try:
        return log_cancellation(data)
    except InvalidCancellation as invalid:
        raise InvalidCancellation({BODY_NAMES.get(k, k): v for k, v in invalid.errors.items()}) from None
