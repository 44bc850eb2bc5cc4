"""Webhook deliveries, acted on once per id: the processed id is written in the same transaction as the work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from feedback.billing import operations as billing
from feedback.billing.operations import BillingEvent
from feedback.cancellations.operations import NewCancellation
from feedback.customers.operations import upsert_customer
from feedback.extensions import db
from feedback.inputs.fields import normalize_email
from feedback.inputs.schemas import STRIPE_FEEDBACK
from feedback.postmortem.models import Cancellation, Customer
from feedback.webhooks.models import ProcessedWebhook
from feedback.webhooks.stripe import (
    INVOLUNTARY_REASONS,
    STRIPE_REASONS,
    cancellation_details,
    contact_details,
    default_owner,
    event_time,
    schedule_change,
    scheduled_end,
    stripe_cancelled_at,
    subscription_facts,
    subscription_id,
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


def process_once(
    source: str, event_id: str, work: Callable[[], Cancellation | None]
) -> tuple[Cancellation | None, bool]:
    """Returns (cancellation, True) the first time, (the earlier cancellation, False) for any redelivery; the work
    may find no cancellation to act on (an undo of one never logged).

    The processed row is inserted first: a concurrent duplicate waits on its unique key, then fails and replays.
    """
    earlier = processed(source, event_id)
    if earlier is None:
        try:
            row = ProcessedWebhook(source=source, event_id=event_id)
            db.session.add(row)
            db.session.flush()
            cancellation = work()
            row.cancellation_id = cancellation.id if cancellation is not None else None
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


#: The Stripe events Farewell acts on; any other is acknowledged and ignored.
STRIPE_EVENTS = ("customer.subscription.updated", "customer.subscription.deleted")


def stripe_subscription_event(event: dict[str, Any]) -> tuple[Cancellation | None, bool] | None:
    """A subscription's cancellation scheduled, undone or ended, as feedback.billing's states; None when an update
    changed nothing about leaving. Without an email for the customer it waits in needs_contact for staff.

    Raises MalformedEvent, before anything is written, when the event is not shaped as Stripe documents it.
    """
    subscription = event["data"]["object"]
    change = "end"
    if event["type"] == "customer.subscription.updated":
        change = schedule_change(subscription, event["data"].get("previous_attributes"))
        if not change:
            return None
    happened = BillingEvent(
        system="stripe",
        event_id=event["id"],
        occurred_at=event_time(event),
        subscription_id=subscription_id(subscription),
        label="Stripe",
    )
    if change == "stay":
        return process_once("stripe", event["id"], lambda: billing.stay(happened))
    report = _stripe_report(event, subscription)
    if change == "schedule":
        ends_at = scheduled_end(subscription)
        return process_once("stripe", event["id"], lambda: billing.schedule(happened, ends_at, report))
    ended_at = stripe_cancelled_at({"ended_at": subscription.get("ended_at")}, event) or happened.occurred_at
    return process_once("stripe", event["id"], lambda: billing.end(happened, ended_at, report))


@dataclass(frozen=True)
class Departure:
    """What a billing system's event says of a departure, read (and checked) before anything is written."""

    #: The customer's fields for upsert_customer (external_id, name, email, company, owner_email, plan, mrr…).
    customer: dict[str, Any]
    #: Our Customer row with that external id, if any: what it knows fills what the event lacks.
    known: Customer | None
    source: str
    reference: str
    reason: str = ""
    feedback: str = ""
    comment: str = ""
    cancelled_at: datetime | None = None
    involuntary: bool | Callable[[], bool] = False


def billing_report(departure: Departure) -> Callable[[], NewCancellation]:
    """The cancellation a billing event logs, built only when one must be (it upserts the customer)."""

    def report() -> NewCancellation:
        values = {k: v for k, v in departure.customer.items() if v not in (None, "")}
        if "email" in values:
            values["email"] = _email_or_blank(values["email"])
        known, since = departure.known, departure.customer.get("customer_since")
        if known and known.customer_since and since:
            values["customer_since"] = min(known.customer_since, since)
        customer, _ = upsert_customer(values)
        owner_email = default_owner(customer.owner_email)
        if not owner_email:
            raise NoOwner
        involuntary = departure.involuntary
        return NewCancellation(
            customer_name=customer.name or customer.email.split("@")[0],
            customer_email=customer.email,
            owner_email=owner_email,
            company=customer.company,
            plan=customer.plan,
            mrr=customer.mrr,
            currency=customer.currency,
            customer_since=customer.customer_since,
            reason=departure.reason,
            feedback=departure.feedback if departure.feedback in STRIPE_FEEDBACK else "",
            comment=departure.comment[:5000],
            cancelled_at=departure.cancelled_at,
            source=departure.source,
            customer=customer,
            needs_contact=not customer.email,
            involuntary=involuntary() if callable(involuntary) else involuntary,
            reference=departure.reference,
        )

    return report


def _stripe_report(event: dict[str, Any], subscription: dict[str, Any]) -> Callable[[], NewCancellation]:
    """Reads everything first (a MalformedEvent writes nothing); the customer is upserted only if one is logged."""
    details, known = contact_details(subscription.get("customer"))
    told = cancellation_details(subscription)
    return billing_report(
        Departure(
            customer={**details, **subscription_facts(subscription)},
            known=known,
            source="stripe",
            reference=event["id"],
            reason=STRIPE_REASONS.get(told["reason"], ""),
            feedback=told["feedback"],
            comment=told["comment"],
            cancelled_at=stripe_cancelled_at(subscription, event),
            involuntary=told["reason"] in INVOLUNTARY_REASONS,
        )
    )
