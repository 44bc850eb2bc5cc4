"""One cancellation body for the API, Standard Webhooks and CSV: checked here, then logged by `log_cancellation`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from feedback.auth.operations import find_staff
from feedback.cancellations.operations import InvalidCancellation, MailLater, NewCancellation, log_cancellation
from feedback.customers.operations import FIELDS, InvalidCustomer, find_customer, upsert_customer
from feedback.extensions import db
from feedback.inputs.schema import Invalid
from feedback.inputs.schemas import CANCELLATION, CANCELLATION_BODY_FIELDS, CUSTOMER
from feedback.postmortem.models import Cancellation, Customer

BODY_FIELDS = ("customer", "customer_external_id", *CANCELLATION_BODY_FIELDS)
#: `log_cancellation`'s field names, as the body names them.
BODY_NAMES = {
    "customer_name": "customer.name",
    "customer_email": "customer.email",
    "company": "customer.company",
    "plan": "customer.plan",
    "mrr": "customer.mrr",
    "currency": "customer.currency",
    "customer_since": "customer.customer_since",
}


def check_fields(body: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """The body's own fields (not its customer), by the CANCELLATION schema; the owner defaults to the customer's."""
    errors = {name: "Unknown field." for name in body if name not in BODY_FIELDS}
    values, problems = CANCELLATION.check(body, only=CANCELLATION_BODY_FIELDS, optional=("owner_email",))
    errors.update(problems)
    return errors, values


@dataclass
class Intake:
    """Where `record_cancellation` finds and writes customers: the database, row by row (the API, webhooks); or a
    CSV import's tables, loaded once per batch, with the emails queued after the import (`later`)."""

    find_customer: Callable[[str], Customer | None] = find_customer
    upsert_customer: Callable[[Mapping[str, Any]], tuple[Customer, bool]] = upsert_customer
    later: MailLater | None = None


def record_cancellation(body: Mapping[str, Any], source: str, intake: Intake | None = None) -> Cancellation:
    """Upserts the customer and logs the cancellation; raises InvalidCancellation keyed by the body's field names.

    On an error the transaction is rolled back, so that nothing of it (a customer upserted first) can be committed.
    """
    try:
        return _record(body, source, intake or Intake())
    except InvalidCancellation:
        db.session.rollback()
        raise


def _record(body: Mapping[str, Any], source: str, intake: Intake) -> Cancellation:
    errors, values = check_fields(body)
    customer_body = body.get("customer")
    external_id = body.get("customer_external_id")
    customer = None
    if customer_body is not None and external_id is not None:
        errors["customer_external_id"] = "Give either customer or customer_external_id, not both."
    elif isinstance(customer_body, Mapping):
        errors.update({f"customer.{name}": "Unknown field." for name in customer_body if name not in FIELDS})
        if errors:  # nothing is written, but every problem of the body is named at once, the customer's too
            known = {name: value for name, value in customer_body.items() if name in FIELDS}
            _, problems = CUSTOMER.check(known, given_only=True)
            errors.update({f"customer.{name}": message for name, message in problems.items()})
        else:
            try:
                customer, _ = intake.upsert_customer(customer_body)
            except InvalidCustomer as invalid:
                errors.update({f"customer.{name}": message for name, message in invalid.errors.items()})
    elif customer_body is not None:
        errors["customer"] = "Must be an object with the customer's fields."
    else:
        try:
            external_id = CUSTOMER["external_id"].clean(external_id, required=True)
        except Invalid:
            errors["customer"] = "Give the customer, or the customer_external_id of a known customer."
        else:
            customer = intake.find_customer(external_id)
            if customer is None:
                errors["customer_external_id"] = f"No customer has the external_id {external_id!r}."
    if errors:
        if values.get("owner_email") and "owner_email" not in errors and find_staff(values["owner_email"]) is None:
            errors["owner_email"] = f"No staff member has the address {values['owner_email']!r}."
        raise InvalidCancellation(errors)
    assert customer is not None
    if not customer.owner_email and values["owner_email"]:
        customer.owner_email = values["owner_email"]  # the cancellation names the owner the customer had
    data = NewCancellation(
        customer_name=customer.name,
        customer_email=customer.email,
        owner_email=values["owner_email"] or customer.owner_email,
        company=customer.company,
        plan=customer.plan,
        mrr=customer.mrr,
        currency=customer.currency,
        customer_since=customer.customer_since,
        reason=values["reason"],
        complaint=values["complaint"],
        cancelled_at=values["cancelled_at"],
        feedback=values["feedback"],
        comment=values["comment"],
        source=source,
        customer=customer,
    )
    try:
        return log_cancellation(data, later=intake.later)
    except InvalidCancellation as invalid:
        raise InvalidCancellation({BODY_NAMES.get(k, k): v for k, v in invalid.errors.items()}) from None
