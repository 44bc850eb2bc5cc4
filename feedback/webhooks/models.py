from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from feedback.db import utcnow
from feedback.extensions import db


class ProcessedWebhook(db.Model):
    """One row per webhook delivery acted on; the unique key makes a redelivery (even a concurrent one) a no-op."""

    __tablename__ = "processed_webhooks"
    personal_data = ()
    not_personal_data = ("source", "event_id")
    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_processed_webhooks_source_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stripe or standard (Standard Webhooks' webhook-id).
    source: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    cancellation_id: Mapped[int | None] = mapped_column(ForeignKey("cancellations.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
