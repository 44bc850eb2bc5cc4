"""The states of a cancellation as billing reports it: scheduled, stayed, ended; the same for every vendor.

Each operation takes the subscription's row locked, so that two events of one subscription never interleave,
and applies an event only if it is not older than the newest one applied (`event_at`): the event's own time
decides, not the order deliveries arrive in. Redeliveries of one event id are the caller's (`process_once`).
Nothing here commits: the webhook's transaction holds the event id, the state and the postmortem together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from feedback.billing.models import BillingSubscription
from feedback.cancellations.operations import NewCancellation, log_cancellation
from feedback.extensions import db
from feedback.formatting import format_datetime
from feedback.mail.models import OutboxMessage
from feedback.postmortem.emails import email_about
from feedback.postmortem.models import Cancellation
from feedback.postmortem.outbound import announce
from feedback.postmortem.timeline import email_label
from feedback.settings.operations import current_settings
from feedback.urls import external_url

#: The mail a postmortem sends on its own, withdrawn when the customer stays; the owner's summary never goes.
WITHDRAWN_KINDS = ("survey_invitation", "survey_reminder", "review_request")
WITHDRAWN = "Not sent: the customer stayed (the cancellation was undone)."

#: What builds the cancellation to log, called only when one must be logged (it may upsert the customer).
Report = Callable[[], NewCancellation]


@dataclass(frozen=True)
class BillingEvent:
    """One event about one subscription, in any billing system's terms."""

    #: stripe, paddle, chargebee… (the same word as the cancellation's `source`).
    system: str
    event_id: str
    #: The event's own time (Stripe's `created`): the newest one decides the state.
    occurred_at: datetime
    subscription_id: str
    #: How the timeline names the system: "Stripe".
    label: str


def _locked_subscription(event: BillingEvent, state: str | None) -> tuple[BillingSubscription, bool]:
    """The subscription's row, locked until the commit; made (with `state`) when this is its first event."""
    query = (
        select(BillingSubscription)
        .where(BillingSubscription.system == event.system, BillingSubscription.subscription_id == event.subscription_id)
        .with_for_update()
    )
    found = db.session.scalar(query)
    if found is not None:
        return found, False
    try:
        with db.session.begin_nested():
            row = BillingSubscription(
                system=event.system, subscription_id=event.subscription_id, state=state, event_at=event.occurred_at
            )
            db.session.add(row)
        return row, True
    except IntegrityError:  # a concurrent event of the same subscription made it a moment ago: wait for its lock
        found = db.session.scalar(query.execution_options(populate_existing=True))
        assert found is not None
        return found, False


def _newest(event: BillingEvent, state: str) -> tuple[BillingSubscription, bool]:
    """(the locked row, whether `event` is the newest yet); a stale event is noted on the current postmortem."""
    subscription, created = _locked_subscription(event, state)
    if created or subscription.state is None:  # only a payment failure was known: no cancellation to compare with
        subscription.event_at = event.occurred_at
        return subscription, True
    if event.occurred_at < subscription.event_at:
        if subscription.cancellation is not None:
            subscription.cancellation.record(
                "billing_stale",
                f"{event.label} event {event.event_id} of {format_datetime(event.occurred_at)} arrived after a "
                f"newer one, so it changes nothing.",
            )
        return subscription, False
    subscription.event_at = event.occurred_at
    return subscription, True


def _current(subscription: BillingSubscription) -> Cancellation | None:
    """The subscription's postmortem that is still going: not one that ended because the customer stayed."""
    cancellation = subscription.cancellation
    return cancellation if cancellation is not None and cancellation.stayed_at is None else None


def _log(event: BillingEvent, report: Report, ends_at: datetime | None = None) -> Cancellation:
    data = report()
    data.reference = data.reference or event.event_id
    data.ends_at = ends_at
    return log_cancellation(data)


def schedule(event: BillingEvent, ends_at: datetime, report: Report) -> Cancellation | None:
    """The customer decided to leave at `ends_at`: the postmortem starts now (invitations after the survey delay).

    A later change of the date moves it; a schedule after the customer stayed is a new departure.
    """
    subscription, newest = _newest(event, "scheduled")
    if not newest:
        return subscription.cancellation
    current = _current(subscription)
    if current is None:
        subscription.cancellation = current = _log(event, report, ends_at=ends_at)
        subscription.state = "scheduled"
    elif current.ended_at is None and current.ends_at != ends_at:
        current.ends_at = ends_at
        current.record("scheduled", f"{current.cancels_on}, {event.label} says now ({event.event_id}).")
        subscription.state = "scheduled"
    else:
        db.session.flush()
        return subscription.cancellation
    db.session.flush()
    announce("cancellation.scheduled", current, ends_at=ends_at.isoformat(), billing=event.label)
    return current


