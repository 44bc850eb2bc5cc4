"""Webhook deliveries, acted on once per id: the processed id is written in the same transaction as the work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from feedback.cancellations.operations import NewCancellation, log_cancellation
from feedback.customers.operations import upsert_customer
from feedback.extensions import db
from feedback.inputs.fields import normalize_email
from feedback.inputs.schemas import STRIPE_FEEDBACK
from feedback.postmortem.models import Cancellation
from feedback.webhooks.models import ProcessedWebhook
from feedback.webhooks.stripe import (
    STRIPE_REASONS,
    cancellation_details,
    contact_details,
    default_owner,
    stripe_cancelled_at,
    subscription_facts,
)

#: How long an event id is remembered: senders retry for a few days (Stripe for up to three), never for weeks.
EVENT_IDS_KEPT_FOR = timedelta(days=30)


def forget_old_event_ids(now: datetime) -> int:
    """Ids past EVENT_IDS_KEPT_FOR are deleted, or the table would grow with every delivery forever."""
    result = db.session.execute(delete(ProcessedWebhook).where(ProcessedWebhook.received_at < now - EVENT_IDS_KEPT_FOR))
    return result.rowcount or 0


class NoOwner(Exception):
    """No active staff member could own the cancellation: the sender should retry once someone exists."""


def processed(source: str, event_id: str) -> ProcessedWebhook | None:
    return db.session.scalar(
        select(ProcessedWebhook).where(ProcessedWebhook.source == source, ProcessedWebhook.event_id == event_id)
    )


def process_once(source: str, event_id: str, work: Callable[[], Cancellation]) -> tuple[Cancellation | None, bool]:
    """Returns (cancellation, True) the first time, (the earlier cancellation, False) for any redelivery.

    The processed row is inserted first: a concurrent duplicate waits on its unique key, then fails and replays.
    """
    earlier = processed(source, event_id)
    if earlier is None:
        try:
            row = ProcessedWebhook(source=source, event_id=event_id)
            db.session.add(row)
            db.session.flush()
            cancellation = work()
            row.cancellation_id = cancellation.id
            db.session.commit()  # the event is answered only once this holds: see the docstring
            return cancellation, True
        except IntegrityError:
            db.session.rollback()
            earlier = processed(source, event_id)
            if earlier is None:
                raise
        except BaseException:
            db.session.rollback()
            raise
    found = db.session.get(Cancellation, earlier.cancellation_id) if earlier.cancellation_id else None
    return found, False


def _email_or_blank(address: str) -> str:
    try:
        return normalize_email(address) if address else ""
    except ValueError:
        return ""


def stripe_subscription_deleted(event: dict[str, Any]) -> tuple[Cancellation | None, bool]:
    """Logs the cancellation; without an email for the customer it waits in needs_contact for staff.

    Raises MalformedEvent, before anything is written, when the event is not shaped as Stripe documents it.
    """
    subscription = event["data"]["object"]
    details, known = contact_details(subscription.get("customer"))
    facts = subscription_facts(subscription)
    told = cancellation_details(subscription)
    reason = STRIPE_REASONS.get(told["reason"], "")
    cancelled_at = stripe_cancelled_at(subscription, event)

    def work() -> Cancellation:
        values = {k: v for k, v in {**details, **facts}.items() if v not in (None, "")}
        if "email" in values:
            values["email"] = _email_or_blank(values["email"])
        if known and known.customer_since and facts["customer_since"]:
            values["customer_since"] = min(known.customer_since, facts["customer_since"])
        customer, _ = upsert_customer(values)
        owner_email = default_owner(customer.owner_email)
        if not owner_email:
            raise NoOwner
        name = customer.name or customer.email.split("@")[0]
        data = NewCancellation(
            customer_name=name,
            customer_email=customer.email,
            owner_email=owner_email,
            company=customer.company,
            plan=customer.plan,
            mrr=customer.mrr,
            customer_since=customer.customer_since,
            reason=reason,
            feedback=told["feedback"] if told["feedback"] in STRIPE_FEEDBACK else "",
            comment=told["comment"][:5000],
            cancelled_at=cancelled_at,
            source="stripe",
            customer=customer,
            needs_contact=not customer.email,
        )
        return log_cancellation(data)

    return process_once("stripe", event["id"], work)
