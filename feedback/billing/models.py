from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.db import utcnow
from feedback.extensions import db
from feedback.postmortem.models import Cancellation

#: A subscription's cancellation as its billing system last said it.
STATES = ("scheduled", "stayed", "ended")


class BillingSubscription(db.Model):
    """One subscription of one billing system, with the newest event applied to it.

    Kept even when no postmortem exists (an undo may arrive before the schedule it undoes), so that an event
    older than `event_at` is recognised as stale whatever order the deliveries came in.
    """

    __tablename__ = "billing_subscriptions"
    #: A billing system's ids and the state its newest event gave; the person is on the cancellation.
    personal_data = ()
    not_personal_data = ("system", "subscription_id", "state")
    __table_args__ = (
        UniqueConstraint("system", "subscription_id", name="uq_billing_subscriptions_system_subscription"),
        CheckConstraint("state IN ('scheduled', 'stayed', 'ended')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stripe, paddle or chargebee.
    system: Mapped[str] = mapped_column(String(16))
    #: The billing system's id of the subscription (a Stripe `sub_…`).
    subscription_id: Mapped[str] = mapped_column(String(255))
    #: None while the billing system has said nothing about cancelling (only that a payment is failing).
    state: Mapped[str | None] = mapped_column(String(16))
    #: The time of the newest event applied (the event's own `created`, not when it arrived).
    event_at: Mapped[datetime]
    #: Since when the billing system says its payment is failing (Paddle's past_due); cleared once it is paid. A
    #: cancellation while it is set was not the customer's choice.
    payment_failing_since: Mapped[datetime | None]
    #: The postmortem of the subscription's current (or last) cancellation.
    cancellation_id: Mapped[int | None] = mapped_column(ForeignKey("cancellations.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    cancellation: Mapped[Cancellation | None] = relationship()