def end(event: BillingEvent, ended_at: datetime, report: Report) -> Cancellation | None:
    """The subscription ended: the postmortem already going records it (and invites no one again); otherwise,
    or after the customer had stayed, this is a new departure, logged now."""
    subscription, newest = _newest(event, "ended")
    if not newest:
        return subscription.cancellation
    current = _current(subscription)
    if current is None:
        subscription.cancellation = current = _log(event, report)
        current.ended_at = ended_at
    elif current.ended_at is None:
        current.ended_at = ended_at
        current.record("ended", f"The subscription ended {format_datetime(ended_at, False)} ({event.event_id}).")
    subscription.state = "ended"
    db.session.flush()
    return subscription.cancellation


def stay(event: BillingEvent) -> Cancellation | None:
    """The customer undid the cancellation before it took effect: the postmortem ends as stayed.

    Mail not yet sent is withdrawn, answers given are kept, no summary follows, and the owner hears it once.
    """
    subscription, newest = _newest(event, "stayed")
    if not newest:
        return subscription.cancellation
    subscription.state = "stayed"
    current = _current(subscription)
    if current is None or current.ended_at is not None:  # nothing logged yet, or too late to undo
        db.session.flush()
        return subscription.cancellation
    current.stayed_at = event.occurred_at
    withdrawn = withdraw_unsent_mail(current)
    detail = f"The customer stayed: they undid the cancellation in {event.label} ({event.event_id})."
    if withdrawn:
        detail += f" Withdrawn before it went: {', '.join(withdrawn)}."
    current.record("stayed", detail + " No summary will follow.")
    tell_owner_they_stayed(current, event.label)
    db.session.flush()
    announce("cancellation.stayed", current, stayed_at=current.stayed_at.isoformat(), billing=event.label)
    return current


def payment_failing(event: BillingEvent, failing: bool) -> None:
    """The billing system says the subscription's payment is failing (or paid again): a cancellation while it fails
    is involuntary. The newest word wins; it changes no postmortem by itself."""
    if not failing and not db.session.scalar(
        select(BillingSubscription.id).where(
            BillingSubscription.system == event.system, BillingSubscription.subscription_id == event.subscription_id
        )
    ):
        return  # paid, and never known to fail: nothing to remember
    subscription, created = _locked_subscription(event, None)
    since = subscription.payment_failing_since
    if failing and (since is None or created):
        subscription.payment_failing_since = event.occurred_at
    elif not failing and since is not None and event.occurred_at >= since:
        subscription.payment_failing_since = None
    db.session.flush()


def was_payment_failing(system: str, subscription_id: str) -> bool:
    """Whether the subscription's payment was failing when it was cancelled (read under the row's lock)."""
    return (
        db.session.scalar(
            select(BillingSubscription.payment_failing_since).where(
                BillingSubscription.system == system, BillingSubscription.subscription_id == subscription_id
            )
        )
        is not None
    )


def withdraw_unsent_mail(cancellation: Cancellation) -> list[str]:
    """Marks the postmortem's queued invitation, reminder and review request skipped; returns their labels."""
    db.session.flush()
    kinds = db.session.scalars(
        update(OutboxMessage)
        .where(
            OutboxMessage.cancellation_id == cancellation.id,
            OutboxMessage.status == "queued",
            OutboxMessage.kind.in_(WITHDRAWN_KINDS),
        )
        .values(status="skipped", last_error=WITHDRAWN)
        .returning(OutboxMessage.kind)
        .execution_options(synchronize_session=False)
    ).all()
    return [email_label(kind) for kind in kinds]


def tell_owner_they_stayed(cancellation: Cancellation, label: str) -> None:
    email_about(
        cancellation,
        "customer_stayed",
        to=cancellation.owner.email,
        to_name=cancellation.owner.name,
        subject=f"{cancellation.display_name} stayed after all",
        template="customer_stayed",
        billing=label,
        cancellation_url=external_url("cancellations.detail", cancellation_id=cancellation.id),
        company=current_settings().company_name,
    )
