"""Completing a cancellation that arrived without a way to reach the customer."""

from __future__ import annotations

from flask import current_app

from feedback.auth.models import User
from feedback.cancellations.operations import InvalidCancellation, invite
from feedback.extensions import db
from feedback.helpdesk.operations import queue_fetch
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
    if cancellation.stayed_at is not None:
        pass  # they undid the cancellation meanwhile: nothing to ask them
    elif cancellation.involuntary and not current_app.config["INVOLUNTARY_SURVEY"]:
        cancellation.record("involuntary", "Involuntary: no exit survey until someone starts the postmortem.")
    else:
        invite(cancellation)
    queue_fetch(cancellation)  # now that we know who they are, their help-desk history too
    db.session.flush()
    cancellation.state = current_state(cancellation)
    return cancellation
