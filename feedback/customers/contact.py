"""Completing a cancellation that arrived without a way to reach the customer."""

from __future__ import annotations

from feedback.auth.models import User
from feedback.cancellations.operations import InvalidCancellation, invite
from feedback.extensions import db
from feedback.inputs.fields import normalize_email
from feedback.postmortem.models import Cancellation
from feedback.postmortem.workflow import current_state, lock_cancellation


def complete_contact(cancellation_id: int, name: str, email: str, by: User) -> Cancellation:
    """Sets the customer's name and email and queues the survey; InvalidCancellation names bad fields."""
    errors: dict[str, str] = {}
    name = " ".join(name.split())
    if not name or len(name) > 200:
        errors["customer_name"] = "The customer's name is required (at most 200 characters)."
    try:
        email = normalize_email(email)
    except ValueError as error:
        errors["customer_email"] = f"The customer's email address is not valid: {error}"
    if errors:
        raise InvalidCancellation(errors)
    cancellation = lock_cancellation(cancellation_id)
    if not cancellation.needs_contact:
        return cancellation  # someone completed it a moment ago; theirs stands
    cancellation.customer_name, cancellation.customer_email = name, email
    customer = cancellation.customer
    if customer is not None and not customer.email:
        customer.name, customer.email = customer.name or name, email
    cancellation.record("contact_added", f"{by.name} added the customer's contact details.")
    invite(cancellation)
    db.session.flush()
    cancellation.state = current_state(cancellation)
    return cancellation
