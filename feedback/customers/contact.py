"""Completing a cancellation that arrived without a way to reach the customer."""

from __future__ import annotations

from feedback.auth.models import User
from feedback.cancellations.operations import InvalidCancellation, invite
from feedback.extensions import db
from feedback.inputs.schemas import CONTACT
from feedback.postmortem.models import Cancellation
from feedback.postmortem.workflow import current_state, lock_cancellation


def complete_contact(cancellation_id: int, name: str, email: str, by: User) -> Cancellation:
    """Sets the customer's name and email and queues the survey; InvalidCancellation names bad fields."""
    cleaned, errors = CONTACT.check({"customer_name": name, "customer_email": email})
    if errors:
        raise InvalidCancellation(errors)
    name, email = cleaned["customer_name"], cleaned["customer_email"]
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
