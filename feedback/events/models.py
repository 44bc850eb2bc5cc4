"""Endpoints, the events told to them, and each delivery with its attempts, all in the database like the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.db import utcnow
from feedback.events.catalogue import events_for
from feedback.extensions import db

#: dropped: never to be sent (the customer it was about was erased before it left).
DELIVERY_STATUSES = ("queued", "delivered", "failed", "dropped")


class WebhookEndpoint(db.Model):
    """A URL that hears some events: signed Standard Webhooks, a Slack incoming webhook or a Teams workflow."""

    __tablename__ = "webhook_endpoints"
    #: An endpoint is the team's own receiver: nothing in it is a customer's.
    personal_data = ()
    not_personal_data = ("url", "kind", "events", "secret", "disabled_reason")
    __table_args__ = (
        CheckConstraint("kind IN ('standard', 'slack', 'teams')", name="kind_known"),
        # Only a standard endpoint signs, and it always does.
        CheckConstraint("(kind = 'standard') = (secret IS NOT NULL)", name="secret_iff_standard"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="standard")
    #: The event types it hears; empty means every event its kind has a message for.
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Whether payloads carry the customer's own words (survey answers, replies); off unless an admin chose it.
    include_answers: Mapped[bool] = mapped_column(default=False)
    #: whsec_<base64>: the receiver verifies signatures with it; shown once, when the endpoint is added.
    secret: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when a 410 said it is gone, or after five days of nothing but failures; nothing goes to it meanwhile.
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    #: The first failure since the last success: five days of failures from here disable the endpoint.
    failing_since: Mapped[datetime | None]

    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="endpoint", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None

    def hears(self, event_type: str) -> bool:
        return event_type in events_for(self.kind, self.events)


class Event(db.Model):
    """Something that happened, as other systems are told it; also what `GET /api/v1/events` lists, in id order."""

    __tablename__ = "events"
    #: The payload names the customer and may carry their answers: erasure sweeps it like any other row.
    personal_data = ("data", "answers")
    not_personal_data = ("type",)
    __table_args__ = (Index("ix_events_cancellation", "cancellation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The cancellation it is about, if any: an erasure finds the events to scrub by it. No foreign key, so that
    #: the record of what was told stays whatever happens to the postmortem.
    cancellation_id: Mapped[int | None]
    #: Personal data: ids, links and facts, the customer's name, email and company among them.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Personal data: the customer's own words, sent only to endpoints with include_answers.
    answers: Mapped[Any | None] = mapped_column(JSON)
    #: When the erasure of the person it was about emptied it.
    erased_at: Mapped[datetime | None]


class Delivery(db.Model):
    """One event to one endpoint; its webhook_id stays the same on every retry and replay."""

    __tablename__ = "webhook_deliveries"
    #: Delivery bookkeeping; what was sent is the event's.
    personal_data = ()
    not_personal_data = ("webhook_id", "status", "last_error", "claimed_by")
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_deliveries_event_endpoint"),
        CheckConstraint("status IN ('queued', 'delivered', 'failed', 'dropped')", name="status_known"),
        CheckConstraint("(status = 'delivered') = (delivered_at IS NOT NULL)", name="delivered_iff_delivered_at"),
        CheckConstraint("(status = 'failed') = (failed_at IS NOT NULL)", name="failed_iff_failed_at"),
        Index("ix_webhook_deliveries_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    #: The Standard Webhooks message id (msg_…), for the receiver to recognise a delivery it already has.
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    #: The worker (host:pid:nonce) holding it until the lease ends, as for the outbox.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]

    event: Mapped[Event] = relationship()
    endpoint: Mapped[WebhookEndpoint] = relationship(back_populates="deliveries")
    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="delivery", order_by="DeliveryAttempt.id", cascade="all, delete-orphan", passive_deletes=True
    )


class DeliveryAttempt(db.Model):
    """One POST and what came back, for the endpoint's page: shown so an admin sees why a receiver refuses."""

    __tablename__ = "webhook_attempts"
    #: What the team's receiver answered, not what a customer wrote.
    personal_data = ()
    not_personal_data = ("error", "response_body")

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The HTTP status, or None when no answer came (a timeout, a refused connection, an unsafe address).
    status_code: Mapped[int | None]
    duration_ms: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    #: The first kilobyte of the receiver's answer, as text; the rest was never read.
    response_body: Mapped[str] = mapped_column(Text, default="")

    delivery: Mapped[Delivery] = relationship(back_populates="attempt_log")
