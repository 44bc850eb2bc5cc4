from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.db import utcnow
from feedback.extensions import db
from feedback.postmortem.models import Cancellation


class Summary(db.Model):
    """Marks that the combined summary was composed and queued; unique, so it goes out exactly once."""

    __tablename__ = "summaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    cancellation_id: Mapped[int] = mapped_column(ForeignKey("cancellations.id", ondelete="CASCADE"), unique=True)
    #: False when the link expired unanswered and the summary carries the review alone.
    customer_answered: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    cancellation: Mapped[Cancellation] = relationship(back_populates="summary")
